"""`relayflow test`: the acceptance tests file passes on the order desk flows; a broken flow fails at the right
step, located, exit 1; a tests file with a mistake is refused like a bad flow file, located, exit 2."""
from __future__ import annotations

import re
from pathlib import Path

from tests.flowtest.conftest import ORDER_DESK, edit, line_of, relayflow_test

SHARED = Path("/work/shared/acceptance/order_desk/sales_order.tests.yaml")


def test_the_acceptance_tests_pass_on_the_order_desk_flows() -> None:
    if SHARED.exists():  # the copy here is the acceptance file as written
        assert (ORDER_DESK / "sales_order.tests.yaml").read_bytes() == SHARED.read_bytes()
    res = relayflow_test(str(ORDER_DESK))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert re.fullmatch(r"PASS a small order passes review and goes to production \(\d+ ms\)", lines[0])
    assert re.fullmatch(r"PASS a large order needs everyone in the joint review \(\d+ ms\)", lines[1])
    assert lines[-1].startswith("2 passed, 0 failed in ")


def test_a_changed_threshold_fails_at_the_step_it_breaks(desk: Path) -> None:
    # the clerk may now approve only orders under 1 000: the small order (2 400) cannot pass review
    edit(desk / "sales_order.yaml", 'when: "total < 100000 and', 'when: "total < 1000 and')
    res = relayflow_test(str(desk / "sales_order.tests.yaml"))
    assert res.exit_code == 1
    tests_file = desk / "sales_order.tests.yaml"
    step = line_of(tests_file, "- move: approve")  # the first test's approval by the clerk
    fail = next(line for line in res.output.splitlines() if line.startswith("FAIL"))
    assert fail.startswith(f"FAIL {tests_file}:{step}:9: expected move approve as clerk to go through, but it was refused "
                           "(condition_failed)")
    assert "[a small order passes review and goes to production" in fail
    assert "PASS a large order needs everyone in the joint review" in res.output  # the other test still runs
    assert "1 passed, 1 failed" in res.output.splitlines()[-1]


def test_an_expectation_that_does_not_hold_is_located_at_its_key(desk: Path) -> None:
    tests_file = desk / "sales_order.tests.yaml"
    edit(tests_file, 'values: {total: "2400.00"}', 'values: {total: "2500.00"}')
    res = relayflow_test(str(tests_file))
    assert res.exit_code == 1
    line = line_of(tests_file, '"2500.00"')
    column = tests_file.read_text(encoding="utf-8").splitlines()[line - 1].index('"2500.00"') + 1
    assert f"FAIL {tests_file}:{line}:{column}: expected total \"2500.00\", but it is \"2400.00\"" in res.output


def test_an_approval_that_no_longer_waits_for_everyone_fails_the_count(desk: Path) -> None:
    edit(desk / "sales_order.yaml", "      mode: all\n", "      mode: any\n")  # 或签: one approval passes the stage
    res = relayflow_test(str(desk))
    assert res.exit_code == 1
    tests_file = desk / "sales_order.tests.yaml"
    line = line_of(tests_file, "pending_approvers: 2")
    assert f"FAIL {tests_file}:{line}:" in res.output
    assert "expected state joint_review, but the record is in production" in res.output


def test_a_tests_file_with_mistakes_is_refused_located_and_nothing_runs(desk: Path) -> None:
    tests_file = desk / "sales_order.tests.yaml"
    edit(tests_file, "      - move: submit\n      - expect: {state: review", "      - mvoe: submit\n      - expect: {state: review")
    edit(tests_file, "delivery_date: 2026-11-20", "delivry_date: 2026-11-20")
    edit(tests_file, "- move: to_joint_review", "- move: to_joint_reveiw")
    edit(tests_file, "as: production", "as: prodution")
    res = relayflow_test(str(tests_file))
    assert res.exit_code == 2
    assert "PASS" not in res.output and "FAIL" not in res.output
    problems = [line.strip() for line in res.output.splitlines() if line.startswith("  ")]
    f = str(tests_file)
    assert problems == [
        f"{f}:{line_of(tests_file, 'delivry_date')}:11: unknown field 'delivry_date' of flow 'sales_order' — did you mean 'delivery_date'?",
        f"{f}:{line_of(tests_file, 'mvoe')}:9: unknown step 'mvoe' in tests.0.steps.2 — did you mean 'move'?",
        f"{f}:{line_of(tests_file, 'to_joint_reveiw')}:15: unknown transition 'to_joint_reveiw' of flow 'sales_order' — "
        "did you mean 'to_joint_review'?",
        f"{f}:{line_of(tests_file, 'prodution')}:13: unknown user 'prodution' (users are listed under fixtures.users) — "
        "did you mean 'production'?",
    ]
    assert res.output.splitlines()[-1].startswith("0 passed, 0 failed, 1 file(s) refused")


def test_a_find_that_matches_nothing_is_refused_like_a_mistake(desk: Path) -> None:
    tests_file = desk / "sales_order.tests.yaml"
    edit(tests_file, "{find: {code: HD-2000}}", "{find: {code: HD-9999}}")
    res = relayflow_test(str(tests_file))
    assert res.exit_code == 2
    line = line_of(tests_file, "HD-9999")
    assert f"{tests_file}:{line}:" in res.output
    assert "find in flow 'product' (code = \"HD-9999\") matches no record" in res.output


def test_a_broken_flow_beside_the_tests_refuses_them(desk: Path) -> None:
    edit(desk / "sales_order.yaml", "owner: clerk", "owner: clerc")
    res = relayflow_test(str(desk))
    assert res.exit_code == 2
    assert "did you mean 'clerk'" in res.output


def test_no_tests_file_is_an_error(tmp_path: Path) -> None:
    res = relayflow_test(str(tmp_path))
    assert res.exit_code == 2 and "no tests files" in res.output

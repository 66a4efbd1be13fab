"""The language of `<flow>.tests.yaml` beyond the acceptance file: task actions, fixture records in a state,
refusal reasons, waiting for working time, and the mistakes a loader refuses (located, exit 2)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from engine.authoring_tests import spec as tests_spec
from engine.language.yaml_safe import load_yaml
from tests.flowtest.conftest import ORDER_DESK, line_of, relayflow_test

ROOT = Path(__file__).resolve().parents[2]

FIXTURES = """\
fixtures:
  users:
    - {username: sales, roles: [sales], department: east_sales}
    - {username: clerk, roles: [clerk]}
    - {username: clerk2, roles: [clerk]}
    - {username: finance, roles: [finance]}
    - {username: production, roles: [production]}
    - {username: east_manager, roles: [manager]}
    - {username: product_manager, roles: [product_manager]}
  departments:
    - {id: east, title: 华东区, manager: east_manager}
    - {id: east_sales, title: 华东销售部, parent: east, manager: east_manager}
  records:
    - {flow: customer, as: sales, values: {name: 宁波华东机电, city: 宁波, credit_limit: 500000}}
    - {flow: customer, as: sales, values: {name: 已停用客户, city: 苏州}, state: retired}
    - {flow: product, as: product_manager, values: {code: HD-2000, name: 液压泵, list_price: 1200}}
files:
  contract.pdf: fixtures/contract.pdf
"""

ORDER = """\
      - create:
          order_no: SO-000001
          customer: {find: {name: 宁波华东机电}}
          delivery_date: 2026-11-20
          lines: [{product: {find: {code: HD-2000}}, quantity: 2}]
          contract: {file: contract.pdf}
"""


def _write(desk: Path, tests: str) -> Path:
    path = desk / "sales_order.tests.yaml"
    path.write_text(FIXTURES + "tests:\n" + tests, encoding="utf-8")
    return path


def test_task_actions_fixture_states_reasons_and_working_time(desk: Path) -> None:
    path = _write(desk, f"""\
  - name: a retired customer cannot be picked
    given: {{user: sales, now: "2026-09-30T10:00+08:00"}}
    steps:
      - create:
          order_no: SO-000009
          customer: {{find: {{name: 已停用客户}}}}
          delivery_date: 2026-11-20
          lines: [{{product: {{find: {{code: HD-2000}}}}, quantity: 2}}]
        expect_error: invalid
  - name: the clerk hands the review over, and the wait runs on office hours
    given: {{user: sales, now: "2026-09-30T10:00+08:00"}}
    steps:
{ORDER}      - move: approve
        expect_error: wrong_state
      - move: submit
      - expect: {{state: review, assignee: clerk, due: "2026-09-30T15:00+08:00", notifications: []}}
      - hand_over: clerk2
        as: clerk
        comment: 我休假
      - expect: {{assignee: clerk2, assignee_role: clerk}}
      - move: approve
        as: clerk
        expect_error: not_allowed
      - wait: 3h
      - expect: {{notifications: [{{to: clerk2, kind: warn}}]}}
      - move: approve
        as: clerk2
      - expect:
          state: production
          values: {{total: 2400, customer: {{find: {{name: 宁波华东机电}}}}}}
          history: [create, transition, transition]
  - name: the joint review, and a rejection sends the order back
    given: {{user: sales, now: "2026-09-30T10:00+08:00"}}
    steps:
      - create:
          order_no: SO-000002
          customer: {{find: {{name: 宁波华东机电}}}}
          delivery_date: 2026-12-20
          lines: [{{product: {{find: {{code: HD-2000}}}}, quantity: 100}}]
          contract: {{file: contract.pdf}}
      - move: submit
      - move: to_joint_review
        as: clerk
      - expect: {{pending_approvers: 3}}
      - decide: approve
        as: sales
        expect_error: not_allowed
      - decide: reject
        as: finance
        expect_error: invalid
      - decide: reject
        as: finance
        comment: 账期太长
      - expect: {{state: review, pending_approvers: 0}}
""")
    res = relayflow_test(str(path))
    assert res.exit_code == 0, res.output
    assert [line.split(" (")[0] for line in res.output.splitlines()[:3]] == [
        "PASS a retired customer cannot be picked",
        "PASS the clerk hands the review over, and the wait runs on office hours",
        "PASS the joint review, and a rejection sends the order back"]


@pytest.mark.parametrize(("step", "expected"), [
    ("      - move: approve\n        as: clerk\n        expect_error: wrong_state\n",
     "expected the step to be refused with wrong_state, but it went through; the record is now in state production"),
    ("      - move: approve\n        as: sales\n        expect_error: wrong_state\n",
     "expected the step to be refused with wrong_state, but it was refused with not_allowed"),
    ("      - expect: {assignee: clerk2}\n", "expected the assignee clerk2, but it is clerk"),
    ("      - expect: {due: \"2026-09-30T16:00+08:00\"}\n", "expected due 2026-09-30T16:00+08:00, but it is 2026-09-30T15:00+08:00"),
    ("      - expect: {notifications: [{to: clerk, kind: warn}]}\n",
     "expected warn to clerk, but the notifications sent were: none"),
])
def test_a_failed_expectation_says_what_was_expected_and_what_happened(desk: Path, step: str, expected: str) -> None:
    path = _write(desk, f"""\
  - name: one expectation
    given: {{user: sales, now: "2026-09-30T10:00+08:00"}}
    steps:
{ORDER}      - move: submit
{step}""")
    res = relayflow_test(str(path))
    assert res.exit_code == 1, res.output
    line = line_of(path, step.splitlines()[-1].strip())
    assert re.search(rf"FAIL {re.escape(str(path))}:{line}:\d+: {re.escape(expected)}", res.output), res.output


@pytest.mark.parametrize(("tests", "needle", "message"), [
    ('    steps: [{move: submit, decide: approve}]\n', "steps:", "a step does one thing; this one says move and decide"),
    ('    steps: [{wait: 4}]\n', "wait", "duration 4 has no unit"),
    ('    steps: [{move: submit, expect_error: forbiden}]\n', "forbiden", "unknown reason 'forbiden' — did you mean 'forbidden'?"),
    ('    steps: [{create: {contract: {file: scan.pdf}}}]\n', "scan.pdf", "unknown file 'scan.pdf'"),
    ('    steps: [{expect: {values: {totl: 1}}}]\n', "totl", "unknown field 'totl' of flow 'sales_order' — did you mean 'total'?"),
    ('    steps: [{expect: {notifications: [{to: role:boss}]}}]\n', "role:boss", "unknown role 'boss'"),
    ('    steps: [{return: drafts}]\n', "drafts", "unknown state 'drafts'"),
])
def test_mistakes_in_a_test_are_refused_located(desk: Path, tests: str, needle: str, message: str) -> None:
    path = _write(desk, '  - name: a mistake\n    given: {user: sales, now: "2026-09-30T10:00+08:00"}\n' + tests)
    res = relayflow_test(str(path))
    assert res.exit_code == 2, res.output
    assert f"{path}:{line_of(path, needle)}:" in res.output and message in res.output, res.output


def test_a_time_without_offset_and_an_unknown_fixture_are_refused(desk: Path) -> None:
    path = desk / "sales_order.tests.yaml"
    path.write_text(FIXTURES.replace("department: east_sales", "department: west_sales")
                    .replace("roles: [finance]", "roles: [finanse]") +
                    'tests:\n  - name: t\n    given: {user: sales, now: "2026-09-30T10:00"}\n    steps: [{expect: {}}]\n',
                    encoding="utf-8")
    res = relayflow_test(str(path))
    assert res.exit_code == 2
    assert "'2026-09-30T10:00' has no offset" in res.output
    # the structure problem stops the checks that need a whole file: fixed, the other mistakes show
    path.write_text(path.read_text(encoding="utf-8").replace("10:00\"}", "10:00+08:00\"}"), encoding="utf-8")
    res = relayflow_test(str(path))
    assert f"{path}:{line_of(path, 'west_sales')}:" in res.output and "unknown department 'west_sales'" in res.output
    assert "unknown role 'finanse' — did you mean 'finance'?" in res.output


def test_the_examples_ship_with_passing_tests() -> None:
    res = relayflow_test(str(ROOT / "flows"), str(ROOT / "examples"), str(ROOT / "examples" / "order_desk"))
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].startswith("10 passed, 0 failed")


def test_every_tests_file_validates_against_the_published_schema() -> None:
    schema = tests_spec.tests_language_schema()
    for path in [ORDER_DESK / "sales_order.tests.yaml", ROOT / "flows" / "sales_order.tests.yaml",
                 ROOT / "examples" / "purchase_request.tests.yaml"]:
        data, _ = load_yaml(path.read_bytes())
        jsonschema.validate(data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tests": [{"name": "x", "given": {"user": "a", "now": "n"}, "steps": [{"jump": 1}]}]}, schema)


def test_relayflow_test_runs_as_a_command() -> None:
    """The console entry (`python -m cli`, what scripts/test.sh runs): exit 1 and the located FAIL on stdout."""
    out = subprocess.run([sys.executable, "-m", "cli", "test", "--quiet", str(ORDER_DESK)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("2 passed, 0 failed in ")

"""The approval rule, and the loader refusing stages that can never be decided (located)."""
from __future__ import annotations

import pytest

from engine.language.approval_spec import ApprovalSpec
from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from engine.records.approvals import rule_for, tally
from tests.approvals.flows import joint


def _spec(mode: object) -> ApprovalSpec:
    return ApprovalSpec.model_validate({"approvers": ["role:finance"], "mode": mode})


@pytest.mark.parametrize(("mode", "n", "approvals", "rejections"), [
    ("all", 3, 3, 1), ("any", 3, 1, 3), ({"quorum": 2}, 3, 2, 2), ({"quorum": "60%"}, 5, 3, 3),
    ({"quorum": "60%"}, 4, 3, 2), ({"quorum": 2, "reject": 1}, 4, 2, 1), ({"quorum": "100%"}, 2, 2, 1),
])
def test_thresholds(mode: object, n: int, approvals: int, rejections: int) -> None:
    rule = rule_for(_spec(mode), n)
    assert (rule.approvals, rule.rejections) == (approvals, rejections)


def test_a_round_decided_without_reaching_either_threshold_did_not_pass() -> None:
    ap = _spec({"quorum": 2, "reject": 3})
    tasks = [{"status": s} for s in ("approved", "rejected", "rejected")]
    assert tally(ap, tasks).outcome == "rejected"
    assert tally(ap, [{"status": "approved"}, {"status": "pending"}, {"status": "cancelled"}]).outcome is None


def _problems(text: str) -> str:
    with pytest.raises(FlowLoadError) as info:
        load_flow_text(text)
    return str(info.value)


def test_loader_refuses_a_quorum_larger_than_the_possible_approvers() -> None:
    text = joint("{quorum: 3}").replace("approvers: [role:finance, field:reviewer, manager_of:creator]",
                                        "approvers: [field:reviewer, manager_of:creator]")
    text = text.replace("allow: [add_approver, hand_over, urge]", "allow: [hand_over, urge]")
    msg = _problems(text)
    assert "needs 3 approvals but has at most 2 approvers" in msg
    assert msg.startswith("<flow>:26:")  # the line of `mode: {quorum: 3}`


def test_loader_allows_the_same_quorum_when_added_approvers_or_a_role_can_make_it() -> None:
    load_flow_text(joint("{quorum: 3}"))
    text = joint("{quorum: 3}").replace("approvers: [role:finance, field:reviewer, manager_of:creator]",
                                        "approvers: [field:reviewer, manager_of:creator]")
    load_flow_text(text)  # add_approver is allowed: more approvers may come


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("role:finance,", "role:financ,", "unknown role 'financ'"),
    ("field:reviewer", "field:subject", "must be a user field"),
    ("manager_of:creator", "boss_of:creator", "unknown approver 'boss_of:creator'"),
    ("on_reject: send_back", "on_reject: nowhere", "unknown transition 'nowhere'"),
    ("on_reject: send_back", "on_reject: submit", "does not leave state 'check'"),
    ("  passed: {from: check, to: done, on: approval_passed}\n", "", "no transition leaves it when it passes"),
    ("on: approval_passed}", "on: approval_passed, by: buyer}", "takes no `by`"),
    ("mode: MODE", "mode: {quorum: 0%}", "percentage between 1% and 100%"),
    ("urge: {by: [creator, role:manager], every: 2h}", "urge: {by: [creator, role:boss], every: 2h}", "unknown role 'boss'"),
    ("allow: [add_approver, hand_over, urge]", "allow: [add_approver, hand_over, urge, fly]", "allow"),
])
def test_loader_refusals_are_located_and_plain(old: str, new: str, expected: str) -> None:
    from tests.approvals.flows import JOINT
    text = JOINT.replace(old, new).replace("MODE", "all")
    assert _problems(text).count(expected) >= 1


def test_an_automatic_transition_is_only_for_approval_states() -> None:
    text = joint().replace("  withdraw: {from: check, to: draft, by: buyer}",
                           "  withdraw: {from: check, to: draft, by: buyer}\n  auto: {from: draft, to: done, on: approval_passed}")
    assert "state 'draft' has no approval" in _problems(text)

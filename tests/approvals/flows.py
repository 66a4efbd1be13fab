"""Small flows for the approval tests (the acceptance sales order is in order_desk/)."""
from __future__ import annotations

JOINT = """
flow: purchase
title: {zh-CN: 采购申请, en: Purchase request}
language: en
record_title: "{{ subject }}"
calendar: {timezone: Asia/Shanghai, hours: {mon-fri: ["09:00-18:00"]}}
roles:
  buyer: {title: Buyer}
  finance: {title: Finance}
  production: {title: Production}
  manager: {title: Manager}
create_by: [buyer]
visibility: roles
fields:
  subject: {type: text, required: true}
  amount: {type: integer}
  reviewer: {type: user}
states:
  draft:
    owner: buyer
    assign: creator
    edit: [subject, amount, reviewer]
  check:
    approval:
      approvers: [role:finance, field:reviewer, manager_of:creator]
      mode: MODE
      on_reject: send_back
      distinct_from: [creator]
    allow: [add_approver, hand_over, urge]
    urge: {by: [creator, role:manager], every: 2h}
    sla: {due: 1d, warn: 50%}
  done:
    final: true
transitions:
  submit: {from: draft, to: check, by: buyer}
  passed: {from: check, to: done, on: approval_passed}
  withdraw: {from: check, to: draft, by: buyer}
"""


def joint(mode: str = "all", **replace: str) -> str:
    text = JOINT.replace("MODE", mode)
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text

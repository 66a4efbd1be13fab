"""Small flows for the tests of tasks13 (deadlines from a date field, approvals in reload plans)."""
from __future__ import annotations

JOB = """
flow: job
title: {zh-CN: 生产单, en: Job}
language: en
record_title: "{{ subject }}"
calendar: {timezone: Asia/Shanghai, hours: {mon-fri: ["09:00-12:00", "13:00-18:00"]}, holidays: [2026-10-20]}
roles:
  sales: {title: Sales}
  plant: {title: Plant}
  boss: {title: Boss}
create_by: [sales]
fields:
  subject: {type: text, required: true}
  ship_on: {type: date, title: {zh-CN: 交期, en: Ship on}}
  qty: {type: integer}
states:
  draft:
    owner: sales
    assign: creator
    edit: [subject, ship_on, qty]
  making:
    owner: plant
    edit: [ship_on, qty]
    sla:
      due: {field: ship_on, before: 3d}
      warn: {field: ship_on, before: 5d}
  done:
    final: true
transitions:
  start: {from: draft, to: making, by: sales}
  finish: {from: making, to: done, by: plant}
reminders:
  - on: warn
    notify: [assignee]
  - on: breach
    notify: [assignee, role:boss]
"""

"""The small order flow the line-item tests share (products are plain text here)."""
from __future__ import annotations

ORDER = """\
flow: sales_order
title: Order
language: en
record_title: "{{ order_no }}"
roles: {sales: Sales, clerk: Clerk}
fields:
  order_no: {type: text, title: Order no., required: true}
  lines:
    type: table
    title: Order lines
    min_rows: 1
    max_rows: 5
    fields:
      product: {type: text, title: Product, required: true, max_length: 40}
      quantity: {type: integer, title: Quantity, min: 1, required: true}
      unit_price: {type: money, currency: CNY, scale: 2, min: 0, required: true, title: Unit price}
      amount: {type: money, currency: CNY, scale: 2, compute: "quantity * unit_price", title: Amount}
  total: {type: money, currency: CNY, scale: 2, compute: "sum(lines, 'amount')", title: Total, index: true}
  line_count: {type: integer, compute: "count(lines)", title: Lines}
  note: {type: text, title: Note}
states:
  draft: {owner: sales, edit: [order_no, lines, note]}
  review: {owner: clerk, edit: [note]}
  done: {final: true}
transitions:
  submit: {from: draft, to: review, by: sales, require: [lines]}
  approve: {from: review, to: done, by: clerk, when: "total < 100000"}
  send_back: {from: review, to: draft, by: clerk}
"""

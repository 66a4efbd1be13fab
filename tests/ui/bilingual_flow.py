"""A sales order flow written in two languages, for the tests of flow text in the reader's language."""
from __future__ import annotations

BILINGUAL_FLOW = """\
flow: sales_order
title: {zh-CN: 销售订单, en: Sales order}
description: {zh-CN: 客户下单到发货, en: "From the customer's order to delivery"}
language: zh-CN
roles:
  sales: {title: {zh-CN: 销售, en: Sales}}
  clerk: {title: {zh-CN: 跟单员, en: Order desk}}
  manager: {title: {zh-CN: 销售经理}}
create_by: [sales]
fields:
  order_no:
    type: text
    title: {zh-CN: 订单号, en: Order no.}
    required: true
    pattern: {regex: "SO-[0-9]{6}", message: {zh-CN: 订单号格式为 SO-六位数字, en: "Order no. looks like SO-123456"}}
  ref_code:
    type: text
    title: {zh-CN: 参考号, en: Reference}
    pattern: "R[0-9]+"
    help: {zh-CN: 以 R 开头，后接数字, en: R followed by digits}
  total: {type: decimal, scale: 2, title: {zh-CN: 订单总额, en: Order total}, required: true}
  priority:
    type: choice
    title: {zh-CN: 优先级, en: Priority}
    choices: {normal: {zh-CN: 普通, en: Normal}, urgent: {zh-CN: 加急, en: Urgent}}
    default: normal
  delivery_date: {type: date, title: {zh-CN: 交期, en: Promised delivery date}}
  note: {type: text, title: {zh-CN: 内部备注}}
states:
  draft: {title: {zh-CN: 草稿, en: Draft}, owner: sales, edit: [order_no, ref_code, total, priority, delivery_date, note]}
  review: {title: {zh-CN: 订单审核, en: Order review}, owner: clerk}
  done: {title: {zh-CN: 已完成, en: Done}, final: true}
  cancelled: {title: {zh-CN: 已取消, en: Cancelled}, final: true}
transitions:
  submit: {title: {zh-CN: 提交审核, en: Submit}, from: draft, to: review, by: sales, require: [delivery_date]}
  approve:
    title: {zh-CN: 审核通过, en: Approve}
    from: review
    to: done
    by: clerk
    when:
      check: "total < 100000"
      message: {zh-CN: 十万元及以上的订单需经理审批, en: Orders of 100000 or more need the manager}
  approve_large: {title: {zh-CN: 经理审批, en: Manager approval}, from: review, to: done, by: [manager, clerk], when: "total >= 100000"}
  cancel:
    title: {zh-CN: 取消订单, en: Cancel}
    from: [draft, review]
    to: cancelled
    by: sales
    confirm: {zh-CN: 确定取消这张订单吗？, en: "Cancel this order?"}
"""

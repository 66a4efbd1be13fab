"""A bilingual order flow with line items, a field hidden in one state, and print layouts."""
from __future__ import annotations

ORDER = """\
flow: print_order
title: {zh-CN: 销售订单, en: Sales order}
language: zh-CN
record_title: "{{ order_no }} · {{ customer }}"
roles: {sales: {title: {zh-CN: 销售, en: Sales}}, clerk: {title: {zh-CN: 跟单员, en: Order desk}}, finance: Finance}
fields:
  order_no: {type: text, title: {zh-CN: 订单号, en: Order no.}, required: true}
  customer: {type: text, title: {zh-CN: 客户, en: Customer}, required: true}
  lines:
    type: table
    title: {zh-CN: 订单明细, en: Order lines}
    min_rows: 1
    max_rows: 200
    fields:
      product: {type: text, title: {zh-CN: 产品, en: Product}, required: true, max_length: 60}
      quantity: {type: integer, title: {zh-CN: 数量, en: Quantity}, min: 1, required: true}
      unit_price: {type: money, currency: CNY, scale: 2, min: 0, required: true, title: {zh-CN: 单价, en: Unit price}}
      amount: {type: money, currency: CNY, scale: 2, compute: "quantity * unit_price", title: {zh-CN: 金额, en: Amount}}
  total: {type: money, currency: CNY, scale: 2, compute: "sum(lines, 'amount')", title: {zh-CN: 订单总额, en: Order total}}
  margin_note: {type: text, title: {zh-CN: 毛利说明, en: Margin note}}
states:
  draft: {title: {zh-CN: 草稿, en: Draft}, owner: sales, edit: [order_no, customer, lines, margin_note]}
  review: {title: {zh-CN: 订单审核, en: Order review}, owner: clerk, hide: [margin_note]}
  done: {title: {zh-CN: 已完成, en: Done}, final: true}
transitions:
  submit: {title: {zh-CN: 提交审核, en: Submit}, from: draft, to: review, by: sales}
  approve: {title: {zh-CN: 审核通过, en: Approve}, from: review, to: done, by: clerk}
print:
  - name: order_confirmation
    title: {zh-CN: 订单确认书, en: Order confirmation}
  - name: finance_sheet
    title: Finance sheet
    for: [finance]
    states: [done]
"""

WITH_TEMPLATE = ORDER + """\
  - name: slip
    title: Slip
    template: print_order.slip.html
"""

SLIP = """\
<html><body>
<h1>{{ title }}: {{ record.title }}</h1>
<p class="customer">{{ customer }}</p>
{% for row in tables.lines.rows %}<p class="line">{{ row.product }} × {{ row.quantity }}</p>{% endfor %}
<p class="total">{{ tables.lines.totals.amount }}</p>
{% if values.margin_note %}<p class="margin">{{ values.margin_note }}</p>{% endif %}
</body></html>
"""

PAGED_SLIP = """\
<html><body>
<h1>Our own slip: {{ record.title }}</h1>
{{ line_table("lines") }}
<p data-missing="{{ line_table('no_such_table') }}">Thank you</p>
</body></html>
"""


def lines(n: int) -> list[dict[str, object]]:
    """n order lines with different amounts (row i: i+1 pieces at 1.25 + i)."""
    return [{"product": f"产品-{i:03d} Widget", "quantity": i % 7 + 1, "unit_price": f"{1.25 + i:.2f}"} for i in range(n)]

"""value_schema is valid JSON Schema, and the JSON form of every canonical value fits it."""
from __future__ import annotations

from typing import Any

import pytest

from forms import (
    BooleanField,
    ChoiceField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    FieldSpecBase,
    IntegerField,
    LongTextField,
    MoneyField,
    MultiChoiceField,
    PhoneField,
    TextField,
    UrlField,
    UserField,
)

jsonschema = pytest.importorskip("jsonschema")

# (spec, values that must fit, JSON values its schema must refuse)
CASES: list[tuple[FieldSpecBase, list[Any], list[Any]]] = [
    (TextField(title="客户名称", help="全称", min_length=2, max_length=5, pattern="[A-Z]+"), ["ABC"], ["abc", "A", "ABCDEF", 1]),
    (LongTextField(), ["a\nb"], [3]),
    (EmailField(), ["a@example.com"], ["x" * 255]),
    (PhoneField(), ["+86 138-0013-8000"], ["call me"]),
    (UrlField(), ["https://example.com/x"], ["ftp://example.com"]),
    (IntegerField(min=1, max=10), [1, 10], [0, 11, 1.5, "3"]),
    (DecimalField(scale=2, min=0, max="99.5"), ["12.5", 0, "99.50"], [-1, "1.234", "abc", True]),
    (DecimalField(scale=0), ["12"], ["12.5"]),
    (MoneyField(), ["0.10"], ["ten"]),
    (BooleanField(), [True, False], ["yes"]),
    (DateField(min="2026-01-01"), ["2026-10-01"], [20261001]),
    (DateTimeField(), ["2026-10-01T09:30+08:00"], [1700000000]),
    (ChoiceField(choices={"no": "否", "yes": "是"}, default="no"), ["yes"], ["maybe", True]),
    (MultiChoiceField(choices={"a": "A", "b": "B"}, max_items=1), [["b"]], [["a", "a"], ["c"], ["a", "b"]]),
    (UserField(role="sales"), [7], [0, "7"]),
]


@pytest.mark.parametrize(("spec", "good", "bad"), CASES, ids=[c[0].type for c in CASES])
def test_schema_is_valid_and_matches_values(spec: FieldSpecBase, good: list[Any], bad: list[Any]) -> None:
    schema = spec.value_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for raw in good:
        as_json = spec.to_json(spec.coerce(raw))
        assert not list(validator.iter_errors(as_json)), (raw, as_json)
    for raw in bad:
        assert list(validator.iter_errors(raw)), raw


def test_schema_carries_title_help_and_constraints() -> None:
    schema = TextField(title="客户名称", help="写全称", min_length=2, max_length=100).value_schema()
    assert schema == {"type": "string", "title": "客户名称", "description": "写全称", "minLength": 2, "maxLength": 100}
    assert IntegerField(min=1).value_schema()["minimum"] == 1
    decimal = DecimalField(min=0, max="99.5", default="1").value_schema()
    assert decimal["x-minimum"] == "0.00" and decimal["x-maximum"] == "99.50" and decimal["default"] == "1.00"
    assert DateField().value_schema()["format"] == "date"
    assert DateTimeField().value_schema()["format"] == "date-time"
    assert EmailField().value_schema()["format"] == "email"
    assert UrlField().value_schema()["format"] == "uri"
    assert DecimalField(compute="quantity * unit_price").value_schema()["readOnly"] is True

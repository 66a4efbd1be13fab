"""The registry, the discriminated union, and load-time checks of options."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

import forms
from forms import FIELD_TYPES, FieldSpec, FieldSpecBase

ALL_TYPES = {
    "text", "longtext", "integer", "decimal", "money", "boolean", "date", "datetime",
    "choice", "multichoice", "email", "phone", "url", "user", "file", "table", "reference",
}
ADAPTER = TypeAdapter(FieldSpec)


def test_registry_lists_every_type() -> None:
    assert set(FIELD_TYPES) == ALL_TYPES
    for name, cls in FIELD_TYPES.items():
        assert issubclass(cls, FieldSpecBase)
        assert cls.model_fields["type"].default == name
        assert cls.widget == name


def test_union_picks_the_class_by_type() -> None:
    fields = {
        "customer": {"type": "text", "title": "客户名称", "required": True, "max_length": 100, "index": True},
        "quantity": {"type": "integer", "title": "数量", "required": True, "min": 1},
        "amount": {"type": "decimal", "title": "金额(元)", "scale": 2, "compute": "quantity * unit_price"},
        "priority": {"type": "choice", "choices": {"normal": "普通", "urgent": "加急"}, "default": "normal"},
        "delivery_date": {"type": "date", "title": "交期", "required": True},
        "sales_rep": {"type": "user", "role": "sales"},
    }
    for name, data in fields.items():
        spec = ADAPTER.validate_python(data)
        assert type(spec) is FIELD_TYPES[data["type"]], name
        assert spec.title == data.get("title")


def test_unknown_type_and_unknown_option_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python({"type": "txt"})
    assert info.value.errors()[0]["type"] == "union_tag_invalid"
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python({"type": "text", "max_lenght": 5})
    assert info.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError):  # an option of another type
        ADAPTER.validate_python({"type": "integer", "scale": 2})


def test_specs_are_frozen() -> None:
    spec = FIELD_TYPES["text"]()
    with pytest.raises(ValidationError):
        spec.max_length = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "text", "min_length": 10, "max_length": 5}, "min_length (10) must not be greater than max_length (5)"),
        ({"type": "longtext", "min_length": -1}, "greater than or equal to 0"),
        ({"type": "text", "max_length": 0}, "greater than or equal to 1"),
        ({"type": "text", "max_length": "100"}, "valid integer"),
        ({"type": "text", "max_length": True}, "valid integer"),
        ({"type": "integer", "min": 10, "max": 1}, "min (10) must not be greater than max (1)"),
        ({"type": "integer", "min": 1.5}, "valid integer"),
        ({"type": "integer", "max": 2**64}, "outside the 64-bit integer range"),
        ({"type": "decimal", "scale": 12}, "less than or equal to 10"),
        ({"type": "phone", "max_length": 40}, "less than or equal to 32"),
        ({"type": "choice", "choices": {}}, "at least one choice"),
    ],
)
def test_inconsistent_options_are_refused(data, message) -> None:
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python(data)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "text", "max_length": 3, "default": "abcd"}, "must be at most 3 characters long"),
        ({"type": "text", "pattern": "[0-9]+", "default": "x1"}, "does not match the required format"),
        ({"type": "integer", "min": 1, "default": 0}, "must be at least 1"),
        ({"type": "integer", "default": "many"}, "is not a number"),
        ({"type": "decimal", "default": "1.234"}, "must have at most 2 decimal places"),
        ({"type": "money", "default": "abc"}, "is not a number"),
        ({"type": "boolean", "default": "perhaps"}, "must be true or false"),
        ({"type": "date", "default": "2026-13-01"}, "not a valid date"),
        ({"type": "datetime", "default": "soon"}, "must be a date and time"),
        ({"type": "email", "default": "nobody"}, "e-mail address"),
        ({"type": "phone", "default": "call me"}, "must be a phone number"),
        ({"type": "url", "default": "ftp://x.org"}, "http:// or https://"),
        ({"type": "user", "default": -3}, "not a valid user id"),
    ],
)
def test_default_must_fit_the_field(data, message) -> None:
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python(data)
    text = str(info.value)
    assert "does not fit this field" in text and message in text


def test_good_defaults_are_accepted() -> None:
    for data in (
        {"type": "decimal", "default": "0"},
        {"type": "date", "default": "2026-10-01"},
        {"type": "datetime", "default": "2026-10-01T09:00:00+08:00"},
        {"type": "integer", "min": 1, "default": 1},
    ):
        ADAPTER.validate_python(data)


def test_forms_stays_independent() -> None:
    """forms/ must not import the engine, the API, the UI or web frameworks."""
    forbidden = {"engine", "api", "ui", "fastapi", "starlette", "uvicorn"}
    package = Path(forms.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & forbidden, f"{path.name} imports {roots & forbidden}"

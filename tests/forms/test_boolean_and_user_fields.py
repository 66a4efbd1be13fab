"""Boolean and user fields."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from forms import BooleanField, FieldValueError, UserField


def refused(spec, raw) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        spec.coerce(raw)
    assert info.value.message
    return info.value


class TestBoolean:
    @pytest.mark.parametrize(("raw", "value"), [
        (True, True), (False, False), ("true", True), ("false", False), ("on", True), ("1", True),
        ("0", False), (" TRUE ", True), (1, True), (0, False), ("", None), (None, None),
    ])
    def test_accepts(self, raw, value) -> None:
        assert BooleanField().coerce(raw) is value

    @pytest.mark.parametrize("raw", ["maybe", "2", 2, 1.0, ["true"]])
    def test_refused(self, raw) -> None:
        refused(BooleanField(), raw)

    def test_message_quotes_the_value(self) -> None:
        assert refused(BooleanField(), "maybe").message == "must be true or false, not 'maybe'"

    def test_unticked_checkbox_is_false(self) -> None:
        spec = BooleanField()
        assert spec.parse_form([]) is False
        assert spec.parse_form(["on"]) is True
        # hidden "false" input followed by the ticked checkbox
        assert spec.parse_form(["false", "true"]) is True

    def test_default(self) -> None:
        assert BooleanField(default=True).value_schema()["default"] is True
        with pytest.raises(ValidationError, match="default 'sure' does not fit"):
            BooleanField(default="sure")


class TestUser:
    def test_accepts_ids(self) -> None:
        spec = UserField(role="sales")
        assert spec.coerce(42) == 42
        assert spec.coerce(" 42 ") == 42
        assert spec.coerce("") is None
        assert spec.role == "sales"

    @pytest.mark.parametrize("raw", [0, -1, "abc", "4.2", True, 4.0, "99999999999", 2**31])
    def test_refused(self, raw) -> None:
        refused(UserField(), raw)

    def test_schema(self) -> None:
        schema = UserField(role="sales", title="负责销售").value_schema()
        assert schema["type"] == "integer" and schema["x-role"] == "sales" and schema["title"] == "负责销售"

"""A number field stores what was written, not a guess: spellings that only look like the number are refused."""
from __future__ import annotations

from decimal import Decimal

import pytest

from forms import DecimalField, FieldValueError, IntegerField, MoneyField
from forms.value_checks import ascii_whole


def refused(spec, raw) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        spec.coerce(raw)
    return info.value


class TestIntegerSpelling:
    @pytest.mark.parametrize(("raw", "shown"), [("1e3", "(1000, not 1e3)"), ("1.0", "(1, not 1.0)"), ("12.00", "(12, not 12.00)"),
                                                ("1E+2", "(100, not 1E+2)"), (12.0, "(12, not 12.0)"),
                                                (Decimal("5.00"), "(5, not 5.00)"), (Decimal("1E+3"), "(1000, not 1E+3)")])
    def test_whole_values_spelled_as_decimals_are_refused_with_the_plain_spelling(self, raw, shown) -> None:
        err = refused(IntegerField(), raw)
        assert err.code == "not_integer_spelling"
        assert err.message == f"must be a whole number written with digits only {shown}"

    @pytest.mark.parametrize("raw", ["١٢", "１２", "1_000", "12 000", "0x10", "½"])
    def test_other_digits_and_separators_are_not_numbers(self, raw) -> None:
        assert refused(IntegerField(), raw).code == "not_a_number"

    @pytest.mark.parametrize("raw", [True, False])
    def test_booleans_are_not_numbers(self, raw) -> None:
        assert refused(IntegerField(), raw).code == "type"

    def test_surrounding_spaces_are_trimmed_as_in_every_field(self) -> None:
        assert IntegerField().coerce(" 12 ") == 12
        assert IntegerField().coerce("\t-3\n") == -3

    def test_a_huge_exponent_is_refused_without_building_the_number(self) -> None:
        err = refused(IntegerField(), "1e999999999")
        assert err.code == "not_integer_spelling" and "…" in err.message

    def test_computed_and_converted_whole_numbers_still_fit(self) -> None:
        spec = IntegerField(max=100)
        assert spec.quantize(Decimal("6.00")) == 6
        assert refused_quantize(spec, Decimal("6.50")).code == "not_integer"


def refused_quantize(spec, raw) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        spec.quantize(raw)
    return info.value


class TestAmountSpelling:
    @pytest.mark.parametrize("spec", [DecimalField(scale=2), MoneyField(currency="EUR")])
    @pytest.mark.parametrize("raw", ["1e3", "1E3", "2.5e-1", "+1e2"])
    def test_exponents_in_text_are_refused(self, spec, raw) -> None:
        err = refused(spec, raw)
        assert err.code == "exponent"
        assert raw in err.message

    def test_exact_json_numbers_with_exponents_still_read(self) -> None:
        # api/body.py parses JSON numbers to Decimal: 1.25E1 there is a machine's spelling of 12.5.
        assert DecimalField(scale=2).coerce(Decimal("1.25E1")) == Decimal("12.50")

    def test_a_float_longer_than_a_float_keeps_is_refused(self) -> None:
        spec = MoneyField(precision=30, scale=2)
        err = refused(spec, 12345678901234567.0)  # the float is 12345678901234568: not what was meant
        assert err.code == "float_precision"
        assert spec.coerce(1234567.25) == Decimal("1234567.25")
        assert spec.coerce("12345678901234567.89") == Decimal("12345678901234567.89")

    def test_arabic_indic_digits_are_refused_in_amounts(self) -> None:
        assert refused(MoneyField(), "١٢.٥").code == "not_a_number"


@pytest.mark.parametrize(("text", "value"), [("12", 12), ("0", 0), ("١٢", None), ("１２", None), ("1_000", None),
                                             (" 12", None), ("1.0", None), ("-1", None), ("", None), ("9" * 20, None)])
def test_ascii_whole(text, value) -> None:
    assert ascii_whole(text) == value

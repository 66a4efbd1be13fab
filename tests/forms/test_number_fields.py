"""Integer, decimal and money: exact values, clear refusals."""
from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from forms import DecimalField, FieldValueError, IntegerField, MoneyField


def refused(spec, raw) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        spec.coerce(raw)
    assert info.value.message
    return info.value


class TestInteger:
    @pytest.mark.parametrize(("raw", "value"), [(12, 12), ("12", 12), (" -7 ", -7), ("+3", 3), (Decimal("5"), 5)])
    def test_accepts(self, raw, value) -> None:
        got = IntegerField().coerce(raw)
        assert got == value and type(got) is int

    @pytest.mark.parametrize("raw", [None, "", "  "])
    def test_blank_is_none(self, raw) -> None:
        assert IntegerField().coerce(raw) is None

    @pytest.mark.parametrize("raw", [1.5, "1.5", Decimal("0.1")])
    def test_fractions_refused(self, raw) -> None:
        assert refused(IntegerField(), raw).message == "must be a whole number"

    @pytest.mark.parametrize("raw", [True, False])
    def test_booleans_refused(self, raw) -> None:
        assert "not true/false" in refused(IntegerField(), raw).message

    @pytest.mark.parametrize("raw", ["12a", "1,000", "1_000", "١٢", "abc"])
    def test_garbage_refused(self, raw) -> None:
        assert refused(IntegerField(), raw).code == "not_a_number"

    @pytest.mark.parametrize("raw", [float("nan"), float("inf"), "NaN", "-Infinity"])
    def test_not_finite_refused(self, raw) -> None:
        assert refused(IntegerField(), raw).code == "not_finite"

    def test_range(self) -> None:
        spec = IntegerField(min=1, max=10)
        assert spec.coerce(1) == 1 and spec.coerce(10) == 10
        assert refused(spec, 0).message == "must be at least 1"
        assert refused(spec, 11).message == "must be at most 10"

    def test_beyond_64_bits_refused(self) -> None:
        assert IntegerField().coerce(2**63 - 1) == 2**63 - 1
        assert refused(IntegerField(), 2**63).code == "too_large"
        assert refused(IntegerField(), "9" * 5000).code == "too_large"


class TestDecimal:
    def test_canonical_value_has_exactly_scale_places(self) -> None:
        spec = DecimalField(scale=2)
        for raw in ("12.5", 12.5, Decimal("12.500"), Decimal("1.25E1")):
            value = spec.coerce(raw)
            assert value == Decimal("12.50") and str(value) == "12.50"
        assert str(spec.coerce(7)) == "7.00"
        assert spec.to_json(spec.coerce("12.5")) == "12.50"

    def test_floats_are_read_through_repr_not_binary(self) -> None:
        spec = DecimalField(scale=2)
        assert spec.coerce(0.1) == Decimal("0.10")  # not 0.1000000000000000055511151231257827…
        assert spec.coerce(1.15) == Decimal("1.15")

    def test_float_sum_noise_is_refused_not_rounded(self) -> None:
        # 0.1 + 0.2 == 0.30000000000000004 in binary floating point.
        err = refused(DecimalField(scale=2), 0.1 + 0.2)
        assert err.message == "must have at most 2 decimal places"
        assert err.code == "scale"

    def test_decimal_arithmetic_is_exact(self) -> None:
        spec = DecimalField(scale=2)
        total = spec.coerce("0.10") + spec.coerce("0.20")
        assert spec.coerce(total) == Decimal("0.30")
        assert sum((spec.coerce("0.01") for _ in range(100)), Decimal(0)) == spec.coerce(1)

    @pytest.mark.parametrize(("scale", "raw", "message"), [
        (2, "1.234", "must have at most 2 decimal places"),
        (1, "1.25", "must have at most 1 decimal place"),
        (0, "3.5", "must be a whole number (no decimal places)"),
    ])
    def test_too_many_places_refused(self, scale, raw, message) -> None:
        assert refused(DecimalField(scale=scale), raw).message == message

    def test_trailing_zeros_are_not_extra_places(self) -> None:
        assert DecimalField(scale=2).coerce("3.1400000") == Decimal("3.14")
        assert DecimalField(scale=0).coerce(Decimal("1E+3")) == Decimal(1000)

    def test_very_long_input_is_not_silently_rounded(self) -> None:
        raw = "1." + "0" * 100 + "1"
        assert refused(DecimalField(scale=2), raw).code == "scale"

    def test_precision_limits_integer_digits(self) -> None:
        spec = DecimalField(scale=2, precision=6)
        assert spec.coerce("9999.99") == Decimal("9999.99")
        err = refused(spec, "10000")
        assert err.message == "is too large: at most 4 digits before the decimal point"
        assert refused(spec, Decimal("1E+999999")).code == "too_large"

    @pytest.mark.parametrize("raw", [True, "NaN", Decimal("NaN"), float("inf"), "Infinity", "12,50", "¥12", [1]])
    def test_refused(self, raw) -> None:
        refused(DecimalField(), raw)

    def test_negative_zero_is_zero(self) -> None:
        assert str(DecimalField().coerce("-0.00")) == "0.00"

    def test_range(self) -> None:
        spec = DecimalField(min="0", max="100.5")
        assert spec.coerce("100.50") == Decimal("100.5")
        assert refused(spec, "-0.01").message == "must be at least 0"
        assert refused(spec, "100.51").message == "must be at most 100.5"

    def test_quantize_rounds_half_up(self) -> None:
        spec = DecimalField(scale=2)
        assert spec.quantize(Decimal("2.675")) == Decimal("2.68")
        assert spec.quantize(Decimal("-2.675")) == Decimal("-2.68")  # half away from zero
        assert spec.quantize(Decimal("2.674999")) == Decimal("2.67")
        assert spec.quantize(2.675) == Decimal("2.68")  # float read via repr: "2.675"
        assert spec.quantize(3) == Decimal("3.00")
        assert str(spec.quantize(Decimal("-0.001"))) == "0.00"
        # quantity * unit_price, the sales order's computed amount
        assert spec.quantize(7 * Decimal("33.33") / 3) == Decimal("77.77")

    def test_quantize_result_passes_coerce(self) -> None:
        spec = DecimalField(scale=3)
        assert spec.coerce(spec.quantize(Decimal(1) / Decimal(3))) == Decimal("0.333")

    def test_quantize_refuses_non_numbers(self) -> None:
        with pytest.raises(FieldValueError):
            DecimalField().quantize("abc")
        with pytest.raises(FieldValueError):
            DecimalField().quantize(Decimal("1E+200"))

    def test_small_scale_json(self) -> None:
        spec = DecimalField(scale=10, precision=12)
        assert spec.to_json(spec.coerce("0.00000001")) == "0.0000000100"

    def test_options(self) -> None:
        with pytest.raises(ValidationError, match="precision \\(2\\) must be at least scale \\(3\\)"):
            DecimalField(scale=3, precision=2)
        with pytest.raises(ValidationError, match="min .* must not be greater than max"):
            DecimalField(min=5, max=1)
        with pytest.raises(ValidationError, match="more decimal places than scale"):
            DecimalField(min="0.001")
        with pytest.raises(ValidationError):
            DecimalField(scale=11)
        with pytest.raises(ValidationError):
            DecimalField(scale=True)
        with pytest.raises(ValidationError, match="finite"):
            DecimalField(max="NaN")


class TestMoney:
    def test_is_a_decimal_with_a_currency(self) -> None:
        spec = MoneyField(currency="USD")
        assert spec.coerce("19.9") == Decimal("19.90")
        assert spec.to_json(spec.coerce("19.9")) == "19.90"
        assert spec.quantize(Decimal("0.005")) == Decimal("0.01")
        assert MoneyField().currency == "CNY"
        assert spec.value_schema()["x-currency"] == "USD"
        assert spec.widget == "money"

    @pytest.mark.parametrize("code", ["usd", "US", "USDT", "元"])
    def test_currency_must_be_iso_code(self, code) -> None:
        with pytest.raises(ValidationError, match="ISO 4217"):
            MoneyField(currency=code)

    def test_refuses_extra_places(self) -> None:
        assert refused(MoneyField(), "1.999").code == "scale"

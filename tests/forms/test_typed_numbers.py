"""Numbers typed on a page the way clerks type them: thousands separators and full-width digits."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from forms.base import FieldValueError
from forms.number_fields import DecimalField, IntegerField, MoneyField

UTC = ZoneInfo("UTC")
MONEY = MoneyField(type="money", currency="CNY", scale=2)


@pytest.mark.parametrize(("typed", "value"), [
    ("1,200.50", Decimal("1200.50")), ("12,000", Decimal("12000.00")), ("１２００", Decimal("1200.00")),
    ("1，200．5", Decimal("1200.50")), ("-1,000", Decimal("-1000.00")), (" 1,234,567.8 ", Decimal("1234567.80")),
])
def test_money_as_typed(typed: str, value: Decimal) -> None:
    got = MONEY.parse_form([typed], tz=UTC)
    assert got == value and got.as_tuple().exponent == -2


@pytest.mark.parametrize("typed", ["12,00", "1,2345", "1,,000", ",100", "1,000,00"])
def test_a_comma_that_does_not_group_thousands_is_refused_not_guessed(typed: str) -> None:
    with pytest.raises(FieldValueError):
        MONEY.parse_form([typed], tz=UTC)


def test_integers_and_decimals_too_but_not_the_api() -> None:
    assert IntegerField(type="integer").parse_form(["1,000"], tz=UTC) == 1000
    assert IntegerField(type="integer").parse_form(["３"], tz=UTC) == 3
    assert DecimalField(type="decimal", scale=1).parse_form(["2,500.5"], tz=UTC) == Decimal("2500.5")
    with pytest.raises(FieldValueError):  # JSON/API values stay exact
        MONEY.coerce("1,200.50")

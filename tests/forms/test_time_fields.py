"""Date and datetime fields: ISO input, time zones, ranges."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from forms import DateField, DateTimeField, FieldValueError

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def refused(spec, raw, **kw) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        spec.coerce(raw, **kw)
    assert info.value.message
    return info.value


class TestDate:
    @pytest.mark.parametrize("raw", [date(2026, 10, 1), "2026-10-01", " 2026-10-01 ", datetime(2026, 10, 1)])
    def test_accepts(self, raw) -> None:
        value = DateField().coerce(raw)
        assert value == date(2026, 10, 1) and type(value) is date

    def test_blank_is_none(self) -> None:
        assert DateField().coerce("") is None and DateField().coerce(None) is None

    def test_datetime_with_time_refused(self) -> None:
        assert refused(DateField(), datetime(2026, 10, 1, 9, 30)).code == "has_time"

    @pytest.mark.parametrize("raw", ["2026/10/01", "01.10.2026", "20261001", "2026-W40-4", "next week", 20261001])
    def test_other_spellings_refused(self, raw) -> None:
        refused(DateField(), raw)

    def test_impossible_date_refused(self) -> None:
        assert "not a valid date" in refused(DateField(), "2026-02-30").message

    def test_range_from_yaml_strings(self) -> None:
        spec = DateField(min="2026-01-01", max="2026-12-31")
        assert spec.min == date(2026, 1, 1)
        assert spec.coerce("2026-12-31") == date(2026, 12, 31)
        assert refused(spec, "2025-12-31").message == "must be on or after 2026-01-01"
        assert refused(spec, "2027-01-01").message == "must be on or before 2026-12-31"

    def test_bad_options(self) -> None:
        with pytest.raises(ValidationError, match="must not be greater"):
            DateField(min="2026-12-31", max="2026-01-01")
        with pytest.raises(ValidationError, match="must be a date like"):
            DateField(min="tomorrow")

    def test_json(self) -> None:
        assert DateField().to_json(date(2026, 10, 1)) == "2026-10-01"


class TestDateTime:
    def test_offset_in_the_value_wins(self) -> None:
        value = DateTimeField().coerce("2026-10-01T09:30:00+08:00", tz=BERLIN)
        assert value == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
        assert value.tzinfo is UTC

    def test_z_suffix(self) -> None:
        assert DateTimeField().coerce("2026-10-01T01:30:00Z") == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)

    def test_naive_value_is_read_in_the_given_zone(self) -> None:
        # An HTML datetime-local input posts wall time without an offset.
        spec = DateTimeField()
        assert spec.coerce("2026-10-01T09:30", tz=SHANGHAI) == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
        assert spec.parse_form(["2026-10-01T09:30"], tz=SHANGHAI) == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
        assert spec.coerce(datetime(2026, 10, 1, 9, 30), tz=SHANGHAI) == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)

    def test_naive_value_without_zone_is_utc(self) -> None:
        assert DateTimeField().coerce("2026-10-01 09:30:15.250") == datetime(2026, 10, 1, 9, 30, 15, 250000, tzinfo=UTC)

    def test_aware_datetime_is_converted_to_utc(self) -> None:
        eastern = timezone(timedelta(hours=-5))
        value = DateTimeField().coerce(datetime(2026, 3, 1, 20, 0, tzinfo=eastern), tz=SHANGHAI)
        assert value == datetime(2026, 3, 2, 1, 0, tzinfo=UTC) and value.utcoffset() == timedelta(0)

    def test_dst_gap_and_fold(self) -> None:
        spec = DateTimeField()
        # 02:30 does not exist in Berlin on 2026-03-29: read with the offset before the gap (+01:00).
        assert spec.coerce("2026-03-29T02:30", tz=BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        # 02:30 happens twice on 2026-10-25: the first occurrence (+02:00).
        assert spec.coerce("2026-10-25T02:30", tz=BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)

    @pytest.mark.parametrize("raw", ["2026-10-01", "09:30", "2026-10-01T25:00", "yesterday", date(2026, 10, 1), 1700000000])
    def test_refused(self, raw) -> None:
        refused(DateTimeField(), raw)

    def test_range(self) -> None:
        spec = DateTimeField(min="2026-01-01T00:00:00+08:00", max="2026-12-31T00:00")
        assert spec.min == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
        assert spec.max == datetime(2026, 12, 31, 0, 0, tzinfo=UTC)  # naive option: UTC
        assert spec.coerce("2026-01-01T00:00", tz=SHANGHAI) == spec.min
        err = refused(spec, "2025-12-31T23:59", tz=SHANGHAI)
        assert err.message == "must be at or after 2025-12-31T16:00:00Z"
        assert refused(spec, "2026-12-31T00:00:01Z").code == "too_late"

    def test_bad_options(self) -> None:
        with pytest.raises(ValidationError, match="must not be greater"):
            DateTimeField(min="2026-02-01T00:00Z", max="2026-01-01T00:00Z")

    @pytest.mark.parametrize("raw, kw", [
        ("0001-01-01T00:00+01:00", {}),
        ("9999-12-31T23:59-01:00", {}),
        (datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5))), {}),
        ("9999-12-31T23:59", {"tz": ZoneInfo("America/New_York")}),
        ("0001-01-01T00:30", {"tz": SHANGHAI}),
    ])
    def test_instant_outside_utc_range_refused(self, raw, kw) -> None:
        assert refused(DateTimeField(), raw, **kw).code == "out_of_range"

    def test_extreme_years_that_fit_in_utc(self) -> None:
        spec = DateTimeField()
        assert spec.coerce("0001-01-01T00:00Z") == datetime(1, 1, 1, tzinfo=UTC)
        assert spec.coerce("9999-12-31T23:59+01:00") == datetime(9999, 12, 31, 22, 59, tzinfo=UTC)

    def test_option_outside_utc_range_is_a_load_error(self) -> None:
        with pytest.raises(ValidationError, match="supported range"):
            DateTimeField(min="0001-01-01T00:00+01:00")
        with pytest.raises(ValidationError, match="does not fit"):
            DateTimeField(default="9999-12-31T23:59-01:00")

    def test_from_db_attaches_utc_to_naive(self) -> None:
        spec = DateTimeField()
        assert spec.from_db(datetime(2026, 10, 1, 1, 30)) == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
        assert spec.from_db(datetime(2026, 10, 1, 9, 30, tzinfo=SHANGHAI)).tzinfo is UTC
        assert spec.from_db(None) is None

    def test_json(self) -> None:
        spec = DateTimeField()
        assert spec.to_json(spec.coerce("2026-10-01T09:30+08:00")) == "2026-10-01T01:30:00Z"

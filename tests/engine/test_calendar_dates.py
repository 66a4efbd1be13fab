"""The date-by-date stream of working intervals (calendars with no interval past midnight) gives exactly
what the general stream gives: working time, due instants, warnings, openings, across DST changes,
holidays and make-up days, for many random starts."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from engine.sla.calendar import BusinessCalendar

SPECS = [
    {"timezone": "Asia/Shanghai", "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
     "holidays": ["2026-10-01", "2026-10-02"], "workdays": ["2026-10-10"]},
    {"timezone": "America/New_York", "hours": {"sun": ["01:00-02:30", "03:00-04:00"], "mon-fri": "09:00-17:00"}},
    {"timezone": "Europe/Berlin", "hours": {"mon-sat": ["00:00-02:30", "02:30-03:30", "08:00-24:00"]}},
    {"timezone": "Australia/Lord_Howe", "hours": {"mon-sun": ["01:00-02:15", "02:15-03:00", "12:00-12:30"]}},
]


def _both(spec: dict[str, object]) -> tuple[BusinessCalendar, BusinessCalendar]:
    fast, general = BusinessCalendar.from_spec(spec), BusinessCalendar.from_spec(spec)
    assert fast._within_dates  # every spec above keeps its intervals within their date
    general._within_dates = False  # the heap over dates, as for a calendar with a night shift
    return fast, general


@pytest.mark.parametrize("spec", SPECS, ids=[str(s["timezone"]) for s in SPECS])
def test_the_date_by_date_stream_agrees_with_the_general_one(spec: dict[str, object]) -> None:
    fast, general = _both(spec)
    rng = random.Random(20261205)
    origin = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for _ in range(400):
        start = origin + timedelta(seconds=rng.randrange(0, 365 * 86400))
        end = start + timedelta(seconds=rng.randrange(-3 * 86400, 20 * 86400))
        amount = timedelta(seconds=rng.randrange(0, 40 * 3600))
        for name in ("1d", "2d", "4h", "1d 3h", "90m"):
            assert fast.add(start, name) == general.add(start, name), (start, name)
        assert fast.working_seconds(start, end) == general.working_seconds(start, end), (start, end)
        assert fast.add_working(start, amount) == general.add_working(start, amount), (start, amount)
        due = general.add(start, "2d")
        assert fast.warn_instant(start, due, 0.75) == general.warn_instant(start, due, 0.75), start
        assert fast.next_working_instant(start) == general.next_working_instant(start), start
        assert fast.is_working(start) == general.is_working(start), start


def test_a_night_shift_keeps_the_general_stream() -> None:
    cal = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": {"mon-sun": "22:00-06:00"}})
    assert not cal._within_dates

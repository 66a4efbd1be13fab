"""Tests for engine.sla.calendar: calendar validation and the clock rules 1-9.

Every expected instant is computed by hand; the comments show the arithmetic.
Weekdays used below (2026): 09-18 Fri, 09-19 Sat, 09-20 Sun, 09-21 Mon,
09-22 Tue, 09-25 Fri, 09-27 Sun, 09-30 Wed, 10-01 Thu, 10-08 Thu, 10-09 Fri,
10-10 Sat.
"""

from __future__ import annotations

import time as _time
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from engine.language.durations import Duration, parse_duration
from engine.sla.calendar import (
    BusinessCalendar,
    CalendarHorizonError,
    CalendarSpec,
    Clock,
    ElapsedClock,
)

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

# The calendar of acceptance/sales_order.yaml.
REFERENCE: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
    "holidays": ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
    "workdays": ["2026-09-27", "2026-10-10"],
}


def sh(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """2026-month-day hour:minute in Asia/Shanghai."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def d(text: str) -> Duration:
    return parse_duration(text)


@pytest.fixture(scope="module")
def ref() -> BusinessCalendar:
    return BusinessCalendar.from_spec(CalendarSpec.model_validate(REFERENCE))


def calendar(**overrides: Any) -> BusinessCalendar:
    return BusinessCalendar.from_spec({**REFERENCE, **overrides})


# ---------------------------------------------------------------------------
# h/m/s under the reference calendar (rules 3, 5, 6)
# ---------------------------------------------------------------------------


def test_4h_across_national_day(ref: BusinessCalendar) -> None:
    # 09-30 17:30-18:00 = 30m; 10-01/02 holidays; 10-03/04 weekend; 10-05..07
    # holidays; 10-08 09:00-12:00 = 3h (3h30 so far); 13:00 + 30m = 13:30.
    due = ref.add(sh(9, 30, 17, 30), d("4h"))
    assert due == sh(10, 8, 13, 30)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 10, 8, 5, 30, tzinfo=UTC)


def test_4h_from_friday_afternoon(ref: BusinessCalendar) -> None:
    # Fri 09-18 16:00-18:00 = 2h; weekend; Mon 09-21 09:00 + 2h = 11:00.
    assert ref.add(sh(9, 18, 16), d("4h")) == sh(9, 21, 11)


def test_4h_from_friday_before_make_up_saturday(ref: BusinessCalendar) -> None:
    # Fri 10-09 16:00-18:00 = 2h; Sat 10-10 is a make-up day with Monday's
    # hours: 09:00 + 2h = 11:00.
    assert ref.add(sh(10, 9, 16), d("4h")) == sh(10, 10, 11)


def test_start_on_a_holiday(ref: BusinessCalendar) -> None:
    # 10-01 is a holiday: the clock starts at the next opening, 10-08 09:00;
    # 09:00-12:00 = 3h, 13:00 + 1h = 14:00.
    assert ref.add(sh(10, 1, 10), d("4h")) == sh(10, 8, 14)


def test_start_in_lunch_break(ref: BusinessCalendar) -> None:
    # Mon 12:30 is outside working time: start at 13:00, + 4h = 17:00.
    assert ref.add(sh(9, 21, 12, 30), d("4h")) == sh(9, 21, 17)


def test_exactly_hitting_closing_time(ref: BusinessCalendar) -> None:
    # Rule 5: 14:00 + 4h runs out exactly at 18:00 -> due 18:00, not Tue 09:00.
    assert ref.add(sh(9, 21, 14), d("4h")) == sh(9, 21, 18)
    assert ref.add(sh(9, 21, 16, 30), d("1h30m")) == sh(9, 21, 18)
    # A full day: 3h + 5h = 8h from 09:00 ends at 18:00.
    assert ref.add(sh(9, 21, 9), d("8h")) == sh(9, 21, 18)
    # 2h from 10:00 ends exactly at 12:00 (the lunch break starts): due 12:00.
    assert ref.add(sh(9, 21, 10), d("2h")) == sh(9, 21, 12)


def test_seconds_and_minutes(ref: BusinessCalendar) -> None:
    # 11:59:30 + 45s: 30s before lunch, 15s after 13:00.
    assert ref.add(sh(9, 21, 11, 59) + timedelta(seconds=30), d("45s")) == sh(9, 21, 13) + timedelta(seconds=15)
    # 17:00 + 90m: 1h on Mon, 30m on Tue -> 09:30.
    assert ref.add(sh(9, 21, 17), d("90m")) == sh(9, 22, 9, 30)


def test_accepts_duration_text_and_any_input_zone(ref: BusinessCalendar) -> None:
    start_utc = sh(9, 21, 14).astimezone(UTC)  # 06:00Z
    assert ref.add(start_utc, "4h") == sh(9, 21, 18)


# ---------------------------------------------------------------------------
# d under the reference calendar (rule 4)
# ---------------------------------------------------------------------------


def test_1d_from_friday(ref: BusinessCalendar) -> None:
    # Sat/Sun have no working time; Mon 09-21 is the first counted date.
    assert ref.add(sh(9, 18, 10), d("1d")) == sh(9, 21, 10)


def test_days_cross_make_up_sunday(ref: BusinessCalendar) -> None:
    # Fri 09-25 10:00: Sat 09-26 no; Sun 09-27 make-up day -> 1st; Mon 09-28 -> 2nd.
    assert ref.add(sh(9, 25, 10), d("1d")) == sh(9, 27, 10)
    assert ref.add(sh(9, 25, 10), d("2d")) == sh(9, 28, 10)


def test_5d_across_national_day(ref: BusinessCalendar) -> None:
    # From Wed 09-30: 10-01..07 never count (holidays or weekend); 10-08 (1),
    # 10-09 (2), Sat 10-10 make-up (3), Sun 10-11 no, 10-12 (4), 10-13 (5).
    assert ref.add(sh(9, 30, 10), d("5d")) == sh(10, 13, 10)


def test_days_keep_time_of_day_even_at_closing(ref: BusinessCalendar) -> None:
    assert ref.add(sh(9, 21, 17, 59), d("1d")) == sh(9, 22, 17, 59)


def test_days_from_outside_working_time(ref: BusinessCalendar) -> None:
    # Rule 4: days are counted from the start's own date and keep its wall-clock
    # time, whether or not the start is inside working hours; the start date never
    # counts (moving to the next opening first would add up to a day).
    # Sat 09-19 10:00: Sun has no work, Mon 09-21 is the first working date -> Mon 10:00.
    assert ref.add(sh(9, 19, 10), d("1d")) == sh(9, 21, 10)
    # Fri 20:00 (after closing) -> Mon 20:00, not Tue 09:00.
    assert ref.add(sh(9, 18, 20), d("1d")) == sh(9, 21, 20)
    # Lunch: Fri 12:30 -> Mon 12:30.
    assert ref.add(sh(9, 18, 12, 30), d("1d")) == sh(9, 21, 12, 30)
    # Days then hours: Fri 20:00 + 1d = Mon 20:00; the 2h then run from Tue's opening.
    assert ref.add(sh(9, 18, 20), d("1d2h")) == sh(9, 22, 11)


def test_combined_days_then_hours(ref: BusinessCalendar) -> None:
    # Fri 10:00 + 1d = Mon 10:00; + 4h working = 10-12 (2h) + 13-15 (2h) = 15:00.
    assert ref.add(sh(9, 18, 10), d("1d4h")) == sh(9, 21, 15)


# ---------------------------------------------------------------------------
# working_seconds, next_working_instant, is_working
# ---------------------------------------------------------------------------


def test_working_seconds_across_lunch_and_night(ref: BusinessCalendar) -> None:
    # Mon 11:00-12:00 (1h) + 13:00-18:00 (5h) + Tue 09:00-10:00 (1h) = 7h.
    assert ref.working_seconds(sh(9, 21, 11), sh(9, 22, 10)) == 7 * 3600
    # Across the national day: exactly the 4h of the first test.
    assert ref.working_seconds(sh(9, 30, 17, 30), sh(10, 8, 13, 30)) == 4 * 3600
    # Inside the lunch break and over a weekend: nothing.
    assert ref.working_seconds(sh(9, 21, 12), sh(9, 21, 13)) == 0.0
    assert ref.working_seconds(sh(9, 18, 18), sh(9, 21, 9)) == 0.0
    # An interval that ends before it starts is negative, never zero.
    assert ref.working_seconds(sh(9, 22, 10), sh(9, 21, 11)) == -7 * 3600
    assert ref.working_seconds(sh(9, 21, 11), sh(9, 21, 11)) == 0.0


def test_add_working_is_exact_to_the_microsecond(ref: BusinessCalendar) -> None:
    # A resumed clock gets back exactly what it had left (no rounding to whole seconds).
    left = timedelta(hours=1, seconds=0.4)
    assert ref.add_working(sh(9, 21, 11, 30), left) == sh(9, 21, 13, 30) + timedelta(seconds=0.4)
    assert ElapsedClock("UTC").add_working(datetime(2026, 1, 1, tzinfo=UTC), timedelta(microseconds=1)) \
        == datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def test_next_working_instant(ref: BusinessCalendar) -> None:
    assert ref.next_working_instant(sh(9, 21, 10)) == sh(9, 21, 10)
    assert ref.next_working_instant(sh(9, 21, 12, 30)) == sh(9, 21, 13)
    assert ref.next_working_instant(sh(9, 18, 18)) == sh(9, 21, 9)  # 18:00 itself is closed
    assert ref.next_working_instant(sh(10, 1, 0)) == sh(10, 8, 9)
    assert ref.next_working_instant(sh(9, 26, 15)) == sh(9, 27, 9)  # make-up Sunday
    assert ref.next_working_instant(sh(9, 21, 10)).tzinfo is UTC


def test_is_working_half_open(ref: BusinessCalendar) -> None:
    assert ref.is_working(sh(9, 21, 9))  # opening instant is working
    assert ref.is_working(sh(9, 21, 11, 59))
    assert not ref.is_working(sh(9, 21, 12))  # end is excluded
    assert ref.is_working(sh(9, 21, 13))
    assert not ref.is_working(sh(9, 21, 18))
    assert not ref.is_working(sh(9, 19, 10))  # Saturday
    assert ref.is_working(sh(10, 10, 10))  # make-up Saturday
    assert ref.is_working(sh(9, 27, 10))  # make-up Sunday
    assert not ref.is_working(sh(10, 5, 10))  # holiday Monday


def test_calendar_helpers(ref: BusinessCalendar) -> None:
    assert ref.is_holiday(date(2026, 10, 1))
    assert not ref.is_holiday(date(2026, 9, 27))
    assert ref.has_working_time(date(2026, 9, 27))
    assert not ref.has_working_time(date(2026, 10, 3))
    assert ref.intervals_on(date(2026, 9, 21)) == (
        (sh(9, 21, 9), sh(9, 21, 12)),
        (sh(9, 21, 13), sh(9, 21, 18)),
    )
    assert isinstance(ref, Clock)
    assert isinstance(ElapsedClock("UTC"), Clock)


# ---------------------------------------------------------------------------
# warn (rule 8) and pauses (rule 7)
# ---------------------------------------------------------------------------


def test_warn_at_75_percent_of_4h(ref: BusinessCalendar) -> None:
    # Mon 10:00 + 4h = 10-12, 13-15 -> due 15:00; 75% = 3h -> 10-12 + 13-14 -> 14:00.
    due = ref.add(sh(9, 21, 10), d("4h"))
    assert due == sh(9, 21, 15)
    assert ref.warn_instant(sh(9, 21, 10), due, 0.75) == sh(9, 21, 14)
    # 50% = 2h: used up exactly at 12:00 (earliest instant, rule 5).
    assert ref.warn_instant(sh(9, 21, 10), due, 0.5) == sh(9, 21, 12)
    assert ref.warn_instant(sh(9, 21, 10), due, 1.0) == due
    # Across the national day: 75% of 4h = 3h: 30m on 09-30, 2h30 on 10-08 -> 11:30.
    due = ref.add(sh(9, 30, 17, 30), d("4h"))
    assert ref.warn_instant(sh(9, 30, 17, 30), due, 0.75) == sh(10, 8, 11, 30)


def test_warn_fraction_validated(ref: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ref.warn_instant(sh(9, 21, 10), sh(9, 21, 15), 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ref.warn_instant(sh(9, 21, 10), sh(9, 21, 15), -0.1)


def test_pause_and_resume(ref: BusinessCalendar) -> None:
    # Mon 10:00 start, 4h. Paused Mon 11:00 -> Tue 11:00: 1h before the pause,
    # then Tue 11-12 (1h) and 13-15 (2h) -> Tue 15:00.
    paused = [(sh(9, 21, 11), sh(9, 22, 11))]
    assert ref.add(sh(9, 21, 10), d("4h"), paused) == sh(9, 22, 15)
    assert ref.working_seconds(sh(9, 21, 10), sh(9, 22, 15), paused) == 4 * 3600
    # warn 75% (3h, pauses excluded): Mon 10-11, Tue 11-12, 13-14 -> Tue 14:00.
    assert ref.warn_instant(sh(9, 21, 10), sh(9, 22, 15), 0.75, paused) == sh(9, 22, 14)


def test_overlapping_pauses_count_once(ref: BusinessCalendar) -> None:
    # Pauses 11:00-14:00 and 13:30-15:00 remove 11-12 and 13-15 (3h, not 3.5h).
    # Mon 10-11 (1h) + 15-18 (3h) = 4h -> due Mon 18:00.
    paused = [(sh(9, 21, 13, 30), sh(9, 21, 15)), (sh(9, 21, 11), sh(9, 21, 14))]
    assert ref.working_seconds(sh(9, 21, 10), sh(9, 21, 18), paused) == 4 * 3600
    assert ref.add(sh(9, 21, 10), d("4h"), paused) == sh(9, 21, 18)


def test_pause_outside_working_time_changes_nothing(ref: BusinessCalendar) -> None:
    # Mon 16:00 + 4h = Mon 16-18, Tue 09-11 -> Tue 11:00, paused or not overnight.
    assert ref.add(sh(9, 21, 16), d("4h"), [(sh(9, 21, 19), sh(9, 22, 8))]) == sh(9, 22, 11)


def test_pause_at_start(ref: BusinessCalendar) -> None:
    # Put on hold right away 10:00-13:00: the clock runs 13:00-17:00.
    assert ref.add(sh(9, 21, 10), d("4h"), [(sh(9, 21, 10), sh(9, 21, 13))]) == sh(9, 21, 17)


def test_pause_extends_days(ref: BusinessCalendar) -> None:
    # 1d from Mon 10:00 is Tue 10:00 = 8h of working time. Pause Mon 14-16 (2h):
    # Mon 10-12, 13-14, 16-18 = 5h; Tue 09-12 = 3h -> Tue 12:00.
    assert ref.add(sh(9, 21, 10), d("1d"), [(sh(9, 21, 14), sh(9, 21, 16))]) == sh(9, 22, 12)
    # A pause after the due changes nothing.
    assert ref.add(sh(9, 21, 10), d("1d"), [(sh(9, 23, 10), sh(9, 23, 11))]) == sh(9, 22, 10)


def test_bad_pauses_refused(ref: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        ref.add(sh(9, 21, 10), d("4h"), [(sh(9, 21, 12), sh(9, 21, 11))])
    with pytest.raises(ValueError, match="timezone-aware"):
        ref.add(sh(9, 21, 10), d("4h"), [(datetime(2026, 9, 21, 11), sh(9, 21, 12))])


def test_naive_datetimes_refused(ref: BusinessCalendar) -> None:
    naive = datetime(2026, 9, 21, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        ref.add(naive, d("4h"))
    with pytest.raises(ValueError, match="timezone-aware"):
        ref.working_seconds(sh(9, 21, 10), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        ref.is_working(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        ElapsedClock("UTC").add(naive, d("1d"))
    with pytest.raises(ValueError, match="positive"):
        ref.add(sh(9, 21, 10), Duration())


# ---------------------------------------------------------------------------
# Long breaks: efficient, and capped
# ---------------------------------------------------------------------------


def test_long_break_is_fast() -> None:
    # Every date of 2027 and 2028 is a holiday: 1h from 2026-12-31 17:30 needs
    # 30m on 12-31 and 30m on Mon 2029-01-01 (09:30).
    days = [date(2027, 1, 1) + timedelta(days=i) for i in range(731)]
    cal = calendar(holidays=days, workdays=[])
    begin = _time.perf_counter()
    assert cal.add(sh(12, 31, 17, 30), d("1h")) == datetime(2029, 1, 1, 9, 30, tzinfo=SHANGHAI)
    assert cal.add(sh(12, 31, 10), d("1d")) == datetime(2029, 1, 1, 10, tzinfo=SHANGHAI)
    assert _time.perf_counter() - begin < 1.0


def test_search_is_capped() -> None:
    # Only Mondays work, and every Monday for ten years is a holiday.
    mondays = [date(2026, 9, 21) + timedelta(weeks=i) for i in range(530)]
    cal = BusinessCalendar.from_spec(
        {"timezone": "Asia/Shanghai", "hours": {"mon": ["09:00-18:00"]}, "holidays": mondays}
    )
    with pytest.raises(CalendarHorizonError, match="no working"):
        cal.add(sh(9, 20, 10), d("1h"))
    with pytest.raises(CalendarHorizonError):
        cal.add(sh(9, 20, 10), d("1d"))
    assert issubclass(CalendarHorizonError, ValueError)


# ---------------------------------------------------------------------------
# Night shifts (rule 1)
# ---------------------------------------------------------------------------


def test_night_shift_belongs_to_start_day() -> None:
    cal = BusinessCalendar.from_spec({"timezone": "Asia/Shanghai", "hours": {"mon-fri": "22:00-06:00"}})
    assert cal.is_working(sh(9, 19, 3))  # Sat 03:00: Friday's shift
    assert not cal.is_working(sh(9, 20, 3))  # Sun 03:00: Saturday has no shift
    assert not cal.is_working(sh(9, 21, 3))  # Mon 03:00: Sunday has no shift
    assert cal.is_working(sh(9, 22, 3))  # Tue 03:00: Monday's shift
    assert cal.is_working(sh(9, 21, 22))
    assert not cal.is_working(sh(9, 22, 6))  # half-open
    # Fri 23:00 + 8h: 7h until Sat 06:00, then Mon 22:00 + 1h = Mon 23:00.
    assert cal.add(sh(9, 18, 23), d("8h")) == sh(9, 21, 23)
    # Shift = 8h; Mon 22:00 -> Wed 06:00 covers two shifts.
    assert cal.working_seconds(sh(9, 21, 12), sh(9, 23, 12)) == 16 * 3600
    # 1d from Mon 23:00: Tue has a shift -> Tue 23:00.
    assert cal.add(sh(9, 21, 23), d("1d")) == sh(9, 22, 23)
    # A holiday on Friday removes the whole Friday-night shift, Saturday morning included.
    hol = BusinessCalendar.from_spec(
        {"timezone": "Asia/Shanghai", "hours": {"mon-fri": "22:00-06:00"}, "holidays": ["2026-09-18"]}
    )
    assert not hol.is_working(sh(9, 19, 3))
    assert hol.is_working(sh(9, 18, 3))  # Thursday's shift is untouched


# ---------------------------------------------------------------------------
# DST (rules 3 and 4)
# ---------------------------------------------------------------------------


def ny(month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK, fold=fold)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_elapsed_1d_vs_24h_spring_forward() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT. Start Sat 09:00 EST = 14:00Z.
    clock = ElapsedClock("America/New_York")
    assert clock.add(ny(3, 7, 9), d("1d")) == utc(3, 8, 13)  # 09:00 EDT, 23 real hours later
    assert clock.add(ny(3, 7, 9), d("24h")) == utc(3, 8, 14)  # 10:00 EDT
    assert clock.working_seconds(ny(3, 8), ny(3, 9)) == 23 * 3600


def test_elapsed_1d_vs_24h_fall_back() -> None:
    # 2026-11-01 02:00 EDT -> 01:00 EST. Start Sat 09:00 EDT = 13:00Z.
    clock = ElapsedClock(NEW_YORK)
    assert clock.add(ny(10, 31, 9), d("1d")) == utc(11, 1, 14)  # 09:00 EST, 25 real hours
    assert clock.add(ny(10, 31, 9), d("24h")) == utc(11, 1, 13)  # 08:00 EST
    assert clock.working_seconds(ny(11, 1), ny(11, 2)) == 25 * 3600


def test_elapsed_gap_and_ambiguous_wall_times() -> None:
    clock = ElapsedClock("America/New_York")
    # 2026-03-08 02:30 does not exist: read with the offset before the gap
    # (EST, -5) -> 07:30Z (= 03:30 EDT).
    assert clock.add(ny(3, 7, 2, 30), d("1d")) == utc(3, 8, 7, 30)
    # 2026-11-01 01:30 happens twice: the first occurrence (EDT, -4) -> 05:30Z.
    assert clock.add(ny(10, 31, 1, 30), d("1d")) == utc(11, 1, 5, 30)
    # Even from the second occurrence, the next day's 01:30 is unambiguous.
    assert clock.add(ny(11, 1, 1, 30, fold=1), d("1d")) == utc(11, 2, 6, 30)


def test_elapsed_clock_pauses_and_basics() -> None:
    clock = ElapsedClock("Asia/Shanghai")
    start = sh(9, 1, 10)
    # 30d elapsed, every date counts (holidays do not exist for wall time).
    assert clock.add(start, d("30d")) == sh(10, 1, 10)
    # A 2-day pause pushes it 2 days.
    assert clock.add(start, d("30d"), [(sh(9, 5), sh(9, 7))]) == sh(10, 3, 10)
    assert clock.add(start, d("4h"), [(sh(9, 1, 11), sh(9, 1, 12))]) == sh(9, 1, 15)
    assert clock.add(start, d("1d4h")) == sh(9, 2, 14)
    assert clock.is_working(sh(10, 1, 3))
    assert clock.next_working_instant(sh(10, 1, 3)) == sh(10, 1, 3)
    assert clock.warn_instant(start, sh(9, 1, 14), 0.75) == sh(9, 1, 13)
    with pytest.raises(ValueError, match="unknown timezone"):
        ElapsedClock("Mars/Olympus")


def _all_day_ny() -> BusinessCalendar:
    return BusinessCalendar.from_spec({"timezone": "America/New_York", "hours": {"mon-sun": ["00:00-24:00"]}})


def test_business_all_day_shift_spring_forward() -> None:
    cal = _all_day_ny()
    # The 00:00-24:00 shift of 2026-03-08 runs 05:00Z -> 03-09 04:00Z: 23 real hours.
    assert cal.intervals_on(date(2026, 3, 8)) == ((utc(3, 8, 5), utc(3, 9, 4)),)
    assert cal.working_seconds(ny(3, 8), ny(3, 9)) == 23 * 3600
    # 24h from 03-08 00:00: 23h that day + 1h on 03-09 -> 01:00 EDT = 05:00Z.
    assert cal.add(ny(3, 8), d("24h")) == utc(3, 9, 5)
    # 1d keeps the wall time: 03-09 00:00 EDT = 04:00Z.
    assert cal.add(ny(3, 8), d("1d")) == utc(3, 9, 4)


def test_business_all_day_shift_fall_back() -> None:
    cal = _all_day_ny()
    # 2026-11-01 00:00 EDT (04:00Z) -> 11-02 00:00 EST (05:00Z): 25 real hours.
    assert cal.working_seconds(ny(11, 1), ny(11, 2)) == 25 * 3600
    # 24h from 11-01 00:00 is used up inside that day: 04:00Z + 24h = 11-02 04:00Z (23:00 EST).
    assert cal.add(ny(11, 1), d("24h")) == utc(11, 2, 4)
    assert cal.add(ny(11, 1), d("1d")) == utc(11, 2, 5)


def test_business_short_shift_counts_real_seconds() -> None:
    cal = BusinessCalendar.from_spec({"timezone": "America/New_York", "hours": {"sun": ["01:00-03:00"]}})
    # 03-08: 01:00 EST (06:00Z) -> 03:00 EDT (07:00Z) = 1 real hour.
    assert cal.working_seconds(ny(3, 8), ny(3, 9)) == 3600
    # 11-01: 01:00 EDT (05:00Z) -> 03:00 EST (08:00Z) = 3 real hours.
    assert cal.working_seconds(ny(11, 1), ny(11, 2)) == 3 * 3600
    # 2h from 03-08 01:00: 1h that Sunday, then 03-15 01:00 EDT + 1h = 06:00Z.
    assert cal.add(ny(3, 8, 1), d("2h")) == utc(3, 15, 6)


def test_business_intervals_in_dst_gap() -> None:
    # Wall times in the 02:00-03:00 gap of 2026-03-08 are read with EST (-5).
    # 01:00-02:30 -> 06:00Z-07:30Z and 03:00-04:00 (EDT) -> 07:00Z-08:00Z overlap
    # in real time: counted once, 06:00Z-08:00Z = 2h (not 2h30).
    cal = BusinessCalendar.from_spec(
        {"timezone": "America/New_York", "hours": {"sun": ["01:00-02:30", "03:00-04:00"], "mon": "09:00-10:00"}}
    )
    assert cal.working_seconds(ny(3, 8), ny(3, 9)) == 2 * 3600
    assert cal.working_seconds(ny(3, 1), ny(3, 2)) == 2.5 * 3600  # a normal Sunday
    # 02:30-03:00 reads as 07:30Z-07:00Z on that date: no working time at all.
    gap = BusinessCalendar.from_spec({"timezone": "America/New_York", "hours": {"sun": "02:30-03:00"}})
    assert not gap.has_working_time(date(2026, 3, 8))
    assert gap.has_working_time(date(2026, 3, 15))
    # so 1d from Sun 03-01 02:45 skips 03-08 and lands on 03-15 02:45 EDT = 06:45Z.
    assert gap.add(ny(3, 1, 2, 45), d("1d")) == utc(3, 15, 6, 45)


def ber(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_berlin_night_shift_across_dst() -> None:
    cal = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": {"mon-sun": "22:00-06:00"}})
    # 2026-03-29 02:00 CET -> 03:00 CEST. Saturday's shift: 22:00 CET (21:00Z)
    # -> Sun 06:00 CEST (04:00Z) = 7h.
    assert cal.working_seconds(ber(3, 28, 12), ber(3, 29, 12)) == 7 * 3600
    # 8h from Sat 22:00: 7h, then Sun 22:00 CEST (20:00Z) + 1h = 21:00Z.
    assert cal.add(ber(3, 28, 22), d("8h")) == utc(3, 29, 21)
    # 1d keeps the wall time: Sun 23:00 CEST = 21:00Z (only 23 real hours later).
    assert cal.add(ber(3, 28, 23), d("1d")) == utc(3, 29, 21)
    # 2026-10-25 03:00 CEST -> 02:00 CET. Saturday's shift: 22:00 CEST (20:00Z)
    # -> Sun 06:00 CET (05:00Z) = 9h.
    assert cal.working_seconds(ber(10, 24, 12), ber(10, 25, 12)) == 9 * 3600
    # 8h from Sat 22:00 CEST (20:00Z) ends inside the same shift: 04:00Z = 05:00 CET.
    assert cal.add(ber(10, 24, 22), d("8h")) == utc(10, 25, 4)
    assert cal.is_working(utc(10, 25, 4, 59))
    assert not cal.is_working(utc(10, 25, 5))


def test_berlin_day_shift_dst_days() -> None:
    cal = BusinessCalendar.from_spec({"timezone": "Europe/Berlin", "hours": {"mon-sun": "00:00-24:00"}})
    assert cal.working_seconds(ber(3, 29), ber(3, 30)) == 23 * 3600
    assert cal.working_seconds(ber(10, 25), ber(10, 26)) == 25 * 3600


# ---------------------------------------------------------------------------
# country holidays
# ---------------------------------------------------------------------------


def test_country_cn_holidays() -> None:
    # holidays 0.109 ships CN data for 2026: National Day 10-01..03, days off 10-05..07.
    cal = BusinessCalendar.from_spec(
        {"timezone": "Asia/Shanghai", "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]}, "country": "cn"}
    )
    assert cal.spec.country == "CN"
    assert cal.is_holiday(date(2026, 10, 1))
    assert cal.is_holiday(date(2026, 9, 25))  # Mid-Autumn Festival
    assert not cal.is_working(sh(10, 1, 10))
    assert cal.is_working(sh(9, 30, 10))
    # Same answer as the hand-written reference calendar: 10-08 13:30.
    assert cal.add(sh(9, 30, 17, 30), d("4h")) == sh(10, 8, 13, 30)


def test_country_holidays_add_to_explicit_ones_and_workdays_win() -> None:
    cal = BusinessCalendar.from_spec(
        {
            "timezone": "Asia/Shanghai",
            "hours": {"mon-fri": "09:00-18:00"},
            "country": "CN",
            "holidays": ["2026-09-30"],
            "workdays": ["2026-10-02", "2026-10-10"],
        }
    )
    assert cal.is_holiday(date(2026, 9, 30))  # explicit
    assert cal.is_holiday(date(2026, 10, 1))  # from the library
    assert cal.is_working(sh(10, 2, 10))  # explicit workday overrides the library
    assert cal.is_working(sh(10, 10, 10))


def test_country_cn_make_up_workdays() -> None:
    # holidays 0.109 publishes CN's make-up working days (调休) for 2026, e.g. Sun 09-20 and Sat 10-10.
    cal = BusinessCalendar.from_spec(
        {"timezone": "Asia/Shanghai", "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]}, "country": "CN"}
    )
    assert cal.is_working(sh(9, 20, 10))  # a Sunday worked for the Mid-Autumn bridge
    assert cal.is_working(sh(10, 10, 14))  # a Saturday worked after National Day
    assert not cal.is_working(sh(10, 11, 10))  # the Sunday after stays off
    # 1d from Sat 09-19 10:00: Sun 09-20 is a working date now -> Sun 10:00.
    assert cal.add(sh(9, 19, 10), d("1d")) == sh(9, 20, 10)
    # The flow's own holidays list wins over a library make-up day.
    off = BusinessCalendar.from_spec(
        {"timezone": "Asia/Shanghai", "hours": {"mon-fri": "09:00-18:00"}, "country": "CN", "holidays": ["2026-09-20"]}
    )
    assert not off.is_working(sh(9, 20, 10))


def test_subdivision() -> None:
    spec = CalendarSpec.model_validate(
        {"timezone": "America/New_York", "hours": {"mon-fri": "09:00-17:00"}, "country": "US", "subdivision": "ny"}
    )
    cal = BusinessCalendar.from_spec(spec)
    assert cal.is_holiday(date(2026, 7, 3))  # Independence Day (observed)


# ---------------------------------------------------------------------------
# CalendarSpec: accepted spellings
# ---------------------------------------------------------------------------


def test_spec_spellings() -> None:
    spec = CalendarSpec.model_validate(
        {
            "title": "Shifts",
            "timezone": "UTC",
            "hours": {
                "Mon,wed,fri": ["09:00-12:00"],
                "tue": "18:00-24:00",  # a single interval as a string; 24:00 as end
                "thu": ["18:00-00:00"],  # end not after start: up to midnight
                "sat-sun": ["9:30-12:00"],  # one-digit hour accepted
            },
        }
    )
    w = spec.week
    assert w[0] == w[2] == w[4] == ((32400, 43200),)
    assert w[1] == ((64800, 86400),) == w[3]
    assert w[5] == w[6] == ((34200, 43200),)


def test_spec_wrapping_range_and_night_shift() -> None:
    spec = CalendarSpec.model_validate({"timezone": "UTC", "hours": {"fri-mon": ["22:00-06:00"]}})
    assert [bool(day) for day in spec.week] == [True, False, False, False, True, True, True]
    assert spec.week[0] == ((79200, 108000),)


def test_spec_is_frozen() -> None:
    spec = CalendarSpec.model_validate(REFERENCE)
    with pytest.raises(ValidationError):
        spec.timezone = "UTC"  # type: ignore[misc]


# ---------------------------------------------------------------------------
# CalendarSpec: refused calendars (rule 9)
# ---------------------------------------------------------------------------


def refused(spec: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        CalendarSpec.model_validate(spec)
    return str(info.value)


def hours(value: Any) -> dict[str, Any]:
    return {"timezone": "Asia/Shanghai", "hours": value}


@pytest.mark.parametrize("tz", ["Asia/Beijing", "Mars/Olympus", "../etc/passwd", "", "+08:00"])
def test_unknown_timezone(tz: str) -> None:
    assert "unknown timezone" in refused({"timezone": tz, "hours": {"mon": ["09:00-18:00"]}})


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("9am-12:00", "malformed time '9am'"),
        ("25:00-26:00", "malformed time '25:00'"),
        ("12:60-13:00", "malformed time '12:60'"),
        ("0900-1200", "malformed time '0900'"),
        ("09:00", "malformed interval '09:00'"),
        ("09:00-12:00-13:00", "malformed interval"),
        ("24:00-06:00", "24:00 is only valid as an end"),
        ("09:00-24:30", "malformed time '24:30'"),
        (900, "valid string"),  # pydantic's own type check (location hours.mon-fri.0)
    ],
)
def test_malformed_time_or_interval(interval: Any, message: str) -> None:
    text = refused(hours({"mon-fri": [interval]}))
    assert message in text
    assert "hours['mon-fri']" in text or "hours.mon-fri.0" in text


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("monday", "unknown weekday 'monday'"),
        ("mon-fry", "unknown weekday 'fry'"),
        ("xyz", "unknown weekday 'xyz'"),
        ("mon,", "empty weekday"),
    ],
)
def test_unknown_weekday(key: str, message: str) -> None:
    assert message in refused(hours({key: ["09:00-18:00"]}))


def test_monday_hint() -> None:
    assert "did you mean 'mon'" in refused(hours({"monday": ["09:00-18:00"]}))


def test_weekday_listed_twice() -> None:
    text = refused(hours({"mon-fri": ["09:00-12:00"], "fri": ["13:00-18:00"]}))
    assert "'fri' is listed twice" in text and "'mon-fri'" in text
    assert "'mon' is listed twice" in refused(hours({"mon,mon": ["09:00-12:00"]}))


def test_overlapping_intervals() -> None:
    text = refused(hours({"mon-fri": ["09:00-12:00", "11:00-13:00"]}))
    assert "'09:00-12:00' and '11:00-13:00' overlap" in text
    assert "overlap" in refused(hours({"sat": ["00:00-24:00", "09:00-10:00"]}))
    assert "overlap" in refused(hours({"mon": ["20:00-04:00", "23:00-23:30"]}))
    # A night shift running into the next day's early interval.
    text = refused(hours({"sun": ["22:00-06:00"], "mon": ["05:00-09:00"]}))
    assert "'22:00-06:00' on sun runs past midnight and overlaps '05:00-09:00' on mon" in text
    # Touching intervals are fine.
    CalendarSpec.model_validate(
        hours({"mon": ["09:00-12:00", "12:00-13:00"], "tue": "22:00-06:00", "wed": "06:00-07:00"})
    )


def test_no_working_time_at_all() -> None:
    assert "no working time" in refused(hours({}))
    assert "no working time" in refused(hours({"mon-sun": []}))


def test_unknown_country_and_subdivision() -> None:
    assert "unknown country 'XX'" in refused({**REFERENCE, "country": "XX"})
    assert "unknown subdivision 'ZZ'" in refused({**REFERENCE, "country": "US", "subdivision": "ZZ"})
    assert "subdivision needs a country" in refused({**REFERENCE, "subdivision": "NY"})


def test_other_refusals() -> None:
    assert "Extra inputs are not permitted" in refused({**REFERENCE, "holiday": ["2026-10-01"]})
    assert "2026-10-01 listed both in holidays and in workdays" in refused(
        {**REFERENCE, "workdays": ["2026-10-01"]}
    )
    assert "mon has no working hours" in refused(
        {"timezone": "UTC", "hours": {"tue": "09:00-18:00"}, "workdays": ["2026-09-27"]}
    )
    assert "holidays" in refused({**REFERENCE, "holidays": ["2026-13-01"]})


def test_all_hours_errors_reported_at_once() -> None:
    text = refused(hours({"monday": ["09:00-12:00"], "tue": ["9am-12:00", "25:00-26:00"]}))
    assert "'monday'" in text and "'9am'" in text and "'25:00'" in text

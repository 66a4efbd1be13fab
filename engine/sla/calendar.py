"""Business calendars and SLA clocks ("Clock semantics", rules 1-9).

* ``CalendarSpec`` validates the YAML ``calendar:`` block.
* ``BusinessCalendar`` counts working time: ``h``/``m``/``s`` are real seconds
  spent inside working intervals, ``d`` counts dates that have working time.
* ``ElapsedClock`` counts wall time (``clock: elapsed``).

Both implement the ``Clock`` protocol. Every input instant must be
timezone-aware; every output instant is an aware UTC ``datetime``.

Working time is produced as a stream of UTC intervals, generated date by date
(never second by second), so long breaks cost one cheap step per date. A search
that finds no working time for ``HORIZON_DAYS`` consecutive dates raises
``CalendarHorizonError``.
"""

from __future__ import annotations

import heapq
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator, model_validator

from engine.language.durations import Duration, parse_duration
from forms.local_text import LocalText

__all__ = [
    "UTC",
    "WEEKDAYS",
    "HORIZON_DAYS",
    "CalendarHorizonError",
    "CalendarSpec",
    "Clock",
    "BusinessCalendar",
    "ElapsedClock",
]

UTC = timezone.utc
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Give up when this many consecutive dates have no working time.
HORIZON_DAYS = 5 * 366

_DAY = 86400
_ONE_DAY = timedelta(days=1)
_TIME_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
# Latest UTC offset in the tz database is +14:00: an interval of local date d
# cannot start before d 00:00 (read as UTC) minus 14h. One hour of margin.
_EARLIEST_OFFSET = timedelta(hours=15)
_FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)

Span = tuple[datetime, datetime]
LocalInterval = tuple[int, int]  # seconds after the owning date's midnight; end may exceed 86400
Week = tuple[tuple[LocalInterval, ...], ...]  # index 0 = Monday


class CalendarHorizonError(ValueError):
    """No working time found within ``HORIZON_DAYS`` consecutive dates."""


# --------------------------------------------------------------------------
# Parsing of the ``hours`` block
# --------------------------------------------------------------------------


def _fmt(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _parse_time(text: str, interval: str, where: str, *, is_end: bool) -> int:
    """``HH:MM`` → seconds after midnight; ``24:00`` only as an end."""
    m = _TIME_RE.match(text.strip())
    if m is None:
        raise ValueError(f"{where}: malformed time '{text.strip()}' in '{interval}': write HH:MM, e.g. 09:00")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour == 24 and minute == 0:
        if not is_end:
            raise ValueError(f"{where}: '{interval}' starts at 24:00; 24:00 is only valid as an end")
        return _DAY
    if hour > 23 or minute > 59:
        raise ValueError(f"{where}: malformed time '{text.strip()}' in '{interval}': hours 00-24, minutes 00-59")
    return hour * 3600 + minute * 60


def _parse_interval(text: Any, where: str) -> LocalInterval:
    """``"09:00-12:00"`` → (32400, 43200); an end not after the start runs past midnight."""
    if not isinstance(text, str):
        raise ValueError(f"{where}: interval must be text like '09:00-12:00', got {text!r}")
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"{where}: malformed interval '{text}': write START-END, e.g. '09:00-12:00'")
    start = _parse_time(parts[0], text, where, is_end=False)
    end = _parse_time(parts[1], text, where, is_end=True)
    if end <= start:  # rule 1: runs past midnight, belongs to the start day
        end += _DAY
    return start, end


def _weekday_index(name: str, key: str) -> int:
    if name in WEEKDAYS:
        return WEEKDAYS.index(name)
    hint = f" — did you mean '{name[:3]}'?" if name[:3] in WEEKDAYS else ""
    raise ValueError(
        f"hours: unknown weekday '{name}' in '{key}'{hint} (use {', '.join(WEEKDAYS)}, "
        "ranges like 'mon-fri' or lists like 'mon,wed,fri')"
    )


def _parse_day_key(key: str) -> list[int]:
    """``"mon-fri"``, ``"sat"``, ``"mon,wed,fri"``, ``"mon-wed,fri"`` → weekday indexes (0 = Monday).

    A range may wrap around the week end: ``fri-mon`` is fri, sat, sun, mon.
    """
    days: list[int] = []
    items = [item.strip() for item in key.lower().split(",")]
    for item in items:
        if not item:
            raise ValueError(f"hours: empty weekday in '{key}'")
        if "-" in item:
            first, _, last = (part.strip() for part in item.partition("-"))
            i, j = _weekday_index(first, key), _weekday_index(last, key)
            span = [(i + k) % 7 for k in range((j - i) % 7 + 1)]
        else:
            span = [_weekday_index(item, key)]
        for day in span:
            if day in days:
                raise ValueError(f"hours: weekday '{WEEKDAYS[day]}' is listed twice in '{key}'")
            days.append(day)
    return days


def _parse_hours(hours: Mapping[str, Sequence[str]]) -> Week:
    """Validate the ``hours`` mapping and return the weekly pattern (sorted intervals per weekday)."""
    errors: list[str] = []
    week: list[list[LocalInterval]] = [[] for _ in WEEKDAYS]
    labels: list[list[str]] = [[] for _ in WEEKDAYS]
    owner: dict[int, str] = {}
    for key, values in hours.items():
        try:
            days = _parse_day_key(str(key))
        except ValueError as exc:
            errors.append(str(exc))
            continue
        parsed: list[tuple[LocalInterval, str]] = []
        for value in values:
            try:
                parsed.append((_parse_interval(value, f"hours['{key}']"), str(value)))
            except ValueError as exc:
                errors.append(str(exc))
        for day in days:
            if day in owner:
                errors.append(f"hours: weekday '{WEEKDAYS[day]}' is listed twice ('{owner[day]}' and '{key}')")
                continue
            owner[day] = str(key)
            for interval, label in parsed:
                week[day].append(interval)
                labels[day].append(label)
    # Overlaps within a day, then a past-midnight tail against the next weekday.
    for day in range(7):
        pairs = sorted(zip(week[day], labels[day]))
        for (a, la), (b, lb) in zip(pairs, pairs[1:]):
            if b[0] < a[1]:
                errors.append(f"hours['{owner[day]}']: intervals '{la}' and '{lb}' overlap on {WEEKDAYS[day]}")
        week[day] = [iv for iv, _ in pairs]
        labels[day] = [lb for _, lb in pairs]
    for day in range(7):
        nxt = (day + 1) % 7
        for (_, end), label in zip(week[day], labels[day]):
            if end <= _DAY:
                continue
            for (start, _), other in zip(week[nxt], labels[nxt]):
                if start < end - _DAY:
                    errors.append(
                        f"hours: '{label}' on {WEEKDAYS[day]} runs past midnight and overlaps "
                        f"'{other}' on {WEEKDAYS[nxt]}"
                    )
    if errors:
        raise ValueError("; ".join(dict.fromkeys(errors)))
    return tuple(tuple(day) for day in week)


def _country_holidays(country: str, subdivision: str | None) -> holidays_lib.HolidayBase:
    """Public holidays of ``country`` from the ``holidays`` library (years load lazily)."""
    try:
        return holidays_lib.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        if subdivision is not None and subdivision != subdivision.upper():
            return _country_holidays(country, subdivision.upper())
        raise


# --------------------------------------------------------------------------
# The calendar block
# --------------------------------------------------------------------------


class CalendarSpec(BaseModel):
    """The YAML ``calendar:`` block.

    ``hours`` maps weekday names, ranges or lists (``mon-fri``, ``sat``,
    ``mon,wed,fri``) to intervals (``"09:00-12:00"``); a single interval may be
    given as a plain string. ``holidays`` remove every interval starting on
    that local date; ``workdays`` are make-up working days with Monday's hours.
    ``country``/``subdivision`` add the public holidays and the make-up working
    days (调休) of the ``holidays`` library; an explicit ``workdays`` entry wins
    over a library holiday, an explicit ``holidays`` entry over a library
    make-up working day.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: LocalText | None = None
    timezone: str
    hours: dict[str, list[str]]
    holidays: list[date] = []
    workdays: list[date] = []
    country: str | None = None
    subdivision: str | None = None

    _week: Week = PrivateAttr(default=())

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{value}': use an IANA name such as 'Asia/Shanghai'") from None
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _wrap_single_interval(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        week = _parse_hours(value)
        if not any(week):
            raise ValueError(
                "calendar has no working time at all: give at least one interval, e.g. mon-fri: ['09:00-18:00']"
            )
        return value

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str | None) -> str | None:
        return value.strip().upper() if value is not None else None

    @model_validator(mode="after")
    def _check_calendar(self) -> CalendarSpec:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"{listed} listed both in holidays and in workdays")
        week = _parse_hours(self.hours)
        if self.workdays and not week[0]:
            raise ValueError("workdays get the hours of a regular Monday, but mon has no working hours")
        if self.subdivision is not None and self.country is None:
            raise ValueError("subdivision needs a country")
        if self.country is not None:
            try:
                _country_holidays(self.country, self.subdivision)
            except NotImplementedError:
                if self.subdivision is not None and self.country in holidays_lib.list_supported_countries():
                    raise ValueError(
                        f"unknown subdivision '{self.subdivision}' for country '{self.country}'"
                    ) from None
                raise ValueError(
                    f"unknown country '{self.country}': use an ISO 3166-1 alpha-2 code such as 'CN'"
                ) from None
        self._week = week
        return self

    @property
    def week(self) -> Week:
        """Parsed weekly pattern: per weekday (0 = Monday) sorted (start, end) seconds after midnight."""
        return self._week


# --------------------------------------------------------------------------
# Clocks
# --------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """What the SLA engine needs from a clock (business calendar or wall time)."""

    tz: ZoneInfo

    def add(self, start: datetime, duration: Duration, paused: Sequence[Span] = ()) -> datetime: ...

    def working_seconds(self, start: datetime, end: datetime, paused: Sequence[Span] = ()) -> float: ...

    def add_working(self, start: datetime, amount: timedelta, paused: Sequence[Span] = ()) -> datetime: ...

    def next_working_instant(self, t: datetime) -> datetime: ...

    def is_working(self, t: datetime) -> bool: ...

    def warn_instant(
        self, start: datetime, due: datetime, fraction: float, paused: Sequence[Span] = ()
    ) -> datetime: ...


def _to_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _normalize_pauses(paused: Iterable[Span]) -> list[Span]:
    """UTC, sorted, overlapping or touching pauses merged (rule 7: overlaps count once)."""
    spans: list[Span] = []
    for i, pair in enumerate(paused):
        try:
            begin, end = pair
        except (TypeError, ValueError):
            raise ValueError(f"paused[{i}] must be a (start, end) pair") from None
        begin, end = _to_utc(begin, f"paused[{i}] start"), _to_utc(end, f"paused[{i}] end")
        if end < begin:
            raise ValueError(f"paused[{i}] ends before it starts ({begin.isoformat()} > {end.isoformat()})")
        if end > begin:
            spans.append((begin, end))
    spans.sort()
    merged: list[Span] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return merged


def _subtract(intervals: Iterable[Span], pauses: list[Span]) -> Iterator[Span]:
    """``intervals`` (sorted, disjoint) minus ``pauses`` (sorted, merged)."""
    i = 0
    for begin, end in intervals:
        while i < len(pauses) and pauses[i][1] <= begin:
            i += 1
        cursor = begin
        j = i
        while j < len(pauses) and pauses[j][0] < end:
            if pauses[j][0] > cursor:
                yield cursor, pauses[j][0]
            cursor = max(cursor, pauses[j][1])
            if cursor >= end:
                break
            j += 1
        if cursor < end:
            yield cursor, end


def _as_duration(duration: Duration | str) -> Duration:
    if isinstance(duration, Duration):
        if duration.is_zero:
            raise ValueError("duration must be positive")
        return duration
    return parse_duration(duration)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone '{tz}'") from None


class _TimelineClock(ABC):
    """Shared algorithms over a stream of working intervals (UTC, sorted, disjoint)."""

    tz: ZoneInfo

    @abstractmethod
    def _intervals_from(self, t: datetime, until: datetime | None = None) -> Iterator[Span]:
        """Working intervals after UTC instant ``t`` (clipped to start at ``t``), up to ``until``."""

    @abstractmethod
    def _step_days(self, anchor: datetime, days: int) -> datetime:
        """Rule 4: the instant ``days`` counted dates after ``anchor`` at its local time of day."""

    def _wall(self, day: date, seconds: int) -> datetime:
        """Local wall time ``seconds`` after ``day``'s midnight → UTC.

        A time in a DST gap is read with the offset before the gap; an ambiguous
        one is its first occurrence (``fold=0`` does exactly this).
        """
        extra, rest = divmod(seconds, _DAY)
        wall = datetime.combine(day + timedelta(days=extra), time(rest // 3600, rest % 3600 // 60, rest % 60))
        return wall.replace(tzinfo=self.tz, fold=0).astimezone(UTC)

    def _wall_time(self, day: date, tod: time) -> datetime:
        return datetime.combine(day, tod.replace(fold=0, tzinfo=None)).replace(tzinfo=self.tz).astimezone(UTC)

    def _consume(self, start: datetime, amount: timedelta, pauses: list[Span]) -> datetime:
        """Earliest instant at which ``amount`` of unpaused working time after ``start`` is used up (rule 5)."""
        if amount <= timedelta(0):
            return start
        remaining = amount
        intervals = self._intervals_from(start)
        for begin, end in _subtract(intervals, pauses) if pauses else intervals:
            span = end - begin
            if remaining <= span:
                return begin + remaining
            remaining -= span
        raise CalendarHorizonError("ran out of working time")  # pragma: no cover - generators are unbounded

    def _working(self, start: datetime, end: datetime, pauses: list[Span]) -> timedelta:
        total = timedelta(0)
        if end <= start:
            return total
        intervals = self._intervals_from(start, until=end)
        for begin, stop in _subtract(intervals, pauses) if pauses else intervals:
            if begin >= end:
                break
            total += min(stop, end) - begin
        return total

    # ---- public API (the Clock protocol) ---------------------------------

    def add(self, start: datetime, duration: Duration | str, paused: Sequence[Span] = ()) -> datetime:
        """Due instant of a clock of ``duration`` started at ``start`` (rules 3-7).

        The ``d`` part is stepped first (rule 4): from the start's own local date,
        keeping the start's local time of day, whether or not the start lies in
        working hours (the start date itself never counts). Then the
        ``h``/``m``/``s`` part is counted as working time (rule 3), from the next
        opening when that instant is outside working hours (rule 6). Paused
        intervals extend the due by the working time they remove: the result is
        the instant at which the unpaused working time equals that of the
        unpaused schedule, and never earlier than the unpaused due.
        """
        start = _to_utc(start, "start")
        duration = _as_duration(duration)
        pauses = _normalize_pauses(paused)
        after_days = self._step_days(start, duration.days) if duration.days else start
        rest = timedelta(seconds=duration.seconds)
        due = self._consume(after_days, rest, []) if rest else after_days
        if not pauses:
            return due
        budget = self._working(start, after_days, []) + rest
        return max(due, self._consume(start, budget, pauses))

    def add_working(self, start: datetime, amount: timedelta, paused: Sequence[Span] = ()) -> datetime:
        """The instant at which exactly ``amount`` of working time after ``start`` is used up (to the
        microsecond: a resumed clock gets back what it had left, not a rounded number of seconds)."""
        start = _to_utc(start, "start")
        return self._consume(start, amount, _normalize_pauses(paused))

    def working_seconds(self, start: datetime, end: datetime, paused: Sequence[Span] = ()) -> float:
        """Working time between ``start`` and ``end`` in seconds, pauses removed.

        Signed: an ``end`` before ``start`` gives minus the working time between them (a late finish
        measured from its due instant backwards is negative, never a silent zero)."""
        start, end = _to_utc(start, "start"), _to_utc(end, "end")
        pauses = _normalize_pauses(paused)
        if end < start:
            return -self._working(end, start, pauses).total_seconds()
        return self._working(start, end, pauses).total_seconds()

    def next_working_instant(self, t: datetime) -> datetime:
        """``t`` itself if it is working time, else the next opening."""
        t = _to_utc(t, "t")
        for begin, _ in self._intervals_from(t):
            return begin
        raise CalendarHorizonError("no working time ahead")  # pragma: no cover

    def is_working(self, t: datetime) -> bool:
        """Whether ``t`` lies inside a (half-open) working interval."""
        t = _to_utc(t, "t")
        for begin, _ in self._intervals_from(t, until=t + timedelta(microseconds=1)):
            return begin == t
        return False

    def warn_instant(
        self, start: datetime, due: datetime, fraction: float, paused: Sequence[Span] = ()
    ) -> datetime:
        """Rule 8: instant at which ``fraction`` (0..1) of the working time from ``start`` to ``due`` has elapsed."""
        if isinstance(fraction, bool) or not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
        start, due = _to_utc(start, "start"), _to_utc(due, "due")
        pauses = _normalize_pauses(paused)
        target = self._working(start, due, pauses) * fraction
        return min(self._consume(start, target, pauses), max(start, due))


class BusinessCalendar(_TimelineClock):
    """A business calendar: working intervals per weekday, holidays and make-up workdays.

    ``d`` durations count dates that own working time (rule 4), from the
    start's own date and keeping its time of day whether or not the start is
    in working hours: 1d from Saturday 10:00 is Monday 10:00 in a mon-fri
    09:00-18:00 calendar. ``h``/``m``/``s`` from a start outside working time
    begin at the next opening (rule 6).

    With ``country``, the library's public holidays are holidays and its
    make-up working days (调休: a weekend date worked instead of a bridge day)
    are workdays with Monday's hours, unless the flow lists that date under
    ``holidays``; the flow's own ``workdays`` always work.
    """

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.tz = ZoneInfo(spec.timezone)
        self._week = spec.week
        self._holidays = frozenset(spec.holidays)
        self._workdays = frozenset(spec.workdays)
        self._country = _country_holidays(spec.country, spec.subdivision) if spec.country else None
        self._cache: dict[date, tuple[Span, ...]] = {}
        # No interval runs past midnight: each date's intervals end by the next date's start, so a date's
        # own intervals, date after date, are already the sorted stream (see `_intervals_from`).
        self._within_dates = all(end <= _DAY for day in self._week for _, end in day)

    @classmethod
    def from_spec(cls, spec: CalendarSpec | Mapping[str, Any]) -> BusinessCalendar:
        """Build from a ``CalendarSpec`` (or the raw mapping of a YAML ``calendar:`` block)."""
        if not isinstance(spec, CalendarSpec):
            spec = CalendarSpec.model_validate(spec)
        return cls(spec)

    def is_holiday(self, day: date) -> bool:
        """Whether the local date ``day`` is a holiday (explicit or from ``country``), and not a workday."""
        if day in self._workdays:
            return False
        return day in self._holidays or (self._country is not None and day in self._country)

    def is_make_up_workday(self, day: date) -> bool:
        """Whether ``day`` works with Monday's hours: listed in ``workdays``, or a make-up working day
        of ``country`` that the flow does not list as a holiday."""
        if day in self._workdays:
            return True
        if self._country is None or day in self._holidays:
            return False
        _ = day in self._country  # loads that year of the library, its make-up working days included
        return day in self._country.weekend_workdays

    def intervals_on(self, day: date) -> tuple[Span, ...]:
        """UTC working intervals that belong to local date ``day`` (rules 1-2), empty ones dropped."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        if self.is_make_up_workday(day):
            pattern = self._week[0]
        elif self.is_holiday(day):
            pattern = ()
        else:
            pattern = self._week[day.weekday()]
        spans: list[Span] = []
        for begin, end in pattern:
            a, b = self._wall(day, begin), self._wall(day, end)
            if b > a:  # a DST gap can swallow a short interval entirely
                spans.append((a, b))
        result = tuple(sorted(spans))
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[day] = result
        return result

    def has_working_time(self, day: date) -> bool:
        """Whether local date ``day`` owns any working time (the dates that ``d`` counts)."""
        return bool(self.intervals_on(day))

    def _raw(self, day: date, until: datetime | None) -> Iterator[Span]:
        """Intervals of ``day`` and the following dates, sorted by start."""
        heap: list[Span] = []
        empty_run = 0
        while True:
            bound = datetime.combine(day, time(0), tzinfo=UTC) - _EARLIEST_OFFSET
            while heap and heap[0][0] <= bound:
                yield heapq.heappop(heap)
            if until is not None and bound >= until:
                while heap:
                    yield heapq.heappop(heap)
                return
            spans = self.intervals_on(day)
            for span in spans:
                heapq.heappush(heap, span)
            empty_run = 0 if spans else empty_run + 1
            if empty_run > HORIZON_DAYS:
                raise CalendarHorizonError(
                    f"no working time in the {HORIZON_DAYS} days up to {day.isoformat()}: check holidays and hours"
                )
            day += _ONE_DAY

    def _date_spans(self, day: date, until: datetime | None) -> Iterator[Span]:
        """Intervals of ``day`` and the following dates when no interval runs past midnight (most calendars):
        a date's intervals end by the next date's first instant, so date after date they come in order of
        their starts without the heap of `_raw` (a DST gap may still make two of one date overlap: the
        caller merges). Stops after ``until``'s local date."""
        last = until.astimezone(self.tz).date() if until is not None else None
        empty_run = 0
        while last is None or day <= last:
            spans = self.intervals_on(day)
            yield from spans
            empty_run = 0 if spans else empty_run + 1
            if empty_run > HORIZON_DAYS:
                raise CalendarHorizonError(
                    f"no working time in the {HORIZON_DAYS} days up to {day.isoformat()}: check holidays and hours"
                )
            day += _ONE_DAY

    def _intervals_from(self, t: datetime, until: datetime | None = None) -> Iterator[Span]:
        if self._within_dates:  # from t's own date: an earlier date's intervals end before it begins
            source = self._date_spans(t.astimezone(self.tz).date(), until)
        else:  # intervals are at most 24h long, so those of two days earlier can still reach ``t``
            source = self._raw(t.astimezone(self.tz).date() - timedelta(days=2), until)
        current: Span | None = None
        for begin, end in source:
            if current is not None and begin < current[1]:  # overlap (DST, make-up days): merge
                if end > current[1]:
                    current = (current[0], end)
                continue
            if current is not None and current[1] > t:
                if until is not None and max(current[0], t) >= until:
                    return
                yield max(current[0], t), current[1]
            current = (begin, end)
        if current is not None and current[1] > t and (until is None or max(current[0], t) < until):
            yield max(current[0], t), current[1]

    def _step_days(self, anchor: datetime, days: int) -> datetime:
        local = anchor.astimezone(self.tz)
        day = local.date()
        counted = 0
        empty_run = 0
        while counted < days:
            day += _ONE_DAY
            if self.intervals_on(day):
                counted += 1
                empty_run = 0
            else:
                empty_run += 1
                if empty_run > HORIZON_DAYS:
                    raise CalendarHorizonError(f"no working day in the {HORIZON_DAYS} days up to {day.isoformat()}")
        return self._wall_time(day, local.time())


class ElapsedClock(_TimelineClock):
    """Wall time (``clock: elapsed``): every instant is working time, every date counts.

    ``1d`` is the same local wall time on the next date; ``24h`` is 24 real hours.
    """

    def __init__(self, tz: str | ZoneInfo) -> None:
        self.tz = _zone(tz)

    def _intervals_from(self, t: datetime, until: datetime | None = None) -> Iterator[Span]:
        yield t, _FAR_FUTURE

    def _step_days(self, anchor: datetime, days: int) -> datetime:
        local = anchor.astimezone(self.tz)
        return self._wall_time(local.date() + timedelta(days=days), local.time())

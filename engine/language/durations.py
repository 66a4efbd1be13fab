"""Durations of the flow language: ``45s``, ``90m``, ``4h``, ``2d``, ``1d4h30m``.

A duration has two independent parts that clocks interpret differently
(see ``engine.sla.calendar``): ``days`` (the ``d`` part: working days under a
business calendar, calendar days under ``clock: elapsed``) and ``seconds``
(the ``h``/``m``/``s`` part: working seconds or real seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Duration", "parse_duration", "MAX_DAYS", "MAX_SECONDS"]

#: Sanity limits: anything longer is almost certainly a typo (and would make
#: clocks iterate over decades of calendar days).
MAX_DAYS = 3650
MAX_SECONDS = MAX_DAYS * 86400

_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
_UNIT_ORDER = "dhms"
_UNITS = frozenset(_UNIT_ORDER)  # single letters: "ms" or "hm" are not units (a substring test would say they are)
_PART = re.compile(r"\s*([0-9]+)\s*([A-Za-z]+)\s*")
_HINTS = {
    "w": "weeks are not supported: say 5d (working days) or 7d",
    "wk": "weeks are not supported: say 5d (working days) or 7d",
    "min": "write minutes as 'm', e.g. 30m",
    "mins": "write minutes as 'm', e.g. 30m",
    "hr": "write hours as 'h', e.g. 4h",
    "hrs": "write hours as 'h', e.g. 4h",
    "sec": "write seconds as 's', e.g. 45s",
    "ms": "milliseconds are not supported; the smallest unit is 's'",
    "mo": "months are not supported: say 30d",
    "y": "years are not supported: say 365d",
}


@dataclass(frozen=True)
class Duration:
    """A parsed duration: ``days`` (the ``d`` part) and ``seconds`` (h/m/s part)."""

    days: int = 0
    seconds: int = 0

    def __post_init__(self) -> None:
        for name in ("days", "seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Duration.{name} must be an int, got {value!r}")
            if value < 0:
                raise ValueError(f"Duration.{name} must not be negative, got {value}")

    @property
    def is_zero(self) -> bool:
        """True when both parts are zero."""
        return self.days == 0 and self.seconds == 0

    def __str__(self) -> str:
        """Canonical text, e.g. ``1d4h30m``; ``90m`` is written ``1h30m``."""
        if self.is_zero:
            return "0s"
        hours, rest = divmod(self.seconds, 3600)
        minutes, secs = divmod(rest, 60)
        parts = [(self.days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
        return "".join(f"{n}{unit}" for n, unit in parts if n)


def parse_duration(text: str | int) -> Duration:
    """Parse ``45s``, ``90m``, ``4h``, ``2d``, ``1h30m``, ``1d4h``…

    Units are ``d``, ``h``, ``m``, ``s``, each at most once and from the largest
    to the smallest. Zero, negative, fractional, unit-less and unknown-unit
    durations raise ``ValueError`` with a message naming the problem. A bare
    number (e.g. YAML ``due: 30``) is refused: its unit would be a guess.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValueError(f"a duration must be text such as '4h' or '2d', got {text!r}")
    if isinstance(text, int):
        raise ValueError(
            f"duration {text} has no unit: write e.g. '{abs(text)}m', '{abs(text)}h' or '{abs(text)}d'"
        )
    raw = text
    s = text.strip()
    if not s:
        raise ValueError("empty duration: write e.g. '4h', '90m' or '2d'")
    if s.startswith("-"):
        raise ValueError(f"duration '{raw}' is negative: durations must be positive")
    if re.fullmatch(r"[0-9]+", s):
        raise ValueError(f"duration '{raw}' has no unit: write e.g. '{s}m', '{s}h' or '{s}d'")
    if re.search(r"[0-9][.,][0-9]", s):
        raise ValueError(f"duration '{raw}': fractions are not supported, combine units instead (e.g. 1h30m)")

    days = 0
    seconds = 0
    last_rank = -1
    seen: set[str] = set()
    pos = 0
    while pos < len(s):
        match = _PART.match(s, pos)
        if match is None:
            raise ValueError(
                f"cannot read duration '{raw}' (at '{s[pos:]}'): "
                "write a number followed by d, h, m or s, e.g. '4h' or '1h30m'"
            )
        number, unit = int(match.group(1)), match.group(2)
        if unit not in _UNITS:
            hint = _HINTS.get(unit.lower(), "")
            if not hint:
                hint = (
                    f"units are lower-case d, h, m, s: did you mean '{unit.lower()}'?"
                    if unit.lower() in _UNITS
                    else "units are d (days), h (hours), m (minutes), s (seconds)"
                )
            raise ValueError(f"unknown unit '{unit}' in duration '{raw}': {hint}")
        if unit in seen:
            raise ValueError(f"duration '{raw}' repeats the unit '{unit}': give each unit once, e.g. '1h30m'")
        rank = _UNIT_ORDER.index(unit)
        if rank < last_rank:
            raise ValueError(
                f"duration '{raw}': units must go from largest to smallest (d, h, m, s), e.g. '1d4h30m'"
            )
        seen.add(unit)
        last_rank = rank
        if unit == "d":
            days = number
        else:
            seconds += number * _UNIT_SECONDS[unit]
        pos = match.end()

    if days == 0 and seconds == 0:
        raise ValueError(f"duration '{raw}' is zero: durations must be positive")
    if days > MAX_DAYS or seconds > MAX_SECONDS:
        raise ValueError(f"duration '{raw}' is too long: at most {MAX_DAYS}d (about 10 years)")
    return Duration(days=days, seconds=seconds)

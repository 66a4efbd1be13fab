"""Which timezone a viewer reads a time in, and a time written with its zone named.

Users have no timezone setting (yet): a time that belongs to a flow (a
revision, a reminder about one of its records) is shown in the flow's
timezone (its calendar's), any other in the server's default zone,
`RELAYFLOW_TIMEZONE` (an IANA name such as Asia/Shanghai; UTC when unset or
unknown). The zone is always named next to the time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.storage.registry import FlowRegistry

log = logging.getLogger("relayflow.ui")
TIMEZONE_ENV = "RELAYFLOW_TIMEZONE"


@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("%s=%r is not a known timezone; times are shown in UTC", TIMEZONE_ENV, name)
        return timezone.utc


_server_zone_name = ""  # RELAYFLOW_TIMEZONE, set by ui/app.py from the settings when the app is assembled


def set_server_timezone(name: str) -> None:
    """The server's default zone (an IANA name; empty: UTC), from the settings."""
    global _server_zone_name
    _server_zone_name = name.strip()


def server_timezone() -> tzinfo:
    return _zone(_server_zone_name) if _server_zone_name else timezone.utc


def viewer_timezone(registry: FlowRegistry | None, flow_name: str | None = None) -> tzinfo:
    """The flow's timezone when the time belongs to a live flow, else the server's."""
    if registry is not None and flow_name and flow_name in registry:
        return registry.get(flow_name).flow.timezone
    return server_timezone()


def zone_name(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)
    return str(key) if key else "UTC" if tz.utcoffset(None) == timedelta(0) else str(tz)


def _offset(instant: datetime) -> str:
    delta = instant.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class LocalTime:
    text: str  # 2026-11-23 10:00
    zone: str  # Asia/Shanghai
    offset: str  # UTC+08:00
    iso: str  # the instant, for <time datetime=...>

    def __str__(self) -> str:
        return f"{self.text} {self.zone}"


def local_time(instant: datetime | None, tz: tzinfo) -> LocalTime | None:
    """`instant` in `tz` (a naive instant is taken as UTC, as the database stores it)."""
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    here = instant.astimezone(tz)
    return LocalTime(f"{here:%Y-%m-%d %H:%M}", zone_name(tz), _offset(here), instant.isoformat())

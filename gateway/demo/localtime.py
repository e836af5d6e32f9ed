"""Local wall-clock times rendered as FHIR dateTime/instant strings with the right UTC offset for each day.

Offsets are computed with zoneinfo once per (day, hour) and cached, so daylight-saving days are exact for every
time of day while slot generation only concatenates strings.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# "THH:MM:00" for every minute of the day.
_TIMES: tuple[str, ...] = tuple(f"T{m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60))


def format_offset(offset: dt.timedelta | None) -> str:
    """``+01:00`` style offset."""
    minutes = int((offset or dt.timedelta()).total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class LocalDay:
    """One calendar day in a time zone: its ISO date and the UTC offset in force at each hour."""

    __slots__ = ("date", "iso", "offsets")

    def __init__(self, day: dt.date, tz: ZoneInfo) -> None:
        self.date = day
        self.iso = day.isoformat()
        self.offsets = tuple(
            format_offset(dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz).utcoffset()) for hour in range(24)
        )

    def local(self, minute: int) -> str:
        """Wall-clock time without offset, e.g. ``2026-11-23T08:30:00`` (used as a stable key)."""
        return self.iso + _TIMES[minute]

    def instant(self, minute: int) -> str:
        """``2026-11-23T08:30:00+01:00`` for ``minute`` minutes after local midnight (0 <= minute < 1440)."""
        return self.iso + _TIMES[minute] + self.offsets[minute // 60]


class LocalClock:
    """Caches :class:`LocalDay` objects for one time zone."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._days: dict[dt.date, LocalDay] = {}

    def day(self, day: dt.date) -> LocalDay:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = LocalDay(day, self.tz)
        return found

    def instant(self, day: dt.date, minute: int) -> str:
        return self.day(day).instant(minute)

    def midnight(self, day: dt.date) -> str:
        return self.day(day).instant(0)


__all__ = ["LocalClock", "LocalDay", "format_offset"]

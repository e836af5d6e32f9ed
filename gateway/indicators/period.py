"""The period an indicator is computed over: inclusive local dates, written ``2026-Q3``, ``2026-07``, ``2026`` or
``2026-07-01/2026-09-30``; and its bounds as UTC instants (local midnights in the gateway's time zone)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from gateway.errors import InvalidRequest

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")
FIRST_YEAR, LAST_YEAR = 1900, 2199


@dataclass(frozen=True)
class Period:
    """Inclusive local dates in ``settings.timezone``; ``label`` is how it was written (normalised)."""

    start: date
    end: date
    label: str

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[first local midnight, midnight after the last day) as naive UTC instants (the index tables' form)."""
        return local_midnight(self.start, zone), local_midnight(self.end + timedelta(days=1), zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The instant a local day starts, as naive UTC (a DST change never falls at midnight in Europe/Paris)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _bad(text: str, why: str, where: str = "period") -> InvalidRequest:
    return InvalidRequest(
        f"{where} '{text}': {why}; expected 2026-Q3, 2026-07, 2026 or 2026-07-01/2026-09-30",
        expression=where,
        code="IND-PERIOD",
    )


def _year(text: str, value: str, where: str = "period") -> int:
    year = int(value)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise _bad(text, f"the year must be between {FIRST_YEAR} and {LAST_YEAR}", where)
    return year


def parse_period(text: str, where: str = "period") -> Period:
    """One of the four forms; anything else raises :class:`InvalidRequest` at ``where`` (400, or a CLI message)."""
    value = text.strip() if isinstance(text, str) else ""
    if match := _QUARTER.match(value):
        year, quarter = _year(text, match[1], where), int(match[2])
        first = 3 * quarter - 2
        last = date(year, first + 2, calendar.monthrange(year, first + 2)[1])
        return Period(date(year, first, 1), last, f"{year}-Q{quarter}")
    if match := _MONTH.match(value):
        year, month = _year(text, match[1], where), int(match[2])
        if not 1 <= month <= 12:
            raise _bad(text, "the month must be 01 to 12", where)
        return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]), value)
    if match := _YEAR.match(value):
        year = _year(text, match[1], where)
        return Period(date(year, 1, 1), date(year, 12, 31), value)
    if match := _RANGE.match(value):
        try:
            start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        except ValueError:
            raise _bad(text, "not a calendar date", where) from None
        _year(text, str(start.year), where)
        _year(text, str(end.year), where)
        if end < start:
            raise _bad(text, "the end is before the start", where)
        return Period(start, end, value)
    raise _bad(text, "not a period", where)


__all__ = ["Period", "local_midnight", "parse_period"]

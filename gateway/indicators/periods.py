"""Report periods as the exports name them: ``2026-Q3``, ``2026-07``, ``2026`` or ``2026-07-01/2026-09-30``, and
the months of a series (``2026-01`` to ``2026-12``). Bad text raises InvalidRequest at the given location.

Periods are read by the engine's ``parse_period`` (gateway/indicators/period.py); months of a series here.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from gateway.errors import InvalidRequest
from gateway.indicators.period import parse_period

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_MONTHS = 120
EARLIEST, LATEST = 1900, 2199


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _year(text: str, where: str) -> int:
    year = int(text)
    if not EARLIEST <= year <= LATEST:
        raise InvalidRequest(f"{where}: the year must be between {EARLIEST} and {LATEST}", expression=where)
    return year


def period_bounds(text: str, where: str = "parameter:period") -> tuple[date, date]:
    """The first and last day (inclusive) of a period (the engine's four forms, gateway/indicators/period.py)."""
    period = parse_period(text, where)
    return period.start, period.end


def month_bounds(text: str, where: str) -> tuple[date, date]:
    match = _MONTH.match(text.strip())
    if match is None:
        raise InvalidRequest(f"{where}: {text!r} is not a month such as 2026-01", expression=where)
    year, month = _year(match.group(1), where), int(match.group(2))
    return date(year, month, 1), _month_end(year, month)


def months(first: str, last: str, where: tuple[str, str] = ("parameter:from", "parameter:to")) -> list[str]:
    """``2026-01`` .. ``2026-03`` → the months in between, both included (at most MAX_MONTHS)."""
    start, _ = month_bounds(first, where[0])
    end, _ = month_bounds(last, where[1])
    if end < start:
        raise InvalidRequest(f"{where[1]}: {last} is before {first}", expression=where[1])
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    if count > MAX_MONTHS:
        raise InvalidRequest(f"{where[1]}: a series spans at most {MAX_MONTHS} months", expression=where[1])
    out = []
    year, month = start.year, start.month
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def is_month(start: date, end: date) -> bool:
    return start.day == 1 and end == _month_end(start.year, start.month)


def is_quarter(start: date, end: date) -> bool:
    return start.day == 1 and start.month in (1, 4, 7, 10) and end == _month_end(start.year, start.month + 2)


__all__ = ["MAX_MONTHS", "is_month", "is_quarter", "month_bounds", "months", "period_bounds"]

"""Report periods as the exports name them: ``2026-Q3``, ``2026-07``, ``2026`` or ``2026-07-01/2026-09-30``, and
the months of a series (``2026-01`` to ``2026-12``). Bad text raises InvalidRequest at the given location.

The same four forms as the indicator engine's ``parse_period`` (gateway/indicators/engine.py), here for the reading
side only (finding stored reports), so the exports do not depend on the computation.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from gateway.errors import InvalidRequest

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
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
    """The first and last day (inclusive) of a period."""
    text = text.strip()
    if match := _YEAR.match(text):
        year = _year(match.group(1), where)
        return date(year, 1, 1), date(year, 12, 31)
    if match := _QUARTER.match(text):
        year, quarter = _year(match.group(1), where), int(match.group(2))
        return date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
    if match := _MONTH.match(text):
        return month_bounds(text, where)
    first, slash, last = text.partition("/")
    if slash:
        bounds: tuple[date, date] | None
        try:
            bounds = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError:
            bounds = None
        if bounds is not None and len(first) == len(last) == 10:
            _year(first[:4], where), _year(last[:4], where)
            start, end = bounds
            if end < start:
                raise InvalidRequest(f"{where}: {text!r} ends before it starts", expression=where)
            return start, end
    raise InvalidRequest(
        f"{where}: {text!r} is not a period such as 2026-Q3, 2026-07, 2026 or 2026-07-01/2026-09-30", expression=where
    )


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

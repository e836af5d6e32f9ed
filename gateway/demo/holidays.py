"""French public holidays (jours fériés of metropolitan France) and which days centres open."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[dt.date]:
    """The eleven public holidays of metropolitan France (Alsace-Moselle's two extra days left out)."""
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [easter + dt.timedelta(days=n) for n in (1, 39, 50)]  # Easter Monday, Ascension, Whit Monday
    return frozenset([dt.date(year, m, d) for m, d in fixed] + movable)


def is_public_holiday(day: dt.date) -> bool:
    return day in public_holidays(day.year)


def is_closed(day: dt.date) -> bool:
    """Sundays and public holidays: centres are closed, only the CPTS duty roster (garde) offers SNP slots."""
    return day.weekday() == 6 or is_public_holiday(day)


__all__ = ["easter_sunday", "is_closed", "is_public_holiday", "public_holidays"]

"""The knobs of the demo territory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/Paris"


def today_in(timezone: str = DEFAULT_TIMEZONE) -> dt.date:
    """Today's date in ``timezone`` (the only place of the demo package that reads the clock)."""
    return dt.datetime.now(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class DemoOptions:
    """What to generate: ``centres`` centres, agendas from ``start - days`` to ``start + days`` (inclusive).

    ``start`` is "today" of the demo: appointments before it have final statuses, those from it on are booked.
    Left out, it is today in Europe/Paris, read once when the options are built; generation never reads the clock.
    """

    centres: int = 12
    days: int = 28
    seed: int = 1
    start: dt.date = field(default_factory=today_in)
    timezone: str = DEFAULT_TIMEZONE
    staff_scale: float = 1.0  # > 1: bigger centres (benchmarks); 1: the default staff of 6 to 10 professionals

    def __post_init__(self) -> None:
        if not 1 <= self.centres <= 9999:
            raise ValueError(f"centres must be between 1 and 9999, not {self.centres}")
        if not 0 <= self.days <= 366:
            raise ValueError(f"days must be between 0 and 366, not {self.days}")
        if not 1 <= self.staff_scale <= 5:
            raise ValueError(f"staff_scale must be between 1 and 5, not {self.staff_scale}")
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @property
    def first_day(self) -> dt.date:
        return self.start - dt.timedelta(days=self.days)

    @property
    def last_day(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days)


__all__ = ["DEFAULT_TIMEZONE", "DemoOptions", "today_in"]

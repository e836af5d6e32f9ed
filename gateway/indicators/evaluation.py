"""Computing and storing reports: the indicator engine (``gateway.indicators.engine.evaluate``, contract C1) then the
store (gateway/indicators/reports.py). Used by ``$evaluate-measure`` and ``cpts-gateway indicators compute``.

``--monthly`` (and :func:`month_periods`) adds one computation per calendar month of the period, so the series
(gateway/indicators/exports.py) finds monthly reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.indicators.engine import evaluate
from gateway.indicators.period import Period, parse_period
from gateway.indicators.periods import month_bounds
from gateway.indicators.reports import ReportOutcome, store_reports
from gateway.settings import Settings


def compute(
    engine: Engine,
    settings: Settings,
    *,
    period: Period,
    measures: Sequence[str] | None = None,
    tenants: Sequence[str] | None = None,
    cpts: bool = True,
) -> list[ReportOutcome]:
    """Evaluate the indicators on the stored data and store the reports; one outcome per report, engine order."""
    with Session(engine) as session:
        reports: list[dict[str, Any]] = evaluate(
            session, settings, period=period, measures=measures, tenants=tenants, cpts=cpts
        )
    return store_reports(engine, settings, reports)


def month_periods(start: date, end: date) -> list[str]:
    """The calendar months that lie wholly inside ``start..end``, as period texts (``2026-07``)."""
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        text = f"{year:04d}-{month:02d}"
        first, last = month_bounds(text, "period")
        if first >= start and last <= end:
            out.append(text)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


__all__ = ["compute", "month_periods", "parse_period"]

"""IND-OPENING: the weekly opening hours of each centre's sites (active Locations with ``hoursOfOperation``, from the
directory), merged per day of the week, and the weekday 8:00-20:00 and Saturday-morning flags."""

from __future__ import annotations

from typing import Any

from gateway.indicators.context import Context, Json
from gateway.indicators.tally import Tally, new_tally

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = DAYS[:5]
DAY_MINUTES = 24 * 60
Interval = tuple[int, int]  # minutes since midnight, [start, end)


def _minutes(value: Any) -> int | None:
    if not isinstance(value, str) or len(value) < 5:
        return None
    try:
        hours, minutes = int(value[0:2]), int(value[3:5])
    except ValueError:
        return None
    return hours * 60 + minutes if 0 <= hours <= 24 and 0 <= minutes < 60 else None


def ranges(location: Json) -> dict[str, list[Interval]]:
    """Opening ranges per day of the week; ``allDay`` is 00:00-24:00, a closing time at or before the opening one
    (``00:00``) closes at midnight."""
    out: dict[str, list[Interval]] = {day: [] for day in DAYS}
    for entry in location.get("hoursOfOperation") or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("allDay") is True:
            interval: Interval | None = (0, DAY_MINUTES)
        else:
            start, end = _minutes(entry.get("openingTime")), _minutes(entry.get("closingTime"))
            interval = None if start is None else (start, end if end is not None and end > start else DAY_MINUTES)
        for day in entry.get("daysOfWeek") or []:
            if interval is not None and day in out:
                out[day].append(interval)
    return out


def union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covers(intervals: list[Interval], start: int, end: int) -> bool:
    return any(low <= start and high >= end for low, high in intervals)


def compute_opening(ctx: Context) -> dict[str, Tally]:
    groups = ["weekly-hours", "weekdays-8-20", "saturday-morning"]
    tallies = {t: new_tally(groups) for t in ctx.tenants}
    sites: dict[str, list[dict[str, list[Interval]]]] = {t: [] for t in ctx.tenants}
    for _, (tenant, location) in sorted(ctx.locations.items()):
        if tenant in sites and location.get("status") == "active" and location.get("hoursOfOperation"):
            sites[tenant].append(ranges(location))
    for tenant, found in sites.items():
        if not found:
            continue  # no open site: empty populations, no score
        days = {day: union([i for site in found for i in site[day]]) for day in DAYS}
        hours = sum(end - start for day in DAYS for start, end in days[day]) / 60
        weekdays = all(_covers(days[day], 8 * 60, 20 * 60) for day in WEEKDAYS)
        saturday = any(start < 12 * 60 for site in found for start, _ in site["sat"])
        strata = {"centre": ctx.centre(tenant)}
        n = len(found)
        counts = {"initial-population": n, "measure-population": n, "measure-observation": n}
        tallies[tenant]["weekly-hours"].add(strata, counts, {"measure-observation": hours})
        for key, flag in (("weekdays-8-20", weekdays), ("saturday-morning", saturday)):
            one = {"initial-population": 1, "measure-population": 1, "measure-observation": 1}
            tallies[tenant][key].add(strata, one, {"measure-observation": float(flag)})
    return tallies


__all__ = ["compute_opening", "ranges", "union"]

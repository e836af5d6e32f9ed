"""The planned activities of an enrolment: a protocol's steps (PlanDefinition actions) laid out in dates.

Each occurrence of each step becomes one ``CarePlan.activity.detail`` with the step's code, a ``scheduledPeriod``
from the earliest date to the deadline, and, while it is pending, the due date in the extension
``urn:cpts-gateway:extension:activity-due`` (searchable as ``CarePlan?activity-due=lt<date>``: the overdue
activities). A repeated step is laid out ``count`` times, else over ``boundsDuration``, else over the first year
(:data:`HORIZON_MONTHS`). Hours round up to whole days; months are calendar months (the 31st becomes the month's
last day). Pure functions of the PlanDefinition and the dates: the same enrolment always gives the same plan.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from gateway.pathways.protocols import FIRST_OCCURRENCE_URL, STEP_SYSTEM

DUE_URL = "urn:cpts-gateway:extension:activity-due"
PENDING = frozenset({"not-started", "scheduled", "in-progress", "on-hold"})
HORIZON_MONTHS = 12
MAX_OCCURRENCES = 100


@dataclass(frozen=True)
class Occurrence:
    step: str
    title: str
    number: int  # 1-based
    of: int
    start: date
    due: date | None


def add(day: date, value: float, unit: str) -> date:
    """``day`` plus a UCUM duration (``h``, ``d``, ``wk``, ``mo``, ``a``)."""
    if unit == "h":
        return day + timedelta(days=math.ceil(value / 24))
    if unit == "d":
        return day + timedelta(days=int(value))
    if unit == "wk":
        return day + timedelta(weeks=int(value))
    months = int(value) * (12 if unit == "a" else 1)
    if unit not in ("mo", "a"):
        raise ValueError(f"unknown unit of time {unit!r}")
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _shift(day: date, *parts: tuple[Any, int]) -> date:
    """``day`` plus the sum of quantities (each times a factor): months with months, days with days, so the 31st
    plus 1 then 2 months is the last day of each month, never drifting."""
    months = 0.0
    hours = 0.0
    for quantity, times in parts:
        if not isinstance(quantity, dict):
            continue
        value = float(quantity.get("value", 0)) * times
        unit = str(quantity.get("code") or quantity.get("unit"))
        if unit in ("mo", "a"):
            months += value * (12 if unit == "a" else 1)
        else:
            hours += value * {"h": 1, "d": 24, "wk": 168}.get(unit, 24)
    return add(add(day, months, "mo"), hours, "h")


def _first_window(action: dict[str, Any]) -> dict[str, Any]:
    for extension in action.get("extension", []):
        if isinstance(extension, dict) and extension.get("url") == FIRST_OCCURRENCE_URL:
            window = extension.get("valueRange")
            return window if isinstance(window, dict) else {}
    return {}


def occurrences(action: dict[str, Any], enrolment: date) -> list[Occurrence]:
    """The dated occurrences of one PlanDefinition action from the enrolment date."""
    step = str(action.get("id"))
    title = str(action.get("title", step))
    found: list[tuple[date, date | None]] = []
    if isinstance(action.get("timingTiming"), dict):
        repeat = action["timingTiming"].get("repeat", {})
        window = _first_window(action)
        every = {"value": repeat.get("period", 1), "code": repeat.get("periodUnit", "d")}
        count = repeat.get("count")
        limit = _shift(enrolment, (repeat["boundsDuration"], 1)) if "boundsDuration" in repeat else None
        if count is None and limit is None:
            limit = add(enrolment, HORIZON_MONTHS, "mo")
        for k in range(int(count) if isinstance(count, int) else MAX_OCCURRENCES):
            start = _shift(enrolment, (window.get("low"), 1), (every, k))
            if limit is not None and start >= limit:
                break
            due = _shift(enrolment, (window["high"], 1), (every, k)) if "high" in window else None
            found.append((start, due or _shift(enrolment, (window.get("low"), 1), (every, k + 1))))
    elif isinstance(action.get("timingRange"), dict):
        window = action["timingRange"]
        due = _shift(enrolment, (window["high"], 1)) if "high" in window else None
        found.append((_shift(enrolment, (window.get("low"), 1)), due))
    else:
        at = _shift(enrolment, (action.get("timingDuration"), 1))
        found.append((at, at))
    return [Occurrence(step, title, n, len(found), start, due) for n, (start, due) in enumerate(found, 1)]


def activity(occurrence: Occurrence, status: str = "not-started") -> dict[str, Any]:
    """One occurrence as a ``CarePlan.activity``."""
    detail: dict[str, Any] = {}
    if occurrence.due is not None and status in PENDING:
        detail["extension"] = [{"url": DUE_URL, "valueDate": occurrence.due.isoformat()}]
    detail["kind"] = "Task"
    detail["code"] = {"coding": [{"system": STEP_SYSTEM, "code": occurrence.step, "display": occurrence.title}]}
    detail["status"] = status
    period = {"start": occurrence.start.isoformat()}
    if occurrence.due is not None:
        period["end"] = occurrence.due.isoformat()
    detail["scheduledPeriod"] = period
    suffix = f" ({occurrence.number}/{occurrence.of})" if occurrence.of > 1 else ""
    detail["description"] = occurrence.title + suffix
    return {"detail": detail}


def plan_activities(
    plan_definition: dict[str, Any], enrolment: date, *, end: date | None = None, status: str = "not-started"
) -> list[dict[str, Any]]:
    """Every occurrence of every step of the protocol, in date order (then the protocol's order), up to ``end``."""
    laid_out: list[tuple[date, int, Occurrence]] = []
    for position, action in enumerate(plan_definition.get("action", [])):
        if isinstance(action, dict):
            laid_out += [(o.start, position, o) for o in occurrences(action, enrolment)]
    laid_out.sort(key=lambda item: (item[0], item[1], item[2].number))
    return [activity(o, status) for start, _, o in laid_out if end is None or start <= end]


__all__ = ["DUE_URL", "HORIZON_MONTHS", "PENDING", "Occurrence", "activity", "add", "occurrences", "plan_activities"]

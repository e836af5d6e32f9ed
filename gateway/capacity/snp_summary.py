"""The SNP capacity summary (``GET /fhir/Slot/$capacity``): per centre and per local day, the non-scheduled-care
slots offered, free and booked, and the first free one still ahead.

A coordinator's morning question — "where can a patient be seen today?" — in one small answer instead of thousands of
Slots. It reads the date index rows of Slot ``start`` (they carry the Slot's status) joined to the slot-type token
rows (TRE_R314 ``SNP``), so it never parses a resource. The answer is a FHIR ``Parameters`` resource: one
``capacity`` parameter per (centre, day) with parts ``organization`` (the centre's FINESS, ``valueIdentifier``),
``day`` (``valueDate``, local), ``offered``, ``free``, ``booked`` (``valueInteger``) and, when there is one,
``firstFree`` (``valueDateTime``, local time with its offset).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, exists, select

from gateway.storage.store import INDEX, RESOURCE

SLOT_TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
BOOKED = frozenset({"busy", "busy-tentative"})
OFFERED = frozenset({"free", "busy", "busy-tentative", "busy-unavailable"})


@dataclass
class DayCapacity:
    offered: int = 0
    free: int = 0
    booked: int = 0
    first_free: datetime | None = None  # naive UTC


@dataclass
class CapacitySummary:
    days: dict[tuple[str, date], DayCapacity] = field(default_factory=dict)


def snp_capacity(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    zone: tzinfo,
    now: datetime,
    tenants: frozenset[str] | None = None,
    slot_type: str = "SNP",
) -> CapacitySummary:
    """Count the slots of type ``slot_type`` starting in [start, end) (naive UTC) per centre and local day."""
    dates, tokens = INDEX["date"], INDEX["token"]
    typed = exists(
        select(tokens.c.rid).where(
            tokens.c.rid == dates.c.rid,
            tokens.c.param == "_security",
            tokens.c.system == SLOT_TYPE_SYSTEM,
            tokens.c.code == slot_type,
        )
    )
    query = (
        select(RESOURCE.c.tenant, dates.c.low, dates.c.status)
        .select_from(dates.join(RESOURCE, RESOURCE.c.rid == dates.c.rid))
        .where(
            dates.c.res_type == "Slot",
            dates.c.param == "start",
            dates.c.low >= start,
            dates.c.low < end,
            RESOURCE.c.deleted.is_(False),
            RESOURCE.c.tenant.is_not(None),
            typed,
        )
    )
    if tenants is not None:
        query = query.where(RESOURCE.c.tenant.in_(sorted(tenants)))
    days: dict[tuple[str, date], DayCapacity] = defaultdict(DayCapacity)
    for tenant, low, status in conn.execute(query):
        if status not in OFFERED:
            continue
        local_day = low.replace(tzinfo=UTC).astimezone(zone).date()
        day = days[(tenant, local_day)]
        day.offered += 1
        if status == "free":
            day.free += 1
            if low >= now and (day.first_free is None or low < day.first_free):
                day.first_free = low
        elif status in BOOKED:
            day.booked += 1
    return CapacitySummary(dict(sorted(days.items())))


def as_parameters(summary: CapacitySummary, zone: tzinfo) -> dict[str, Any]:
    """The summary as a FHIR Parameters resource (one ``capacity`` parameter per centre and day)."""
    parameters = []
    for (tenant, day), counts in summary.days.items():
        parts: list[dict[str, Any]] = [
            {"name": "organization", "valueIdentifier": {"system": FINESS_SYSTEM, "value": tenant}},
            {"name": "day", "valueDate": day.isoformat()},
            {"name": "offered", "valueInteger": counts.offered},
            {"name": "free", "valueInteger": counts.free},
            {"name": "booked", "valueInteger": counts.booked},
        ]
        if counts.first_free is not None:
            local = counts.first_free.replace(tzinfo=UTC).astimezone(zone)
            parts.append({"name": "firstFree", "valueDateTime": local.isoformat(timespec="seconds")})
        parameters.append({"name": "capacity", "part": parts})
    return {"resourceType": "Parameters", "parameter": parameters}


def local_window(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[first 00:00, last + 1 day 00:00) local, as naive UTC (DST days have 23 or 25 hours)."""
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC).replace(tzinfo=None)
    return start, end


__all__ = ["CapacitySummary", "DayCapacity", "as_parameters", "local_window", "snp_capacity"]

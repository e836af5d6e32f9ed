"""The SNP capacity summary (``GET /fhir/Slot/$capacity``): per centre and per local day, the non-scheduled-care
slots offered, free and booked, and the first free one still ahead.

A coordinator's morning question — "where can a patient be seen today?" — in one small answer instead of thousands of
Slots. It reads the ``search_slot`` rows (start, status and TRE_R314 slot types of each Slot, one range scan per
status), so it never parses a resource. The answer is a FHIR ``Parameters`` resource:

- one ``capacity`` parameter per (centre, day) with a slot in the window, sorted by centre then day, with parts
  ``organization`` (the centre's FINESS, ``valueIdentifier``), ``day`` (``valueDate``, local), ``offered``, ``free``,
  ``booked`` (``valueInteger``), ``firstFree`` (``valueDateTime``, local time with its offset) when there is one,
  ``lastSync`` (``valueInstant``: the centre's last successful slot sync, gateway/capacity/freshness.py) when known,
  and ``stale`` (``valueBoolean``: never synced, or synced longer ago than ``CPTS_CAPACITY_STALE_AFTER_MINUTES``);
- then one ``centre`` parameter per centre the caller may see, sorted by FINESS, with parts ``organization``,
  ``lastSync`` (when known) and ``stale``: every centre with a slot in the window, and every known centre (one with an
  Organization of its own or a sync on record) even without any, so a centre whose agenda stopped arriving shows up
  stale instead of silently vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Integer, and_, case, cast, func, literal, select

from gateway.capacity.directory import Directory
from gateway.capacity.freshness import Freshness, synced_tenants
from gateway.fhir.dates import format_instant
from gateway.storage.slot_rows import kind_condition
from gateway.storage.store import INDEX, RESOURCE

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
    # its serialised answers, by (time zone, freshness) (gateway/capacity/summary_cache.py): a kept summary is
    # rendered once per freshness it is shown with
    renderings: dict[Any, bytes] = field(default_factory=dict, compare=False, repr=False)
    _tenants: frozenset[str] | None = field(default=None, compare=False, repr=False)

    def tenants(self) -> frozenset[str]:
        """The centres with a day in the summary (computed once: a kept summary is shown many times)."""
        if self._tenants is None:
            self._tenants = frozenset(tenant for tenant, _ in self.days)
        return self._tenants


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
    slots = INDEX["slot"]
    boundaries = _local_midnights(start, end, zone)
    day_index: Any = cast(literal(0), Integer)  # a one-day window: no midnight inside it
    grouping: list[Any] = [slots.c.tenant]
    if boundaries:
        day_index = case(*((slots.c.low < b, i) for i, b in enumerate(boundaries)), else_=len(boundaries))
        grouping.append(day_index)
    is_free = slots.c.status == "free"
    query = (
        select(
            slots.c.tenant,
            day_index.label("day"),
            func.count().label("offered"),
            func.sum(case((is_free, 1), else_=0)).label("free"),
            func.sum(case((slots.c.status.in_(sorted(BOOKED)), 1), else_=0)).label("booked"),
            func.min(case((and_(is_free, slots.c.low >= now), slots.c.low), else_=None)).label("first_free"),
        )
        .where(
            slots.c.status.in_(sorted(OFFERED)),
            slots.c.low >= start,
            slots.c.low < end,
            kind_condition(slots.c.kinds, slot_type),
            slots.c.tenant.is_not(None),
        )
        .group_by(*grouping)
    )
    if tenants is not None:
        query = query.where(slots.c.tenant.in_(sorted(tenants)))
    first_day = start.replace(tzinfo=UTC).astimezone(zone).date()
    days: dict[tuple[str, date], DayCapacity] = {}
    for row in conn.execute(query):
        first_free = row.first_free
        if isinstance(first_free, str):  # SQLite gives MIN over a CASE back as text
            first_free = datetime.fromisoformat(first_free)
        day = first_day + timedelta(days=int(row.day))
        days[(str(row.tenant), day)] = DayCapacity(int(row.offered), int(row.free), int(row.booked), first_free)
    return CapacitySummary(dict(sorted(days.items())))


def _local_midnights(start: datetime, end: datetime, zone: tzinfo) -> list[datetime]:
    """The local midnights strictly inside [start, end) (naive UTC): where one local day ends and the next begins."""
    found: list[datetime] = []
    day = start.replace(tzinfo=UTC).astimezone(zone).date() + timedelta(days=1)
    while True:
        midnight = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC).replace(tzinfo=None)
        if midnight >= end:
            return found
        found.append(midnight)
        day += timedelta(days=1)


def known_centres(conn: Connection, tenants: frozenset[str] | None, directory: Directory | None = None) -> set[str]:
    """The centres (within ``tenants`` when given) with an Organization of their own or a sync on record.

    With the request's ``directory`` (gateway/capacity/directory.py: every live Organization, current in this
    transaction) the Organizations' centres are taken from it instead of read again; the synced centres come from
    the process's copy of the sync records (gateway/capacity/freshness.py), current in this transaction too."""
    synced = synced_tenants(conn)
    if directory is not None:
        found = set(synced | _organization_tenants(directory))
        return found if tenants is None else found & tenants
    organizations = select(RESOURCE.c.tenant).where(
        RESOURCE.c.res_type == "Organization", RESOURCE.c.deleted.is_(False), RESOURCE.c.tenant.is_not(None)
    )
    if tenants is not None:
        organizations = organizations.where(RESOURCE.c.tenant.in_(sorted(tenants)))
    owners = {str(tenant) for (tenant,) in conn.execute(organizations)}
    return owners | (set(synced) if tenants is None else set(synced & tenants))


def _organization_tenants(directory: Directory) -> frozenset[str]:
    found: frozenset[str] | None = directory.memo.get("organization-tenants")
    if found is None:
        found = frozenset(
            stored.tenant
            for (kind, _), stored in directory.resources.items()
            if kind == "Organization" and stored.tenant is not None
        )
        directory.memo["organization-tenants"] = found
    return found


def summary_centres(
    conn: Connection, summary: CapacitySummary, tenants: frozenset[str] | None, directory: Directory | None = None
) -> set[str]:
    """The centres the answer lists: those with a slot in the window and the known ones."""
    return known_centres(conn, tenants, directory) | summary.tenants()


def _freshness_parts(tenant: str, freshness: Freshness) -> list[dict[str, Any]]:
    last, stale = freshness.get(tenant, (None, True))
    parts: list[dict[str, Any]] = [{"name": "lastSync", "valueInstant": format_instant(last)}] if last else []
    return [*parts, {"name": "stale", "valueBoolean": stale}]


def _organization(tenant: str) -> dict[str, Any]:
    return {"name": "organization", "valueIdentifier": {"system": FINESS_SYSTEM, "value": tenant}}


def as_parameters(summary: CapacitySummary, zone: tzinfo, freshness: Freshness) -> dict[str, Any]:
    """The summary as a FHIR Parameters resource: one ``capacity`` parameter per centre and day, then one ``centre``
    parameter per centre of ``freshness`` (its keys: the centres to list; a centre missing there counts as stale)."""
    parameters = []
    for (tenant, day), counts in summary.days.items():
        parts: list[dict[str, Any]] = [
            _organization(tenant),
            {"name": "day", "valueDate": day.isoformat()},
            {"name": "offered", "valueInteger": counts.offered},
            {"name": "free", "valueInteger": counts.free},
            {"name": "booked", "valueInteger": counts.booked},
        ]
        if counts.first_free is not None:
            local = counts.first_free.replace(tzinfo=UTC).astimezone(zone)
            parts.append({"name": "firstFree", "valueDateTime": local.isoformat(timespec="seconds")})
        parameters.append({"name": "capacity", "part": [*parts, *_freshness_parts(tenant, freshness)]})
    for tenant in sorted(freshness):
        parameters.append({"name": "centre", "part": [_organization(tenant), *_freshness_parts(tenant, freshness)]})
    return {"resourceType": "Parameters", "parameter": parameters}


def local_window(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[first 00:00, last + 1 day 00:00) local, as naive UTC (DST days have 23 or 25 hours)."""
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC).replace(tzinfo=None)
    return start, end


__all__ = [
    "CapacitySummary",
    "DayCapacity",
    "as_parameters",
    "known_centres",
    "local_window",
    "snp_capacity",
    "summary_centres",
]

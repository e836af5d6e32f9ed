"""The daily rollups the slot and no-show indicators sum over a period, and their refresh.

A rollup row sums the Slots (``indicator_slot_day``) or Appointments (``indicator_appt_day``) of one centre and one
local day by everything the indicators group by, so a year is read as some 2 M small rows rather than 20 M fact rows.
Rollups are derived data, like the index rows, and are never written by anything but :func:`refresh`:

- every write of a Slot or Appointment appends the (centre, day) pairs it makes stale (gateway/storage/rollup_marks.py);
- :func:`refresh` recomputes the rows of the marked days from the fact rows, a few days per transaction, and deletes
  the marks it read (marks written meanwhile stay for the next refresh). The engine refreshes before computing.
- With no state row (a new or migrated database, after ``reindex``) or another time zone, the first refresh drops the
  rollups and marks every day holding a fact row, for every centre: the whole build then goes by the same path.

The sums are those the engine used to take over the fact rows, per day: a busy Slot is booked when a live Appointment
names it (its room then, ``-`` without one); an outcome is withdrawn when its Slot, starting within a week of it,
was withdrawn. ``overflow`` keeps the minutes of a Slot past the next local midnight, cut when its day ends a period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, text, true

from gateway.fhir.dates import utc_now
from gateway.indicators.appointments import OUTCOME_KNOWN
from gateway.indicators.period import local_midnight
from gateway.indicators.slots import FACT, NO_ROOM, NOT_BOOKING, SLOT, SNP_MARK, WITHDRAWN
from gateway.storage.db import write_transaction
from gateway.storage.rollup_marks import APPT_DAY, MARK, SLOT_DAY, STATE, chunks, local_day

EVERY_CENTRE = "*"  # a mark for every centre of its day (a FINESS is nine digits)
DAYS_PER_TRANSACTION = 7
LOCK_KEY = 7_202_611  # PostgreSQL advisory lock: one refresher at a time
SLOT_MARGIN = timedelta(days=7)  # an appointment's Slot starts within a week of it
BOOKING_MARGIN = timedelta(days=1)  # ... and the appointment filling a slot within a day of it (else: probed)


@dataclass
class Refreshed:
    """What a refresh did: the local days recomputed (for some centres or all), and whether it was a whole build."""

    days: int = 0
    rebuilt: bool = False


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", zone))


def _centres(column: Any, tenants: set[str | None] | None) -> Any:
    """The tenant condition of one day's refresh (None: every centre)."""
    if tenants is None:
        return true()
    named = sorted(t for t in tenants if t is not None)
    conditions = [column.in_(named)] if named else []
    if None in tenants:
        conditions.append(column.is_(None))
    return or_(*conditions)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE already serialises writers
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _start_build(conn: Connection, zone: tzinfo) -> None:
    """Drop every rollup and mark every day holding a fact row, for every centre."""
    for table in (SLOT_DAY, APPT_DAY, MARK, STATE):
        conn.execute(delete(table))
    # min and max apart: each is then one seek at an end of the day-first index, not a scan of the table
    lows = [low for t in (SLOT, FACT) if (low := conn.execute(select(func.min(t.c.low))).scalar()) is not None]
    highs = [high for t in (SLOT, FACT) if (high := conn.execute(select(func.max(t.c.low))).scalar()) is not None]
    if lows:
        day, last = local_day(min(lows), zone), local_day(max(highs), zone)
        marks = []
        while day <= last:
            marks.append({"tenant": EVERY_CENTRE, "day": day})
            day += timedelta(days=1)
        for chunk in chunks(marks, 1000):
            conn.execute(insert(MARK), chunk)
    conn.execute(insert(STATE), {"id": 1, "zone": _zone_name(zone), "built_at": utc_now().replace(tzinfo=None)})


def _booked_rooms(conn: Connection, low: datetime, high: datetime, busy: list[str]) -> dict[str, str]:
    """Busy slot id -> the room of the live Appointment filling it (``-`` without one); absent when none does.

    The appointments of the day and its neighbours are read in one range scan; a busy slot none of them names is
    then probed by id (a booking made for another day)."""
    if not busy:
        return {}
    wanted = set(busy)
    rooms: dict[str, str] = {}
    window = select(FACT.c.slot_id, FACT.c.location_id).where(
        FACT.c.low >= low - BOOKING_MARGIN,
        FACT.c.low < high + BOOKING_MARGIN,
        FACT.c.slot_id.is_not(None),
        FACT.c.status.not_in(NOT_BOOKING),
    )
    probe = select(FACT.c.slot_id, FACT.c.location_id).where(FACT.c.status.not_in(NOT_BOOKING))
    found = [row for row in conn.execute(window) if row.slot_id in wanted]
    for chunk in chunks(sorted(wanted.difference(row.slot_id for row in found))):
        found += conn.execute(probe.where(FACT.c.slot_id.in_(chunk))).all()
    for slot_id, location in found:
        room = location or NO_ROOM
        if slot_id not in rooms or room > rooms[slot_id]:
            rooms[slot_id] = room
    return rooms


def _slot_rows(conn: Connection, day: date, low: datetime, high: datetime, centres: Any) -> list[dict[str, Any]]:
    s = SLOT
    columns = (s.c.tenant, s.c.schedule_id, s.c.status, s.c.service_type, s.c.specialty, s.c.kinds)
    query = select(*columns, s.c.minutes, s.c.end_at, s.c.res_id).where(s.c.low >= low, s.c.low < high, centres)
    slots = conn.execute(query).all()
    rooms = _booked_rooms(conn, low, high, [r.res_id for r in slots if r.status == "busy" and r.res_id])
    sums: dict[tuple[Any, ...], list[int]] = {}
    for tenant, schedule, status, service, specialty, kinds, minutes, end_at, res_id in slots:
        room = rooms.get(res_id) if status == "busy" and res_id else None
        key = (tenant, schedule, status, service, specialty, SNP_MARK in kinds, room)
        total = sums.setdefault(key, [0, 0, 0])
        total[0] += 1
        if minutes is not None:
            total[1] += minutes
            if end_at is not None and end_at > high:
                total[2] += int((end_at - high).total_seconds() // 60)
    names = ("tenant", "schedule_id", "status", "service_type", "specialty", "snp", "room")
    return [
        {**dict(zip(names, key, strict=True)), "day": day, "slots": n, "minutes": m, "overflow": o}
        for key, (n, m, o) in sums.items()
    ]


def _appointment_rows(conn: Connection, day: date, low: datetime, high: datetime, centres: Any) -> list[dict[str, Any]]:
    s, a = SLOT, FACT
    near = and_(s.c.low >= low - SLOT_MARGIN, s.c.low < high + SLOT_MARGIN)
    withdrawn_query = select(s.c.res_id).where(s.c.status.in_(sorted(WITHDRAWN)), near, s.c.res_id.is_not(None))
    withdrawn = set(conn.execute(withdrawn_query).scalars())
    keys = (a.c.tenant, a.c.status, a.c.practitioner_id, a.c.role_id, a.c.specialty, a.c.service_type)
    counts: Counter[tuple[Any, ...]] = Counter()
    for *key, slot_id in conn.execute(select(*keys, a.c.slot_id).where(a.c.low >= low, a.c.low < high, centres)):
        counts[(*key, key[1] in OUTCOME_KNOWN and slot_id in withdrawn)] += 1
    names = ("tenant", "status", "practitioner_id", "role_id", "specialty", "service_type", "withdrawn")
    return [{**dict(zip(names, key, strict=True)), "day": day, "appointments": n} for key, n in counts.items()]


def _refresh_day(conn: Connection, zone: tzinfo, day: date, tenants: set[str | None] | None) -> None:
    low, high = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    for table in (SLOT_DAY, APPT_DAY):
        conn.execute(delete(table).where(table.c.day == day, _centres(table.c.tenant, tenants)))
    slots = _slot_rows(conn, day, low, high, _centres(SLOT.c.tenant, tenants))
    appointments = _appointment_rows(conn, day, low, high, _centres(FACT.c.tenant, tenants))
    if slots:
        conn.execute(insert(SLOT_DAY), slots)
    if appointments:
        conn.execute(insert(APPT_DAY), appointments)


def _refresh_some(conn: Connection, zone: tzinfo) -> int:
    """Recompute the first few marked days; returns how many days, 0 when nothing was marked."""
    days = [
        row.day for row in conn.execute(select(MARK.c.day).distinct().order_by(MARK.c.day).limit(DAYS_PER_TRANSACTION))
    ]
    if not days:
        return 0
    marks = conn.execute(select(MARK.c.pk, MARK.c.tenant, MARK.c.day).where(MARK.c.day.in_(days))).all()
    wanted: dict[date, set[str | None] | None] = {}
    for _, tenant, day in marks:
        if tenant == EVERY_CENTRE or wanted.get(day, set()) is None:
            wanted[day] = None
        else:
            wanted.setdefault(day, set()).add(tenant)  # type: ignore[union-attr]
    for day, tenants in sorted(wanted.items()):
        _refresh_day(conn, zone, day, tenants)
    for chunk in chunks([pk for pk, _, _ in marks]):
        conn.execute(delete(MARK).where(MARK.c.pk.in_(chunk)))
    return len(wanted)


def refresh(engine: Engine, zone: tzinfo) -> Refreshed:
    """Bring the rollups up to date with every committed write (short transactions, a few days each)."""
    done = Refreshed()
    while True:
        with write_transaction(engine) as conn:
            _lock(conn)
            state = conn.execute(select(STATE.c.zone)).first()
            if state is None or state.zone != _zone_name(zone):
                _start_build(conn, zone)
                done.rebuilt = True
                continue
            count = _refresh_some(conn, zone)
        if count == 0:
            return done
        done.days += count


__all__ = ["EVERY_CENTRE", "Refreshed", "refresh"]

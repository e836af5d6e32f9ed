"""The days a write makes stale in the indicators' daily rollups (gateway/indicators/rollups.py).

A rollup row sums the Slots or Appointments of one centre and one local day, so a write of either marks the
(centre, day) of the rows it removes and of the rows it adds. Two sums also read the other type: a Slot is booked
when a live Appointment names it, and an Appointment is left out of the no-show rate when its Slot was withdrawn. So
an Appointment also marks the day of the Slots it names, and a Slot the days of the Appointments naming it. The marks
are appended in the writing transaction; the refresh consumes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select

from gateway.storage.models import (
    AppointmentDayRow,
    AppointmentFactRow,
    ResourceRow,
    RollupMarkRow,
    RollupStateRow,
    SlotDayRow,
    SlotIndexRow,
)

SLOT: Table = SlotIndexRow.__table__  # type: ignore[attr-defined]
RESOURCE: Table = ResourceRow.__table__  # type: ignore[attr-defined]
FACT: Table = AppointmentFactRow.__table__  # type: ignore[attr-defined]
MARK: Table = RollupMarkRow.__table__  # type: ignore[attr-defined]
STATE: Table = RollupStateRow.__table__  # type: ignore[attr-defined]
SLOT_DAY: Table = SlotDayRow.__table__  # type: ignore[attr-defined]
APPT_DAY: Table = AppointmentDayRow.__table__  # type: ignore[attr-defined]
ROLLUP_TYPES = frozenset({"Slot", "Appointment"})
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FactRef:
    """What a Slot's or Appointment's index row says of the rollups: its centre, start and the id linking the other
    type (a Slot's own id; an Appointment's first Slot)."""

    kind: str  # "slot" or "appointment"
    tenant: str | None
    low: datetime  # naive UTC
    link: str | None


def local_day(instant: datetime, zone: tzinfo) -> date:
    """The local date of a naive UTC instant."""
    return instant.replace(tzinfo=UTC).astimezone(zone).date()


def chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    """``values`` in lists of at most ``size`` (IN lists and executemany batches)."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def stored_refs(conn: Connection, rids: Sequence[int]) -> list[FactRef]:
    """The rows of these resources as they are before a write replaces or deletes them."""
    refs: list[FactRef] = []
    for chunk in chunks(rids):
        for row in conn.execute(select(SLOT.c.tenant, SLOT.c.low, SLOT.c.res_id).where(SLOT.c.rid.in_(chunk))):
            refs.append(FactRef("slot", row.tenant, row.low, row.res_id))
        for row in conn.execute(select(FACT.c.tenant, FACT.c.low, FACT.c.slot_id).where(FACT.c.rid.in_(chunk))):
            refs.append(FactRef("appointment", row.tenant, row.low, row.slot_id))
    return refs


def derived_refs(slots: Iterable[dict[str, object]], appointments: Iterable[dict[str, object]]) -> list[FactRef]:
    """The refs of freshly derived index rows (``slot_row`` + ``slot_facts``, ``appointment_row`` with the tenant)."""
    refs = [FactRef("slot", row["tenant"], row["low"], row["res_id"]) for row in slots]  # type: ignore[arg-type]
    refs += [FactRef("appointment", r["tenant"], r["low"], r["slot_id"]) for r in appointments]  # type: ignore[arg-type]
    return refs


def stale_days(conn: Connection, zone: tzinfo, refs: Sequence[FactRef]) -> set[tuple[str | None, date]]:
    """The (centre, local day) pairs whose rollups ``refs`` change, the linked type's included."""
    days = {(ref.tenant, local_day(ref.low, zone)) for ref in refs}
    named_slots = sorted({ref.link for ref in refs if ref.kind == "appointment" and ref.link})
    slot_ids = sorted({ref.link for ref in refs if ref.kind == "slot" and ref.link})
    for chunk in chunks(named_slots):  # through the resource table's key, then the Slot row's owner index
        named = select(SLOT.c.tenant, SLOT.c.low).join(RESOURCE, RESOURCE.c.rid == SLOT.c.rid)
        for row in conn.execute(named.where(RESOURCE.c.res_type == "Slot", RESOURCE.c.res_id.in_(chunk))):
            days.add((row.tenant, local_day(row.low, zone)))
    for chunk in chunks(slot_ids):
        for row in conn.execute(select(FACT.c.tenant, FACT.c.low).where(FACT.c.slot_id.in_(chunk))):
            days.add((row.tenant, local_day(row.low, zone)))
    return days


def mark(conn: Connection, days: Iterable[tuple[str | None, date]]) -> None:
    rows = [{"tenant": tenant, "day": day} for tenant, day in sorted(days, key=lambda d: (d[1], d[0] or ""))]
    if rows:
        conn.execute(insert(MARK), rows)


def forget_rollups(conn: Connection) -> None:
    """Drop the rollups and their state (after ``reindex``): the next refresh builds them all again."""
    for table in (STATE, MARK, SLOT_DAY, APPT_DAY):
        conn.execute(delete(table))


__all__ = [
    "APPT_DAY",
    "MARK",
    "ROLLUP_TYPES",
    "SLOT_DAY",
    "STATE",
    "FactRef",
    "chunks",
    "derived_refs",
    "forget_rollups",
    "local_day",
    "mark",
    "stale_days",
    "stored_refs",
]

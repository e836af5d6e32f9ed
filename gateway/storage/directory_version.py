"""Counters that tell a server process its cached capacity directory is out of date.

The directory (gateway/capacity/directory.py) is built from a few small resource types: who works where, in which
place, under which Schedule. Every write of one of them bumps its counter in the writing transaction, so a reader
that sees the counters unchanged knows no such write committed since it built its copy (timestamps could not tell:
transactions do not commit in the order they read the clock).

The same table holds one Slot counter per centre (``Slot:<FINESS>``; ``Slot:`` for CPTS-level slots and for
``reindex``), bumped by every write of one of its Slots: answers computed from Slots (the ``$capacity`` summary,
gateway/capacity/summary_cache.py) are kept while their sum, :func:`slot_stamp`, has not moved. One row per centre
keeps centres from queueing on one row lock on PostgreSQL: only writers of the same centre's Slots wait for each
other. A counter's row is created by its first Slot write (no migration).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.storage.models import TYPE_LEN, DirectoryVersionRow

DIRECTORY_TYPES = ("HealthcareService", "Location", "Organization", "Practitioner", "PractitionerRole", "Schedule")
SLOT_COUNTER = "Slot"
COUNTED_TYPES = (*DIRECTORY_TYPES, SLOT_COUNTER)  # every type whose writes move a counter
DIRECTORY_VERSION: Table = DirectoryVersionRow.__table__  # type: ignore[attr-defined]


def slot_counter(tenant: str | None) -> str:
    """The counter of a centre's Slots (``Slot:`` for CPTS-level ones), as long as the column allows."""
    return f"{SLOT_COUNTER}:{tenant or ''}"[:TYPE_LEN]


def bump_directory(conn: Connection, written_types: Iterable[str], slot_tenants: Iterable[str | None] = ()) -> None:
    """Count a write of each directory type among ``written_types``, and of the Slots of ``slot_tenants`` (Slots
    written with no centre named, by ``reindex``: the ``Slot:`` counter); no statement when there is nothing."""
    written = set(written_types)
    touched = sorted(written.intersection(DIRECTORY_TYPES))
    table = DIRECTORY_VERSION
    if touched:
        conn.execute(update(table).where(table.c.res_type.in_(touched)).values(version=table.c.version + 1))
    counters = sorted({slot_counter(tenant) for tenant in slot_tenants})  # always in one order: no deadlock
    if SLOT_COUNTER in written and not counters:
        counters = [slot_counter(None)]
    for counter in counters:
        _bump(conn, counter)


def _bump(conn: Connection, counter: str) -> None:
    table = DIRECTORY_VERSION
    bump = update(table).where(table.c.res_type == counter).values(version=table.c.version + 1)
    if conn.execute(bump).rowcount:
        return
    try:  # this centre's first Slot write: create its counter, then count (a concurrent creator: also)
        with conn.begin_nested():
            conn.execute(insert(table).values(res_type=counter, version=0))
    except IntegrityError:
        pass
    conn.execute(bump)


def directory_stamp(conn: Connection) -> tuple[int, ...]:
    """The counters, in ``DIRECTORY_TYPES`` order: equal stamps, same directory."""
    table = DIRECTORY_VERSION  # not the Slot counters: one per centre
    rows = conn.execute(select(table).where(table.c.res_type.in_(DIRECTORY_TYPES)))
    found = {row.res_type: row.version for row in rows}
    return tuple(int(found.get(kind, -1)) for kind in DIRECTORY_TYPES)


def slot_stamp(conn: Connection) -> int:
    """The sum of the Slot counters: every committed Slot write raises it, so equal stamps mean no Slot written in
    between."""
    table = DIRECTORY_VERSION
    low, high = f"{SLOT_COUNTER}:", f"{SLOT_COUNTER};"  # ";" follows ":": every "Slot:..." key lies in between
    total = select(func.coalesce(func.sum(table.c.version), 0)).where(table.c.res_type >= low, table.c.res_type < high)
    return int(conn.execute(total).scalar_one())


__all__ = [
    "COUNTED_TYPES",
    "DIRECTORY_TYPES",
    "DIRECTORY_VERSION",
    "SLOT_COUNTER",
    "bump_directory",
    "directory_stamp",
    "slot_counter",
    "slot_stamp",
]

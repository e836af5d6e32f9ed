"""Counters that tell a server process its cached capacity directory is out of date.

The directory (gateway/capacity/directory.py) is built from a few small resource types: who works where, in which
place, under which Schedule. Every write of one of them bumps its counter in the writing transaction, so a reader
that sees the counters unchanged knows no such write committed since it built its copy (timestamps could not tell:
transactions do not commit in the order they read the clock).

The same table holds one more counter, ``Slot``, bumped by every write of a Slot: answers computed from Slots
(the ``$capacity`` summary, gateway/capacity/summary_cache.py) are kept while it has not moved. Its row is created
by the first Slot write (no migration); until then :func:`slot_stamp` answers None and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.storage.models import DirectoryVersionRow

DIRECTORY_TYPES = ("HealthcareService", "Location", "Organization", "Practitioner", "PractitionerRole", "Schedule")
SLOT_COUNTER = "Slot"
COUNTED_TYPES = (*DIRECTORY_TYPES, SLOT_COUNTER)  # every type whose writes move a counter
DIRECTORY_VERSION: Table = DirectoryVersionRow.__table__  # type: ignore[attr-defined]


def bump_directory(conn: Connection, written_types: Iterable[str]) -> None:
    """Count a write of each directory type among ``written_types``, and of Slots (no statement when there is none)."""
    written = set(written_types)
    touched = sorted(written.intersection(DIRECTORY_TYPES))
    table = DIRECTORY_VERSION
    if touched:
        conn.execute(update(table).where(table.c.res_type.in_(touched)).values(version=table.c.version + 1))
    if SLOT_COUNTER in written:
        _bump_slots(conn)


def _bump_slots(conn: Connection) -> None:
    table = DIRECTORY_VERSION
    bump = update(table).where(table.c.res_type == SLOT_COUNTER).values(version=table.c.version + 1)
    if conn.execute(bump).rowcount:
        return
    try:  # the first Slot write of this database: create the counter, then count (a concurrent creator: also)
        with conn.begin_nested():
            conn.execute(insert(table).values(res_type=SLOT_COUNTER, version=0))
    except IntegrityError:
        pass
    conn.execute(bump)


def ensure_slot_counter(conn: Connection) -> None:
    """Create the Slot counter if no Slot write created it yet (a serving process does so at start)."""
    table = DIRECTORY_VERSION
    if conn.execute(select(table.c.version).where(table.c.res_type == SLOT_COUNTER)).first() is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(res_type=SLOT_COUNTER, version=0))
    except IntegrityError:
        pass


def directory_stamp(conn: Connection) -> tuple[int, ...]:
    """The counters, in ``DIRECTORY_TYPES`` order: equal stamps, same directory."""
    found = {row.res_type: row.version for row in conn.execute(select(DIRECTORY_VERSION))}
    return tuple(int(found.get(kind, -1)) for kind in DIRECTORY_TYPES)


def slot_stamp(conn: Connection) -> int | None:
    """The Slot write counter (None before the first Slot write): equal stamps, no Slot written in between."""
    table = DIRECTORY_VERSION
    found = conn.execute(select(table.c.version).where(table.c.res_type == SLOT_COUNTER)).scalar()
    return None if found is None else int(found)


__all__ = [
    "COUNTED_TYPES",
    "DIRECTORY_TYPES",
    "DIRECTORY_VERSION",
    "SLOT_COUNTER",
    "bump_directory",
    "directory_stamp",
    "ensure_slot_counter",
    "slot_stamp",
]

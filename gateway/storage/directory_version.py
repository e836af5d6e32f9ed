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

A last counter, ``Sync``, is bumped by every write of a centre's sync record (gateway/capacity/sync.py), so each
process keeps the centres' freshness (gateway/capacity/freshness.py) while it has not moved.

The counters are read on every Slot search: :func:`directory_stamp` and :func:`sync_stamp` send one constant SQL
text (no statement to build or compile), in the caller's transaction like any read.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, insert, update
from sqlalchemy.exc import IntegrityError

from gateway.storage.models import TYPE_LEN, DirectoryVersionRow

DIRECTORY_TYPES = ("HealthcareService", "Location", "Organization", "Practitioner", "PractitionerRole", "Schedule")
SLOT_COUNTER = "Slot"
SYNC_COUNTER = "Sync"  # the centres' sync records (centre_sync)
COUNTED_TYPES = (*DIRECTORY_TYPES, SLOT_COUNTER)  # every type whose writes move a counter
DIRECTORY_VERSION: Table = DirectoryVersionRow.__table__  # type: ignore[attr-defined]
HELD_DIRECTORY = "cpts-directory"  # Connection.info key: (a transaction, the directory it was given)


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
        conn.info.pop(HELD_DIRECTORY, None)  # this transaction's directory (gateway/capacity/directory.py) is stale
    counters = sorted({slot_counter(tenant) for tenant in slot_tenants})  # always in one order: no deadlock
    if SLOT_COUNTER in written and not counters:
        counters = [slot_counter(None)]
    for counter in counters:
        _bump(conn, counter)


def bump_sync(conn: Connection) -> None:
    """Count a write of a centre's sync record (in the writing transaction)."""
    _bump(conn, SYNC_COUNTER)


def _bump(conn: Connection, counter: str) -> None:
    table = DIRECTORY_VERSION
    bump = update(table).where(table.c.res_type == counter).values(version=table.c.version + 1)
    if conn.execute(bump).rowcount:
        return
    create_counter(conn, counter)  # this centre's first Slot write: create its counter, then count
    conn.execute(bump)


def create_counter(conn: Connection, counter: str) -> None:
    """Create a counter at 0 unless it exists (a concurrent creator: also fine)."""
    try:
        with conn.begin_nested():
            conn.execute(insert(DIRECTORY_VERSION).values(res_type=counter, version=0))
    except IntegrityError:
        pass


_QUOTED = ", ".join(f"'{kind}'" for kind in DIRECTORY_TYPES)  # the module's own constants: nothing from outside
_DIRECTORY_COUNTERS = f"SELECT res_type, version FROM directory_version WHERE res_type IN ({_QUOTED})"  # noqa: S608
_SYNC_COUNTER = f"SELECT version FROM directory_version WHERE res_type = '{SYNC_COUNTER}'"  # noqa: S608


def directory_stamp(conn: Connection) -> tuple[int, ...]:
    """The counters, in ``DIRECTORY_TYPES`` order (-1 for a missing one): equal stamps, same directory."""
    rows = conn.exec_driver_sql(_DIRECTORY_COUNTERS).all()  # not the Slot counters: one per centre
    found: dict[str, int] = {str(kind): int(version) for kind, version in rows}
    return tuple(found.get(kind, -1) for kind in DIRECTORY_TYPES)


def sync_stamp(conn: Connection) -> int:
    """The ``Sync`` counter; -1 while no sync record was written through :func:`bump_sync` (then trust no copy)."""
    found = conn.exec_driver_sql(_SYNC_COUNTER).scalar()
    return -1 if found is None else int(found)


_SLOT_COUNTERS = (  # ";" follows ":": every "Slot:..." key lies in between
    f"SELECT COALESCE(SUM(version), 0) FROM directory_version WHERE res_type >= '{SLOT_COUNTER}:' "  # noqa: S608
    f"AND res_type < '{SLOT_COUNTER};'"
)


def slot_stamp(conn: Connection) -> int:
    """The sum of the Slot counters: every committed Slot write raises it, so equal stamps mean no Slot written in
    between."""
    return int(conn.exec_driver_sql(_SLOT_COUNTERS).scalar_one())


__all__ = [
    "COUNTED_TYPES",
    "DIRECTORY_TYPES",
    "DIRECTORY_VERSION",
    "HELD_DIRECTORY",
    "SLOT_COUNTER",
    "SYNC_COUNTER",
    "bump_directory",
    "bump_sync",
    "create_counter",
    "directory_stamp",
    "slot_counter",
    "slot_stamp",
    "sync_stamp",
]

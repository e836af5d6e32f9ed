"""Counters that tell a server process its cached capacity directory is out of date.

The directory (gateway/capacity/directory.py) is built from a few small resource types: who works where, in which
place, under which Schedule. Every write of one of them bumps its counter in the writing transaction, so a reader
that sees the counters unchanged knows no such write committed since it built its copy (timestamps could not tell:
transactions do not commit in the order they read the clock).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, select, update

from gateway.storage.models import DirectoryVersionRow

DIRECTORY_TYPES = ("HealthcareService", "Location", "Organization", "Practitioner", "PractitionerRole", "Schedule")
DIRECTORY_VERSION: Table = DirectoryVersionRow.__table__  # type: ignore[attr-defined]


def bump_directory(conn: Connection, written_types: Iterable[str]) -> None:
    """Count a write of each directory type among ``written_types`` (no statement when there is none)."""
    touched = sorted(set(written_types).intersection(DIRECTORY_TYPES))
    if touched:
        table = DIRECTORY_VERSION
        conn.execute(update(table).where(table.c.res_type.in_(touched)).values(version=table.c.version + 1))


def directory_stamp(conn: Connection) -> tuple[int, ...]:
    """The counters, in ``DIRECTORY_TYPES`` order: equal stamps, same directory."""
    found = {row.res_type: row.version for row in conn.execute(select(DIRECTORY_VERSION))}
    return tuple(int(found.get(kind, -1)) for kind in DIRECTORY_TYPES)


__all__ = ["DIRECTORY_TYPES", "DIRECTORY_VERSION", "bump_directory", "directory_stamp"]

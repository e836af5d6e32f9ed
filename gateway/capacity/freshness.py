"""How fresh each centre's capacity is: its last successful slot sync, and whether that is too old.

The slot-carrying source kinds are the CSV ``slots`` export, FHIR bundles (GAP agendas) and HL7 v2 (SIU); a centre's
last slot sync is the newest of them. A centre that never synced is stale. ``CPTS_CAPACITY_STALE_AFTER_MINUTES``
sets the age beyond which capacity is flagged stale.

Coordinator searches ask on every request: each process keeps the newest slot sync of every centre
(:class:`SyncCache`), read again when the ``Sync`` counter moved (gateway/storage/directory_version.py; every write
of a sync record bumps it in its own transaction, and the counter is read in the caller's transaction: a copy is
used only by a reader whose snapshot holds exactly the sync records it was built from).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.capacity.sync import SYNC
from gateway.errors import Issue
from gateway.settings import get_settings
from gateway.storage.db import write_transaction
from gateway.storage.directory_version import SYNC_COUNTER, create_counter, sync_stamp

SLOT_KINDS = ("csv:slots", "fhir", "hl7v2")
log = logging.getLogger("cpts.capacity")

Freshness = dict[str, tuple[datetime | None, bool]]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class SyncRecords:
    """What the sync records say, as one transaction saw them."""

    last_slot_sync: dict[str, datetime]  # tenant -> newest successful slot sync (UTC, aware)
    tenants: frozenset[str]  # every centre with a sync on record, of any source kind


def _read_syncs(conn: Connection) -> SyncRecords:
    query = select(SYNC.c.tenant, SYNC.c.source_kind, SYNC.c.synced_at)
    last: dict[str, datetime] = {}
    tenants = set()
    for tenant, kind, at in conn.execute(query):
        tenants.add(str(tenant))
        if kind in SLOT_KINDS and at is not None:
            moment = _aware(at)
            if tenant not in last or moment > last[tenant]:
                last[tenant] = moment
    return SyncRecords(last, frozenset(tenants))


class SyncCache:
    """Per process and database: the sync records (:class:`SyncRecords`), with the ``Sync`` counter read with them.

    At most :data:`MAX_DATABASES` databases are kept (a process serves one; tests open several), each one small
    (one entry per centre that ever synced)."""

    MAX_DATABASES = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, tuple[int, SyncRecords]] = {}
        self._created: set[str] = set()

    def current(self, conn: Connection) -> SyncRecords:
        """The sync records as the caller's transaction sees them (shared: do not mutate)."""
        stamp = sync_stamp(conn)
        key = str(conn.engine.url)
        if stamp < 0:  # no counter yet (records written before it existed): no copy until one exists
            self._create_counter(conn.engine, key)
            return _read_syncs(conn)
        found = self._current.get(key)
        if found is not None and found[0] == stamp:
            return found[1]
        fresh = _read_syncs(conn)
        with self._lock:
            if key not in self._current and len(self._current) >= self.MAX_DATABASES:
                self._current.clear()
            self._current[key] = (stamp, fresh)
        return fresh

    def _create_counter(self, engine: Engine, key: str) -> None:
        """Create the counter (once per process and database), in a transaction of its own: from then on every
        sync record written bumps it, so readers whose snapshot holds it may keep a copy."""
        if key in self._created:
            return
        self._created.add(key)  # tried once: a database that refuses the write is read as before, uncached
        try:
            with write_transaction(engine) as conn:
                create_counter(conn, SYNC_COUNTER)
        except SQLAlchemyError as exc:
            log.warning("the Sync counter cannot be created (%s): capacity freshness is read on every search", exc)

    def clear(self) -> None:
        with self._lock:
            self._current.clear()
            self._created.clear()


SYNCS = SyncCache()


def last_slot_syncs(conn: Connection, tenants: Iterable[str] | None = None) -> dict[str, datetime]:
    """tenant → newest successful slot sync (UTC, aware); ``tenants=None``: every centre that ever synced."""
    found = SYNCS.current(conn).last_slot_sync
    if tenants is None:
        return dict(found)
    return {tenant: found[tenant] for tenant in tenants if tenant in found}


def synced_tenants(conn: Connection) -> frozenset[str]:
    """Every centre with a sync on record (of any source kind)."""
    return SYNCS.current(conn).tenants


def capacity_freshness(
    conn: Connection, tenants: Iterable[str] | None, now: datetime, stale_after: timedelta | None = None
) -> Freshness:
    """{tenant: (last slot sync or None, stale)}: stale when never synced or synced more than ``stale_after`` ago.

    ``tenants=None`` answers for every centre that ever synced; listed tenants that never synced are answered too.
    ``stale_after`` defaults to ``CPTS_CAPACITY_STALE_AFTER_MINUTES``.
    """
    if stale_after is None:
        stale_after = timedelta(minutes=get_settings().capacity_stale_after_minutes)
    wanted = None if tenants is None else sorted(set(tenants))
    found = last_slot_syncs(conn, wanted)
    moment = _aware(now)
    answer: Freshness = {}
    for tenant in wanted if wanted is not None else sorted(found):
        last = found.get(tenant)
        answer[tenant] = (last, last is None or moment - last > stale_after)
    return answer


def stale_warnings(conn: Connection, tenants: Iterable[str], now: datetime, stale_after: timedelta) -> list[Issue]:
    """One warning per centre among ``tenants`` whose capacity is stale: the slots shown may be out of date."""
    warnings = []
    minutes = int(stale_after.total_seconds() // 60)
    for tenant, (last, stale) in capacity_freshness(conn, tenants, now, stale_after).items():
        if not stale:
            continue
        when = f"last synced at {last.isoformat(timespec='seconds')}" if last else "never synced its agenda"
        warnings.append(
            Issue(
                "warning",
                "informational",
                f"centre {tenant}: capacity {when}, more than {minutes} minutes ago: its slots may be out of date",
                (f"Organization?identifier=https://finess.esante.gouv.fr|{tenant}",),
                "CAPACITY-STALE",
            )
        )
    return warnings


__all__ = [
    "SLOT_KINDS",
    "SYNCS",
    "Freshness",
    "SyncCache",
    "SyncRecords",
    "capacity_freshness",
    "last_slot_syncs",
    "stale_warnings",
    "synced_tenants",
]

"""Where the audit trail is kept: the store's own database, or one of its own (``CPTS_AUDIT_DATABASE_URL``).

On SQLite a database of its own matters for speed: every commit empties the page cache of every other connection to
the same file (WAL mode), and the trail commits for every request, so each request read its pages again; it also
keeps audit appends from queueing behind an ingest's write transaction. The audit database gets the full schema
(the migrations), of which only the audit tables are used.

A trail moved to a database of its own carries its chain along: when that database has no event yet and the store's
has some, they are copied (same seq, times and hashes, then the head), so ``audit verify`` checks one chain from the
first event. The store's copies stay (the database refuses to delete audit events).
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, func, insert, select

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine, read_transaction, write_transaction
from security.models import AuditEventRow, AuditHeadRow

EVENTS = AuditEventRow.__table__  # type: ignore[attr-defined]
HEAD = AuditHeadRow.__table__  # type: ignore[attr-defined]
COPY_BATCH = 2000

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def audit_engine(settings: Settings, store: Engine) -> Engine:
    """The trail's database: ``store`` unless ``CPTS_AUDIT_DATABASE_URL`` names another one, which is migrated and
    given the store's chain on first use (once per process and URL)."""
    url = settings.audit_database_url
    if not url or url == settings.database_url:
        return store
    with _lock:
        found = _engines.get(url)
        if found is None:
            found = make_engine(url)
            migrate.upgrade(found)
            _adopt_chain(store, found)
            _engines[url] = found
        return found


def _adopt_chain(store: Engine, audit: Engine) -> None:
    """Copy the store's events and head into ``audit`` if it has none (in one transaction: a concurrent process
    starting at the same time finds them there)."""
    with write_transaction(audit) as target:
        if target.execute(select(func.count()).select_from(EVENTS)).scalar_one():
            return
        with read_transaction(store) as source:
            last = 0
            while True:
                rows = source.execute(
                    select(EVENTS).where(EVENTS.c.seq > last).order_by(EVENTS.c.seq).limit(COPY_BATCH)
                ).all()
                if not rows:
                    break
                target.execute(insert(EVENTS), [row._asdict() for row in rows])
                last = rows[-1].seq
            head = source.execute(select(HEAD)).first()
        if head is not None:
            target.execute(HEAD.delete())
            target.execute(insert(HEAD), [head._asdict()])


def dispose_audit_engines() -> None:
    """Close the audit databases this process opened (tests, and the end of a command)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


__all__ = ["audit_engine", "dispose_audit_engines"]

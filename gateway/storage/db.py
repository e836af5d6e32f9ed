"""Database engine: SQLite (embedded default, WAL) or PostgreSQL through psycopg 3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

WRITE_OPTION = "cpts_write"
PING_AFTER_IDLE_SECONDS = 10.0


def _prepare_sqlite_path(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(engine: Engine) -> None:
    """WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so concurrent writers queue, not fail."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-16384")  # 16 MiB of page cache per connection, at most
        cursor.execute("PRAGMA mmap_size=2147418112")
        cursor.execute("PRAGMA wal_autocheckpoint=16384")
        # A WAL grown by one large transaction (a first audit copy, a bulk load) shrinks back to this after the next
        # checkpoint instead of keeping its largest size on disk.
        cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def _install_idle_ping(engine: Engine, after: float) -> None:
    """Check a pooled connection before it is lent only when it sat unused for ``after`` seconds.

    SQLAlchemy's ``pool_pre_ping`` checks it every time: one more round trip for every request (8 % of a worker's
    time under the capacity bench). A connection used a moment ago is alive or fails like any query would; one left
    idle may have been closed by a restart of the server or a firewall, and is replaced before anyone sees it.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.DisconnectionError(str(error)) from error  # the pool opens a new connection instead
            raise


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """Create the engine for ``url`` with the pragmas and pool settings each backend needs."""
    if url.startswith("sqlite"):
        _prepare_sqlite_path(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8)
        _install_sqlite_hooks(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgresql+psycopg"):
        engine = create_engine(url, pool_size=10, max_overflow=10)
        _install_idle_ping(engine, ping_after_idle)
        return engine
    return create_engine(url, poolclass=NullPool)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
    with engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: one consistent snapshot for a search page and its includes.

    On PostgreSQL that takes ``REPEATABLE READ``: under the default ``READ COMMITTED`` each statement sees the data
    committed before it started, so a page and its ``_include``s could come from two states of the store. (SQLite's
    read transactions are snapshots already.) A transaction that only reads never fails to serialise."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


__all__ = ["make_engine", "read_transaction", "write_transaction"]

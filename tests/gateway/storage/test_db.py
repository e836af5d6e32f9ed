"""Connections as the store opens them (gateway/storage/db.py): SQLite's WAL, PostgreSQL's pooled connections."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gateway.storage.db import make_engine, read_transaction, write_transaction


def test_a_wal_grown_by_a_large_transaction_shrinks_after_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE big (payload BLOB)"))
        conn.execute(text("INSERT INTO big SELECT randomblob(1048576) FROM (SELECT 1 FROM (VALUES (1)) LIMIT 1)"))
        for _ in range(7):  # 128 MiB in one transaction: the WAL grows past the limit
            conn.execute(text("INSERT INTO big SELECT randomblob(1048576) FROM big"))
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 100 * 2**20
    raw = engine.raw_connection()  # outside any transaction, as the automatic checkpoints run
    try:
        cursor = raw.cursor()
        assert cursor.execute("PRAGMA journal_size_limit").fetchone()[0] == 64 * 2**20
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        cursor.execute("INSERT INTO big VALUES (1)")  # the first write after a full checkpoint restarts and caps it
    finally:
        raw.close()
    assert wal.stat().st_size <= 64 * 2**20
    engine.dispose()


# -- PostgreSQL: a pooled connection is checked before reuse only after it sat idle -----------------------------------
def _terminate_pooled_connection(database_url: str, engine: Engine) -> None:
    """Leave one connection in the pool, then have the server close it (as a restart or an idle timeout would)."""
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    other = make_engine(database_url)
    with other.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    time.sleep(0.2)  # the server ends the backend after answering


def test_an_idle_connection_the_server_closed_is_replaced_unseen(database_url: str, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite has no server to close a connection")
    engine = make_engine(database_url, ping_after_idle=0.1)
    _terminate_pooled_connection(database_url, engine)
    with engine.connect() as conn:  # idle for 0.2 s: checked, found closed, replaced
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()


def test_a_connection_used_a_moment_ago_is_lent_without_a_check(database_url: str, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite has no server to close a connection")
    engine = make_engine(database_url, ping_after_idle=3600)
    _terminate_pooled_connection(database_url, engine)
    with pytest.raises(OperationalError), engine.connect() as conn:  # no round trip spent checking it
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # the failed connection was dropped: the next one is new
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()


def test_a_read_transaction_sees_one_snapshot(engine: Engine, database_url: str) -> None:
    """A write committed between two statements of a read transaction is not seen by the second."""
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS snap_probe (n INTEGER)"))
        conn.execute(text("DELETE FROM snap_probe"))
    writer = make_engine(database_url)
    try:
        with read_transaction(engine) as conn:
            assert conn.execute(text("SELECT count(*) FROM snap_probe")).scalar_one() == 0
            with write_transaction(writer) as other:
                other.execute(text("INSERT INTO snap_probe VALUES (1)"))
            assert conn.execute(text("SELECT count(*) FROM snap_probe")).scalar_one() == 0
        with read_transaction(engine) as conn:
            assert conn.execute(text("SELECT count(*) FROM snap_probe")).scalar_one() == 1
    finally:
        with write_transaction(writer) as other:
            other.execute(text("DROP TABLE snap_probe"))
        writer.dispose()

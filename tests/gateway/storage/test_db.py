"""SQLite connections as the store opens them (gateway/storage/db.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from gateway.storage.db import make_engine, write_transaction


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

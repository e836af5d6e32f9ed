"""The trail's writer thread: a failed transaction fails every waiting caller and the next one is written; an idle
writer ends and the next event starts another; the chain stays one, gap-free, whatever the thread's life."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security import audit
from security.audit import AuditRecord, AuditTrail, AuditUnavailable, verify


def fresh_engine(tmp_path: Path, name: str) -> tuple[Engine, str]:
    url = f"sqlite:///{tmp_path}/{name}.db"
    return make_engine(url), url


def test_a_failed_batch_fails_its_callers_and_the_writer_goes_on(tmp_path: Path) -> None:
    engine, url = fresh_engine(tmp_path, "unmigrated")
    trail = AuditTrail(engine, Settings(database_url=url))
    with pytest.raises(AuditUnavailable, match="could not be written"):
        trail.record(AuditRecord(action="read", outcome="0", agent="before-the-tables"))
    future = trail.submit((AuditRecord(action="read", outcome="0", agent="also-refused"),))
    assert isinstance(future.exception(timeout=30), AuditUnavailable)
    migrate.upgrade(engine)
    trail.record(AuditRecord(action="read", outcome="0", agent="after-the-tables"))
    result = verify(engine)
    assert result.intact and result.events == 1, result
    with engine.connect() as conn:
        assert conn.execute(text("SELECT agent FROM audit_event")).scalars().all() == ["after-the-tables"]
    engine.dispose()


def test_an_idle_writer_ends_and_the_next_event_starts_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "WRITER_IDLE_SECONDS", 0.05)
    engine, url = fresh_engine(tmp_path, "idle")
    migrate.upgrade(engine)
    trail = AuditTrail(engine, Settings(database_url=url))
    for n in range(3):
        trail.record(AuditRecord(action="read", outcome="0", agent=f"agent-{n}"))
        deadline = time.monotonic() + 10
        while trail._thread is not None and time.monotonic() < deadline:  # the writer ends once idle
            time.sleep(0.01)
        assert trail._thread is None
    result = verify(engine)
    assert result.intact and result.events == result.head_seq == 3, result
    engine.dispose()


def test_events_submitted_together_are_one_transaction_in_order(tmp_path: Path) -> None:
    """What queued while the writer was busy goes in one transaction: seq follows the order of submission."""
    engine, url = fresh_engine(tmp_path, "grouped")
    migrate.upgrade(engine)
    trail = AuditTrail(engine, Settings(database_url=url))
    futures = [trail.submit((AuditRecord(action="read", outcome="0", agent=f"agent-{n}"),)) for n in range(50)]
    for future in futures:
        future.result(timeout=30)
    with engine.connect() as conn:
        agents = conn.execute(text("SELECT agent FROM audit_event ORDER BY seq")).scalars().all()
    assert agents == [f"agent-{n}" for n in range(50)]
    assert verify(engine).intact
    engine.dispose()


def test_a_caller_that_stops_waiting_does_not_take_its_event_out(tmp_path: Path) -> None:
    """The request layer awaits the future; a client gone cancels that wait, never the event (nor the writer)."""
    engine, url = fresh_engine(tmp_path, "cancelled")
    migrate.upgrade(engine)
    trail = AuditTrail(engine, Settings(database_url=url))

    async def gone() -> None:
        waiting = asyncio.ensure_future(asyncio.wrap_future(trail.submit((AuditRecord("read", "0", "gone"),))))
        await asyncio.sleep(0)
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting

    asyncio.run(gone())
    trail.record(AuditRecord(action="read", outcome="0", agent="next"))  # the writer is alive
    with engine.connect() as conn:
        agents = conn.execute(text("SELECT agent FROM audit_event ORDER BY seq")).scalars().all()
    assert agents == ["gone", "next"]
    assert verify(engine).intact
    engine.dispose()

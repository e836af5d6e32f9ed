"""The audit trail on the shared test database: events appended, chained, gap-free under threads, append-only."""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from gateway.settings import Settings
from security.audit import EVENTS, GENESIS, AuditRecord, AuditTrail, chain_hash, verify


def rows_of(engine: Engine, agent: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(EVENTS).where(EVENTS.c.agent == agent).order_by(EVENTS.c.seq)))


def test_events_are_appended_and_each_links_to_the_one_before(engine: Engine, settings: Settings) -> None:
    trail = AuditTrail(engine, settings)
    agent = f"chain-{uuid.uuid4()}"
    for n in range(5):
        trail.record(AuditRecord(action="read", outcome="0", agent=agent, resource_ids=(f"Slot/s{n}",)))
    rows = rows_of(engine, agent)
    assert len(rows) == 5
    assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + 5))  # one thread: consecutive
    for before, row in itertools.pairwise(rows):
        assert row.prev_hash == before.hash
    for row in rows:
        event = orjson.loads(row.event)
        assert event["id"] == str(row.seq)
        assert row.hash == chain_hash(row.prev_hash, row.event.encode(), row.seq, row.recorded_at)
        assert row.event.encode() == orjson.dumps(event, option=orjson.OPT_SORT_KEYS)  # canonical JSON
    with engine.connect() as conn:
        first = conn.execute(text("SELECT prev_hash FROM audit_event WHERE seq = 1")).scalar_one()
    assert first == GENESIS
    assert verify(engine).intact


def test_record_many_appends_in_order_in_one_go(engine: Engine, settings: Settings) -> None:
    agent = f"many-{uuid.uuid4()}"
    recs = [AuditRecord(action="create", outcome="0", agent=agent, resource_ids=(f"Task/t{n}",)) for n in range(7)]
    AuditTrail(engine, settings).record_many(recs)
    rows = rows_of(engine, agent)
    assert [orjson.loads(r.event)["entity"][0]["what"]["reference"] for r in rows] == [f"Task/t{n}" for n in range(7)]
    assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + 7))
    AuditTrail(engine, settings).record_many([])  # nothing to do, no error


def test_eight_threads_appending_at_once_keep_one_gap_free_chain(engine: Engine, settings: Settings) -> None:
    trail, other = AuditTrail(engine, settings), AuditTrail(engine, settings)  # two trails: two writer locks
    agent = f"threads-{uuid.uuid4()}"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(25):
                (trail if n % 2 else other).record(
                    AuditRecord(action="search", outcome="0", agent=agent, resource_type="Slot", query=f"n={n}&i={i}")
                )
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(rows_of(engine, agent)) == 200
    with engine.connect() as conn:
        count, low, high = conn.execute(text("SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_event")).one()
        head = conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one()
    assert (low, high) == (1, count)  # no gap anywhere
    assert head >= high  # the head is the last event (or later, if another test appended since)
    result = verify(engine)
    assert result.intact, result


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET outcome = '8'", "DELETE FROM audit_event"])
def test_the_database_refuses_to_update_or_delete_an_event(engine: Engine, settings: Settings, statement: str) -> None:
    agent = f"refuse-{uuid.uuid4()}"
    AuditTrail(engine, settings).record(AuditRecord(action="read", outcome="0", agent=agent))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(f"{statement} WHERE agent = :agent"), {"agent": agent})
    rows = rows_of(engine, agent)
    assert len(rows) == 1
    assert rows[0].outcome == "0"


def test_verify_while_events_are_appended_finds_the_chain_intact(engine: Engine, settings: Settings) -> None:
    trail, stop = AuditTrail(engine, settings), threading.Event()
    agent = f"during-{uuid.uuid4()}"

    def keep_appending() -> None:
        while not stop.is_set():
            trail.record(AuditRecord(action="read", outcome="0", agent=agent))

    writers = [threading.Thread(target=keep_appending) for _ in range(3)]
    for writer in writers:
        writer.start()
    try:
        results = [verify(engine, batch=50) for _ in range(3)]
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert all(result.intact for result in results), results
    assert verify(engine).intact

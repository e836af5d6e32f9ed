"""``cpts-gateway audit verify`` against a trail tampered with, each in a database of its own (a fresh SQLite file
or a PostgreSQL schema), never the shared test database; and several processes appending to one chain."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security.audit import AuditRecord, AuditTrail, verify

SCRIPT = Path(sys.executable).with_name("cpts-gateway")
EVENTS = 10


@pytest.fixture
def isolated_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/audit.db"
        return
    schema = f"audit_{uuid.uuid4().hex[:10]}"
    admin = make_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in database_url else "?"
    yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def trail_db(isolated_url: str) -> Iterator[Engine]:
    """A migrated database of its own with a trail of ten events and the append-only triggers dropped."""
    engine = make_engine(isolated_url)
    migrate.upgrade(engine)
    trail = AuditTrail(engine, Settings(database_url=isolated_url))
    for n in range(EVENTS):
        trail.record(AuditRecord(action="read", outcome="0", agent=f"client-{n}", resource_ids=(f"Slot/s{n}",)))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
    yield engine
    engine.dispose()


def cli(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPTS_DATABASE_URL": url, "CPTS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [str(SCRIPT), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def tamper(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_an_intact_trail_verifies_with_exit_0(trail_db: Engine, isolated_url: str) -> None:
    result = cli(isolated_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"audit trail intact: {EVENTS} events checked" in result.stdout
    assert f"head: seq {EVENTS} hash " in result.stdout
    assert "Traceback" not in result.stderr


TAMPERING = [  # (statements, first broken seq, problem); the first four through the command line
    pytest.param(
        ["UPDATE audit_event SET event = REPLACE(event, '\"outcome\":\"0\"', '\"outcome\":\"4\"') WHERE seq = 4"],
        4, "edited", id="edited-event",
    ),
    pytest.param(["DELETE FROM audit_event WHERE seq = 5"], 5, "deleted", id="deleted-event"),
    pytest.param([f"DELETE FROM audit_event WHERE seq = {EVENTS}"], EVENTS, "truncated", id="deleted-last-event"),
    pytest.param(
        ["UPDATE audit_event SET seq = -6 WHERE seq = 6", "UPDATE audit_event SET seq = 6 WHERE seq = 7",
         "UPDATE audit_event SET seq = 7 WHERE seq = -6"],
        6, "reordered", id="swapped-rows",
    ),
]  # fmt: skip
MORE_TAMPERING = [
    pytest.param(["UPDATE audit_event SET agent = 'someone-else' WHERE seq = 3"], 3, "edited", id="edited-agent"),
    pytest.param(["UPDATE audit_event SET outcome = '12' WHERE seq = 8"], 8, "edited", id="edited-outcome"),
    pytest.param(["DELETE FROM audit_event WHERE seq <= 2"], 1, "deleted", id="deleted-first-events"),
    pytest.param(
        ["UPDATE audit_event SET event = REPLACE(event, '\"id\":\"9\"', '\"id\":\"2\"') WHERE seq = 9"],
        9, "reordered", id="event-moved",
    ),
    pytest.param([f"UPDATE audit_head SET hash = '{'f' * 64}'"], EVENTS, "head-mismatch", id="head-hash"),
    pytest.param(["DELETE FROM audit_head"], 1, "head-mismatch", id="head-deleted"),
]  # fmt: skip


@pytest.mark.parametrize(("statements", "seq", "problem"), TAMPERING)
def test_tampering_is_found_and_named_with_exit_3(
    trail_db: Engine, isolated_url: str, statements: list[str], seq: int, problem: str
) -> None:
    tamper(trail_db, *statements)
    result = cli(isolated_url)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"audit trail BROKEN at seq {seq}: {problem}:" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("statements", "seq", "problem"), MORE_TAMPERING)
def test_more_tampering_is_found(trail_db: Engine, statements: list[str], seq: int, problem: str) -> None:
    tamper(trail_db, *statements)
    result = verify(trail_db, batch=3)  # small batches: the walk crosses batch boundaries
    assert (result.intact, result.broken_seq, result.problem) == (False, seq, problem), result


def test_an_event_appended_around_the_chain_is_found(trail_db: Engine) -> None:
    tamper(
        trail_db,
        "INSERT INTO audit_event (seq, recorded_at, action, outcome, agent, patient, event, prev_hash, hash) "
        f"SELECT seq + 1, recorded_at, action, outcome, agent, patient, event, hash, hash FROM audit_event "
        f"WHERE seq = {EVENTS}",
    )
    result = verify(trail_db)
    assert (result.intact, result.broken_seq, result.problem) == (False, EVENTS + 1, "outside-chain")


def test_a_lost_head_is_rebuilt_from_the_last_event_and_the_chain_goes_on(trail_db: Engine, isolated_url: str) -> None:
    tamper(trail_db, "DELETE FROM audit_head")
    AuditTrail(trail_db, Settings(database_url=isolated_url)).record(AuditRecord("read", "0", "after-loss"))
    result = verify(trail_db)
    assert result.intact, result
    assert result.head_seq == EVENTS + 1


def test_verify_exits_4_when_it_cannot_run(tmp_path: Path) -> None:
    missing = cli(f"sqlite:///{tmp_path}/none.db")
    assert missing.returncode == 4
    assert "there is no database" in missing.stderr
    unreachable = cli("postgresql+psycopg://cpts@127.0.0.1:1/nothing")
    assert unreachable.returncode == 4
    assert "cannot read the audit trail" in unreachable.stderr
    assert "Traceback" not in missing.stderr + unreachable.stderr


WRITER = textwrap.dedent(
    """
    import sys
    from gateway.settings import Settings
    from gateway.storage.db import make_engine
    from security.audit import AuditRecord, AuditTrail
    url, name = sys.argv[1], sys.argv[2]
    trail = AuditTrail(make_engine(url), Settings(database_url=url))
    for n in range(100):
        trail.record(AuditRecord(action="search", outcome="0", agent=name, resource_type="Slot", query=f"n={n}"))
    """
)


def test_several_processes_append_to_one_chain(isolated_url: str) -> None:
    engine = make_engine(isolated_url)
    migrate.upgrade(engine)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, isolated_url, f"process-{n}"], env=env) for n in range(4)
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    result = verify(engine)
    assert result.intact, result
    assert result.events == result.head_seq == 400
    with engine.connect() as conn:
        per_process = conn.execute(text("SELECT agent, COUNT(*) FROM audit_event GROUP BY agent")).all()
    assert sorted(per_process) == [(f"process-{n}", 100) for n in range(4)]
    engine.dispose()

"""``CPTS_AUDIT_DATABASE_URL``: the trail in a database of its own (security/audit_store.py), over real HTTP and with
the ``audit verify`` command; the store's chain is carried along the first time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from gateway.app import create_app
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security.audit import EVENTS, AuditRecord, AuditTrail, verify
from security.audit_store import dispose_audit_engines
from tests.conftest import _free_port, serving

SCRIPT = Path(sys.executable).with_name("cpts-gateway")


@pytest.fixture
def files(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A store and an audit database, both SQLite files of their own (what the setting is for)."""
    yield f"sqlite:///{tmp_path}/store.db", f"sqlite:///{tmp_path}/audit.db"
    dispose_audit_engines()


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(EVENTS)).scalar_one())


def test_requests_are_audited_in_the_audit_database(settings: Settings, files: tuple[str, str]) -> None:
    store_url, audit_url = files
    served = settings.model_copy(update={"database_url": store_url, "audit_database_url": audit_url})
    store = make_engine(store_url)
    migrate.upgrade(store)
    app = create_app(served, configure_logs=False)
    with serving(app, _free_port()) as base:
        assert httpx.get(f"{base}/fhir/Slot?_count=1", timeout=30).status_code == 200
        audit = make_engine(audit_url)
        assert count(audit) >= 1 and count(store) == 0
        page = httpx.get(f"{base}/audit/events?action=search", timeout=30).json()  # the API reads the audit database
        assert page["entry"] and all(e["resource"]["resourceType"] == "AuditEvent" for e in page["entry"])
    assert verify(audit).intact
    env = {**os.environ, "CPTS_DATABASE_URL": store_url, "CPTS_AUDIT_DATABASE_URL": audit_url}
    result = subprocess.run(
        [str(SCRIPT), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and f"{count(audit)} events checked" in result.stdout, result.stdout + result.stderr
    store.dispose()
    audit.dispose()


def test_the_stores_chain_moves_with_the_trail(files: tuple[str, str]) -> None:
    store_url, audit_url = files
    store = make_engine(store_url)
    migrate.upgrade(store)
    before = AuditTrail(store, Settings(database_url=store_url))
    for n in range(5):
        before.record(AuditRecord(action="read", outcome="0", agent=f"before-{n}"))
    moved = AuditTrail(store, Settings(database_url=store_url, audit_database_url=audit_url))
    moved.record(AuditRecord(action="read", outcome="0", agent="after"))
    audit = make_engine(audit_url)
    result = verify(audit)
    assert (result.intact, result.events, result.head_seq) == (True, 6, 6)  # one chain, continued from the store's
    assert count(store) == 5  # the store keeps its copies (append-only)
    dispose_audit_engines()  # as another process would: the audit database has events, nothing is carried again
    AuditTrail(store, Settings(database_url=store_url, audit_database_url=audit_url))
    assert count(audit) == 6
    store.dispose()
    audit.dispose()

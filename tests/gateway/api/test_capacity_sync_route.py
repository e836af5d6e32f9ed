"""``GET /capacity/sync`` over HTTP with real OAuth clients: who sees which centres' sync freshness."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, update

from gateway.capacity.sync import SYNC
from gateway.ingest.pipeline import Pipeline
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.directory_version import bump_sync
from tests.gateway.ingest.conftest import run_ingest
from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import refused

SLOTS = (Path(__file__).resolve().parents[2] / "data" / "csv" / "reference" / "slots" / "capacity.csv").read_bytes()


@pytest.fixture
def synced(ids: Identities, clean_db: Engine, secure_settings: Settings) -> Iterator[Identities]:
    """Both centres sent their slots export (real ingest jobs); centre B's sync is then made two hours old."""
    with write_transaction(clean_db) as conn:
        conn.execute(delete(SYNC))
        bump_sync(conn)  # as every writer of sync records: cached freshness is out of date
    pipeline = Pipeline(secure_settings, clean_db)
    for tenant in (CENTRE_A, CENTRE_B):
        report = run_ingest(pipeline, SLOTS, tenant=tenant, fmt="csv", export="slots", vendor="reference")
        assert report["status"] == "done"
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)  # the table keeps naive UTC
    with write_transaction(clean_db) as conn:
        conn.execute(update(SYNC).where(SYNC.c.tenant == CENTRE_B).values(synced_at=old))
        bump_sync(conn)  # as every writer of sync records: cached freshness is out of date
    yield ids
    with write_transaction(clean_db) as conn:
        conn.execute(delete(SYNC))
        bump_sync(conn)  # as every writer of sync records: cached freshness is out of date


def test_capacity_sync_a_coordinator_sees_every_centre(synced: Identities) -> None:
    response = synced.client("coordination", "coordinator").get("/capacity/sync")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(c["finess"], c["stale"]) for c in body] == [(CENTRE_A, False), (CENTRE_B, True)]
    assert all(c["last_slot_sync"].endswith("Z") for c in body)


def test_capacity_sync_a_centre_sees_only_its_own(synced: Identities) -> None:
    response = synced.centre(CENTRE_B).get("/capacity/sync")
    assert response.status_code == 200, response.text
    assert [(c["finess"], c["stale"]) for c in response.json()] == [(CENTRE_B, True)]
    manager = synced.client("director-a", "centre-manager", tenant=CENTRE_A)
    assert [c["finess"] for c in manager.get("/capacity/sync").json()] == [CENTRE_A]


def test_capacity_sync_the_sas_is_refused(synced: Identities) -> None:
    refused(synced.client("sas", "sas-consumer").get("/capacity/sync"), synced, code="SEC-ROLE")


def test_capacity_sync_needs_a_token(synced: Identities) -> None:
    import httpx

    assert httpx.get(f"{synced.base}/capacity/sync", timeout=10).status_code == 401

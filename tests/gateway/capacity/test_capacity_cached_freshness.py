"""Each process keeps the centres' sync freshness while the ``Sync`` counter has not moved: a sync recorded by
another process shows in the very next coordinator search over HTTP, and a cached copy is really used meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gateway.capacity.freshness import SYNCS
from gateway.settings import Settings
from gateway.storage.db import read_transaction
from gateway.storage.directory_version import sync_stamp
from tests.gateway.capacity.test_slot_search import centres, search, territory
from tests.security.identities import CENTRE_A, Identities

__all__ = ["centres", "territory"]  # the fixtures of the coordinator searches, used here as they are

ROOT = Path(__file__).resolve().parents[3]
OTHER_CENTRE = "350000030"
RECORDER = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from gateway.capacity.sync import record_sync
    from gateway.storage.db import make_engine, write_transaction
    url, tenant, at = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        record_sync(conn, tenant=tenant, kind="csv:slots", job_id="job-" + tenant, at=at, counts={"accepted": 1})
    engine.dispose()
    """
)


def record_elsewhere(url: str, tenant: str, at: datetime) -> None:
    """A centre's sync, recorded by another process (as an ingest worker of another server would)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", RECORDER, url, tenant, at.isoformat()], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()


def stale_codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    outcomes = [e["resource"] for e in response.json()["entry"] if e["search"]["mode"] == "outcome"]
    return [
        i["diagnostics"] for o in outcomes for i in o["issue"] if i["details"]["coding"][0]["code"] == "CAPACITY-STALE"
    ]


def test_a_sync_recorded_by_another_process_shows_in_the_next_search(
    ids: Identities, territory: None, clean_db: Engine, secure_settings: Settings
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    record_elsewhere(secure_settings.database_url, OTHER_CENTRE, now)  # the counter exists: copies are kept
    coordinator = ids.client("coord", "coordinator")
    first = stale_codes(search(coordinator, **{"address-city": "rennes"}))
    assert len(first) == 1 and CENTRE_A in first[0] and "never synced" in first[0]
    with read_transaction(clean_db) as conn:
        stamp = sync_stamp(conn)
        assert stamp >= 0
        assert SYNCS.current(conn) is SYNCS.current(conn)  # one copy while the counter stands still
        assert CENTRE_A not in SYNCS.current(conn).last_slot_sync
    assert len(stale_codes(search(coordinator, **{"address-city": "rennes"}))) == 1  # from the copy
    record_elsewhere(secure_settings.database_url, CENTRE_A, now)
    assert stale_codes(search(coordinator, **{"address-city": "rennes"})) == []  # at once, not after some delay
    with read_transaction(clean_db) as conn:
        assert sync_stamp(conn) > stamp
        assert CENTRE_A in SYNCS.current(conn).last_slot_sync

"""Kill test: SIGKILL the server in the middle of a large ingest, restart it, and find every acknowledged message
stored exactly once (the payload before the 202, each record once, no resource written twice)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text

from adapters.fhir.slot_types import SLOT_TYPE_SYSTEM as SLOT_TYPES
from gateway.storage.db import make_engine, write_transaction

TENANT = "350000014"
SLOTS = 12_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def big_bundle(tag: str, count: int) -> bytes:
    entries: list[dict[str, Any]] = [
        {"resource": {"resourceType": "Schedule", "id": f"agenda-{tag}", "actor": [{"display": "Dr Martin"}]}}
    ]
    for n in range(count):
        hour, minute = divmod(n % 40 * 15, 60)
        day = 1 + n // 40 % 28
        entries.append(
            {
                "resource": {
                    "resourceType": "Slot",
                    "id": f"{tag}-{n}",
                    "meta": {"security": [{"system": SLOT_TYPES, "code": "PUBLIC"}]},  # refused without (GAP check)
                    "schedule": {"reference": f"Schedule/agenda-{tag}"},
                    "status": "free",
                    "start": f"2026-02-{day:02d}T{8 + hour:02d}:{minute:02d}:00+01:00",
                    "end": f"2026-02-{day:02d}T{8 + hour:02d}:{minute + 14:02d}:00+01:00",
                }
            }
        )
    return orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries})


@pytest.fixture
def isolated_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own: the session server's worker must not take the job of the server under test."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/kill.db"
        return
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS killtest CASCADE"))
        conn.execute(text("CREATE SCHEMA killtest"))
    engine.dispose()
    separator = "&" if "?" in database_url else "?"
    yield f"{database_url}{separator}options=-csearch_path%3Dkilltest"
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS killtest CASCADE"))
    engine.dispose()


def start(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CPTS_DATABASE_URL": url,
        "CPTS_INGEST_LEASE_SECONDS": "2",
        "CPTS_OPEN_ACCESS": "true",  # development open access: this test is about durability, not tokens
        "CPTS_INGEST_POLL_SECONDS": "0.1",
        "CPTS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the gateway did not start")


def children(pid: int) -> set[int]:
    """The processes ``pid`` started (Linux ``/proc``)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # an unreaped zombie has ended


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_sigkill_during_a_large_ingest_loses_and_duplicates_nothing(isolated_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(isolated_url, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def keep_sending() -> None:  # small payloads acknowledged (or not) around the kill
        n = 0
        while not stop.is_set():
            n += 1
            try:
                response = httpx.post(f"{base}/ingest/fhir?tenant={TENANT}", content=big_bundle(f"s{n}", 3), timeout=5)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code == 202:
                acknowledged.append(response.json()["id"])

    try:
        big = httpx.post(f"{base}/ingest/fhir?tenant={TENANT}", content=big_bundle("big", SLOTS), timeout=60)
        assert big.status_code == 202
        big_job = big.json()["id"]
        acknowledged.append(big_job)
        sender = threading.Thread(target=keep_sending, daemon=True)
        sender.start()
        # The kill lands while this test holds the lock the worker needs to commit its next batch, so the cursor it
        # reads is the one the crash leaves, however fast the machine (polling over HTTP raced the worker).
        engine = make_engine(isolated_url)
        deadline = time.monotonic() + 120
        while True:
            with write_transaction(engine) as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text("LOCK TABLE ingest_job IN EXCLUSIVE MODE"))
                cut = conn.execute(text(f"SELECT cursor FROM ingest_job WHERE id = '{big_job}'")).scalar_one()
                if cut >= 1000 or time.monotonic() > deadline:
                    preparing = children(server.pid)  # the process preparing the next batches (ingest/producer.py)
                    server.send_signal(signal.SIGKILL)
                    server.wait(timeout=10)
                    break
            time.sleep(0.02)
        stop.set()
        sender.join(timeout=10)

        assert scalar(engine, f"SELECT cursor FROM ingest_job WHERE id = '{big_job}'") == cut
        assert 0 < cut < SLOTS + 1, "the kill must land in the middle of the ingest"
        assert preparing, "the kill must land while the payload is being prepared"
        ended = time.monotonic() + 10
        while any(running(pid) for pid in preparing) and time.monotonic() < ended:
            time.sleep(0.05)
        assert not any(running(pid) for pid in preparing), "a producer outlived its killed server"
        engine.dispose()

        server = start(isolated_url, port)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            engine = make_engine(isolated_url)
            unfinished = scalar(engine, "SELECT count(*) FROM ingest_job WHERE status <> 'done'")
            engine.dispose()
            if unfinished == 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"{unfinished} jobs did not finish after the restart")
    finally:
        stop.set()
        server.kill()
        server.wait(timeout=10)

    engine = make_engine(isolated_url)
    try:
        records = SLOTS + 1
        assert scalar(engine, f"SELECT accepted FROM ingest_job WHERE id = '{big_job}'") == records
        assert scalar(engine, f"SELECT count(*) FROM ingest_record WHERE job_id = '{big_job}'") == records
        # a payload committed just before the kill may have lost its 202 on the way: count what was received
        received = scalar(engine, "SELECT count(*) FROM ingest_job")
        assert received >= len(acknowledged)
        assert scalar(engine, "SELECT count(*) FROM ingest_job WHERE status <> 'done'") == 0
        expected = SLOTS + 3 * (received - 1)
        assert scalar(engine, "SELECT count(*) FROM resource WHERE res_type = 'Slot'") == expected
        assert scalar(engine, "SELECT max(version_id) FROM resource WHERE res_type = 'Slot'") == 1
        assert scalar(engine, "SELECT count(*) FROM resource_version WHERE res_type = 'Slot'") == expected
        for job in acknowledged:  # every acknowledged payload is there, once
            assert scalar(engine, f"SELECT count(*) FROM ingest_job WHERE id = '{job}'") == 1
    finally:
        engine.dispose()

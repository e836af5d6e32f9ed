"""Audit trail benchmark: AuditEvents appended per second, one thread and four, on SQLite (and PostgreSQL).

    .venv/bin/python bench/audit.py [--events 5000] [--postgres-url URL]

Each ``record`` builds a BALP AuditEvent (a practitioner's patient search with a consent decision), appends it to
the hash chain in its own transaction (threads: group commit) and returns once committed. Prints records/s and the
single-thread latency (mean, p99); then checks the chain with ``verify`` and prints its speed. Goal: a record under
~2 ms on SQLite. PostgreSQL runs in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security.audit import AuditRecord, AuditTrail, verify

RECORD = AuditRecord(
    action="search",
    outcome="0",
    agent="810002345678",
    role="practitioner",
    client="psc-portal",
    issuer="https://auth.esante.gouv.fr/auth/realms/esante-wallet",
    tenant="750012345",
    resource_type="Appointment",
    resource_ids=tuple(f"Appointment/a{n}" for n in range(10)),
    patients=("Patient/p1", "Patient/p2"),
    query="patient=Patient/p1&date=ge2026-11-01&_count=10",
    decision="permit",
    reason="CONSENT-CARE-TEAM",
    address="10.0.0.7",
    request_id="0f8e7c2a-1b2c-4d5e-9f00-123456789abc",
    path="GET /fhir/Appointment",
    token_id="6b1f0c9e-jti",
)


def run(trail: AuditTrail, events: int, threads: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    each = events // threads

    def work() -> None:
        for _ in range(each):
            started = time.perf_counter()
            trail.record(RECORD)
            latencies.append(time.perf_counter() - started)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return each * threads / (time.perf_counter() - started), latencies


def bench(label: str, url: str, events: int) -> None:
    engine: Engine = make_engine(url)
    migrate.upgrade(engine)
    trail = AuditTrail(engine, Settings(database_url=url))
    trail.record(RECORD)  # warm up: head row, statement cache, connections
    for threads in (1, 4):
        rate, latencies = run(trail, events, threads)
        line = f"{label:<10} {threads} thread(s): {rate:>8,.0f} records/s"
        if threads == 1:
            p99 = sorted(latencies)[int(len(latencies) * 0.99)]
            line += f"   latency mean {statistics.fmean(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"
        print(line)
    started = time.perf_counter()
    result = verify(engine)
    seconds = time.perf_counter() - started
    print(f"{label:<10} verify: {result.events:,} events in {seconds:.2f} s ({result.events / seconds:,.0f}/s), "
          f"intact={result.intact}")  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--postgres-url", help="also run on this PostgreSQL (in a scratch schema)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench("sqlite", f"sqlite:///{tmp}/audit.db", args.events)
    if args.postgres_url:
        admin = make_engine(args.postgres_url)
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS audit_bench CASCADE"))
            conn.execute(text("CREATE SCHEMA audit_bench"))
        separator = "&" if "?" in args.postgres_url else "?"
        try:
            bench("postgresql", f"{args.postgres_url}{separator}options=-csearch_path%3Daudit_bench", args.events)
        finally:
            with admin.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS audit_bench CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()

"""Store benchmark: bulk upsert throughput and Slot search latency over real HTTP, on SQLite and PostgreSQL.

    .venv/bin/python bench/store.py [--centres 200] [--days 28] [--requests 400] [--postgres-url URL]

or ``./scripts/bench`` (starts a throwaway PostgreSQL too). Prints resources/s for the bulk upsert of the demo
territory, then p50/p95/p99 latencies of ``GET /fhir/Slot?start=ge..&start=le..&status=free`` for one-day and
72-hour windows, against a ``cpts-gateway serve`` process on loopback. Goals (2 cores): >= 5,000 resources/s bulk
upsert on SQLite; slot search p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from serving import register, serving
from sqlalchemy import text

from gateway.demo import DemoOptions, generate_territory
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from gateway.storage.store import WriteItem, build_store

ROOT = Path(__file__).resolve().parent.parent
PARIS = ZoneInfo("Europe/Paris")


def _items(options: DemoOptions) -> Iterator[WriteItem]:
    for tenant, resource in generate_territory(options):
        yield WriteItem(resource["resourceType"], resource["id"], resource, tenant=tenant)


def _fresh(url: str) -> None:
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()


def load(url: str, options: DemoOptions, keys_dir: Path) -> int:
    _fresh(url)
    settings = Settings(database_url=url, keys_dir=keys_dir)  # the server reads the patients with the same keys
    engine = make_engine(url)
    migrate.upgrade(engine)
    store = build_store(engine, settings)
    started = time.perf_counter()
    generated = sum(1 for _ in generate_territory(options))
    generation = time.perf_counter() - started
    started = time.perf_counter()
    counts = store.bulk_upsert(_items(options))
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    assert total == generated, (total, generated)
    with engine.begin() as conn:  # fresh statistics, as a running database would have
        conn.execute(text("ANALYZE"))
    engine.dispose()
    store_only = elapsed - generation
    print(
        f"  bulk upsert: {total:,} resources in {elapsed:.1f} s = {total / elapsed:,.0f} resources/s "
        f"(the store alone, less the {generation:.1f} s the generator takes: {total / store_only:,.0f} resources/s)"
    )
    return total


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _count_text(value: float) -> str:
    return "over 1,000" if value > 1000 else f"{value:,.0f}"


def latency(url: str, options: DemoOptions, requests: int, hours: int, keys_dir: Path) -> None:
    with serving(url, keys_dir) as (base, settings):  # a real server process on loopback, real tokens
        tokens = register(settings, "bench-coordinator", "coordinator")
        with httpx.Client(base_url=base, timeout=30) as client:
            rng = random.Random(7)
            days = [options.start + timedelta(days=d) for d in range(-options.days, options.days)]
            timings: list[float] = []
            sizes: list[int] = []
            for number in range(requests + 20):
                day: date = rng.choice(days)
                low = datetime(day.year, day.month, day.day, rng.choice((0, 8, 12)), tzinfo=PARIS)
                high = low + timedelta(hours=hours)
                params = {"start": [f"ge{low.isoformat()}", f"le{high.isoformat()}"], "status": "free"}
                started = time.perf_counter()
                response = client.get("/fhir/Slot", params=params, headers=tokens.header())
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if number >= 20:  # the first requests warm the caches
                    timings.append(elapsed * 1000)
                    bundle = response.json()
                    counted = bundle.get("total")
                    sizes.append(counted if counted is not None else 1001)  # not counted beyond the limit
    print(
        f"  GET /fhir/Slot?start=ge..&start=le..&status=free, {hours} h windows, {requests} requests: "
        f"p50 {_percentile(timings, 0.50):.1f} ms, p95 {_percentile(timings, 0.95):.1f} ms, "
        f"p99 {_percentile(timings, 0.99):.1f} ms (pages of 50; matches per query: median "
        f"{_count_text(statistics.median(sizes))}, {sum(s > 1000 for s in sizes)} of {len(sizes)} over 1,000)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--centres", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--postgres-url", default=os.environ.get("CPTS_BENCH_PG_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--sqlite-path", type=Path, default=None, help="keep the SQLite database there; reuse it when it exists"
    )
    args = parser.parse_args()
    options = DemoOptions(centres=args.centres, days=args.days, seed=1, start=args.start)
    print(f"demo territory: {args.centres} centres, slots from {args.days} days before to {args.days} days after")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    backends: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_path = args.sqlite_path or Path(tmp) / "bench.db"
        # the data keys live next to the database they sealed (a reused database needs its own keys back)
        keys_dir = sqlite_path.parent / f"{sqlite_path.stem}-keys" if args.sqlite_path else Path(tmp) / "keys"
        if not args.skip_sqlite:
            backends.append(("SQLite", f"sqlite:///{sqlite_path}"))
        if args.postgres_url and not args.skip_postgres:
            backends.append(("PostgreSQL", args.postgres_url))
        for name, url in backends:
            print(f"{name}:")
            if name == "SQLite" and args.sqlite_path is not None and sqlite_path.exists():
                print(f"  reusing the territory already loaded in {sqlite_path}")
            else:
                load(url, options, keys_dir)
            latency(url, options, args.requests, 24, keys_dir)
            latency(url, options, args.requests, 72, keys_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

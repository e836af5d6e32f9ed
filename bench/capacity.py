"""Capacity benchmark: the SAS INT_R04 query and the coordinators' queries, with concurrent clients over real HTTP.

    .venv/bin/python bench/capacity.py [--centres 200] [--days 28] [--clients 8] [--seconds 60]
                                       [--sqlite-path FILE] [--postgres-url URL]

Loads the demo territory (200 centres with 28 days of agenda on each side of the start day: well over 500,000 Slots)
unless ``--sqlite-path`` names a database loaded before, serves it with ``cpts-gateway serve`` on loopback, and runs
``--clients`` threads for ``--seconds``, each drawing at random among:

- **SAS**: ``GET /fhir/Slot`` INT_R04 (72 h window from a random start, 25 practitioners' idNat_PS, status free, the
  four ``_include``s), as the ``sas-consumer`` role;
- **coordinator, search**: free SNP slots of the next 24 h of a random day, sorted by start, page of 50;
- **coordinator, summary**: ``GET /fhir/Slot/$capacity`` for three days.

Prints p50 / p95 / p99 per kind, requests/s sustained and the number of errors. Goals on 2 cores: SAS p99 ≤ 200 ms,
coordinator p95 ≤ 50 ms, ≥ 300 requests/s with 0 errors.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from serving import Tokens, register, serving
from sqlalchemy import select
from store import load

from gateway.demo import DemoOptions
from gateway.storage.db import make_engine
from gateway.storage.store import INDEX

PARIS = ZoneInfo("Europe/Paris")
IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
INCLUDES = [
    ("_include", "Slot:schedule"),
    ("_include:iterate", "Schedule:actor"),
    ("_include", "Slot:service-type-reference"),
    ("_include:iterate", "HealthcareService:organization"),
]


def practitioners(url: str) -> list[str]:
    """The idNat_PS of every practitioner of the territory (the SAS asks by them)."""
    tokens = INDEX["token"]
    engine = make_engine(url)
    with engine.connect() as conn:
        query = select(tokens.c.code).where(
            tokens.c.res_type == "Practitioner", tokens.c.param == "identifier", tokens.c.system == IDNAT_PS
        )
        found = sorted({row.code for row in conn.execute(query)})
    engine.dispose()
    return found


def _window(rng: random.Random, days: list[date], hours: int) -> tuple[str, str]:
    day = rng.choice(days)
    low = datetime(day.year, day.month, day.day, rng.choice((0, 8, 12)), tzinfo=PARIS)
    return low.isoformat(), (low + timedelta(hours=hours)).isoformat()


def sas_query(rng: random.Random, days: list[date], identifiers: list[str]) -> list[tuple[str, str]]:
    low, high = _window(rng, days, 72)
    chosen = rng.sample(identifiers, min(25, len(identifiers)))
    actors = ",".join(f"{IDNAT_PS}|{i}" for i in chosen)
    return [
        ("start", f"ge{low}"),
        ("start", f"le{high}"),
        ("schedule.actor:Practitioner.identifier", actors),
        ("status", "free"),
        *INCLUDES,
    ]


def coordinator_search(rng: random.Random, days: list[date]) -> list[tuple[str, str]]:
    low, high = _window(rng, days, 24)
    return [("start", f"ge{low}"), ("start", f"le{high}"), ("status", "free"), ("_security", f"{R314}|SNP")]


def summary_query(rng: random.Random, days: list[date]) -> list[tuple[str, str]]:
    day = rng.choice(days)
    return [("periodStart", day.isoformat()), ("periodEnd", (day + timedelta(days=2)).isoformat())]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def run(base: str, tokens: dict[str, Tokens], options: DemoOptions, identifiers: list[str], clients: int,
        seconds: float) -> None:  # fmt: skip
    days = [options.start + timedelta(days=d) for d in range(max(1, options.days - 2))]  # windows inside the agenda
    timings: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=30, headers={"Accept": "application/fhir+json"}) as http:
            while time.monotonic() < stop:
                kind = rng.choice(("sas", "coordinator search", "coordinator summary"))
                if kind == "sas":
                    path, params, who = "/fhir/Slot", sas_query(rng, days, identifiers), "sas"
                elif kind == "coordinator search":
                    path, params, who = "/fhir/Slot", coordinator_search(rng, days), "coordinator"
                else:
                    path, params, who = "/fhir/Slot/$capacity", summary_query(rng, days), "coordinator"
                started = time.perf_counter()
                try:
                    response = http.get(path, params=params, headers=tokens[who].header())
                    ok = response.status_code == 200
                except httpx.TransportError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    timings[kind].append(elapsed)
                    if not ok:
                        errors[kind] += 1

    for tokens_source in tokens.values():
        tokens_source.header()  # mint before the clock starts
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in timings.values())
    for kind, values in sorted(timings.items()):
        print(
            f"  {kind:<22} {len(values):>6} requests  p50 {percentile(values, 0.5):7.1f} ms  "
            f"p95 {percentile(values, 0.95):7.1f} ms  p99 {percentile(values, 0.99):7.1f} ms  errors {errors[kind]}"
        )
    print(f"  sustained: {total / elapsed:,.0f} requests/s with {clients} clients over {elapsed:.0f} s; "
          f"errors {sum(errors.values())}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--centres", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sqlite-path", type=Path, default=None, help="keep the database there; reuse it if present")
    parser.add_argument("--postgres-url", default=os.environ.get("CPTS_BENCH_PG_URL"))
    args = parser.parse_args()
    options = DemoOptions(centres=args.centres, days=args.days, seed=1, start=args.start)
    print(f"demo territory: {args.centres} centres, {args.days} days on each side of {args.start}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_path = args.sqlite_path or Path(tmp) / "capacity.db"
        keys_dir = sqlite_path.parent / f"{sqlite_path.stem}-keys" if args.sqlite_path else Path(tmp) / "keys"
        backends = [("SQLite", f"sqlite:///{sqlite_path}")]
        if args.postgres_url:
            backends.append(("PostgreSQL", args.postgres_url))
        for name, url in backends:
            print(f"{name}:")
            if name == "SQLite" and args.sqlite_path is not None and sqlite_path.exists():
                print(f"  reusing the territory already loaded in {sqlite_path}")
            else:
                load(url, options, keys_dir)
            identifiers = practitioners(url)
            with serving(url, keys_dir) as (base, settings):
                tokens = {
                    "sas": register(settings, "bench-sas", "sas-consumer"),
                    "coordinator": register(settings, "bench-coordinator", "coordinator"),
                }
                run(base, tokens, options, identifiers, args.clients, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

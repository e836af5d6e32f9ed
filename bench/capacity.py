"""Capacity benchmark: the SAS INT_R04 query and the coordinators' queries, with concurrent clients over real HTTP.

    .venv/bin/python bench/capacity.py [--centres 200] [--days 28] [--clients 16] [--rate R] [--seconds 60]
                                       [--warmup 3] [--workers 2] [--sqlite-path FILE] [--audit-database own|store]
                                       [--postgres-url URL [--reuse-postgres --keys-dir DIR]]

Loads the demo territory (200 centres x 28 days: 14 days of agenda on each side of the start day, about 600,000 Slots)
unless ``--sqlite-path`` names a database loaded before (its keys in FILE's folder, ``<stem>-keys``) or
``--reuse-postgres`` says the PostgreSQL database at ``--postgres-url`` holds one (its keys in ``--keys-dir``),
serves it with ``cpts-gateway serve --workers N`` on loopback, and runs ``--clients`` keep-alive connections
(bench/loadgen.py: asyncio, closed loop; with ``--rate R``, R requests/s due at random moments over that many
connections, each latency counted from when it was due) for a warm-up then ``--seconds``, each drawing at random
among:

- **SAS**: ``GET /fhir/Slot`` INT_R04 (72 h window from a random start, 25 practitioners' idNat_PS, status free, the
  four ``_include``s), as the ``sas-consumer`` role;
- **coordinator search**: free SNP slots of 24 h of a random day sorted by start, page of 50, alone or narrowed by
  the GP specialty (TRE_R38 SM54), a service type (v3 ActCode), a commune, a postal code, or a distance from a
  commune's centroid (``near``); each variant is printed on its own line too;
- **coordinator summary**: ``GET /fhir/Slot/$capacity`` for three days.

Prints p50 / p95 / p99 per kind, requests/s sustained and the errors (with the first error answer of each kind),
the CPU each server process used and how many connections each held midway.
Goals on 2 cores: SAS p99 ≤ 200 ms, coordinator p95 ≤ 50 ms, ≥ 300 requests/s with 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from loadgen import Call, Results, closed_loop, open_loop, percentile
from serving import Tokens, register, serving
from sqlalchemy import select
from store import load

from gateway.demo import DemoOptions, codes
from gateway.demo.gazetteer import load_gazetteer
from gateway.settings import Settings
from gateway.storage.db import make_engine, read_transaction
from gateway.storage.store import INDEX, build_store

PARIS = ZoneInfo("Europe/Paris")
INCLUDES = [
    ("_include", "Slot:schedule"),
    ("_include:iterate", "Schedule:actor"),
    ("_include", "Slot:service-type-reference"),
    ("_include:iterate", "HealthcareService:organization"),
]
GP_SPECIALTY = "SM54"
SERVICE_TYPES = tuple(codes.ACT_CODES)
NEAR_KM = (5, 10, 20)


@dataclass(frozen=True, slots=True)
class Territory:
    """What the queries are drawn from: the agenda days, the practitioners' idNat_PS and the demo communes."""

    days: list[date]
    identifiers: list[str]
    communes: list[tuple[str, str, float, float]]  # name, a postal code, latitude, longitude


def practitioners(url: str) -> list[str]:
    """The idNat_PS of every practitioner of the territory (the SAS asks by them)."""
    tokens = INDEX["token"]
    engine = make_engine(url)
    with engine.connect() as conn:
        query = select(tokens.c.code).where(
            tokens.c.res_type == "Practitioner", tokens.c.param == "identifier", tokens.c.system == codes.IDNPS_SYSTEM
        )
        found = sorted({row.code for row in conn.execute(query)})
    engine.dispose()
    return found


def slot_count(url: str, keys_dir: Path) -> int:
    engine = make_engine(url)
    store = build_store(engine, Settings(database_url=url, keys_dir=keys_dir))
    with read_transaction(engine) as conn:
        total = store.count(conn, "Slot")
    engine.dispose()
    return total


def _window(rng: random.Random, days: list[date], hours: int) -> tuple[str, str]:
    day = rng.choice(days)
    low = datetime(day.year, day.month, day.day, rng.choice((0, 8, 12)), tzinfo=PARIS)
    return low.isoformat(), (low + timedelta(hours=hours)).isoformat()


def sas_query(rng: random.Random, territory: Territory) -> list[tuple[str, str]]:
    low, high = _window(rng, territory.days, 72)
    chosen = rng.sample(territory.identifiers, min(25, len(territory.identifiers)))
    actors = ",".join(f"{codes.IDNPS_SYSTEM}|{i}" for i in chosen)
    return [
        ("start", f"ge{low}"),
        ("start", f"le{high}"),
        ("schedule.actor:Practitioner.identifier", actors),
        ("status", "free"),
        *INCLUDES,
    ]


def coordinator_search(rng: random.Random, territory: Territory) -> tuple[str, list[tuple[str, str]]]:
    """A variant name and its query: free SNP slots of a day, sorted by start, maybe narrowed by one criterion."""
    low, high = _window(rng, territory.days, 24)
    params = [("start", f"ge{low}"), ("start", f"le{high}"), ("status", "free")]
    params += [("_security", f"{codes.SLOT_TYPE_SYSTEM}|SNP"), ("_sort", "start"), ("_count", "50")]
    city, postal, latitude, longitude = rng.choice(territory.communes)
    variant = rng.choice(("24h", "specialty", "service-type", "address-city", "address-postalcode", "near"))
    if variant == "specialty":
        params.append(("specialty", f"{codes.SPECIALTY_SYSTEM}|{GP_SPECIALTY}"))
    elif variant == "service-type":
        params.append(("service-type", f"{codes.ACT_CODE_SYSTEM}|{rng.choice(SERVICE_TYPES)}"))
    elif variant == "address-city":
        params.append(("address-city", city))
    elif variant == "address-postalcode":
        params.append(("address-postalcode", postal))
    elif variant == "near":
        params.append(("near", f"{latitude}|{longitude}|{rng.choice(NEAR_KM)}|km"))
    return variant, params


def summary_query(rng: random.Random, territory: Territory) -> list[tuple[str, str]]:
    day = rng.choice(territory.days)
    return [("periodStart", day.isoformat()), ("periodEnd", (day + timedelta(days=2)).isoformat())]


KINDS = ("sas", "coordinator search", "coordinator summary")
FLOOR = "floor"  # an empty search: what every request costs (HTTP, token, audit, routing), for comparison


def draw(rng: random.Random, territory: Territory, kinds: tuple[str, ...] = KINDS) -> Call:
    kind = rng.choice(kinds)
    if kind == FLOOR:
        return Call(kind, "Slot?_id=none", "/fhir/Slot", [("_id", "none")], "coordinator")
    if kind == "sas":
        return Call(kind, "INT_R04", "/fhir/Slot", sas_query(rng, territory), "sas")
    if kind == "coordinator search":
        variant, params = coordinator_search(rng, territory)
        return Call(kind, variant, "/fhir/Slot", params, "coordinator")
    return Call(kind, "3 days", "/fhir/Slot/$capacity", summary_query(rng, territory), "coordinator")


def _processes() -> dict[int, tuple[int, float]]:
    """Every process's parent and CPU seconds, from /proc (empty elsewhere than Linux)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return found


def server_cpu() -> dict[int, float]:
    """CPU seconds of the server's processes so far: the ``serve`` process this script started and its workers."""
    table = _processes()
    mine = {pid for pid, (parent, _) in table.items() if parent == os.getpid()}
    return {pid: cpu for pid, (parent, cpu) in table.items() if pid in mine or parent in mine}


def connections_per_process(port: int) -> list[int]:
    """How many established connections on ``port`` each server process holds (from /proc; empty elsewhere): the
    kernel hands a new connection to whichever worker accepts first, and a closed loop keeps it there."""
    established = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # ESTABLISHED, local port
                established.add(f"socket:[{fields[9]}]")
    counts = []
    for pid in server_cpu():
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        held = sum(1 for link in links if link in established)
        if held:
            counts.append(held)
    return sorted(counts, reverse=True)


def _header_bytes(tokens: Tokens) -> bytes:
    token = tokens.header()["Authorization"]
    return f"Authorization: {token}\r\nAccept: application/fhir+json\r\n".encode("latin-1")


async def _keep_fresh(tokens: dict[str, Tokens], headers: dict[str, bytes]) -> None:
    """Renew each token (in a thread, between requests) when it is a minute from expiring."""
    while True:
        await asyncio.sleep(max(1.0, min(source.seconds_left() for source in tokens.values())))
        for who, source in tokens.items():
            if source.seconds_left() <= 0:
                headers[who] = await asyncio.to_thread(_header_bytes, source)


async def measure(base: str, tokens: dict[str, Tokens], territory: Territory, args: argparse.Namespace) -> Results:
    headers = {who: _header_bytes(source) for who, source in tokens.items()}  # minted before the clock starts
    renewal = asyncio.create_task(_keep_fresh(tokens, headers))
    try:
        before = server_cpu()
        port = urlsplit(base).port or 80
        midway = asyncio.create_task(asyncio.sleep(args.warmup + args.seconds / 2, result=None))
        midway.add_done_callback(lambda _: split.extend(connections_per_process(port)))
        split: list[int] = []
        drawn = lambda rng: draw(rng, territory, args.kinds)  # noqa: E731
        if args.rate:
            results = await open_loop(base, args.rate, args.clients, args.seconds, args.warmup, drawn, headers)
        else:
            results = await closed_loop(base, args.clients, args.seconds, args.warmup, drawn, headers)
        after = server_cpu()
        results.server_cpu = {pid: cpu - before.get(pid, 0.0) for pid, cpu in after.items()}
        results.connections = split
        return results
    finally:
        renewal.cancel()


def _line(name: str, values: list[float], errors: int) -> str:
    return (
        f"  {name:<34} {len(values):>6} requests  p50 {percentile(values, 0.5):7.1f} ms  "
        f"p95 {percentile(values, 0.95):7.1f} ms  p99 {percentile(values, 0.99):7.1f} ms  errors {errors}"
    )


def report(results: Results, clients: int, offered: float | None = None) -> None:
    kinds = sorted({kind for kind, _ in results.timings})
    for kind in kinds:
        keys = sorted(key for key in results.timings if key[0] == kind)
        values = [v for key in keys for v in results.timings[key]]
        print(_line(kind, values, sum(results.errors[key] for key in keys)))
        if len(keys) > 1:
            for key in keys:
                print(_line(f"  {key[1]}", results.timings[key], results.errors[key]))
    total = sum(len(v) for v in results.timings.values())
    errors = sum(results.errors.values())
    rate = total / results.elapsed if results.elapsed else float("nan")
    how = f"{clients} clients" if offered is None else f"{offered:g} requests/s offered over {clients} connections"
    print(f"  sustained: {rate:,.0f} requests/s with {how} over {results.elapsed:.1f} s; errors {errors}")
    share = results.cpu_seconds / results.wall_seconds if results.wall_seconds else float("nan")
    print(
        f"  load generator: {results.cpu_seconds:.1f} s CPU over {results.wall_seconds:.1f} s "
        f"({share:.0%} of one core, {1000 * results.cpu_seconds / max(1, total):.2f} ms per request)"
    )
    shares = ", ".join(f"{cpu / results.wall_seconds:.0%}" for cpu in sorted(results.server_cpu.values(), reverse=True))
    print(f"  server processes (one core = 100%): {shares}")
    if results.connections:
        held = ", ".join(map(str, results.connections))
        print(f"  connections held by each server process midway: {held}")
    for (kind, variant), text in sorted(results.first_error.items()):
        print(f"  first error of {kind} / {variant}: {text}")


def _territory(options: DemoOptions, url: str) -> Territory:
    days = [options.start + timedelta(days=d) for d in range(max(1, options.days - 2))]  # windows inside the agenda
    communes = [(c.name, c.postal_codes[0], c.latitude, c.longitude) for c in load_gazetteer().communes]
    return Territory(days, practitioners(url), communes)


def _backends(args: argparse.Namespace, tmp: Path) -> list[tuple[str, str, Path, bool]]:
    """(name, URL, keys directory, reuse the loaded territory) of each database to measure.

    SQLite always, but with ``--reuse-postgres`` only when ``--sqlite-path`` names a database; PostgreSQL when
    ``--postgres-url`` is given (loaded afresh there, which drops its ``public`` schema, unless ``--reuse-postgres``).
    """
    backends = []
    if args.sqlite_path is not None or not args.reuse_postgres:
        path = args.sqlite_path or tmp / "capacity.db"
        keys_dir = path.parent / f"{path.stem}-keys" if args.sqlite_path else tmp / "keys"
        backends.append(("SQLite", f"sqlite:///{path}", keys_dir, args.sqlite_path is not None and path.exists()))
    if args.postgres_url:
        backends.append(("PostgreSQL", args.postgres_url, args.keys_dir or tmp / "pg-keys", args.reuse_postgres))
    return backends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--centres", type=int, default=200)
    parser.add_argument("--days", type=int, default=14, help="agenda days on each side of --start (default 14)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="requests/s sent at random moments (open loop) instead of a closed loop",
    )
    parser.add_argument("--seconds", type=float, default=60, help="measured duration (default 60)")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument(
        "--kinds",
        type=lambda text: tuple(k.strip() for k in text.split(",")),
        default=KINDS,
        help=f"comma-separated kinds to draw among (default: {','.join(KINDS)}; '{FLOOR}': an empty search)",
    )
    parser.add_argument("--sqlite-path", type=Path, default=None, help="keep the database there; reuse it if present")
    parser.add_argument(
        "--audit-database",
        choices=("own", "store"),
        default="own",
        help="SQLite: the audit trail in a file of its own, <database>-audit.db (CPTS_AUDIT_DATABASE_URL, as "
        "docs/security.md advises for SQLite; default) or in the store's database",
    )
    parser.add_argument("--postgres-url", default=os.environ.get("CPTS_BENCH_PG_URL"))
    parser.add_argument(
        "--reuse-postgres", action="store_true", help="measure the territory already loaded at --postgres-url only"
    )
    parser.add_argument("--keys-dir", type=Path, default=None, help="keys of the --reuse-postgres database")
    args = parser.parse_args()
    if args.reuse_postgres and not (args.postgres_url and args.keys_dir):
        parser.error("--reuse-postgres needs --postgres-url and --keys-dir (the keys the territory was loaded with)")
    options = DemoOptions(centres=args.centres, days=args.days, seed=1, start=args.start)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"server: {args.workers} workers; load: {args.clients} clients, {args.warmup:g} s warm-up, {args.seconds:g} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, url, keys_dir, reuse in _backends(args, Path(tmp)):
            if reuse:
                print(f"{name}: reusing the territory already loaded ({url.split('@')[-1]})")
            else:
                print(f"{name}: loading {args.centres} centres, {args.days} days on each side of {args.start}")
                load(url, options, keys_dir)
            print(f"  {slot_count(url, keys_dir):,} slots")
            territory = _territory(options, url)
            audit_url = None
            if url.startswith("sqlite") and args.audit_database == "own":
                store = Path(url.removeprefix("sqlite:///"))
                audit_url = f"sqlite:///{store.parent / (store.stem + '-audit.db')}"
            print(f"  audit trail: {audit_url.split('///')[-1] if audit_url else 'in the store database'}")
            with serving(url, keys_dir, args.workers, audit_url) as (base, settings):
                tokens = {
                    "sas": register(settings, "bench-sas", "sas-consumer", reuse=reuse),
                    "coordinator": register(settings, "bench-coordinator", "coordinator", reuse=reuse),
                }
                report(asyncio.run(measure(base, tokens, territory, args)), args.clients, args.rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

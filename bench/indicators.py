"""Indicators benchmark: all twelve indicators, for every centre and the whole CPTS, over a region-year.

    .venv/bin/python bench/indicators.py [--centres 200] [--year 2026] [--staff-scale 1.3] [--jobs 2]
                                         [--sqlite-path FILE] [--postgres-url URL] [--skip-sqlite] [--reuse]

**The region-year.** The demo territory's planner and agenda (``gateway/demo``) with bigger centres
(``--staff-scale 1.3``: 8 to 13 professionals, about 10.6 M slots and 8 M appointments for 200 centres), every day of
``--year`` in the past (final statuses: fulfilled, noshow, cancelled). The directory (organisations, rooms,
services, practitioners, roles, schedules) and the patients go through the resource store. The agenda would take
hours through it (about 2,300 resources/s), so each Slot and Appointment is built as the demo builds it, passed to the
functions the store derives its rows with (``slot_row`` + ``slot_facts``, ``appointment_row``, as
``gateway.storage.indexer`` calls them) and only the rows the indicators read are bulk-written (``search_slot``,
``fact_appointment``): the engine never reads the Slot and Appointment resources.
The back-office resources (calls, acts, claims) are not generated here: see the note printed at the end.

**The measure.** Each figure comes from a separate process (wall time; peak resident memory from VmHWM):

1. the daily rollups (gateway/indicators/rollups.py) brought up to date: on a freshly loaded database, their build
   from every fact row, what ``cpts-gateway indicators refresh`` does once after a bulk import;
2. ``gateway.indicators.engine.evaluate`` over all indicators, all centres and the CPTS, for a quarter, then for the
   year (its refresh finds nothing to do);
3. the quarter again after one day of every centre was marked stale, as a day's sync of every centre leaves it: the
   refresh of that day is included.

Goal on 2 cores: the year in <= 60 s with <= 2 GiB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, text

from gateway.demo import DemoOptions
from gateway.demo.agenda import CentreAgenda
from gateway.demo.generator import structure_items
from gateway.demo.localtime import LocalClock
from gateway.demo.patients import centre_patients
from gateway.demo.territory import Territory, plan_territory
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from gateway.storage.fact_rows import appointment_row, slot_facts
from gateway.storage.models import AppointmentFactRow, RollupMarkRow, SlotIndexRow
from gateway.storage.slot_rows import slot_row
from gateway.storage.store import WriteItem, build_store

PARIS = ZoneInfo("Europe/Paris")
SLOTS = SlotIndexRow.__table__  # type: ignore[attr-defined]
FACTS = AppointmentFactRow.__table__  # type: ignore[attr-defined]
MARKS = RollupMarkRow.__table__  # type: ignore[attr-defined]
RID_BASE = 10**12  # above any rid the store hands out: the agenda rows name resources that are not stored
RID_PER_CENTRE = 10**7


@dataclass(frozen=True)
class YearOptions(DemoOptions):
    """The demo's options with every day of one year before "today": ``start`` is 1 January of the next year and
    the agenda stops on 31 December."""

    @property
    def last_day(self) -> dt.date:
        return self.start - dt.timedelta(days=1)


def year_options(centres: int, year: int, staff_scale: float) -> YearOptions:
    start = dt.date(year + 1, 1, 1)
    return YearOptions(centres=centres, days=(start - dt.date(year, 1, 1)).days, seed=1, start=start,
                       staff_scale=staff_scale)  # fmt: skip


@lru_cache(maxsize=1)
def _territory(options: YearOptions) -> Territory:
    return plan_territory(options)


def centre_rows(job: tuple[YearOptions, int]) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``search_slot`` and ``fact_appointment`` rows of one centre's year, as the store derives them."""
    options, index = job
    territory = _territory(options)
    centre = territory.centres[index]
    clock = LocalClock(options.timezone)
    patients = [spec for spec, _ in centre_patients(territory, centre)]
    rid = RID_BASE + index * RID_PER_CENTRE
    base = {"tenant": centre.finess}
    slots: list[dict[str, Any]] = []
    appointments: list[dict[str, Any]] = []
    for item in CentreAgenda(territory, centre, patients, clock).resources():
        rid += 1
        kind = {"res_type": item["resourceType"], "rid": rid, **base}
        if item["resourceType"] == "Slot":  # what index_resource derives for these two tables, and only that
            capacity = slot_row(item, PARIS)
            if capacity is not None:
                slots.append({**kind, **capacity, **slot_facts(item, PARIS)})
        elif item["resourceType"] == "Appointment":
            fact = appointment_row(item, PARIS)
            if fact is not None:
                appointments.append({**kind, **fact})
    return centre.finess, slots, appointments


def _directory(options: YearOptions) -> Iterator[WriteItem]:
    territory = plan_territory(options)
    for tenant, item in structure_items(territory, LocalClock(options.timezone)):
        yield WriteItem(item["resourceType"], item["id"], item, tenant=tenant)
    for centre in territory.centres:
        for _, patient in centre_patients(territory, centre):
            yield WriteItem("Patient", patient["id"], patient, tenant=centre.finess)


def _fresh(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()


def _write(engine: Engine, slots: list[dict[str, Any]], appointments: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        if slots:
            conn.execute(insert(SLOTS), slots)
        if appointments:
            conn.execute(insert(FACTS), appointments)


def load(url: str, keys_dir: Path, options: YearOptions, jobs: int) -> None:
    _fresh(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    store = build_store(engine, Settings(database_url=url, keys_dir=keys_dir))
    started = time.perf_counter()
    stored = store.bulk_upsert(_directory(options))
    detail = ", ".join(f"{n:,} {k}" for k, n in sorted(stored.items()))
    elapsed = time.perf_counter() - started
    print(f"  directory and patients (store): {sum(stored.values()):,} resources ({detail}) in {elapsed:.0f} s")
    started = time.perf_counter()
    slot_total = appointment_total = 0
    work = [(options, index) for index in range(options.centres)]
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        for done, (_, slots, appointments) in enumerate(pool.imap_unordered(centre_rows, work), start=1):
            _write(engine, slots, appointments)
            slot_total += len(slots)
            appointment_total += len(appointments)
            if done % 20 == 0 or done == options.centres:
                rate = (slot_total + appointment_total) / (time.perf_counter() - started)
                print(f"  agenda rows: {done}/{options.centres} centres, {slot_total:,} slots, "
                      f"{appointment_total:,} appointments ({rate:,.0f} rows/s)", flush=True)  # fmt: skip
    with engine.begin() as conn:  # fresh statistics, as a running database would have
        conn.execute(text("ANALYZE"))
    engine.dispose()


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        slots = conn.execute(text("SELECT count(*) FROM search_slot")).scalar_one()
        appointments = conn.execute(text("SELECT count(*) FROM fact_appointment")).scalar_one()
    engine.dispose()
    return int(slots), int(appointments)


def compute(url: str, keys_dir: Path, period: str) -> None:
    """(Child process) evaluate every indicator over ``period`` (``refresh``: only bring the rollups up to date);
    print one JSON line with the figures."""
    from sqlalchemy.orm import Session

    from gateway.indicators.engine import evaluate, parse_period
    from gateway.indicators.rollups import refresh

    settings = Settings(database_url=url, keys_dir=keys_dir, log_level="WARNING")
    engine = make_engine(url)
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    if period == "refresh":
        done = refresh(engine, settings.tz)
        figures = {"days": done.days, "rebuilt": done.rebuilt}
    else:
        with Session(engine) as session:
            reports = evaluate(session, settings, period=parse_period(period))
        figures = {"reports": len(reports), "subjects": len({r.get("subject", {}).get("reference") for r in reports})}
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "peak_mib": peak_kib() / 1024, **figures}))


def peak_kib() -> int:
    """This process's peak resident memory: VmHWM, which starts afresh with the process (``ru_maxrss`` survives
    ``execve`` on Linux, so a child would report its parent's peak, such as that of a migration)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(url: str, keys_dir: Path, period: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--compute", period, "--url", url, "--keys-dir", str(keys_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the computation of {period} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def mark_a_day(url: str, day: dt.date) -> int:
    """What one day's sync of every centre leaves for the next computation: that day marked stale for each centre
    (the marks the store appends when the day's Slots and Appointments are written again)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        tenants = [row[0] for row in conn.execute(text("SELECT DISTINCT tenant FROM search_slot"))]
        conn.execute(insert(MARKS), [{"tenant": tenant, "day": day} for tenant in tenants])
    engine.dispose()
    return len(tenants)


def _line(label: str, figures: dict[str, Any]) -> str:
    return f"  {label}: {figures['seconds']:.1f} s, peak memory {figures['peak_mib']:,.0f} MiB"


def report(name: str, url: str, keys_dir: Path, year: int) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    migrate.upgrade(engine)  # a database loaded by an earlier revision of this bench
    engine.dispose()
    slots, appointments = counts(url)
    print(f"{name}: {slots:,} slots, {appointments:,} appointments (migrated in {time.perf_counter() - started:.0f} s)")
    figures = measure(url, keys_dir, "refresh")
    what = "built from every fact row" if figures["rebuilt"] else "already built, brought up to date"
    print(_line(f"daily rollups {what} ({figures['days']:,} days)", figures), flush=True)
    for period in (f"{year}-Q3", str(year)):
        figures = measure(url, keys_dir, period)
        label = f"{period:<8} all indicators, {figures['subjects'] - 1} centres + CPTS ({figures['reports']} reports)"
        print(_line(label, figures), flush=True)
    centres = mark_a_day(url, dt.date(year, 9, 15))
    figures = measure(url, keys_dir, f"{year}-Q3")
    print(_line(f"{year}-Q3 after a day's sync of {centres} centres (refresh of that day included)", figures))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--centres", type=int, default=200)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--staff-scale", type=float, default=1.3)
    parser.add_argument("--jobs", type=int, default=2, help="processes generating the agenda rows")
    parser.add_argument("--postgres-url", default=os.environ.get("CPTS_BENCH_PG_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--sqlite-path", type=Path, help="keep the SQLite database there")
    parser.add_argument("--reuse", action="store_true", help="measure databases loaded by an earlier run")
    parser.add_argument("--compute", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--keys-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compute:
        compute(args.url, args.keys_dir, args.compute)
        return 0
    options = year_options(args.centres, args.year, args.staff_scale)
    print(f"region-year: {args.centres} centres, {args.year}, staff scale {args.staff_scale}; "
          f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, str, Path]] = []
        if not args.skip_sqlite:
            path = args.sqlite_path or Path(tmp) / "region.db"
            backends.append(("SQLite", f"sqlite:///{path}", path.parent / f"{path.stem}-keys"))
        if args.postgres_url:
            backends.append(("PostgreSQL", args.postgres_url, Path(args.sqlite_path or tmp).parent / "pg-region-keys"))
        for name, url, keys_dir in backends:
            if not args.reuse:
                print(f"{name}: loading")
                load(url, keys_dir, options, args.jobs)
            report(name, url, keys_dir, args.year)
    print("note: calls, billed acts and claims are read as resources (date index + JSON) by the engine; they are not "
          "generated at region scale here.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``cpts-gateway indicators compute|export|series|refresh``.

- ``compute --period 2026-Q3 [--tenant FINESS ...] [--measure IND-... ...] [--monthly]``: evaluates the indicators
  (all centres and the CPTS, or the given centres only), stores the reports and prints one line per report;
- ``export --period P [--out FILE]``: the CSV a CPTS may share (the coordinators' view: masked, no centre-only
  indicator), to FILE or standard output;
- ``series --measure IND-NOSHOW --from 2026-01 --to 2026-12 [--json]``: the monthly series (coordinators' view);
- ``refresh``: brings the daily rollups up to date (``compute`` does it first anyway): after a bulk import or a
  ``reindex``, so that the first computation does not pay for the build.

Exit codes as the rest of the command line: 0 done, 2 bad arguments (the message names the option), 4 could not run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import GatewayError
from gateway.indicators.evaluation import compute, month_periods, parse_period
from gateway.indicators.exports import definition_named, export_csv, known_definitions, series
from gateway.indicators.periods import period_bounds
from gateway.indicators.release import ReportRelease
from gateway.indicators.reports import ReportOutcome
from gateway.indicators.rollups import refresh
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine, read_transaction
from gateway.storage.store import build_store
from security.principal import Principal
from security.roles import role_named

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 4


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"indicators: {message}", file=sys.stderr)
    return code


def _score(report: dict[str, Any]) -> str:
    groups = report.get("group") or []
    value = (groups[0].get("measureScore") or {}).get("value") if groups else None
    return "—" if value is None else f"{value:g}"


def _table(outcomes: list[ReportOutcome], label: str) -> None:
    print(f"period {label}: {len(outcomes)} reports")
    print(f"  {'indicator':<16} {'subject':<10} {'score':>10}  outcome")
    for o in outcomes:
        print(f"  {o.indicator:<16} {o.subject:<10} {_score(o.report):>10}  {o.outcome}")


def cmd_compute(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    measures = (
        [definition_named(known_definitions(), m, "--measure").id for m in args.measure] if args.measure else None
    )
    tenants = args.tenant or None
    labels = [args.period]
    if args.monthly:
        start, end = period_bounds(args.period, "--period")
        labels += month_periods(start, end)
    periods = [parse_period(label) for label in labels]
    for label, period in zip(labels, periods, strict=True):
        outcomes = compute(engine, settings, period=period, measures=measures, tenants=tenants, cpts=tenants is None)
        _table(outcomes, label)
    return EXIT_OK


def cmd_refresh(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    done = refresh(engine, settings.tz)
    what = "built from every slot and appointment" if done.rebuilt else "brought up to date"
    print(f"daily rollups {what}: {done.days} days in {time.perf_counter() - started:.1f} s")
    return EXIT_OK


def _coordinator() -> Principal:
    return Principal(subject="cpts-gateway indicators", role=role_named("coordinator"))


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    start, end = period_bounds(args.period, "--period")
    store = build_store(make_engine(settings.database_url), settings)
    release = ReportRelease(store, settings)
    with read_transaction(store.engine) as conn:
        body = export_csv(conn, release, _coordinator(), start, end, args.period.strip())
    if args.out is None:
        sys.stdout.buffer.write(body)
        return EXIT_OK
    try:
        args.out.write_bytes(body)
    except OSError as exc:
        return _fail(f"--out {args.out}: {exc.strerror or exc}", EXIT_FAILED)
    rows = body.count(b"\r\n") - 1
    print(f"{args.out}: {rows} rows")
    return EXIT_OK


def cmd_series(args: argparse.Namespace, settings: Settings) -> int:
    definition = definition_named(known_definitions(), args.measure, "--measure")
    store = build_store(make_engine(settings.database_url), settings)
    release = ReportRelease(store, settings)
    with read_transaction(store.engine) as conn:
        found = series(conn, release, _coordinator(), definition, args.first, args.last)
    if args.json:
        print(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    print(f"{definition.id} ({definition.title.en}), {definition.unit or 'no unit'}")
    rows = [("CPTS", found["cpts"])] + [(c["finess"], c["points"]) for c in found["centres"]]
    print(f"  {'month':<8} " + " ".join(f"{name:>12}" for name, _ in rows))
    for i, month in enumerate(found["months"]):
        cells = []
        for _name, points in rows:
            point = points[i]
            cells.append("masked" if point["masked"] else ("—" if point["value"] is None else f"{point['value']:g}"))
        print(f"  {month:<8} " + " ".join(f"{cell:>12}" for cell in cells))
    return EXIT_OK


def _guarded(handler: Any) -> Any:
    """Bad input (a period, a measure id) is a message naming the option and exit 2, a database or file that cannot
    be used exit 4; never a traceback."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            result: int = handler(args, settings)
        except GatewayError as exc:
            return _fail(str(exc))
        except (SQLAlchemyError, OSError, ImportError) as exc:  # the database, a file, the engine: could not run
            return _fail(f"could not run: {exc.__class__.__name__}: {exc}", EXIT_FAILED)
        return result

    return run


def add_commands(commands: Any) -> None:
    indicators = commands.add_parser("indicators", help="activity indicators: compute, export, series, refresh")
    actions = indicators.add_subparsers(dest="indicators_command", required=True)

    compute_cmd = actions.add_parser("compute", help="compute and store MeasureReports")
    compute_cmd.add_argument("--period", required=True, help="2026-Q3, 2026-07, 2026 or 2026-07-01/2026-09-30")
    compute_cmd.add_argument("--tenant", action="append", help="only this centre (FINESS; repeatable): no CPTS report")
    compute_cmd.add_argument("--measure", action="append", help="only this indicator (IND-NOSHOW; repeatable)")
    compute_cmd.add_argument("--monthly", action="store_true", help="also compute each month of the period")
    compute_cmd.set_defaults(handler=_guarded(cmd_compute))

    export_cmd = actions.add_parser("export", help="the reports of a period as CSV (coordinators' view, masked)")
    export_cmd.add_argument("--period", required=True, help="2026-Q3, 2026-07, 2026 or 2026-07-01/2026-09-30")
    export_cmd.add_argument("--out", type=Path, default=None, help="write to this file (default: standard output)")
    export_cmd.set_defaults(handler=_guarded(cmd_export))

    series_cmd = actions.add_parser("series", help="the monthly series of one indicator (coordinators' view)")
    series_cmd.add_argument("--measure", required=True, help="the indicator id, e.g. IND-NOSHOW")
    series_cmd.add_argument("--from", dest="first", required=True, help="first month, e.g. 2026-01")
    series_cmd.add_argument("--to", dest="last", required=True, help="last month, e.g. 2026-12")
    series_cmd.add_argument("--json", action="store_true", help="print the JSON of GET /indicators/series")
    series_cmd.set_defaults(handler=_guarded(cmd_series))

    refresh_cmd = actions.add_parser("refresh", help="bring the daily rollups the indicators sum up to date")
    refresh_cmd.set_defaults(handler=_guarded(cmd_refresh))


__all__ = ["add_commands"]

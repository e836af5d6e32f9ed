"""The ``ingest`` and ``deadletter`` commands: files in with a progress bar and a summary, failures inspected.

Exit codes of ``ingest``: 0 when every record was accepted or a duplicate, 3 when some were rejected (all others
still stored), 4 when it could not run (unreadable file, bad arguments, database down). Bad input never prints a
traceback: the summary names the file, the location (line and column, or segment and field) and the reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import orjson

from gateway.errors import GatewayError
from gateway.ingest.deadletters import DeadLetters
from gateway.ingest.pipeline import Pipeline, new_owner
from gateway.ingest.records import FORMATS
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from mappings.issues import MappingFileError

EXIT_OK, EXIT_REJECTED, EXIT_FAILED = 0, 3, 4
SHOWN_REJECTIONS = 20


class ProgressBar:
    """A one-line progress display on a terminal (silent when the output is not one)."""

    def __init__(self, label: str, total_bytes: int, stream: TextIO = sys.stderr) -> None:
        self.label, self.total, self.stream = label, total_bytes, stream
        self.started = time.perf_counter()
        self.enabled = stream.isatty()

    def __call__(self, done: int, counts: Counter[str]) -> None:
        if not self.enabled:
            return
        rate = done / max(time.perf_counter() - self.started, 1e-6)
        text = ", ".join(f"{counts[k]} {k}" for k in ("accepted", "duplicate", "rejected"))
        self.stream.write(f"\r{self.label}: {done} records ({text}) {rate:,.0f}/s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _pipeline(settings: Settings) -> Pipeline:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    return Pipeline(settings, engine)


def _issue_text(issue: dict[str, Any]) -> str:
    where = ", ".join(issue.get("location") or []) or "-"
    return f"{where}: {issue.get('diagnostics', '')}"


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    if args.format == "csv" and not args.export:
        print("ingest: --export is required for --format csv (e.g. --export appointments)", file=sys.stderr)
        return EXIT_FAILED
    try:
        pipeline = _pipeline(settings)
    except MappingFileError as exc:
        print(f"ingest: a mapping file is invalid: {exc}", file=sys.stderr)
        return EXIT_FAILED
    totals: Counter[str] = Counter()
    rows: list[tuple[str, int, int, int, float]] = []
    rejections: list[str] = []
    failed = False
    for name in args.paths:
        path = Path(name)
        try:
            payload = path.read_bytes()
        except OSError as exc:
            print(f"ingest: cannot read {path}: {exc.strerror}", file=sys.stderr)
            failed = True
            continue
        started = time.perf_counter()
        vendor = (args.vendor or "reference") if args.format == "csv" else None
        owner = new_owner()
        received = pipeline.jobs.receive(
            payload, tenant=args.tenant, format=args.format, source=path.name, export=args.export, vendor=vendor,
            owner=owner,
        )  # fmt: skip
        job = pipeline.jobs.leased(received.job_id, owner)
        if job is not None:
            bar = ProgressBar(path.name, len(payload))
            try:
                pipeline.run(job, progress=bar)
            finally:
                bar.close()
        report = pipeline.jobs.report(received.job_id, limit=SHOWN_REJECTIONS * 50)
        counts = report["counts"]
        totals.update(counts)
        rows.append(
            (path.name, counts["accepted"], counts["duplicate"], counts["rejected"], time.perf_counter() - started)
        )
        if report["status"] == "rejected":
            error = report["summary"].get("error", {})
            rejections.append(f"{path.name}: the whole file was refused: {_issue_text(error)}")
        for record in report["records"]:
            if record["status"] == "rejected" and record["seq"] > 0:
                for issue in record["issues"]:
                    rejections.append(f"{path.name} {record['location']}: {_issue_text(issue)}")
        unused = report["summary"].get("unused_fields") or report["summary"].get("unused_columns")
        if unused and args.verbose:
            print(f"{path.name}: source fields no mapping used: {unused}")
    _print_summary(rows, totals, rejections)
    if failed:
        return EXIT_FAILED
    return EXIT_REJECTED if totals["rejected"] else EXIT_OK


def _print_summary(rows: list[tuple[str, int, int, int, float]], totals: Counter[str], rejections: list[str]) -> None:
    width = max([len("file"), *(len(r[0]) for r in rows)])
    print(f"{'file':<{width}}  {'accepted':>9}  {'duplicate':>9}  {'rejected':>9}  {'seconds':>8}")
    for name, accepted, duplicate, rejected, seconds in rows:
        print(f"{name:<{width}}  {accepted:>9}  {duplicate:>9}  {rejected:>9}  {seconds:>8.1f}")
    if len(rows) > 1:
        print(f"{'total':<{width}}  {totals['accepted']:>9}  {totals['duplicate']:>9}  {totals['rejected']:>9}")
    if rejections:
        first = f", first {SHOWN_REJECTIONS}" if len(rejections) > SHOWN_REJECTIONS else ""
        print(f"\nrejected ({len(rejections)} issue(s){first}):")
        for line in rejections[:SHOWN_REJECTIONS]:
            print(f"  {line}")
        print("  (cpts-gateway deadletter list shows them all; fix the mapping or the export, then replay)")


def cmd_deadletter(args: argparse.Namespace, settings: Settings) -> int:
    letters = DeadLetters(_pipeline(settings))
    try:
        if args.action == "list":
            found = letters.letters(status=None if args.all else "open", tenant=args.tenant, limit=args.limit)
            if args.json:
                print(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
                return EXIT_OK
            for letter in found:
                reason = _issue_text(letter["reason"][0]) if letter["reason"] else ""
                print(f"{letter['id']}  {letter['status']:<8}  {letter['location']}  {reason}")
            print(f"{len(found)} dead letter(s)")
            return EXIT_OK
        if args.action == "show":
            if not args.ids:
                print("deadletter show: give a dead letter id", file=sys.stderr)
                return EXIT_FAILED
            print(orjson.dumps(letters.show(args.ids[0]), option=orjson.OPT_INDENT_2).decode())
            return EXIT_OK
        results = letters.replay(args.ids or None)
    except GatewayError as exc:
        print(f"deadletter: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for result in results:
        why = f"  {_issue_text(result.issues[0])}" if result.issues and result.status == "rejected" else ""
        print(f"{result.id}  {result.status:<16}  {result.location}{why}")
    still = sum(1 for r in results if r.status == "rejected")
    print(f"{len(results)} replayed, {still} still failing")
    return EXIT_REJECTED if still else EXIT_OK


def add_commands(commands: Any) -> None:
    ingest = commands.add_parser("ingest", help="ingest export files (HL7 v2, CSV, FHIR bundles)")
    ingest.add_argument("--tenant", required=True, help="FINESS of the centre the data belongs to")
    ingest.add_argument("--format", required=True, choices=FORMATS)
    ingest.add_argument("--export", help="CSV export kind (appointments, slots, patients, ...)")
    ingest.add_argument("--vendor", help="CSV vendor layout (default: reference)")
    ingest.add_argument("--verbose", "-v", action="store_true", help="also report source fields no mapping used")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.set_defaults(handler=cmd_ingest)

    dead = commands.add_parser("deadletter", help="list, show and replay failed records")
    dead.add_argument("action", choices=["list", "show", "replay"])
    dead.add_argument("ids", nargs="*", metavar="ID")
    dead.add_argument("--all", action="store_true", help="list replayed letters too")
    dead.add_argument("--tenant", help="only this centre's letters")
    dead.add_argument("--limit", type=int, default=100)
    dead.add_argument("--json", action="store_true", help="machine-readable list")
    dead.set_defaults(handler=cmd_deadletter)


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_REJECTED", "ProgressBar", "add_commands", "cmd_deadletter", "cmd_ingest"]

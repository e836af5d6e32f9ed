"""The ``conformance`` commands: ``run`` (exit 0 conforms, 3 does not, 4 the tool could not run), ``inputs``,
``coverage`` (write or check conformance/coverage.csv) and ``demo-export`` (the demo territory as export files)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from conformance.inputs import InputError, parse_pairs, read_file, resolve, specs
from conformance.reporters import FILES, RENDERERS, render

EXIT_OK, EXIT_NOT_CONFORMING, EXIT_TOOL = 0, 3, 4


class Bar:
    """A progress bar on stderr (on a terminal only, like ``ingest``)."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream, self.started, self.enabled = stream, time.perf_counter(), stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        share = min(done / total, 1.0)
        filled = int(share * 30)
        elapsed = time.perf_counter() - self.started
        self.stream.write(f"\rconformance [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {elapsed:5.1f}s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _inputs(args: argparse.Namespace) -> dict[str, str]:
    given: dict[str, str] = {}
    if args.inputs_file:
        given.update(read_file(Path(args.inputs_file)))
    given.update(parse_pairs(args.input or []))
    return resolve(given)


def cmd_run(args: argparse.Namespace, _settings: Any) -> int:
    from conformance.runner import conforms, read_paths, run_endpoint, run_exports

    if bool(args.export) == bool(args.endpoint):
        print("conformance run: give --export PATH... or --endpoint URL (one of them)", file=sys.stderr)
        return EXIT_TOOL
    try:
        inputs = _inputs(args)
    except InputError as exc:
        print(f"conformance run: {exc}", file=sys.stderr)
        return EXIT_TOOL
    if args.endpoint:
        report = run_endpoint(args.endpoint, inputs)
    else:
        try:
            files = read_paths([Path(p) for p in args.export])
        except OSError as exc:
            print(f"conformance run: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
            return EXIT_TOOL
        bar = Bar()
        try:
            report = run_exports(files, inputs, progress=bar, jobs=args.jobs)
        finally:
            bar.close()
    formats = args.format or ["console"]
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            for name in formats:
                (out / FILES[name]).write_text(render(report, name), encoding="utf-8")
        except OSError as exc:
            print(f"conformance run: cannot write the reports into {out}: {exc.strerror}", file=sys.stderr)
            return EXIT_TOOL
    if "console" in formats or not args.out:
        sys.stdout.write(render(report, "console"))
    if any(o.result == "error" for o in report.outcomes):
        return EXIT_TOOL + 1  # 5: a check broke; the reports say which
    return EXIT_OK if conforms(report) else EXIT_NOT_CONFORMING


def cmd_inputs(_args: argparse.Namespace, _settings: Any) -> int:
    for spec in specs().values():
        default = f" (default {spec.default})" if spec.default is not None else ""
        print(f"{spec.name:15} [{spec.target}] {spec.meaning}{default}")
        print(f"{'':15} e.g. --input {spec.name}={spec.example}")
    return EXIT_OK


def cmd_coverage(args: argparse.Namespace, _settings: Any) -> int:
    from conformance.coverage import COVERAGE_FILE, coverage_text, problems

    text = coverage_text()
    if args.check:
        found = problems()
        if COVERAGE_FILE.read_text(encoding="utf-8") != text:
            found.append(f"{COVERAGE_FILE.name} is stale: run cpts-gateway conformance coverage")
        for problem in found:
            print(problem, file=sys.stderr)
        return EXIT_NOT_CONFORMING if found else EXIT_OK
    COVERAGE_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {COVERAGE_FILE}")
    return EXIT_OK


def cmd_demo_export(args: argparse.Namespace, _settings: Any) -> int:
    from conformance.demo_exports import write_demo_exports

    for path in write_demo_exports(Path(args.out), centres=args.centres, days=args.days, seed=args.seed):
        print(path)
    return EXIT_OK


def add_commands(commands: Any) -> None:
    conformance = commands.add_parser("conformance", help="run the conformance suite for integrators")
    sub = conformance.add_subparsers(dest="conformance_command", required=True)
    run = sub.add_parser("run", help="run the suite on export files or a live FHIR endpoint")
    run.add_argument("--export", nargs="+", metavar="PATH", help="export files (CSV, HL7 v2, FHIR bundles)")
    run.add_argument("--endpoint", metavar="URL", help="base URL of a live FHIR endpoint")
    run.add_argument("--input", action="append", metavar="KEY=VALUE", help="a run input (see `conformance inputs`)")
    run.add_argument("--inputs", dest="inputs_file", metavar="FILE", help="a YAML file of inputs")
    run.add_argument("--out", metavar="DIR", help="directory the reports are written into")
    run.add_argument("--jobs", type=int, default=1, help="processes sharing an export of over 20,000 rows (default 1)")
    run.add_argument("--format", action="append", choices=sorted(RENDERERS), help="report format (repeatable)")
    run.set_defaults(handler=cmd_run)
    inputs = sub.add_parser("inputs", help="list the inputs a run accepts")
    inputs.set_defaults(handler=cmd_inputs)
    coverage = sub.add_parser("coverage", help="regenerate conformance/coverage.csv (requirement -> checks)")
    coverage.add_argument("--check", action="store_true", help="only check that it is current (exit 3 if not)")
    coverage.set_defaults(handler=cmd_coverage)
    demo = sub.add_parser("demo-export", help="write the demo territory as export files (CSV and FHIR)")
    demo.add_argument("--out", required=True, metavar="DIR")
    demo.add_argument("--centres", type=int, default=2)
    demo.add_argument("--days", type=int, default=2)
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(handler=cmd_demo_export)


__all__ = ["EXIT_NOT_CONFORMING", "EXIT_OK", "EXIT_TOOL", "add_commands"]

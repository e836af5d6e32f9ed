"""Running the suite over a target: export files (one pass over their records) or a live endpoint.

Every check of the registry gets an outcome in every run: a check that does not apply to the target is ``omit``, one
whose input is missing or whose endpoint did not answer ``skip``, one that raised anything else ``error`` (with the
exception's text, never a traceback). ``progress(done, total)`` is called as bytes of the exports are read.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.endpoint import Session
from conformance.exports import ExportFile, Record, open_file, records
from conformance.model import Message, Omit, Outcome, RunReport, Skip
from conformance.registry import Check, load_checks
from mappings.catalog import Catalog, default_catalog

Progress = Callable[[int, int], None]
_PROGRESS_EVERY = 2000  # records between progress calls
PARALLEL_LINES = 20_000  # files longer than this are shared by the run's worker processes


class _Tally:
    """An outcome being built over many calls (records, resources, files)."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.outcome = Outcome(check.id, "pass")
        self.error: str | None = None

    def call(self, *args: Any) -> None:
        if self.error is not None:
            return
        try:
            messages = list(self.check.run(*args))
        except Omit:
            return
        except Skip as skip:
            self.outcome.result, self.outcome.reason = "skip", str(skip)
            self.error = str(skip)
            return
        except Exception as exc:  # a broken check reports an error outcome, the run goes on
            self.error = f"{exc.__class__.__name__}: {exc}"
            self.outcome.result, self.outcome.reason = "error", self.error
            return
        self.outcome.checked += 1
        for message in messages:
            self.outcome.add(message)

    def merge(self, other: Outcome) -> None:
        """Add the outcome of the same check over another part of the records."""
        outcome = self.outcome
        if other.result in ("skip", "error") and outcome.result not in ("skip", "error"):
            outcome.result, outcome.reason = other.result, other.reason
            self.error = other.reason
        outcome.checked += other.checked
        outcome.total_messages += other.total_messages - len(other.messages)
        for message in other.messages:
            outcome.add(message)

    def finish(self, seconds: float, why_omitted: str) -> Outcome:
        outcome = self.outcome
        outcome.seconds = seconds
        if outcome.result in ("skip", "error"):
            return outcome
        if outcome.checked == 0:
            outcome.result, outcome.reason = "omit", why_omitted
        elif outcome.total_messages:
            outcome.result = "fail"
        return outcome


def _matches(check: Check, record: Record) -> bool:
    if not check.applies:
        return True
    for pattern in check.applies:
        if ":" in pattern and record.kind.startswith(pattern):
            return True
        if ":" not in pattern and record.file.format == pattern:
            return True
    return False


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def _scan(
    file: ExportFile,
    catalog: Catalog,
    inputs: dict[str, str],
    tallies: dict[str, _Tally],
    spent: dict[str, float],
    *,
    part: int = 0,
    parts: int = 1,
    tick: Callable[[int], None] | None = None,
) -> None:
    """Run the record and resource checks over the records of one file (or of one part of it)."""
    record_checks = [t for t in tallies.values() if t.check.kind == "record"]
    resource_checks = [t for t in tallies.values() if t.check.kind == "resource"]
    for count, record in enumerate(records(file, catalog, inputs, part=part, parts=parts), start=1):
        for tally in record_checks:
            if _matches(tally.check, record):
                begin = time.perf_counter()
                tally.call(record)
                spent[tally.check.id] += time.perf_counter() - begin
        for resource in record.resources:
            kind = resource.get("resourceType")
            for tally in resource_checks:
                if kind in tally.check.applies:
                    begin = time.perf_counter()
                    tally.call(record, resource)
                    spent[tally.check.id] += time.perf_counter() - begin
        if tick is not None and count % _PROGRESS_EVERY == 0:
            tick(count)


def _scan_part(
    name: str, data: bytes, inputs: dict[str, str], part: int, parts: int, ticks: Any
) -> tuple[dict[str, Outcome], dict[str, float], ExportFile]:
    """One worker process's share of a large file: the outcomes of its records, to be merged."""
    catalog = default_catalog()
    checks = load_checks()
    tallies = {cid: _Tally(c) for cid, c in checks.items() if c.kind in ("record", "resource")}
    spent = dict.fromkeys(tallies, 0.0)
    file = open_file(name, data, catalog, inputs)
    _scan(file, catalog, inputs, tallies, spent, part=part, parts=parts, tick=lambda n: ticks.put((part, n)))
    file.data, file.table = b"", None  # the main process has its own
    return {cid: t.outcome for cid, t in tallies.items()}, spent, file


def _scan_parallel(
    file: ExportFile,
    inputs: dict[str, str],
    tallies: dict[str, _Tally],
    spent: dict[str, float],
    jobs: int,
    tick: Callable[[int], None] | None,
) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(jobs, mp_context=context) as pool:
        ticks = manager.Queue()
        futures = [pool.submit(_scan_part, file.name, file.data, inputs, k, jobs, ticks) for k in range(jobs)]
        counts = [0] * jobs
        while not all(f.done() for f in futures):
            try:
                part, count = ticks.get(timeout=0.2)
            except queue.Empty:
                continue
            counts[part] = count
            if tick is not None:
                tick(sum(counts))
        for future in futures:
            outcomes, part_spent, part_file = future.result()
            for cid, outcome in outcomes.items():
                tallies[cid].merge(outcome)
                spent[cid] += part_spent[cid]
            file.facts = {**part_file.facts, **file.facts} if file.facts else part_file.facts
            file.error = file.error or part_file.error


def run_exports(
    files: Sequence[tuple[str, bytes]],
    inputs: dict[str, str],
    *,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    parallel_lines: int = PARALLEL_LINES,
) -> RunReport:
    """Run every check over export files given as (name, bytes); a file of more than ``parallel_lines`` lines is
    shared by ``jobs`` processes."""
    catalog = catalog or default_catalog()
    started = _now()
    checks = load_checks()
    tallies = {cid: _Tally(c) for cid, c in checks.items()}
    spent = dict.fromkeys(checks, 0.0)
    total = sum(len(data) for _, data in files)
    done = 0
    opened: list[ExportFile] = []
    for name, data in files:
        file = open_file(name, data, catalog, inputs)
        opened.append(file)
        lines = max(data.count(b"\n"), 1)  # records are about lines: the bar moves by the share read
        base = done

        def tick(count: int, base: int = base, size: int = len(data), lines: int = lines) -> None:
            if progress is not None:
                progress(base + min(size, size * count // lines), total)

        if jobs > 1 and lines > parallel_lines and file.error is None:
            _scan_parallel(file, inputs, tallies, spent, jobs, tick)
        else:
            _scan(file, catalog, inputs, tallies, spent, tick=tick)
        done += len(data)
        if progress is not None:
            progress(done, total)
        for check in checks.values():
            if check.kind == "file" and file.format in check.applies:
                tallies[check.id].call(file)
    outcomes = [
        tallies[cid].finish(spent[cid], "an endpoint check: the target is export files"
                            if c.kind == "endpoint" else "nothing in the exports for this check")
        for cid, c in checks.items()
    ]  # fmt: skip
    target = {"kind": "export", "files": [_describe(f) for f in opened]}
    return RunReport(uuid.uuid4().hex, started, _now(), target, inputs, outcomes)


def _describe(file: ExportFile) -> dict[str, Any]:
    found: dict[str, Any] = {"name": file.name, "format": file.format, "bytes": len(file.data)}
    if file.export:
        found.update(export=file.export, vendor=file.vendor)
    if file.table is not None:
        found.update(encoding=file.table.encoding, delimiter=file.table.delimiter)
    if file.error is not None:
        found["error"] = str(file.error)
    return found


def run_endpoint(url: str, inputs: dict[str, str], *, session: Session | None = None) -> RunReport:
    """Run every check against a live FHIR endpoint (export checks are omitted)."""
    started = _now()
    checks = load_checks()
    session = session or Session(url, inputs)
    outcomes: list[Outcome] = []
    try:
        for check in checks.values():
            tally = _Tally(check)
            begin = time.perf_counter()
            if check.kind == "endpoint":
                tally.call(session)
            outcomes.append(tally.finish(time.perf_counter() - begin, _why_omitted(check, inputs)))
    finally:
        session.close()
    target = {"kind": "endpoint", "url": url, "contract": inputs.get("contract", "gap")}
    return RunReport(uuid.uuid4().hex, started, _now(), target, inputs, outcomes)


def _why_omitted(check: Check, inputs: dict[str, str]) -> str:
    if check.kind != "endpoint":
        return "an export check: the target is a live endpoint"
    return f"not part of the {inputs.get('contract', 'gap')} contract"


def read_paths(paths: Sequence[Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) of export files; OSError propagates (the CLI reports it as a tool error)."""
    return [(path.name, path.read_bytes()) for path in paths]


def conforms(report: RunReport) -> bool:
    """No check verifying a SHALL requirement failed or errored."""
    from conformance.catalog import catalog

    requirements = catalog()
    checks = load_checks()
    for outcome in report.outcomes:
        if outcome.result not in ("fail", "error"):
            continue
        levels = {requirements[r].conformance for r in checks[outcome.check].verifies if r in requirements}
        if "SHALL" in levels:
            return False
    return True


__all__ = ["Message", "Progress", "conforms", "read_paths", "run_endpoint", "run_exports"]

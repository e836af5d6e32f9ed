"""The demo's back-office exports as files, and their ingestion through the real CSV pipeline.

``cpts-gateway demo`` ingests them after storing the territory (so IND-OPENING, IND-PICKUP, IND-CCAM, IND-REJECT and
IND-UNPAID have data), and ``cpts-gateway demo --exports DIR`` also writes them as ``DIR/<FINESS>/<kind>.csv``: sample
files in the reference format, for integrators and the conformance suite.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

from gateway.demo.backoffice import EXPORTS, centre_exports
from gateway.demo.localtime import LocalClock
from gateway.demo.options import DemoOptions
from gateway.demo.patients import centre_patients
from gateway.demo.territory import plan_territory
from gateway.ingest.pipeline import Pipeline, new_owner
from gateway.settings import Settings


class ExportRejected(RuntimeError):
    """A demo export was not accepted as a whole: the generator and the mappings disagree."""


def territory_exports(options: DemoOptions) -> Iterator[tuple[str, str, str]]:
    """(FINESS, export kind, CSV text) for every centre, in the order of ``EXPORTS``."""
    territory = plan_territory(options)
    clock = LocalClock(options.timezone)
    for centre in territory.centres:
        specs = [spec for spec, _ in centre_patients(territory, centre)]
        texts = centre_exports(territory, centre, specs, clock)
        for kind in EXPORTS:
            yield centre.finess, kind, texts[kind]


def write_exports(options: DemoOptions, directory: Path) -> list[Path]:
    """Write every export as ``directory/<FINESS>/<kind>.csv`` (UTF-8); returns the paths."""
    paths: list[Path] = []
    for finess, kind, text in territory_exports(options):
        path = directory / finess / f"{kind}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        paths.append(path)
    return paths


def ingest_exports(settings: Settings, engine: Engine, options: DemoOptions) -> Counter[str]:
    """Ingest every export in its centre's tenant; returns the record counts (accepted, duplicate, rejected).
    Raises ``ExportRejected`` with the first reasons when a record or a file was refused."""
    pipeline = Pipeline(settings, engine)
    totals: Counter[str] = Counter()
    for finess, kind, text in territory_exports(options):
        owner = new_owner()
        received = pipeline.jobs.receive(
            text.encode("utf-8"), tenant=finess, format="csv", source=f"demo-{kind}.csv", export=kind,
            vendor="reference", owner=owner,
        )  # fmt: skip
        job = pipeline.jobs.leased(received.job_id, owner)
        if job is not None:
            pipeline.run(job)
        report = pipeline.jobs.report(received.job_id, limit=3)
        totals.update(report["counts"])
        records = report["records"]
        refused = [issue for record in records if record["status"] == "rejected" for issue in record["issues"]]
        if report["status"] == "rejected" or refused:
            reasons = refused or [report["summary"].get("error", {})]
            raise ExportRejected(f"{finess} {kind}: {reasons[:3]}")
    return totals


__all__ = ["ExportRejected", "ingest_exports", "territory_exports", "write_exports"]

"""Ingest benchmark: HL7 v2 ADT^A04 and CSV appointments/slots, parse+map alone and end to end into SQLite.

    .venv/bin/python bench/ingest.py [--messages 20000] [--rows 100000] [--postgres-url URL] [--model-validation]

Parse+map: reading the payload (ER7 reader, CSV adapter + vendor layout) and mapping every record to FHIR, on one
core, no database. End to end: ``Pipeline.run`` of the same payload into a fresh SQLite file (and PostgreSQL when
a URL is given): payload stored first, map, validate, identity resolution, versioned upsert, per-record outcomes,
provenance. Goals (2 cores): >= 2,000 ADT messages/s parse+map; >= 20,000 CSV rows/s parse+map; >= 5,000 rows/s
end to end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.csv_mapping import appointments, slots
from gateway.ingest.pipeline import Pipeline, new_owner
from gateway.ingest.prepare import prepare
from gateway.ingest.records import ReadSummary, hl7_records, read_records
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from mappings.catalog import Catalog, load_catalog
from mappings.registry import MapContext

PARIS = ZoneInfo("Europe/Paris")
TENANT = "759900426"
TEMPLATE = (Path(__file__).resolve().parent.parent / "tests/data/hl7v2/pam-a04-qualified-ins.hl7").read_bytes()


def adt_messages(count: int) -> bytes:
    """ADT^A04 of the PAM France golden sample, each with its own control id, IPP and name."""
    messages = []
    for n in range(count):
        message = (
            TEMPLATE.replace(b"MSG-A04-0001", f"MSG-{n:08d}".encode())
            .replace(b"00012345^^^", f"{n:08d}^^^".encode())
            .replace(b"MARTIN^CLAIRE", f"MARTIN{n % 997}^CLAIRE".encode())
        )
        messages.append(message.rstrip(b"\r"))
    return b"\r".join(messages) + b"\r"


def hl7_parse_map(catalog: Catalog, payload: bytes) -> int:
    ctx = MapContext(TENANT, PARIS)
    made = 0
    for record in hl7_records(payload, "adt.hl7"):
        assert record.scope is not None, record.problem
        mapped = catalog.hl7v2[record.kind].map(record.scope, ctx)
        assert not mapped.rejected, mapped.issues
        made += len(mapped.resources)
    return made


def parse_map_validate(catalog: Catalog, payload: bytes, fmt: str, export: str | None, model: bool) -> int:
    ctx = MapContext(TENANT, PARIS)
    made = 0
    records = read_records(
        payload, format=fmt, source="bench", catalog=catalog, zone=PARIS, export=export, vendor="reference",
        tenant=TENANT, summary=ReadSummary(),
    )  # fmt: skip
    for record in records:
        prepared = prepare(record, catalog, ctx, model_pass=model, mentions=False)
        assert not prepared.rejected, prepared.issues
        made += len(prepared.produced)
    return made


def csv_parse_map(catalog: Catalog, payload: bytes, export: str) -> int:
    ctx = MapContext(TENANT, PARIS)
    mapping = catalog.csv[export]
    made = 0
    for record in read_records(
        payload, format="csv", source=f"{export}.csv", catalog=catalog, zone=PARIS, export=export, vendor="reference"
    ):
        assert record.scope is not None, record.problem
        assert not record.issues, record.issues
        made += len(mapping.map(record.scope, ctx).resources)
    return made


def end_to_end(url: str, payload: bytes, fmt: str, export: str | None, model: bool) -> tuple[float, dict[str, int]]:
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    settings = Settings(database_url=url, ingest_model_validation=model)
    engine = make_engine(url)
    migrate.upgrade(engine)
    pipeline = Pipeline(settings, engine)
    started = time.perf_counter()
    received = pipeline.jobs.receive(
        payload, tenant=TENANT, format=fmt, source="bench", export=export, vendor="reference" if export else None
    )
    job = pipeline.jobs.claim(new_owner(), job_id=received.job_id)
    assert job is not None
    pipeline.run(job)
    elapsed = time.perf_counter() - started
    counts = pipeline.jobs.report(received.job_id, limit=1)["counts"]
    engine.dispose()
    return elapsed, counts


def timed(label: str, unit: str, count: int, run: Callable[[], object]) -> None:
    began = time.perf_counter()
    run()
    elapsed = time.perf_counter() - began
    print(f"  {label:<34} {count / elapsed:>10,.0f} {unit}/s   ({elapsed:6.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--model-validation", action="store_true", help="also run the fhir.resources model pass")
    args = parser.parse_args()
    catalog = load_catalog()
    model = args.model_validation
    adt = adt_messages(args.messages)
    files = {"appointments": appointments(args.rows), "slots": slots(args.rows)}
    segments = TEMPLATE.rstrip(b"\r").count(b"\r") + 1
    print(f"ADT^A04: {args.messages:,} messages of {segments} segments")
    timed("parse+map", "msg", args.messages, lambda: hl7_parse_map(catalog, adt))
    timed("parse+map+validate", "msg", args.messages, lambda: parse_map_validate(catalog, adt, "hl7v2", None, model))
    for export, data in files.items():
        print(f"CSV {export}: {args.rows:,} rows, {len(data) / 1e6:.1f} MB")
        timed("parse+map", "rows", args.rows, lambda: csv_parse_map(catalog, data, export))  # noqa: B023
        timed(
            "parse+map+validate", "rows", args.rows,
            lambda: parse_map_validate(catalog, data, "csv", export, model),  # noqa: B023
        )  # fmt: skip
    targets = [("SQLite", None)] + ([("PostgreSQL", args.postgres_url)] if args.postgres_url else [])
    for name, url in targets:
        for label, payload, fmt, export, unit, count in [
            ("ADT^A04", adt, "hl7v2", None, "msg", args.messages),
            ("appointments", files["appointments"], "csv", "appointments", "rows", args.rows),
            ("slots", files["slots"], "csv", "slots", "rows", args.rows),
        ]:
            with tempfile.TemporaryDirectory() as folder:
                target = url or f"sqlite:///{folder}/bench.db"
                elapsed, counts = end_to_end(target, payload, fmt, export, model)
            print(
                f"  end to end {name:<10} {label:<13} {count / elapsed:>8,.0f} {unit}/s   ({elapsed:6.2f} s) {counts}"
            )


if __name__ == "__main__":
    main()

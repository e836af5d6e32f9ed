"""CSV mapping benchmark: parse + map (and + validate) throughput of the reference appointments and slots exports.

    .venv/bin/python bench/csv_mapping.py [--rows 100000] [--profile appointments|slots]

Generates a reference-format file of ``--rows`` rows in memory for each export, then times, on one core and without
any database: reading the file and applying the layout (parse), parse + mapping to FHIR resources (parse+map), and
parse + map + the strict FHIR validation ``prepare`` runs (parse+map+validate). Goal: >= 20,000 rows/s parse+map.
``--profile`` prints the top functions of a cProfile run of parse+map for one export.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.ingest.prepare import prepare
from gateway.ingest.records import ReadSummary, csv_records
from mappings.catalog import Catalog, load_catalog
from mappings.registry import MapContext

PARIS = ZoneInfo("Europe/Paris")
TENANT = "759900426"
PRACTITIONERS = [f"8{19990001000 + n * 8}" for n in range(12)]
STATUSES = ("honore", "honore", "honore", "absent", "excuse", "annule_patient", "annule_centre", "planifie")


def _starts(rows: int) -> Iterator[tuple[int, datetime]]:
    day = datetime(2026, 1, 5, 8, 0)
    for n in range(rows):
        practitioner = n % len(PRACTITIONERS)
        slot = n // len(PRACTITIONERS)
        start = day + timedelta(days=slot // 30, minutes=20 * (slot % 30))
        yield practitioner, start


def appointments(rows: int) -> bytes:
    lines = ["id_rdv;ipp;id_nat_ps;debut;duree;statut;cree_le;salle;id_creneau;modalite;specialite;snp;motif"]
    for n, (who, start) in enumerate(_starts(rows)):
        created = start - timedelta(days=3)
        lines.append(
            f"RDV-{n};{n % 5000:08d};{PRACTITIONERS[who]};{start:%d/%m/%Y %H:%M};20;{STATUSES[n % len(STATUSES)]};"
            f"{created:%d/%m/%Y %H:%M};Salle {who % 4 + 1};CR-{n};cabinet;SM54;{'oui' if n % 10 == 0 else 'non'};"
            f"Consultation"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def slots(rows: int) -> bytes:
    lines = ["id_creneau;id_nat_ps;debut;fin;statut;snp;cpts;public;modalite;specialite;url_reservation"]
    for n, (who, start) in enumerate(_starts(rows)):
        end = start + timedelta(minutes=20)
        lines.append(
            f"CR-{n};{PRACTITIONERS[who]};{start:%d/%m/%Y %H:%M};{end:%d/%m/%Y %H:%M};"
            f"{'libre' if n % 3 else 'reserve'};{'oui' if n % 10 == 0 else 'non'};{'oui' if n % 20 == 0 else 'non'};"
            f"oui;cabinet;SM54;https://rdv.centre.example/{who}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def parse(catalog: Catalog, export: str, data: bytes) -> int:
    count = 0
    for record in csv_records(data, f"{export}.csv", catalog, export, "reference", PARIS, ReadSummary()):
        assert record.scope is not None, record.problem
        assert not record.issues, record.issues
        count += 1
    return count


def parse_map(catalog: Catalog, export: str, data: bytes) -> int:
    mapping, ctx = catalog.csv[export], MapContext(TENANT, PARIS)
    count = 0
    for record in csv_records(data, f"{export}.csv", catalog, export, "reference", PARIS, ReadSummary()):
        assert record.scope is not None
        mapped = mapping.map(record.scope, ctx)
        assert not mapped.rejected, mapped.issues
        count += len(mapped.resources)
    return count


def parse_map_validate(catalog: Catalog, export: str, data: bytes) -> int:
    ctx = MapContext(TENANT, PARIS)
    count = 0
    for record in csv_records(data, f"{export}.csv", catalog, export, "reference", PARIS, ReadSummary()):
        prepared = prepare(record, catalog, ctx)
        assert not prepared.rejected, prepared.issues
        count += len(prepared.produced)
    return count


def timed(label: str, rows: int, run: Callable[[], int]) -> None:
    began = time.perf_counter()
    made = run()
    elapsed = time.perf_counter() - began
    print(f"  {label:<20} {rows / elapsed:>10,.0f} rows/s   ({elapsed:6.2f} s, {made:,} items)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", choices=("appointments", "slots"))
    args = parser.parse_args()
    catalog = load_catalog()
    files = {"appointments": appointments(args.rows), "slots": slots(args.rows)}
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(parse_map, catalog, args.profile, files[args.profile])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    for export, data in files.items():
        print(f"{export}: {args.rows:,} rows, {len(data) / 1e6:.1f} MB")
        timed("parse", args.rows, lambda: parse(catalog, export, data))  # noqa: B023
        timed("parse+map", args.rows, lambda: parse_map(catalog, export, data))  # noqa: B023
        timed("parse+map+validate", args.rows, lambda: parse_map_validate(catalog, export, data))  # noqa: B023


if __name__ == "__main__":
    main()

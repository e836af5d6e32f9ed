"""Conformance-suite benchmark: one run of every check over a reference-format CSV export of ``--rows`` rows.

    .venv/bin/python bench/conformance.py [--rows 100000] [--export slots|appointments]

Generates the file in memory (half free slots, a tenth SNP with booking URLs, times in Europe/Paris), then times
``conformance.runner.run_exports`` - reading, mapping and validating every row with the gateway's adapters, and every
check - on one process, with the progress bar on stderr. Goal: 100,000 rows in <= 30 s on 2 cores. Prints rows/s,
the total, the slowest checks and the run's counts.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the conformance package.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

PRACTITIONERS = [f"8{19990000000 + n}" for n in range(0, 400, 8)]


def _valid(idnps: str) -> str:
    from gateway.checkkeys import luhn_key

    return idnps[:-1] + luhn_key(idnps[1:-1])


def slots(rows: int) -> bytes:
    people = [_valid(p) for p in PRACTITIONERS[:12]]
    lines = ["id_creneau;id_nat_ps;debut;fin;statut;snp;cpts;public;modalite;specialite;type_rdv;url_reservation"]
    day = datetime(2026, 11, 2, 8, 0)
    for n in range(rows):
        start = day + timedelta(days=(n // 12) // 30, minutes=20 * ((n // 12) % 30))
        end = start + timedelta(minutes=20)
        snp = n % 10 == 0
        lines.append(
            f"CR-{n};{people[n % 12]};{start:%d/%m/%Y %H:%M};{end:%d/%m/%Y %H:%M};{'libre' if n % 2 else 'reserve'};"
            f"{'oui' if snp else 'non'};{'oui' if n % 20 == 0 else 'non'};oui;cabinet;SM54;"
            f"{'walkin' if snp else 'routine'};https://rdv.centre.example/{n % 12}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def appointments(rows: int) -> bytes:
    people = [_valid(p) for p in PRACTITIONERS[:12]]
    statuses = ("honore", "honore", "absent", "excuse", "annule_patient", "honore")
    lines = ["id_rdv;ipp;id_nat_ps;debut;fin;statut"]
    day = datetime(2026, 1, 5, 8, 0)
    for n in range(rows):
        start = day + timedelta(days=(n // 12) // 30, minutes=20 * ((n // 12) % 30))
        end = start + timedelta(minutes=20)
        lines.append(
            f"RDV-{n};{n % 5000:08d};{people[n % 12]};{start:%d/%m/%Y %H:%M};{end:%d/%m/%Y %H:%M};"
            f"{statuses[n % len(statuses)]}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    from conformance.console import Bar
    from conformance.runner import conforms, run_exports
    from mappings.catalog import load_catalog

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=1, help="processes sharing the file (default 1; 2 on 2 idle cores)")
    parser.add_argument("--export", choices=("slots", "appointments"), default="slots")
    args = parser.parse_args()
    data = (slots if args.export == "slots" else appointments)(args.rows)
    catalog = load_catalog()
    inputs = {"finess": "759900426", "reference_time": "2026-12-31T00:00:00+01:00"}
    bar = Bar(sys.stderr)
    began = time.perf_counter()
    jobs = args.jobs
    report = run_exports([(f"{args.export}.csv", data)], inputs, catalog=catalog, progress=bar, jobs=jobs)
    seconds = time.perf_counter() - began
    bar.close()
    print(f"conformance run over {args.rows:,} {args.export} rows ({len(data) / 1e6:.1f} MB): {seconds:.1f} s, "
          f"{args.rows / seconds:,.0f} rows/s on {jobs} process(es) (goal: 100,000 rows in <= 30 s)")  # fmt: skip
    slowest = sorted(report.outcomes, key=lambda o: o.seconds, reverse=True)[:5]
    print("slowest checks: " + ", ".join(f"{o.check} {o.seconds:.2f} s" for o in slowest))
    results = {r: sum(o.result == r for o in report.outcomes) for r in ("pass", "fail", "skip", "omit", "error")}
    print(f"results: {results}; conforms: {conforms(report)}")


if __name__ == "__main__":
    main()

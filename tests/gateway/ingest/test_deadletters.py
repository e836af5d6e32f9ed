"""Dead letters: a row rejected by a mapping gap is replayed after the fix; replaying twice changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from gateway.ingest.deadletters import DeadLetters
from gateway.ingest.pipeline import Pipeline
from gateway.settings import Settings
from mappings.catalog import ROOT, load_catalog
from tests.gateway.ingest.conftest import run_ingest

TENANT = "350000014"
HEADER = "id_rdv;ipp;id_nat_ps;debut;duree;statut"
ROWS = [
    "RDV-1;00000001;819990001018;02/03/2026 08:30;20;honore",
    "RDV-2;00000002;819990001018;02/03/2026 08:50;20;reporte",  # a status word the table does not know yet
    "RDV-3;00000003;819990001018;02/03/2026 09:10;20;absent",
]


def fixed_catalog(tmp_path: Path) -> Path:
    root = tmp_path / "mappings"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    table = root / "codes" / "csv-appointment-status.yaml"
    text = table.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.strip().startswith("planifie:"))
    table.write_text(text.replace(line, f"{line}\n{line.replace('planifie', 'reporte')}"), encoding="utf-8")
    return root


def test_a_row_fixed_by_a_mapping_change_is_replayed_once(settings: Settings, clean_db: Engine, tmp_path: Path) -> None:
    payload = "\r\n".join([HEADER, *ROWS]).encode() + b"\r\n"
    before = Pipeline(settings, clean_db)
    report = run_ingest(before, payload, fmt="csv", export="appointments", vendor="reference", tenant=TENANT)
    assert [r["status"] for r in report["records"]] == ["accepted", "rejected", "accepted"]
    assert report["records"][1]["issues"][0]["location"] == ["test:3:statut"]

    after = DeadLetters(Pipeline(settings, clean_db, load_catalog(fixed_catalog(tmp_path))))
    (letter,) = after.letters()
    results = after.replay()
    assert [(r.id, r.status) for r in results] == [(letter["id"], "accepted")]
    job = after.jobs.report(report["id"])
    assert job["counts"] == {"accepted": 3, "duplicate": 0, "rejected": 0}
    assert job["records"][1]["status"] == "accepted" and job["records"][1]["resources"]
    assert after.letters() == []
    assert [r.status for r in after.replay([letter["id"]])] == ["already-replayed"]

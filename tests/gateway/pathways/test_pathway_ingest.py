"""Enrolments that arrive by ingest (the CSV pathways export, a FHIR bundle) are counted per protocol, with their
activities laid out from the protocol, and their referrals per status and overdue (C3 counts)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from gateway.ingest.pipeline import Pipeline
from gateway.pathways.loader import publish_protocols, read_protocols
from gateway.pathways.summary import pathway_summary
from gateway.settings import Settings
from gateway.storage.db import read_transaction
from tests.gateway.ingest.conftest import run_ingest

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "csv" / "reference" / "pathways" / "parcours.csv"
TENANT = "350000014"


@pytest.fixture
def pipeline(settings: Settings, clean_db: Engine) -> Pipeline:
    publish_protocols(clean_db, settings, read_protocols())
    return Pipeline(settings, clean_db)


def counts(pipeline: Pipeline, tenants: list[str] | None = None) -> dict[str, Any]:
    with read_transaction(pipeline.engine) as conn:
        return pathway_summary(conn, tenants, datetime(2026, 3, 1, tzinfo=UTC))


def by_protocol(summary: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {p["id"]: (p["active"], p["completed"]) for p in summary["protocols"] if p["active"] or p["completed"]}


def test_csv_enrolments_are_counted_per_protocol(pipeline: Pipeline) -> None:
    report = run_ingest(
        pipeline, REFERENCE.read_bytes(), tenant=TENANT, fmt="csv", export="pathways", vendor="reference"
    )
    assert report["counts"]["accepted"] == 4 and report["counts"]["rejected"] == 1, report
    assert by_protocol(counts(pipeline)) == {
        "cpts-copd": (0, 1),
        "cpts-diabetes-t2": (1, 0),
        "cpts-heart-failure": (1, 0),
        "cpts-paediatric-obesity": (1, 0),
    }
    assert by_protocol(counts(pipeline, ["350000022"])) == {}  # another centre counts only its own
    assert {p["id"] for p in counts(pipeline)["protocols"]} == {p["id"] for p in read_protocols()}


def test_a_fhir_bundle_brings_an_enrolment_and_its_referrals(pipeline: Pipeline) -> None:
    category = {"coding": [{"system": "urn:cpts-gateway:careplan-category", "code": "pathway"}]}
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": "urn:cpts-gateway:ipp:x", "value": "1"}],
    }
    plan: dict[str, Any] = {
        "resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan", "category": [category],
        "instantiatesCanonical": ["https://cpts-gateway.fr/fhir/PlanDefinition/cpts-return-home"],
        "subject": {"reference": "Patient/p1"}, "period": {"start": "2026-02-01"},
    }  # fmt: skip

    def task(tid: str, status: str, due: str) -> dict[str, Any]:
        return {"resourceType": "Task", "id": tid, "status": status, "intent": "order",
                "for": {"reference": "Patient/p1"}, "basedOn": [{"reference": "CarePlan/cp1"}],
                "restriction": {"period": {"end": due}}}  # fmt: skip

    tasks = [task("t1", "requested", "2026-02-10"), task("t2", "in-progress", "2026-02-20"),
             task("t3", "requested", "2026-04-01"), task("t4", "completed", "2026-01-01")]  # fmt: skip
    resources: list[dict[str, Any]] = [patient, plan, *tasks]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r,
             "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }  # fmt: skip
    report = run_ingest(pipeline, orjson.dumps(bundle), tenant=TENANT)
    assert report["status"] == "done", report
    summary = counts(pipeline)
    assert by_protocol(summary) == {"cpts-return-home": (1, 0)}
    assert summary["referrals"]["requested"] == 2 and summary["referrals"]["in-progress"] == 1
    assert summary["referrals"]["completed"] == 1
    assert summary["overdue"] == 2  # t1 and t2 are past due on 2026-03-01; t3 is not yet, t4 is done
    assert "p1" not in orjson.dumps(summary).decode()

"""What the request layer writes to the audit trail: who, what, which patients, the decision and its reason."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from sqlalchemy import select, text

from gateway.app import create_app
from gateway.ingest.pipeline import Pipeline
from gateway.settings import Settings
from gateway.storage.db import make_engine
from security.models import AuditEventRow
from tests.conftest import _free_port, serving
from tests.gateway.ingest.conftest import run_ingest
from tests.security.identities import CENTRE_A, Identities
from tests.security.scenario import IPP_A, NURSE_PS, PS_SYSTEM, patient


def _entities(event: dict[str, object]) -> list[dict[str, object]]:
    entities = event.get("entity", [])
    assert isinstance(entities, list)
    return entities


def test_a_read_names_the_agent_the_resource_and_the_patient(
    ids: Identities, territory: dict[str, httpx.Client]
) -> None:
    response = territory["nurse"].get("/fhir/Appointment/appt-pa")
    event = ids.audited(response.headers["x-request-id"])
    assert event["outcome"] == "0"
    text = orjson.dumps(event).decode()
    assert NURSE_PS in text and PS_SYSTEM in text  # who: the practitioner's idNat_PS
    assert "Appointment/appt-pa" in text and "Patient/pa" in text  # what, and whose data
    assert "CONSENT-PRESUMED-CARE-TEAM" in text  # the decision's reason
    assert "Alpha" not in text  # never the patient's name


def test_a_search_lists_the_patients_disclosed_and_what_was_withheld(
    ids: Identities,
    territory: dict[str, httpx.Client],
) -> None:
    response = territory["nurse"].get("/fhir/Patient")
    text = orjson.dumps(ids.audited(response.headers["x-request-id"])).decode()
    assert "Patient/pa" in text and "Patient/pd" in text and "Patient/pc" not in text
    assert "CONSENT-REQUIRED" in text  # pc was withheld, and the event says why


def test_a_write_is_audited_with_the_written_version(ids: Identities) -> None:
    centre = ids.centre(CENTRE_A)
    response = centre.put("/fhir/Patient/p1", json=patient("p1", IPP_A, "Echo"))
    assert response.status_code == 201
    event = ids.audited(response.headers["x-request-id"])
    assert event["outcome"] == "0"
    assert any("Patient/p1" in orjson.dumps(e).decode() for e in _entities(event))


def test_an_ingest_batch_is_audited(ids: Identities, secure_settings: object) -> None:
    assert isinstance(secure_settings, Settings)
    pipeline = Pipeline(secure_settings, ids.engine)
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": {**patient("p-ing", IPP_A, "Foxtrot")}}],
    }
    del bundle["entry"][0]["resource"]["id"]  # type: ignore[index]
    report = run_ingest(pipeline, orjson.dumps(bundle), tenant=CENTRE_A)
    assert report["counts"]["accepted"] == 1
    with ids.engine.connect() as conn:
        rows = conn.execute(
            select(AuditEventRow.event)
            .where(AuditEventRow.action == "ingest")
            .order_by(AuditEventRow.seq.desc())
            .limit(5)  # type: ignore[attr-defined]
        ).all()
    assert any(report["id"] in event and "Patient/" in event for (event,) in rows)


def test_nothing_is_disclosed_when_the_trail_cannot_be_written(tmp_path: Path) -> None:
    """Fail closed: a response whose AuditEvent cannot be recorded is withheld (503), not sent unaudited."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/closed.db",
        keys_dir=tmp_path / "keys",
        open_access=True,
        ingest_worker=False,
        log_level="CRITICAL",
    )
    with serving(create_app(settings, configure_logs=False), _free_port()) as base:
        created = httpx.put(f"{base}/fhir/Patient/p1", json=patient("p1", IPP_A, "Golf"))
        assert created.status_code == 201
        engine = make_engine(settings.database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE audit_event"))  # the trail breaks for real
        engine.dispose()
        withheld = httpx.get(f"{base}/fhir/Patient/p1")
        assert withheld.status_code == 503
        assert "SEC-AUDIT" in withheld.text and "Golf" not in withheld.text

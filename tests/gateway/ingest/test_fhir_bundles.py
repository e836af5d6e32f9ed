"""FHIR bundles through the pipeline: per-entry outcomes, local ids, duplicates, dead letters and replay."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text

from adapters.fhir.slot_types import SLOT_TYPE_SYSTEM as SLOT_TYPES
from gateway.fhir.ids import deterministic_id
from gateway.ingest.deadletters import DeadLetters
from gateway.ingest.pipeline import Pipeline
from gateway.storage.db import read_transaction
from tests.gateway.ingest.conftest import Ingest

TENANT = "350000014"
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"


def agenda_bundle(kind: str = "batch", slot_status: str = "free") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": "urn:uuid:3f1c1b0e-1d1a-4c55-a0c5-1a2b3c4d5e6f",
                "resource": {
                    "resourceType": "Practitioner",
                    "id": "pr1",
                    "identifier": [{"system": IDNPS, "value": "810000000001"}],
                    "name": [{"family": "Martin", "given": ["Claire"]}],
                },
                "request": {"method": "PUT", "url": "Practitioner/pr1"},
            },
            {
                "resource": {
                    "resourceType": "Schedule",
                    "id": "agenda-1",
                    "actor": [{"reference": "urn:uuid:3f1c1b0e-1d1a-4c55-a0c5-1a2b3c4d5e6f"}],
                },
                "request": {"method": "PUT", "url": "Schedule/agenda-1"},
            },
            {
                "resource": {
                    "resourceType": "Slot",
                    "id": "c-1",
                    "meta": {"security": [{"system": SLOT_TYPES, "code": "PUBLIC"}]},  # refused without (GAP check)
                    "schedule": {"reference": "Schedule/agenda-1"},
                    "status": slot_status,
                    "start": "2026-03-02T09:00:00+01:00",
                    "end": "2026-03-02T09:15:00+01:00",
                },
                "request": {"method": "PUT", "url": "Slot/c-1"},
            },
        ],
    }


def stored(pipeline: Pipeline, reference: str) -> dict[str, Any]:
    kind, rid = reference.split("/")[:2]
    with read_transaction(pipeline.engine) as conn:
        found = pipeline.store.read(conn, kind, rid)
    assert found is not None, reference
    return found.json()


def test_batch_entries_get_local_ids_and_references_follow(ingest: Ingest, pipeline: Pipeline) -> None:
    report = ingest(orjson.dumps(agenda_bundle()), tenant=TENANT)
    assert report["status"] == "done"
    assert report["counts"] == {"accepted": 3, "duplicate": 0, "rejected": 0}
    practitioner, schedule, slot = (r["resources"][0] for r in report["records"])
    assert practitioner.startswith(f"Practitioner/{deterministic_id('Practitioner', IDNPS, '810000000001')}/")
    assert schedule.startswith(f"Schedule/{deterministic_id('Schedule', TENANT, 'agenda-1')}/")
    assert stored(pipeline, schedule)["actor"][0]["reference"] == "/".join(practitioner.split("/")[:2])
    assert stored(pipeline, slot)["schedule"]["reference"] == "/".join(schedule.split("/")[:2])


def test_sending_the_same_bundle_again_changes_nothing(ingest: Ingest, pipeline: Pipeline) -> None:
    first = ingest(orjson.dumps(agenda_bundle()), tenant=TENANT)
    second = ingest(orjson.dumps(agenda_bundle()), tenant=TENANT)
    assert second["counts"] == {"accepted": 0, "duplicate": 3, "rejected": 0}
    assert [r["resources"] for r in second["records"]] == [r["resources"] for r in first["records"]]
    with read_transaction(pipeline.engine) as conn:
        versions = conn.execute(text("SELECT count(*) FROM resource_version WHERE res_type = 'Slot'")).scalar_one()
    assert versions == 1


def test_a_provenance_names_the_source_message_and_targets_what_changed(ingest: Ingest, pipeline: Pipeline) -> None:
    report = ingest(orjson.dumps(agenda_bundle()), tenant=TENANT, source="agenda.json")
    with read_transaction(pipeline.engine) as conn:
        rows = conn.execute(text("SELECT content FROM resource WHERE res_type = 'Provenance'")).all()
    assert len(rows) == 1
    provenance = orjson.loads(rows[0][0])
    assert {t["reference"] for t in provenance["target"]} == {r["resources"][0] for r in report["records"]}
    entity = provenance["entity"][0]["what"]
    assert entity["identifier"]["system"] == "urn:cpts-gateway:ingest-message"
    assert "agenda.json" in entity["display"]
    assert provenance["agent"][0]["who"]["identifier"]["value"] == TENANT


def test_a_bad_entry_is_rejected_alone_and_replayed_after_a_fix(ingest: Ingest, pipeline: Pipeline) -> None:
    bundle = agenda_bundle()
    bundle["entry"][2]["resource"]["status"] = "ouvert"
    report = ingest(orjson.dumps(bundle), tenant=TENANT)
    assert [r["status"] for r in report["records"]] == ["accepted", "accepted", "rejected"]
    issue = report["records"][2]["issues"][0]
    assert issue["expression"] == ["Slot.status"]
    assert "Bundle.entry[2]" in issue["diagnostics"]
    letters = DeadLetters(pipeline)
    open_letters = letters.letters()
    assert [letter["location"] for letter in open_letters] == ["test#Bundle.entry[2]"]
    # the payload is what it is: replaying without a fix fails again and the letter stays open
    assert [r.status for r in letters.replay()] == ["rejected"]
    assert len(letters.letters()) == 1


def test_a_transaction_is_all_or_nothing(ingest: Ingest, pipeline: Pipeline) -> None:
    bundle = agenda_bundle("transaction", slot_status="ouvert")
    report = ingest(orjson.dumps(bundle), tenant=TENANT)
    assert report["counts"] == {"accepted": 0, "duplicate": 0, "rejected": 1}
    with read_transaction(pipeline.engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM resource")).scalar_one() == 0
    good = ingest(orjson.dumps(agenda_bundle("transaction")), tenant=TENANT)
    assert good["counts"]["accepted"] == 1
    assert len(good["records"][0]["resources"]) == 3


def test_a_body_that_is_not_a_bundle_rejects_the_payload_with_a_reason(ingest: Ingest) -> None:
    report = ingest(b'{"resourceType": "Patient"}', tenant=TENANT)
    assert report["status"] == "rejected"
    assert report["summary"]["error"]["location"] == ["Bundle.resourceType"]
    report = ingest(b"\x00\xffnot json", tenant=TENANT)
    assert report["status"] == "rejected"
    assert "not JSON" in report["summary"]["error"]["diagnostics"]


def test_a_resource_of_another_centre_is_never_replaced(ingest: Ingest, pipeline: Pipeline) -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:cpts-gateway:ipp:350000014", "value": "42"}],
        "name": [{"family": "Durand"}],
    }
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": patient}]}
    first = ingest(orjson.dumps(bundle), tenant="350000014")
    assert first["counts"]["accepted"] == 1
    patient["name"] = [{"family": "Usurpé"}]
    bundle["entry"].append(agenda_bundle()["entry"][0])  # a good entry in the same batch
    other = ingest(orjson.dumps(bundle), tenant="350000022")
    # the identifier's system belongs to centre 350000014: centre 350000022 cannot write that patient,
    # and the batch falls back to record-by-record so the good entry is still stored
    assert other["counts"] == {"accepted": 1, "duplicate": 0, "rejected": 1}
    assert [r["status"] for r in other["records"]] == ["rejected", "accepted"]
    assert other["records"][0]["issues"][0]["code"] == "forbidden"
    assert stored(pipeline, first["records"][0]["resources"][0])["name"] == [{"family": "Durand"}]

"""HL7 v2 patient identity through the whole pipeline: A40 merges (references follow), A47 renames, and ids stay
stable across messages, whatever the order of arrival."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.fhir.ids import deterministic_id
from gateway.ingest.pipeline import Pipeline
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import WriteItem
from tests.gateway.ingest.conftest import Ingest

DATA = Path(__file__).parents[2] / "data" / "hl7v2"
TENANT = "350000014"
IPP = f"urn:cpts-gateway:ipp:{TENANT}"
A04 = (DATA / "pam-a04-qualified-ins.hl7").read_bytes()  # IPP 00012345
A40 = (DATA / "pam-a40-merge.hl7").read_bytes()  # 00012399 merged into 00012345
A47 = (DATA / "pam-a47-change-identifier.hl7").read_bytes()  # 00012360 becomes 00012361


def patient(pipeline: Pipeline, ipp: str) -> dict[str, Any]:
    with read_transaction(pipeline.engine) as conn:
        found = pipeline.store.read(conn, "Patient", deterministic_id("Patient", IPP, ipp))
    assert found is not None, ipp
    return found.json()


def with_ipp(message: bytes, old: bytes, new: bytes, control: bytes) -> bytes:
    return message.replace(old, new).replace(b"|MSG-A04-0001|", b"|" + control + b"|")


def store_appointment(pipeline: Pipeline, ipp: str) -> None:
    """An appointment of the patient, as another source (the REST API) stored it."""
    appointment = {
        "resourceType": "Appointment",
        "id": "rdv-9",
        "status": "booked",
        "start": "2026-03-02T09:00:00+01:00",
        "end": "2026-03-02T09:15:00+01:00",
        "participant": [
            {"actor": {"reference": f"Patient/{deterministic_id('Patient', IPP, ipp)}"}, "status": "accepted"}
        ],
    }
    with write_transaction(pipeline.engine) as conn:
        pipeline.store.write(conn, [WriteItem("Appointment", "rdv-9", appointment, tenant=TENANT)])


def test_a40_makes_the_old_patient_inactive_and_moves_its_references(ingest: Ingest, pipeline: Pipeline) -> None:
    old_message = with_ipp(A04, b"00012345^^^", b"00012399^^^", b"MSG-OLD")
    assert ingest(old_message, fmt="hl7v2", tenant=TENANT)["counts"]["accepted"] == 1
    store_appointment(pipeline, "00012399")
    assert ingest(A04, fmt="hl7v2", tenant=TENANT)["counts"]["accepted"] == 1
    merged = ingest(A40, fmt="hl7v2", tenant=TENANT)
    assert merged["counts"] == {"accepted": 1, "duplicate": 0, "rejected": 0}, merged["records"]
    survivor, old = patient(pipeline, "00012345"), patient(pipeline, "00012399")
    assert old["active"] is False
    assert old["link"] == [{"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}]
    assert {"other": {"reference": f"Patient/{old['id']}"}, "type": "replaces"} in survivor["link"]
    with read_transaction(pipeline.engine) as conn:
        appointment = pipeline.store.read(conn, "Appointment", "rdv-9")
    assert appointment is not None
    assert appointment.json()["participant"][0]["actor"]["reference"] == f"Patient/{survivor['id']}"
    # the merge replayed (a re-sent A40 with a new control id) changes nothing
    again = ingest(A40.replace(b"MSG-A40-0001", b"MSG-A40-0002"), fmt="hl7v2", tenant=TENANT)
    assert again["counts"] == {"accepted": 0, "duplicate": 1, "rejected": 0}, again["records"]


def test_a40_of_an_unknown_patient_is_accepted_with_a_warning(ingest: Ingest) -> None:
    merged = ingest(A40, fmt="hl7v2", tenant=TENANT)
    record = merged["records"][0]
    assert record["status"] == "accepted"
    assert record["issues"][0]["severity"] == "warning"
    assert "MRG-1" in record["issues"][0]["location"][0]


def test_a47_renames_the_patient_in_place(ingest: Ingest, pipeline: Pipeline) -> None:
    first = with_ipp(A04, b"00012345^^^", b"00012360^^^", b"MSG-FIRST")
    assert ingest(first, fmt="hl7v2", tenant=TENANT)["counts"]["accepted"] == 1
    before = patient(pipeline, "00012360")
    renamed = ingest(A47, fmt="hl7v2", tenant=TENANT)
    assert renamed["counts"]["accepted"] == 1, renamed["records"]
    after = patient(pipeline, "00012360")  # same resource: the id does not change with the IPP
    assert after["id"] == before["id"]
    assert after["identifier"][0] == {**after["identifier"][0], "system": IPP, "value": "00012361"}
    # a later message with the new IPP updates that same patient
    later = with_ipp(A04, b"00012345^^^", b"00012361^^^", b"MSG-LATER")
    report = ingest(later, fmt="hl7v2", tenant=TENANT)
    assert report["records"][0]["resources"][0].split("/")[1] == before["id"] or any(
        ref.startswith(f"Patient/{before['id']}/") for ref in report["records"][0]["resources"]
    )


def test_a_message_sent_twice_is_a_duplicate_by_control_id(ingest: Ingest) -> None:
    assert ingest(A04, fmt="hl7v2", tenant=TENANT)["counts"]["accepted"] == 1
    changed = A04.replace(b"MARTIN^CLAIRE", b"MARTINE^CLAIRE")  # same MSH-10: the sender says it is the same
    assert ingest(changed, fmt="hl7v2", tenant=TENANT)["counts"]["duplicate"] == 1


def test_source_fields_no_mapping_read_are_reported_with_the_job(ingest: Ingest) -> None:
    report = ingest(A04, fmt="hl7v2", tenant=TENANT)
    unused = report["summary"]["unused_fields"]
    assert unused["PV1"] == 1  # no field of the visit segment is mapped: reported as a segment
    assert unused["PID-33"] == 1  # a field of a mapped segment: reported as a field
    assert "PID-3" not in unused
    assert "PID-5" not in unused

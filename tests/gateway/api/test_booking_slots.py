"""Booking a slot over real HTTP (GAP flow 6a, gateway/fhir/booking.py): busy on booking, free on cancellation or
deletion, 409 for a slot already taken, one winner among many concurrent bookings, all-or-nothing in a transaction.

These run as the development principal (``client``); who may book what is in test_booking_roles.py.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from builders import assert_outcome, expressions, put

SLOT_TYPES = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
START = "2026-11-23T14:00:00.000+01:00"


def snp_slot(slot_id: str, status: str = "free", start: str = START) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": slot_id,
        "meta": {"security": [{"system": SLOT_TYPES, "code": "SNP"}, {"system": SLOT_TYPES, "code": "CPTS"}]},
        "schedule": {"reference": "Schedule/sch-1"},
        "status": status,
        "start": start,
        "end": start.replace("14:00", "14:20"),
    }


def booking(*slot_ids: str, status: str = "booked", patient: str = "Patient/pat-1") -> dict[str, Any]:
    """A flow-6a Appointment: the slot taken, the patient and the practitioner, status booked or proposed."""
    return {
        "resourceType": "Appointment",
        "status": status,
        "start": START,
        "end": START.replace("14:00", "14:20"),
        "slot": [{"reference": f"Slot/{s}"} for s in slot_ids],
        "participant": [
            {"actor": {"reference": patient}, "required": "required", "status": "accepted"},
            {"actor": {"reference": "Practitioner/pr-1"}, "required": "required", "status": "needs-action"},
        ],
    }


@pytest.fixture
def agenda(client: httpx.Client) -> httpx.Client:
    put(client, {"resourceType": "Patient", "id": "pat-1", "name": [{"family": "Martin", "given": ["Jeanne"]}]})
    put(client, {"resourceType": "Practitioner", "id": "pr-1", "name": [{"family": "Langdon"}]})
    put(client, {"resourceType": "Schedule", "id": "sch-1", "actor": [{"reference": "Practitioner/pr-1"}]})
    put(client, snp_slot("s1"))
    put(client, snp_slot("s2", start=START.replace("14:00", "15:00")))
    return client


def slot_state(client: httpx.Client, slot_id: str) -> tuple[str, str]:
    body = client.get(f"/fhir/Slot/{slot_id}").json()
    return body["status"], body["meta"]["versionId"]


def test_booking_marks_the_slot_busy_in_a_new_version(agenda: httpx.Client) -> None:
    response = agenda.post("/fhir/Appointment", json=booking("s1"))
    assert response.status_code == 201, response.text
    assert response.json()["slot"] == [{"reference": "Slot/s1"}]
    assert slot_state(agenda, "s1") == ("busy", "2")
    history = agenda.get("/fhir/Slot/s1/_history").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["busy", "free"]
    assert slot_state(agenda, "s2") == ("free", "1")


def test_booking_a_proposed_appointment_takes_the_slot_too(agenda: httpx.Client) -> None:
    assert agenda.post("/fhir/Appointment", json=booking("s1", status="proposed")).status_code == 201
    assert slot_state(agenda, "s1")[0] == "busy"


def test_booking_a_taken_slot_is_a_conflict(agenda: httpx.Client) -> None:
    assert agenda.post("/fhir/Appointment", json=booking("s1")).status_code == 201
    second = agenda.post("/fhir/Appointment", json=booking("s2", "s1"))
    issues = assert_outcome(second, 409)
    assert issues[0]["code"] == "conflict"
    assert "BOOK-SLOT-BUSY" in second.text
    assert expressions(second) == ["Appointment.slot[1]"]
    assert slot_state(agenda, "s2") == ("free", "1")  # nothing written
    found = agenda.get("/fhir/Appointment", params={"slot": "Slot/s2"}).json()
    assert found.get("entry", []) == []


def test_booking_a_slot_busy_from_the_start_is_a_conflict(agenda: httpx.Client) -> None:
    put(agenda, snp_slot("s3", status="busy"))
    response = agenda.post("/fhir/Appointment", json=booking("s3"))
    assert_outcome(response, 409)
    assert "BOOK-SLOT-BUSY" in response.text
    assert slot_state(agenda, "s3") == ("busy", "1")


def test_booking_an_unknown_slot_is_a_conflict(agenda: httpx.Client) -> None:
    response = agenda.post("/fhir/Appointment", json=booking("nowhere"))
    assert_outcome(response, 409)
    assert "BOOK-SLOT-UNKNOWN" in response.text


def test_cancelling_the_booking_frees_the_slot(agenda: httpx.Client) -> None:
    created = agenda.post("/fhir/Appointment", json=booking("s1")).json()
    cancelled = {**created, "status": "cancelled"}
    response = agenda.put(f"/fhir/Appointment/{created['id']}", json=cancelled)
    assert response.status_code == 200, response.text
    assert slot_state(agenda, "s1") == ("free", "3")
    again = agenda.post("/fhir/Appointment", json=booking("s1"))
    assert again.status_code == 201, again.text
    assert slot_state(agenda, "s1") == ("busy", "4")


def test_deleting_the_booking_frees_the_slot(agenda: httpx.Client) -> None:
    created = agenda.post("/fhir/Appointment", json=booking("s1")).json()
    assert agenda.delete(f"/fhir/Appointment/{created['id']}").status_code == 204
    assert slot_state(agenda, "s1") == ("free", "3")


def test_noshow_and_fulfilled_keep_the_slot_busy(agenda: httpx.Client) -> None:
    created = agenda.post("/fhir/Appointment", json=booking("s1")).json()
    for status in ("noshow", "fulfilled"):
        response = agenda.put(f"/fhir/Appointment/{created['id']}", json={**created, "status": status})
        assert response.status_code == 200, response.text
        assert slot_state(agenda, "s1") == ("busy", "2")


def test_a_slot_held_by_another_appointment_stays_busy(agenda: httpx.Client) -> None:
    """A centre's own data may hold one slot twice; cancelling one appointment leaves the slot to the other."""
    created = agenda.post("/fhir/Appointment", json=booking("s1")).json()
    own = {**booking("s1"), "id": "centre-own"}
    statement = {  # the Slot written with the Appointment: the writer's own word on that slot, not a booking
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": snp_slot("s1", status="busy"), "request": {"method": "PUT", "url": "Slot/s1"}},
            {"resource": own, "request": {"method": "PUT", "url": "Appointment/centre-own"}},
        ],
    }
    assert agenda.post("/fhir", json=statement).status_code == 200
    agenda.put(f"/fhir/Appointment/{created['id']}", json={**created, "status": "cancelled"})
    assert slot_state(agenda, "s1")[0] == "busy"
    put(agenda, {**own, "status": "entered-in-error"})
    assert slot_state(agenda, "s1")[0] == "free"


def test_moving_a_booking_to_another_slot(agenda: httpx.Client) -> None:
    created = agenda.post("/fhir/Appointment", json=booking("s1")).json()
    moved = agenda.put(f"/fhir/Appointment/{created['id']}", json={**created, "slot": [{"reference": "Slot/s2"}]})
    assert moved.status_code == 200, moved.text
    assert slot_state(agenda, "s1")[0] == "free"
    assert slot_state(agenda, "s2")[0] == "busy"


def test_put_create_books_too(agenda: httpx.Client) -> None:
    response = agenda.put("/fhir/Appointment/appt-put", json={**booking("s1"), "id": "appt-put"})
    assert response.status_code == 201, response.text
    assert slot_state(agenda, "s1")[0] == "busy"
    clash = agenda.put("/fhir/Appointment/appt-put-2", json={**booking("s1"), "id": "appt-put-2"})
    assert_outcome(clash, 409)


# -- Bundles -----------------------------------------------------------------------------------------------------------
def _entry(resource: dict[str, Any], full_url: str) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": "Appointment"}}


def test_transaction_booking_is_all_or_nothing(agenda: httpx.Client) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(booking("s1"), "urn:uuid:a-1")]}
    response = agenda.post("/fhir", json=bundle)
    assert response.status_code == 200, response.text
    assert response.json()["entry"][0]["response"]["status"] == "201 Created"
    assert slot_state(agenda, "s1") == ("busy", "2")

    both = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_entry(booking("s2"), "urn:uuid:b-1"), _entry(booking("s1"), "urn:uuid:b-2")],
    }
    refused = agenda.post("/fhir", json=both)
    assert_outcome(refused, 409)
    assert slot_state(agenda, "s2") == ("free", "1")  # the first entry was rolled back with the second


def test_transaction_with_two_bookings_of_one_slot_is_a_conflict(agenda: httpx.Client) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_entry(booking("s1"), "urn:uuid:c-1"), _entry(booking("s1"), "urn:uuid:c-2")],
    }
    assert_outcome(agenda.post("/fhir", json=bundle), 409)
    assert slot_state(agenda, "s1") == ("free", "1")


def test_batch_booking_reports_each_entry(agenda: httpx.Client) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [_entry(booking("s1"), "urn:uuid:d-1"), _entry(booking("s1"), "urn:uuid:d-2")],
    }
    response = agenda.post("/fhir", json=bundle)
    assert response.status_code == 200, response.text
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses == ["201 Created", "409 Conflict"]
    assert "BOOK-SLOT-BUSY" in str(response.json()["entry"][1]["response"]["outcome"])


# -- concurrency -------------------------------------------------------------------------------------------------------
BOOKERS = 24


def test_concurrent_bookings_of_one_slot_one_wins(agenda: httpx.Client, live_server: str) -> None:
    """24 clients book the same slot at the same moment: exactly one 201, all the others 409 OperationOutcome."""
    barrier = threading.Barrier(BOOKERS)
    responses: list[httpx.Response] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def book() -> None:
        try:
            with httpx.Client(base_url=live_server, timeout=90) as http:
                http.get("/healthz")  # connected before the barrier, so the requests really overlap
                barrier.wait(timeout=30)
                response = http.post("/fhir/Appointment", json=booking("s1"))
            with lock:
                responses.append(response)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=book) for _ in range(BOOKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (BOOKERS - 1), [r.text for r in responses if r.status_code not in (201, 409)]
    for loser in (r for r in responses if r.status_code == 409):
        assert_outcome(loser, 409)
        assert "BOOK-SLOT-BUSY" in loser.text
    assert slot_state(agenda, "s1") == ("busy", "2")  # busy once: one new version
    stored = agenda.get("/fhir/Appointment", params={"slot": "Slot/s1", "_total": "accurate"}).json()
    assert stored["total"] == 1
    winner = next(r for r in responses if r.status_code == 201).json()
    assert stored["entry"][0]["resource"]["id"] == winner["id"]

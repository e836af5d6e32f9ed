"""Who may book which slot (gateway/fhir/booking.py), with real OAuth clients on the secure server: a centre's system
its own slots, a CPTS practitioner any centre's free SNP/CPTS slot for a patient the consent rules let them see; the
centre finds the booking by ``_lastUpdated`` polling.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.security.identities import CENTRE_A, CENTRE_B, Identities

SLOT_TYPES = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
OPERATOR = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-appointment-operator"
IPP_A = f"urn:cpts-gateway:ipp:{CENTRE_A}"
GP_PS, NURSE_PS = "810000000003", "810000000002"
START = "2026-11-23T14:00:00.000+01:00"


def slot(slot_id: str, *types: str) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": slot_id,
        "meta": {"security": [{"system": SLOT_TYPES, "code": t} for t in types]},
        "schedule": {"reference": f"Schedule/sch-{slot_id}"},
        "status": "free",
        "start": START,
        "end": START.replace("14:00", "14:20"),
    }


def booking(slot_id: str, actor: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": START,
        "end": START.replace("14:00", "14:20"),
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": actor or {"reference": "Patient/pa"}, "status": "accepted"}],
        **extra,
    }


def put(http: httpx.Client, resource: dict[str, Any]) -> None:
    response = http.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.text


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert code in str(body)
    assert all(issue.get("expression") for issue in body["issue"])


def status_of(http: httpx.Client, slot_id: str) -> str:
    response = http.get(f"/fhir/Slot/{slot_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


@pytest.fixture
def cpts(ids: Identities) -> dict[str, httpx.Client]:
    """Two centres with their slots (A: a PRO slot; B: an SNP slot and a PRO slot), patients of centre A."""
    a, b = ids.centre(CENTRE_A), ids.centre(CENTRE_B)
    for pid in ("pa", "pc"):
        put(a, {"resourceType": "Patient", "id": pid, "identifier": [{"system": IPP_A, "value": pid}]})
    put(a, slot("a-pro", "PRO"))
    put(b, slot("b-snp", "SNP", "CPTS"))
    put(b, slot("b-pro", "PRO"))
    return {
        "a": a,
        "b": b,
        "gp": ids.practitioner("gp", GP_PS, [CENTRE_A], "10"),  # works at centre A: sees its patients
        "nurse": ids.practitioner("nurse", NURSE_PS, [CENTRE_B], "60"),  # no tie with centre A's patients
    }


def test_booking_a_centre_books_its_own_slot(cpts: dict[str, httpx.Client]) -> None:
    response = cpts["a"].post("/fhir/Appointment", json=booking("a-pro"))
    assert response.status_code == 201, response.text
    assert status_of(cpts["a"], "a-pro") == "busy"
    operator = [e for e in response.json()["extension"] if e["url"] == OPERATOR]
    assert operator[0]["valueReference"]["identifier"]["value"] == CENTRE_A


def test_booking_a_centre_may_not_book_another_centres_slot(cpts: dict[str, httpx.Client]) -> None:
    refused(cpts["a"].post("/fhir/Appointment", json=booking("b-snp")), 403, "SEC-TENANT")
    assert status_of(cpts["b"], "b-snp") == "free"


def test_booking_a_practitioner_books_an_snp_slot_the_centre_sees_it(cpts: dict[str, httpx.Client]) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = cpts["gp"].post("/fhir/Appointment", json=booking("b-snp"))
    assert response.status_code == 201, response.text
    appointment = response.json()
    operator = [e for e in appointment["extension"] if e["url"] == OPERATOR]
    assert operator[0]["valueReference"]["identifier"]["value"] == GP_PS
    centre = cpts["b"]
    assert status_of(centre, "b-snp") == "busy"
    read = centre.get(f"/fhir/Appointment/{appointment['id']}")
    assert read.status_code == 200, read.text  # it belongs to the slot's centre
    polled = centre.get("/fhir/Appointment", params={"_lastUpdated": f"ge{since}"})
    assert polled.status_code == 200, polled.text
    assert [e["resource"]["id"] for e in polled.json().get("entry", [])] == [appointment["id"]]
    slots = centre.get("/fhir/Slot", params={"_lastUpdated": f"ge{since}", "status": "busy"}).json()
    assert [e["resource"]["id"] for e in slots.get("entry", [])] == ["b-snp"]
    assert cpts["a"].get(f"/fhir/Appointment/{appointment['id']}").status_code == 403  # not centre A's


def test_booking_a_practitioner_may_not_book_a_reserved_slot(cpts: dict[str, httpx.Client]) -> None:
    refused(cpts["gp"].post("/fhir/Appointment", json=booking("b-pro")), 403, "BOOK-SLOT-RESERVED")
    assert status_of(cpts["b"], "b-pro") == "free"


def test_booking_a_practitioner_may_not_book_for_a_patient_hidden_by_consent(cpts: dict[str, httpx.Client]) -> None:
    refused(cpts["nurse"].post("/fhir/Appointment", json=booking("b-snp")), 403, "CONSENT-REQUIRED")
    assert status_of(cpts["b"], "b-snp") == "free"


def test_booking_a_practitioner_names_the_patient_by_reference(cpts: dict[str, httpx.Client]) -> None:
    contained = booking(
        "b-snp",
        {"reference": "#p"},
        contained=[{"resourceType": "Patient", "id": "p", "name": [{"family": "Inconnu"}]}],
    )
    refused(cpts["nurse"].post("/fhir/Appointment", json=contained), 403, "BOOK-PATIENT")
    identified = booking("b-snp", {"type": "Patient", "identifier": {"system": IPP_A, "value": "pc"}})
    refused(cpts["nurse"].post("/fhir/Appointment", json=identified), 403, "BOOK-PATIENT")
    assert status_of(cpts["b"], "b-snp") == "free"


def test_booking_a_practitioner_cancels_and_the_slot_is_free_again(cpts: dict[str, httpx.Client]) -> None:
    created = cpts["gp"].post("/fhir/Appointment", json=booking("b-snp")).json()
    refused(cpts["nurse"].put(f"/fhir/Appointment/{created['id']}", json={**created, "status": "cancelled"}), 403,
            "CONSENT-REQUIRED")  # fmt: skip
    refused(cpts["nurse"].delete(f"/fhir/Appointment/{created['id']}"), 403, "CONSENT-REQUIRED")
    assert status_of(cpts["b"], "b-snp") == "busy"
    response = cpts["gp"].put(f"/fhir/Appointment/{created['id']}", json={**created, "status": "cancelled"})
    assert response.status_code == 200, response.text
    assert status_of(cpts["b"], "b-snp") == "free"
    assert cpts["b"].get(f"/fhir/Appointment/{created['id']}").json()["status"] == "cancelled"

"""Answers kept between requests (the ``$capacity`` summaries, verified tokens) never hide a write: a booking, a slot
changed, deleted or added shows in the very next ``$capacity`` and coordinator answer, over real HTTP.

Centre A, Monday 2030-03-11 (UTC+1): SNP slots at 08:00 and 09:00, both free, then booked, deleted, added.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.sas.sas_support import IDNPS, int_r04
from tests.security.identities import CENTRE_A, CENTRE_B, Identities

R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
IPP_A = f"urn:cpts-gateway:ipp:{CENTRE_A}"
SUMMARY = "/fhir/Slot/$capacity?periodStart=2030-03-11&periodEnd=2030-03-11"
FREE_SNP = {
    "start": ["ge2030-03-11T00:00:00+01:00", "le2030-03-11T23:59:59+01:00"],
    "status": "free",
    "_security": f"{R314}|SNP",
    "_sort": "start",
}


def slot(sid: str, hour: str, status: str = "free") -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": sid,
        "meta": {"security": [{"system": R314, "code": "SNP"}]},
        "schedule": {"reference": "Schedule/s"},
        "status": status,
        "start": f"2030-03-11T{hour}:00:00+01:00",
        "end": f"2030-03-11T{hour}:15:00+01:00",
    }


def put(http: httpx.Client, resource: dict[str, Any]) -> None:
    response = http.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.text


def monday(http: httpx.Client) -> dict[str, Any]:
    """Centre A's Monday row of the summary, as {part name: value} (empty when the centre has no slot that day)."""
    response = http.get(SUMMARY)
    assert response.status_code == 200, response.text
    for parameter in response.json().get("parameter", []):
        parts = {p["name"]: p for p in parameter["part"]}
        if parameter["name"] == "capacity" and parts["organization"]["valueIdentifier"]["value"] == CENTRE_A:
            return {name: next(v for k, v in part.items() if k.startswith("value")) for name, part in parts.items()}
    return {}


def free_ids(http: httpx.Client) -> list[str]:
    response = http.get("/fhir/Slot", params=FREE_SNP)
    assert response.status_code == 200, response.text
    return [e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"]


GP_PS = "810000000077"


@pytest.fixture
def centre(ids: Identities) -> httpx.Client:
    a = ids.centre(CENTRE_A)
    put(a, {"resourceType": "Patient", "id": "pa", "identifier": [{"system": IPP_A, "value": "pa"}]})
    put(a, {"resourceType": "Practitioner", "id": "gp", "identifier": [{"system": IDNPS, "value": GP_PS}]})
    put(a, {"resourceType": "Schedule", "id": "s", "actor": [{"reference": "Practitioner/gp"}]})
    put(a, slot("m8", "08"))
    put(a, slot("m9", "09"))
    return a


def book(centre: httpx.Client, slot_id: str) -> None:
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": f"2030-03-11T{slot_id[1:]:0>2}:00:00+01:00",
        "end": f"2030-03-11T{slot_id[1:]:0>2}:15:00+01:00",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": "Patient/pa"}, "status": "accepted"}],
    }
    response = centre.post("/fhir/Appointment", json=appointment)
    assert response.status_code == 201, response.text


def test_a_booking_shows_in_the_next_summary_and_search(ids: Identities, centre: httpx.Client) -> None:
    coordinator = ids.client("coord", "coordinator")
    for _ in range(2):  # the second answer is the kept one
        row = monday(coordinator)
        assert (row["offered"], row["free"], row["booked"]) == (2, 2, 0)
        assert row["firstFree"] == "2030-03-11T08:00:00+01:00"
        assert free_ids(coordinator) == ["m8", "m9"]
    book(centre, "m8")
    row = monday(coordinator)
    assert (row["offered"], row["free"], row["booked"]) == (2, 1, 1)
    assert row["firstFree"] == "2030-03-11T09:00:00+01:00"
    assert free_ids(coordinator) == ["m9"]


def sas_ids(sas: httpx.Client) -> list[str]:
    query = int_r04([GP_PS], "2030-03-11T00:00:00.000+01:00", "2030-03-11T23:59:59.000+01:00")
    response = sas.get("/fhir/Slot", params=tuple(query))
    assert response.status_code == 200, response.text
    return sorted(e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match")


def test_a_booking_shows_in_the_next_sas_answer(ids: Identities, centre: httpx.Client) -> None:
    sas = ids.client("sas-region", "sas-consumer")
    assert sas_ids(sas) == ["m8", "m9"]
    book(centre, "m9")
    assert sas_ids(sas) == ["m8"]
    put(centre, slot("m9", "09"))  # freed again
    assert sas_ids(sas) == ["m8", "m9"]


def test_slots_changed_deleted_or_added_show_in_the_next_summary(ids: Identities, centre: httpx.Client) -> None:
    coordinator = ids.client("coord", "coordinator")
    assert (monday(coordinator)["free"], monday(coordinator)["offered"]) == (2, 2)
    put(centre, slot("m9", "09", "busy-unavailable"))
    row = monday(coordinator)
    assert (row["offered"], row["free"], row["booked"]) == (2, 1, 0)
    assert centre.delete("/fhir/Slot/m8").status_code in (200, 204)
    row = monday(coordinator)
    assert (row["offered"], row["free"]) == (1, 0) and "firstFree" not in row
    put(centre, slot("m7", "07"))
    row = monday(coordinator)
    assert (row["offered"], row["free"], row["firstFree"]) == (2, 1, "2030-03-11T07:00:00+01:00")
    assert free_ids(coordinator) == ["m7"]


def centres(http: httpx.Client) -> list[str]:
    response = http.get(SUMMARY)
    assert response.status_code == 200, response.text
    listed = [p for p in response.json()["parameter"] if p["name"] == "centre"]
    return [p["part"][0]["valueIdentifier"]["value"] for p in listed]


def test_a_new_centre_shows_in_the_next_summary(ids: Identities, centre: httpx.Client) -> None:
    coordinator = ids.client("coord", "coordinator")
    assert centres(coordinator) == [CENTRE_A]
    put(ids.centre(CENTRE_B), {"resourceType": "Organization", "id": "org-b", "name": "Centre B"})
    assert centres(coordinator) == [CENTRE_A, CENTRE_B]  # known without a slot: listed, stale

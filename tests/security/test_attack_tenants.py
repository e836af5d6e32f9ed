"""Attacks of one centre's system on another centre's data (issue point 3): every path refused or filtered, audited.

Centre A's SI holds a valid token of its own; it knows (or guesses) the ids of centre B's resources. Direct access
answers 403 (SEC-TENANT) and leaves B's data untouched; searches, chains, includes, history and hand-made paging
links simply never contain B's resources.
"""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import IPP_A, IPP_B, appointment, patient, put, refused


@pytest.fixture
def centres(ids: Identities) -> tuple[httpx.Client, httpx.Client]:
    a, b = ids.centre(CENTRE_A), ids.centre(CENTRE_B)
    put(a, patient("pa", IPP_A, "Alpha"))
    put(a, appointment("appt-a", "pa"))
    put(b, patient("pb", IPP_B, "Bravo"))
    put(b, appointment("appt-b", "pb"))
    return a, b


def test_attack_read_another_centres_resource(ids: Identities, centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, _ = centres
    refused(a.get("/fhir/Patient/pb"), ids)
    refused(a.get("/fhir/Patient/pb/_history/1"), ids)
    refused(a.get("/fhir/Patient/pb/_history"), ids)
    assert a.get("/fhir/Patient/pa").status_code == 200


def test_attack_update_and_delete_another_centres_resource(
    ids: Identities, centres: tuple[httpx.Client, httpx.Client]
) -> None:
    a, b = centres
    refused(a.put("/fhir/Patient/pb", json=patient("pb", IPP_B, "Usurpé")), ids)
    refused(a.delete("/fhir/Patient/pb"), ids)
    kept = b.get("/fhir/Patient/pb")
    assert kept.status_code == 200 and kept.json()["name"][0]["family"] == "Bravo"
    assert kept.json()["meta"]["versionId"] == "1"


def test_attack_search_for_another_centres_resources(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, _ = centres
    for query in ("_id=pb", f"identifier={IPP_B}|pb", "family=Bravo", "_id=pa,pb"):
        found = a.get(f"/fhir/Patient?{query}").json()
        assert all(e["resource"]["id"] != "pb" for e in found.get("entry", [])), query
    assert a.get("/fhir/Patient?_summary=count&_id=pa,pb").json()["total"] == 1
    everything = a.get("/fhir/Appointment").json()
    assert [e["resource"]["id"] for e in everything["entry"]] == ["appt-a"]
    assert everything["total"] == 1


def test_attack_chain_through_a_reference_to_another_centre(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, _ = centres
    put(a, appointment("appt-probe", "pb"))  # A points one of its own resources at B's patient
    probe = a.get("/fhir/Appointment?patient.family=Bravo").json()
    assert probe.get("entry", []) == [] and probe["total"] == 0
    assert a.get("/fhir/Appointment?patient:Patient.name=Bravo&_summary=count").json()["total"] == 0
    control = a.get("/fhir/Appointment?patient.family=Alpha").json()  # chains themselves work
    assert [e["resource"]["id"] for e in control["entry"]] == ["appt-a"]


def test_attack_include_of_another_centres_resource(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, _ = centres
    put(a, appointment("appt-probe", "pb"))
    bundle = a.get("/fhir/Appointment?_include=Appointment:patient").json()
    kinds = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    assert ("Patient", "pa") in kinds and ("Patient", "pb") not in kinds


def test_attack_revinclude_of_another_centres_resource(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, b = centres
    put(b, appointment("appt-b-on-a", "pa"))  # B points one of its resources at A's patient
    bundle = a.get("/fhir/Patient?_id=pa&_revinclude=Appointment:patient").json()
    ids_seen = {e["resource"]["id"] for e in bundle["entry"]}
    assert ids_seen == {"pa", "appt-a"}


def test_attack_transaction_bundle_into_another_centre(
    ids: Identities, centres: tuple[httpx.Client, httpx.Client]
) -> None:
    a, b = centres
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient("pa", IPP_A, "Alpha-2"), "request": {"method": "PUT", "url": "Patient/pa"}},
            {"resource": patient("pb", IPP_B, "Usurpé"), "request": {"method": "PUT", "url": "Patient/pb"}},
        ],
    }
    refused(a.post("/fhir", json=transaction), ids)
    assert b.get("/fhir/Patient/pb").json()["name"][0]["family"] == "Bravo"
    assert a.get("/fhir/Patient/pa").json()["name"][0]["family"] == "Alpha"  # all or nothing
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/pb"}},
            {"request": {"method": "DELETE", "url": "Patient/pb"}},
            {"request": {"method": "GET", "url": "Patient?_id=pb"}},
        ],
    }
    answers = a.post("/fhir", json=batch).json()["entry"]
    assert [e["response"]["status"][:3] for e in answers[:2]] == ["403", "403"]
    assert answers[2]["resource"].get("entry", []) == []
    assert b.get("/fhir/Patient/pb").status_code == 200


def test_attack_history_of_the_type_and_server(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, _ = centres
    for path in ("/fhir/Patient/_history", "/fhir/_history", "/fhir/Appointment/_history"):
        history = a.get(path).json()
        seen = {
            e["fullUrl"].rsplit("/", 3)[-3] if "_history" in e["fullUrl"] else e["fullUrl"] for e in history["entry"]
        }
        assert not any("pb" in s or "appt-b" in s for s in seen), path
        assert history["entry"], path


def test_attack_paging_link_crafted_by_hand(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, _ = centres
    for n in range(3):
        put(a, patient(f"pa{n}", IPP_A, "Alpha"))
    first = a.get("/fhir/Patient?_count=1").json()
    nxt = next(link["url"] for link in first["link"] if link["relation"] == "next")
    crafted = nxt.replace("Patient?", "Patient?_id=pb&")  # a filter smuggled into the link
    seen = []
    url: str | None = crafted
    while url:
        page = a.get(url).json()
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert "pb" not in seen
    forged_cursor = base64.urlsafe_b64encode(orjson.dumps({"id": "pa"})).decode().rstrip("=")
    page = a.get(f"/fhir/Patient?_cursor={forged_cursor}").json()
    assert all(e["resource"]["id"] != "pb" for e in page.get("entry", []))
    assert a.get("/fhir/Patient?_cursor=%%%garbage").status_code == 400


def test_attack_write_owned_resource_claiming_another_tenant(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, b = centres
    body = patient("x", IPP_B, "Intrus")
    del body["id"]
    created = a.post("/fhir/Patient", json=body)
    assert created.status_code in (200, 201)
    new_id = created.json()["id"]
    assert b.get(f"/fhir/Patient/{new_id}").status_code == 403  # it is A's, whatever identifier it carries

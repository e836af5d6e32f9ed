"""FHIR R4 §3.1.0.11 batch and transaction (http://hl7.org/fhir/R4/http.html#transaction), over real HTTP."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx
from builders import (
    IDNAT_PS,
    INS_NIR,
    Resource,
    appointment,
    assert_outcome,
    expressions,
    fhir_base,
    ids,
    patient,
    practitioner,
    practitioner_role,
    put,
    schedule,
    search,
    slot,
)

from gateway.fhir.ids import deterministic_id
from gateway.fhir.service import business_id

PRAC_UUID = "urn:uuid:7f1c2d3e-0000-4000-8000-000000000001"
SCHED_UUID = "urn:uuid:7f1c2d3e-0000-4000-8000-000000000002"
INS_1 = "248087512345621"


def _entry(method: str, url: str, resource: Resource | None = None, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"method": method, "url": url}
    request.update({k: v for k, v in extra.items() if k in ("ifMatch", "ifNoneExist")})
    entry: dict[str, Any] = {"request": request}
    if resource is not None:
        entry["resource"] = resource
    if "fullUrl" in extra:
        entry["fullUrl"] = extra["fullUrl"]
    return entry


def _bundle(kind: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(items)}


def _post(client: httpx.Client, bundle: dict[str, Any]) -> httpx.Response:
    return client.post("/fhir", json=bundle)


def _ok(client: httpx.Client, bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    response = _post(client, bundle)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle"
    assert body["type"] == kind
    result: list[dict[str, Any]] = body.get("entry", [])
    assert len(result) == len(bundle["entry"])
    return result


def _no_nulls(node: Any, where: str = "Bundle") -> None:
    """FHIR JSON never carries null values (R4 json.html)."""
    assert node is not None, f"null at {where}"
    if isinstance(node, dict):
        for key, value in node.items():
            _no_nulls(value, f"{where}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            _no_nulls(value, f"{where}[{n}]")


def _count(client: httpx.Client, resource_type: str) -> int:
    total: int = search(client, f"/fhir/{resource_type}", {"_summary": "count"})["total"]
    return total


# -- transaction: all or nothing --------------------------------------------------------------------------------------
def test_transaction_with_one_invalid_entry_stores_nothing(client: httpx.Client) -> None:
    """§3.1.0.11.2: if any entry fails, the whole transaction fails and nothing is written."""
    bundle = _bundle(
        "transaction",
        _entry("POST", "Patient", patient("Dupré", "Marie", ins=INS_1)),
        _entry("PUT", "Patient/pat-2", patient("Leroy", "Jeanne", resource_id="pat-2")),
        _entry("POST", "Patient", patient("Martin", "Zoé", gender="robot")),
    )

    response = _post(client, bundle)

    issues = assert_outcome(response, 422)
    assert issues[0]["severity"] == "error"
    assert expressions(response) == ["Bundle.entry[2].resource.gender"]
    assert _count(client, "Patient") == 0
    assert client.get("/fhir/_history").json().get("entry") is None


def test_transaction_reports_every_invalid_entry(client: httpx.Client) -> None:
    bundle = _bundle(
        "transaction",
        _entry("POST", "Patient", patient("Dupré", "Marie", birth_date="1948-13-01")),
        _entry("POST", "Slot", {**slot("sch", "2026-03-02T09:00:00+01:00"), "status": "maybe"}),
    )
    response = _post(client, bundle)
    assert_outcome(response, 422)
    assert expressions(response) == ["Bundle.entry[0].resource.birthDate", "Bundle.entry[1].resource.status"]
    assert _count(client, "Patient") == 0


def test_transaction_with_an_id_mismatch_points_at_the_entry(client: httpx.Client) -> None:
    bundle = _bundle(
        "transaction",
        _entry("POST", "Patient", patient("Dupré", "Marie")),
        _entry("PUT", "Patient/pat-1", patient("Leroy", "Jeanne", resource_id="pat-9")),
    )
    response = _post(client, bundle)
    issues = assert_outcome(response, 400)
    assert expressions(response) == ["Bundle.entry[1].resource.id"]
    assert issues[0]["diagnostics"] == "entry 1: the body's id 'pat-9' differs from the URL's 'pat-1'"
    assert _count(client, "Patient") == 0


def test_transaction_rolls_back_when_a_version_check_fails(client: httpx.Client) -> None:
    """§3.1.0.11.2 with entry.request.ifMatch: a stale version fails the whole transaction (412)."""
    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    put(client, patient("Dupré", "Marie", gender="other", resource_id="pat-1"))
    bundle = _bundle(
        "transaction",
        _entry("POST", "Patient", patient("Leroy", "Jeanne", ins=INS_1)),
        _entry("PUT", "Patient/pat-1", patient("Dupré", "Marie", gender="male", resource_id="pat-1"), ifMatch='W/"1"'),
    )
    response = _post(client, bundle)
    assert_outcome(response, 412)
    assert _count(client, "Patient") == 1
    assert client.get("/fhir/Patient/pat-1").json()["meta"]["versionId"] == "2"


def test_transaction_if_match_right_version_updates(client: httpx.Client) -> None:
    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    bundle = _bundle(
        "transaction",
        _entry("PUT", "Patient/pat-1", patient("Dupré", "Marie", gender="male", resource_id="pat-1"), ifMatch='W/"1"'),
    )
    [result] = _ok(client, bundle, "transaction-response")
    assert result["response"]["status"] == "200 OK"
    assert result["response"]["etag"] == 'W/"2"'
    assert client.get("/fhir/Patient/pat-1").json()["gender"] == "male"


# -- transaction: references ------------------------------------------------------------------------------------------
def test_transaction_resolves_urn_uuid_full_urls(client: httpx.Client) -> None:
    """§3.1.0.11.3: references to the fullUrl of a created entry become the assigned ``Type/id``."""
    bundle = _bundle(
        "transaction",
        _entry(
            "POST",
            "Slot",
            {**slot("x", "2026-03-02T09:00:00+01:00"), "schedule": {"reference": SCHED_UUID}},
            fullUrl="urn:uuid:7f1c2d3e-0000-4000-8000-000000000003",
        ),
        _entry("POST", "Schedule", {**schedule([PRAC_UUID])}, fullUrl=SCHED_UUID),
        _entry("POST", "Practitioner", practitioner("10001234567", "Dupré", "Élise"), fullUrl=PRAC_UUID),
    )

    result = _ok(client, bundle, "transaction-response")

    prac_id = deterministic_id("Practitioner", None, IDNAT_PS, "810001234567")
    locations = [e["response"]["location"] for e in result]
    assert locations[2] == f"Practitioner/{prac_id}/_history/1"
    slot_id, schedule_id = locations[0].split("/")[1], locations[1].split("/")[1]
    assert locations[0] == f"Slot/{slot_id}/_history/1"
    assert locations[1] == f"Schedule/{schedule_id}/_history/1"
    assert [e["response"]["status"] for e in result] == ["201 Created"] * 3
    stored_slot = client.get(f"/fhir/Slot/{slot_id}").json()
    assert stored_slot["schedule"] == {"reference": f"Schedule/{schedule_id}"}
    stored_schedule = client.get(f"/fhir/Schedule/{schedule_id}").json()
    assert stored_schedule["actor"] == [{"reference": f"Practitioner/{prac_id}"}]
    assert result[0]["resource"] == stored_slot
    assert result[0]["fullUrl"] == f"{fhir_base(client)}/Slot/{slot_id}"
    # the search indexes see the rewritten references
    assert ids(search(client, "/fhir/Slot", {"schedule": f"Schedule/{schedule_id}"})) == [f"Slot/{slot_id}"]
    chained = {"schedule.actor:Practitioner.identifier": f"{IDNAT_PS}|810001234567"}
    assert ids(search(client, "/fhir/Slot", chained)) == [f"Slot/{slot_id}"]


def test_transaction_reference_to_an_unknown_urn_fails(client: httpx.Client) -> None:
    bundle = _bundle(
        "transaction",
        _entry("POST", "Schedule", schedule([PRAC_UUID])),
    )
    response = _post(client, bundle)
    assert_outcome(response, 400)
    assert expressions(response) == ["Bundle.entry[0].resource"]
    assert _count(client, "Schedule") == 0


def test_transaction_resolves_conditional_references(client: httpx.Client) -> None:
    """§3.1.0.11.3 conditional references: ``Patient?identifier=sys|val`` becomes the one matching ``Patient/id``."""
    put(client, patient("Dupré", "Marie", ins=INS_1, resource_id="pat-1"))
    put(client, practitioner("10001234567", "Dupré", "Élise", resource_id="pr-a"))
    booking = appointment(
        f"Patient?identifier={INS_NIR}|{INS_1}",
        f"Practitioner?identifier={IDNAT_PS}|810001234567",
        "2026-03-02T09:00:00+01:00",
    )
    [result] = _ok(client, _bundle("transaction", _entry("POST", "Appointment", booking)), "transaction-response")

    assert result["response"]["status"] == "201 Created"
    stored = client.get(f"/fhir/{result['response']['location'].rsplit('/_history', 1)[0]}").json()
    assert [p["actor"]["reference"] for p in stored["participant"]] == ["Patient/pat-1", "Practitioner/pr-a"]
    assert ids(search(client, "/fhir/Appointment", {"patient": "pat-1"})) == [f"Appointment/{stored['id']}"]


def test_transaction_conditional_reference_without_exactly_one_match_fails(client: httpx.Client) -> None:
    """§3.1.0.11.3: no match or several matches -> the transaction fails."""
    put(client, practitioner("10001234567", "Dupré", "Élise", resource_id="pr-a"))
    booking = appointment(f"Patient?identifier={INS_NIR}|{INS_1}", "Practitioner/pr-a", "2026-03-02T09:00:00+01:00")
    response = _post(client, _bundle("transaction", _entry("POST", "Appointment", booking)))
    assert_outcome(response, 412)
    assert expressions(response) == ["Bundle.entry[0].resource"]

    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    put(client, patient("Dupré", "Jeanne", resource_id="pat-2"))
    booking = appointment("Patient?family=dupre", "Practitioner/pr-a", "2026-03-02T09:00:00+01:00")
    response = _post(client, _bundle("transaction", _entry("POST", "Appointment", booking)))
    assert_outcome(response, 412)
    assert _count(client, "Appointment") == 0


# -- transaction: order and response ----------------------------------------------------------------------------------
def test_transaction_processes_delete_post_put_get_in_that_order(client: httpx.Client) -> None:
    """§3.1.0.11.2: DELETE, then POST, then PUT, then GET; the response keeps the request order."""
    put(client, patient("Ancien", "Paul", resource_id="pat-old"))
    bundle = _bundle(
        "transaction",
        _entry("GET", "Patient?family=dupre"),
        _entry("PUT", "Patient/pat-put", patient("Dupré", "Jeanne", resource_id="pat-put")),
        _entry("DELETE", "Patient/pat-old"),
        _entry("POST", "Patient", patient("Dupré", "Marie", ins=INS_1)),
        _entry("GET", "Patient/pat-old"),
    )

    result = _ok(client, bundle, "transaction-response")

    # the id derives from the INS through its keyed blind index (an unkeyed hash of a NIR could be reversed)
    posted_id = business_id("Patient", None, {"identifier": [{"system": INS_NIR, "value": INS_1}]})
    assert posted_id != deterministic_id("Patient", None, INS_NIR, INS_1)
    statuses = [e["response"]["status"] for e in result]
    assert statuses[:4] == ["200 OK", "201 Created", "204 No Content", "201 Created"]
    assert statuses[4].startswith("410")  # the GET ran after the DELETE
    searchset = result[0]["resource"]
    assert searchset["type"] == "searchset"
    assert sorted(ids(searchset)) == sorted([f"Patient/{posted_id}", "Patient/pat-put"])  # GET ran after the writes
    assert result[1]["response"]["location"] == "Patient/pat-put/_history/1"
    assert result[3]["response"]["location"] == f"Patient/{posted_id}/_history/1"
    assert result[4]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    _no_nulls(result)


def test_transaction_response_entries_carry_etag_and_last_modified(client: httpx.Client) -> None:
    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    bundle = _bundle(
        "transaction",
        _entry("PUT", "Patient/pat-1", patient("Dupré", "Marie", gender="male", resource_id="pat-1")),
        _entry("PUT", "Patient/pat-2", patient("Leroy", "Jeanne", resource_id="pat-2")),
    )
    result = _ok(client, bundle, "transaction-response")
    assert [e["response"]["status"] for e in result] == ["200 OK", "201 Created"]
    assert [e["response"]["etag"] for e in result] == ['W/"2"', 'W/"1"']
    for entry in result:
        assert entry["response"]["lastModified"] == entry["resource"]["meta"]["lastUpdated"]


def test_transaction_conditional_create_if_none_exist(client: httpx.Client) -> None:
    """§3.1.0.11.2 / §3.1.0.7.1: ifNoneExist matching one resource creates nothing and answers 200 OK."""
    put(client, patient("Dupré", "Marie", ins=INS_1, resource_id="pat-1"))
    query = f"identifier={INS_NIR}|{INS_1}"
    bundle = _bundle(
        "transaction",
        _entry("POST", "Patient", patient("Dupré", "Marie", gender="male", ins=INS_1), ifNoneExist=query),
        _entry(
            "POST",
            "Patient",
            patient("Leroy", "Jeanne", ins="290067512345678"),
            ifNoneExist=(f"identifier={INS_NIR}|290067512345678"),
        ),
    )

    result = _ok(client, bundle, "transaction-response")

    assert [e["response"]["status"] for e in result] == ["200 OK", "201 Created"]
    assert result[0]["response"]["location"] == "Patient/pat-1"
    _no_nulls(result)
    assert _count(client, "Patient") == 2
    assert client.get("/fhir/Patient/pat-1").json()["gender"] == "female"  # untouched


def test_transaction_if_none_exist_result_is_usable_as_a_reference_target(client: httpx.Client) -> None:
    put(client, practitioner("10001234567", "Dupré", "Élise", resource_id="pr-a"))
    bundle = _bundle(
        "transaction",
        _entry(
            "POST",
            "Practitioner",
            practitioner("10001234567", "Dupré", "Élise"),
            fullUrl=PRAC_UUID,
            ifNoneExist=f"identifier={IDNAT_PS}|810001234567",
        ),
        _entry("POST", "PractitionerRole", {**practitioner_role("x"), "practitioner": {"reference": PRAC_UUID}}),
    )
    result = _ok(client, bundle, "transaction-response")
    role_ref = result[1]["response"]["location"].rsplit("/_history", 1)[0]
    assert client.get(f"/fhir/{role_ref}").json()["practitioner"] == {"reference": "Practitioner/pr-a"}


def test_transaction_conditional_delete(client: httpx.Client) -> None:
    """§3.1.0.11.2 with §3.1.0.5.1: DELETE [type]?query deletes the one match; no match is not an error."""
    put(client, patient("Dupré", "Marie", ins=INS_1, resource_id="pat-1"))
    bundle = _bundle(
        "transaction",
        _entry("DELETE", f"Patient?identifier={INS_NIR}|{INS_1}"),
        _entry("DELETE", f"Patient?identifier={INS_NIR}|290067512345678"),
    )
    result = _ok(client, bundle, "transaction-response")
    assert [e["response"]["status"] for e in result] == ["204 No Content", "200 OK"]
    _no_nulls(result)
    assert client.get("/fhir/Patient/pat-1").status_code == 410


def test_transaction_must_be_a_bundle_of_the_right_type(client: httpx.Client) -> None:
    response = client.post("/fhir", json=patient("Dupré", "Marie"))
    assert_outcome(response, 400)
    assert expressions(response) == ["Bundle"]
    response = client.post("/fhir", json={"resourceType": "Bundle", "type": "collection"})
    assert_outcome(response, 400)
    assert expressions(response) == ["Bundle.type"]


def test_empty_transaction_answers_an_empty_response(client: httpx.Client) -> None:
    response = _post(client, {"resourceType": "Bundle", "type": "transaction"})
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "transaction-response"
    assert "entry" not in response.json()


# -- batch ------------------------------------------------------------------------------------------------------------
def test_batch_entries_succeed_or_fail_independently(client: httpx.Client) -> None:
    """§3.1.0.11.1: in a batch each entry is processed on its own; a bad entry gets its own 4xx outcome."""
    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    bundle = _bundle(
        "batch",
        _entry("PUT", "Patient/pat-2", patient("Leroy", "Jeanne", resource_id="pat-2")),
        _entry("POST", "Patient", patient("Martin", "Zoé", gender="robot")),
        _entry("PUT", "Patient/pat-1", patient("Dupré", "Marie", gender="male", resource_id="pat-1"), ifMatch='W/"9"'),
        _entry("POST", "Patient", patient("Dupré", "Paul", ins=INS_1)),
        _entry("GET", "Patient/nobody"),
        _entry("DELETE", "Patient/pat-1"),
    )

    result = _ok(client, bundle, "batch-response")

    statuses = [e["response"]["status"] for e in result]
    assert statuses == [
        "201 Created",
        f"422 {HTTPStatus(422).phrase}",  # Unprocessable Entity (Content in later Pythons)
        "412 Precondition Failed",
        "201 Created",
        "404 Not Found",
        "204 No Content",
    ]
    bad = result[1]["response"]["outcome"]
    assert bad["resourceType"] == "OperationOutcome"
    assert [e for i in bad["issue"] for e in i["expression"]] == ["Bundle.entry[1].resource.gender"]
    stale = result[2]["response"]["outcome"]
    assert stale["issue"][0]["expression"] == ["Bundle.entry[2].resource.meta.versionId"]
    assert result[4]["response"]["outcome"]["issue"][0]["expression"]
    _no_nulls(result)
    assert _count(client, "Patient") == 2  # pat-2 and the POSTed one; pat-1 deleted
    assert client.get("/fhir/Patient/pat-1").status_code == 410
    assert client.get("/fhir/Patient/pat-1/_history/1").json()["gender"] == "female"


def test_batch_if_match_right_version_updates(client: httpx.Client) -> None:
    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    bundle = _bundle(
        "batch",
        _entry("PUT", "Patient/pat-1", patient("Dupré", "Marie", gender="male", resource_id="pat-1"), ifMatch='W/"1"'),
    )
    [result] = _ok(client, bundle, "batch-response")
    assert result["response"]["status"] == "200 OK"
    assert result["response"]["etag"] == 'W/"2"'


def test_batch_get_entries_search_and_read(client: httpx.Client) -> None:
    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    bundle = _bundle("batch", _entry("GET", "Patient/pat-1"), _entry("GET", "Patient?family=dupre&_count=1"))
    result = _ok(client, bundle, "batch-response")
    assert result[0]["resource"]["id"] == "pat-1"
    assert result[0]["response"]["status"] == "200 OK"
    assert result[1]["resource"]["type"] == "searchset"
    assert ids(result[1]["resource"]) == ["Patient/pat-1"]

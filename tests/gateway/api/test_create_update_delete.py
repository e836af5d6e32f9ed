"""FHIR R4 §3.1.0.4 update, §3.1.0.7 create and §3.1.0.5 delete, over real HTTP.

Every error must be an OperationOutcome with at least one issue carrying an ``expression``.
"""

from __future__ import annotations

import httpx
from builders import (
    FHIR_JSON,
    IDNAT_PS,
    INS_NIR,
    assert_outcome,
    expressions,
    fhir_base,
    ids,
    organization,
    patient,
    practitioner,
    put,
    search,
)

from gateway.fhir.ids import deterministic_id

JSON_HEADERS = {"Content-Type": FHIR_JSON}


# -- §3.1.0.4 update --------------------------------------------------------------------------------------------------
def test_put_creates_with_201_then_updates_with_200(client: httpx.Client) -> None:
    """§3.1.0.4: update-as-create answers 201 Created; the next update 200 OK with the next versionId."""
    created = client.put("/fhir/Patient/pat-1", json=patient("Dupré", "Marie", resource_id="pat-1"))
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == 'W/"1"'
    assert created.headers["location"] == f"{fhir_base(client)}/Patient/pat-1/_history/1"
    assert created.json()["meta"]["versionId"] == "1"

    updated = client.put("/fhir/Patient/pat-1", json=patient("Dupré", "Marie", gender="other", resource_id="pat-1"))
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == 'W/"2"'
    assert updated.headers["location"] == f"{fhir_base(client)}/Patient/pat-1/_history/2"
    body = updated.json()
    assert (body["id"], body["gender"], body["meta"]["versionId"]) == ("pat-1", "other", "2")


def test_put_of_identical_content_makes_no_new_version(client: httpx.Client) -> None:
    """§3.1.0.4 (versioning): re-sending the same content changes nothing, even with a stale meta."""
    first = put(client, patient("Dupré", "Marie", resource_id="pat-2")).json()
    resent = patient("Dupré", "Marie", resource_id="pat-2")
    resent["meta"] = {"versionId": "7", "lastUpdated": "2020-01-01T00:00:00.000+01:00"}

    again = client.put("/fhir/Patient/pat-2", json=resent)

    assert again.status_code == 200, again.text
    assert again.headers["etag"] == 'W/"1"'
    assert again.json()["meta"] == first["meta"]
    history = client.get("/fhir/Patient/pat-2/_history").json()
    assert history["total"] == 1


def test_put_with_matching_if_match_updates(client: httpx.Client) -> None:
    """§3.1.0.4 / §3.1.0.6 (version aware update): If-Match equal to the current version -> 200."""
    put(client, patient("Dupré", "Marie", resource_id="pat-3"))
    body = patient("Dupré", "Marie", gender="male", resource_id="pat-3")

    response = client.put("/fhir/Patient/pat-3", json=body, headers={"If-Match": 'W/"1"'})

    assert response.status_code == 200, response.text
    assert response.json()["meta"]["versionId"] == "2"


def test_put_with_stale_if_match_is_412_and_changes_nothing(client: httpx.Client) -> None:
    """§3.1.0.6: If-Match that is not the current version -> 412 Precondition Failed, nothing written."""
    put(client, patient("Dupré", "Marie", resource_id="pat-4"))
    put(client, patient("Dupré", "Marie", gender="male", resource_id="pat-4"))
    body = patient("Dupré", "Marie", gender="other", resource_id="pat-4")

    response = client.put("/fhir/Patient/pat-4", json=body, headers={"If-Match": 'W/"1"'})

    issues = assert_outcome(response, 412)
    assert issues[0]["code"] == "conflict"
    assert expressions(response) == ["Patient.meta.versionId"]
    current = client.get("/fhir/Patient/pat-4").json()
    assert (current["gender"], current["meta"]["versionId"]) == ("male", "2")


def test_put_with_if_match_on_a_missing_resource_is_412(client: httpx.Client) -> None:
    """§3.1.0.6: a version-aware update of a resource that does not exist cannot match -> 412, nothing created."""
    body = patient("Dupré", "Marie", resource_id="pat-5")
    assert_outcome(client.put("/fhir/Patient/pat-5", json=body, headers={"If-Match": 'W/"1"'}), 412)
    assert_outcome(client.get("/fhir/Patient/pat-5"), 404)


def test_put_with_a_malformed_if_match_is_400(client: httpx.Client) -> None:
    put(client, patient("Dupré", "Marie", resource_id="pat-6"))
    body = patient("Dupré", "Marie", resource_id="pat-6")
    response = client.put("/fhir/Patient/pat-6", json=body, headers={"If-Match": "version-one"})
    assert_outcome(response, 400)
    assert expressions(response) == ["If-Match"]


def test_put_with_an_id_different_from_the_url_is_400(client: httpx.Client) -> None:
    """§3.1.0.4: the id in the body SHALL match the id in the URL, else 400."""
    response = client.put("/fhir/Patient/pat-7", json=patient("Dupré", "Marie", resource_id="pat-other"))
    assert_outcome(response, 400)
    assert expressions(response) == ["Patient.id"]
    assert_outcome(client.get("/fhir/Patient/pat-7"), 404)
    assert_outcome(client.get("/fhir/Patient/pat-other"), 404)


def test_put_without_an_id_in_the_body_is_400(client: httpx.Client) -> None:
    """§3.1.0.4: the resource SHALL have an id element with the same value as in the URL, else 400."""
    response = client.put("/fhir/Patient/pat-8", json=patient("Dupré", "Marie"))
    assert_outcome(response, 400)
    assert expressions(response) == ["Patient"]


def test_put_of_another_resource_type_is_rejected(client: httpx.Client) -> None:
    """§3.1.0.4: the body must be a resource of the type in the URL."""
    body = practitioner("10001234567", "Martin", "Paul", resource_id="pat-9")
    response = client.put("/fhir/Patient/pat-9", json=body)
    assert_outcome(response, 422)
    assert expressions(response) == ["resourceType"]
    assert_outcome(client.get("/fhir/Patient/pat-9"), 404)
    assert_outcome(client.get("/fhir/Practitioner/pat-9"), 404)


def test_put_of_an_invalid_resource_is_422_with_the_fhirpath(client: httpx.Client) -> None:
    """§3.1.0.4: a resource that breaks the FHIR rules is 422 Unprocessable Entity."""
    body = patient("Dupré", "Marie", gender="robot", resource_id="pat-10")
    response = client.put("/fhir/Patient/pat-10", json=body)
    assert_outcome(response, 422)
    assert expressions(response) == ["Patient.gender"]


def test_put_with_an_invalid_id_in_the_url_is_400(client: httpx.Client) -> None:
    body = patient("Dupré", "Marie", resource_id="bad_id")
    response = client.put("/fhir/Patient/bad_id", json=body)
    assert_outcome(response, 400)
    assert expressions(response) == ["Patient.id"]


def test_malformed_json_is_400_naming_line_and_column(client: httpx.Client) -> None:
    """§3.1.0.1.5 (content): a body that is not JSON is 400; the location gives the line and column."""
    text = b'{\n  "resourceType": "Patient",\n  "id": "pat-11",,\n}'
    response = client.put("/fhir/Patient/pat-11", content=text, headers=JSON_HEADERS)
    assert_outcome(response, 400)
    assert expressions(response) == ["body:line 3, column 18"]


def test_empty_body_is_400(client: httpx.Client) -> None:
    response = client.post("/fhir/Patient", content=b"", headers=JSON_HEADERS)
    assert_outcome(response, 400)
    assert expressions(response) == ["body"]


def test_unsupported_media_type_is_415(client: httpx.Client) -> None:
    """§3.1.0.1.6: a body in a format the server does not support is 415 Unsupported Media Type."""
    xml = b'<Patient xmlns="http://hl7.org/fhir"><id value="pat-12"/></Patient>'
    response = client.put("/fhir/Patient/pat-12", content=xml, headers={"Content-Type": "application/fhir+xml"})
    issues = assert_outcome(response, 415)
    assert issues[0]["code"] == "not-supported"
    assert expressions(response) == ["Content-Type"]


def _oversized_patient(resource_id: str) -> bytes:
    padding = "x" * (257 * 1024)
    return b'{"resourceType": "Patient", "id": "%s", "name": [{"text": "%s"}]}' % (
        resource_id.encode(),
        padding.encode(),
    )


def test_oversized_body_is_413(client: httpx.Client) -> None:
    """A body above the configured 256 KiB is refused with 413 and an OperationOutcome; nothing is stored."""
    response = client.put("/fhir/Patient/pat-13", content=_oversized_patient("pat-13"), headers=JSON_HEADERS)
    issues = assert_outcome(response, 413)
    assert issues[0]["code"] == "too-costly"
    assert expressions(response) == ["body"]
    assert_outcome(client.get("/fhir/Patient/pat-13"), 404)


def test_oversized_chunked_body_is_413(client: httpx.Client) -> None:
    """The limit also holds for a chunked upload that declares no Content-Length."""
    data = _oversized_patient("pat-14")

    def chunks() -> object:
        for start in range(0, len(data), 16 * 1024):
            yield data[start : start + 16 * 1024]

    response = client.put("/fhir/Patient/pat-14", content=chunks(), headers=JSON_HEADERS)  # type: ignore[arg-type]
    assert_outcome(response, 413)
    assert_outcome(client.get("/fhir/Patient/pat-14"), 404)


# -- §3.1.0.7 create --------------------------------------------------------------------------------------------------
def test_post_creates_with_201_location_and_a_server_assigned_id(client: httpx.Client) -> None:
    """§3.1.0.7: 201, Location [base]/[type]/[id]/_history/[vid]; the server assigns the id (a body id is ignored)."""
    body = patient("Dupré", "Marie", resource_id="client-chosen")

    response = client.post("/fhir/Patient", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "client-chosen"
    assert created["meta"]["versionId"] == "1"
    assert response.headers["location"] == f"{fhir_base(client)}/Patient/{created['id']}/_history/1"
    assert response.headers["etag"] == 'W/"1"'
    assert client.get(f"/fhir/Patient/{created['id']}").json() == created
    assert_outcome(client.get("/fhir/Patient/client-chosen"), 404)


def test_post_without_identifier_twice_creates_two_resources(client: httpx.Client) -> None:
    first = client.post("/fhir/Patient", json=patient("Dupré", "Marie")).json()
    second = client.post("/fhir/Patient", json=patient("Dupré", "Marie")).json()
    assert first["id"] != second["id"]
    assert search(client, "/fhir/Patient")["total"] == 2


def test_post_with_a_business_identifier_is_deterministic(client: httpx.Client) -> None:
    """Design (FhirService.business_id): the id derives from the first identifier, so a retried POST changes nothing.

    A repeat with the same content leaves version 1; a repeat with new content upserts version 2 under the same id.
    """
    body = practitioner("10001234567", "Martin", "Paul")
    expected_id = deterministic_id("Practitioner", None, IDNAT_PS, "810001234567")

    first = client.post("/fhir/Practitioner", json=body)
    again = client.post("/fhir/Practitioner", json=body)

    assert first.status_code == 201, first.text
    assert first.json()["id"] == expected_id
    assert again.status_code == 200, again.text
    assert again.json()["id"] == expected_id
    assert again.json()["meta"]["versionId"] == "1"
    changed = practitioner("10001234567", "Martin", "Pierre")
    third = client.post("/fhir/Practitioner", json=changed)
    assert third.status_code == 200, third.text
    assert (third.json()["id"], third.json()["meta"]["versionId"]) == (expected_id, "2")
    assert search(client, "/fhir/Practitioner")["total"] == 1


def test_post_with_prefer_return_minimal_has_no_body(client: httpx.Client) -> None:
    """§3.1.0.8.3 (Prefer return=minimal): 201 with Location and ETag, an empty body."""
    response = client.post(
        "/fhir/Organization", json=organization("690000001", "MSP Croix-Rousse"), headers={"Prefer": "return=minimal"}
    )
    assert response.status_code == 201
    assert response.content == b""
    expected_id = deterministic_id("Organization", None, "urn:oid:1.2.250.1.71.4.2.2", "1690000001")
    assert response.headers["location"] == f"{fhir_base(client)}/Organization/{expected_id}/_history/1"
    assert response.headers["etag"] == 'W/"1"'


def test_post_with_prefer_return_operation_outcome(client: httpx.Client) -> None:
    """§3.1.0.8.3 (Prefer return=OperationOutcome): the body is an OperationOutcome about the write."""
    response = client.post(
        "/fhir/Patient", json=patient("Dupré", "Marie"), headers={"Prefer": "return=OperationOutcome"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "information"
    resource_id = response.headers["location"].split("/fhir/Patient/")[1].split("/")[0]
    assert f"Patient/{resource_id} created (version 1)" in body["issue"][0]["diagnostics"]


def test_put_with_prefer_return_minimal_has_no_body(client: httpx.Client) -> None:
    body = patient("Dupré", "Marie", resource_id="pat-15")
    response = client.put("/fhir/Patient/pat-15", json=body, headers={"Prefer": "return=minimal"})
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["etag"] == 'W/"1"'


def test_post_of_an_invalid_resource_is_422_and_stores_nothing(client: httpx.Client) -> None:
    response = client.post("/fhir/Patient", json=patient("Dupré", "Marie", gender="robot", ins="248087512345621"))
    assert_outcome(response, 422)
    assert expressions(response) == ["Patient.gender"]
    assert search(client, "/fhir/Patient")["total"] == 0


def test_post_to_an_unknown_type_is_404(client: httpx.Client) -> None:
    response = client.post("/fhir/Banana", json={"resourceType": "Banana"})
    assert_outcome(response, 404)
    assert expressions(response) == ["Banana"]


# -- §3.1.0.5 delete --------------------------------------------------------------------------------------------------
def test_delete_is_204_then_read_is_410_search_excludes_and_history_records_it(client: httpx.Client) -> None:
    """§3.1.0.5: delete -> 204; read -> 410; search no longer finds it; history keeps a DELETE entry."""
    put(client, patient("Dupré", "Marie", ins="248087512345621", resource_id="pat-16"))
    put(client, patient("Dupré", "Jeanne", ins="248087512345622", resource_id="pat-17"))

    deleted = client.delete("/fhir/Patient/pat-16")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert deleted.headers["etag"] == 'W/"2"'
    assert_outcome(client.get("/fhir/Patient/pat-16"), 410)
    found = search(client, "/fhir/Patient", {"family": "dupre"})
    assert (found["total"], ids(found)) == (1, ["Patient/pat-17"])
    assert search(client, "/fhir/Patient", {"identifier": f"{INS_NIR}|248087512345621"})["total"] == 0
    history = client.get("/fhir/Patient/pat-16/_history").json()
    assert history["total"] == 2
    newest = history["entry"][0]
    assert newest["request"] == {"method": "DELETE", "url": "Patient/pat-16"}
    assert newest["response"]["status"].startswith("204")
    assert "resource" not in newest
    assert history["entry"][1]["resource"]["meta"]["versionId"] == "1"


def test_delete_twice_or_of_a_missing_resource_is_204_and_adds_no_version(client: httpx.Client) -> None:
    """§3.1.0.5: deleting a deleted or unknown resource succeeds (idempotent) and records nothing more."""
    put(client, patient("Dupré", "Marie", resource_id="pat-18"))
    assert client.delete("/fhir/Patient/pat-18").status_code == 204
    assert client.delete("/fhir/Patient/pat-18").status_code == 204
    assert client.delete("/fhir/Patient/never-existed").status_code == 204
    assert client.get("/fhir/Patient/pat-18/_history").json()["total"] == 2
    assert_outcome(client.get("/fhir/Patient/never-existed"), 404)


def test_delete_with_stale_if_match_is_412(client: httpx.Client) -> None:
    put(client, patient("Dupré", "Marie", resource_id="pat-19"))
    put(client, patient("Dupré", "Marie", gender="male", resource_id="pat-19"))
    response = client.delete("/fhir/Patient/pat-19", headers={"If-Match": 'W/"1"'})
    assert_outcome(response, 412)
    assert client.get("/fhir/Patient/pat-19").status_code == 200
    assert client.delete("/fhir/Patient/pat-19", headers={"If-Match": 'W/"2"'}).status_code == 204


def test_put_after_delete_recreates_with_the_next_version(client: httpx.Client) -> None:
    """§3.1.0.5: a deleted resource can be brought back by an update; versions keep counting."""
    put(client, patient("Dupré", "Marie", resource_id="pat-20"))
    assert client.delete("/fhir/Patient/pat-20").status_code == 204

    again = client.put("/fhir/Patient/pat-20", json=patient("Dupré", "Marie", resource_id="pat-20"))

    assert again.status_code == 201, again.text
    assert again.headers["etag"] == 'W/"3"'
    assert again.json()["meta"]["versionId"] == "3"
    assert client.get("/fhir/Patient/pat-20").json()["meta"]["versionId"] == "3"
    assert ids(search(client, "/fhir/Patient", {"_id": "pat-20"})) == ["Patient/pat-20"]
    history = client.get("/fhir/Patient/pat-20/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "DELETE", "PUT"]


def test_delete_of_an_unknown_type_is_404(client: httpx.Client) -> None:
    response = client.delete("/fhir/Banana/b1")
    assert_outcome(response, 404)
    assert expressions(response) == ["Banana"]

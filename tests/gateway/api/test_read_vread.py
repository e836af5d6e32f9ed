"""FHIR R4 §3.1.0.2 read and §3.1.0.3 vread, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from builders import FHIR_JSON, assert_outcome, expressions, patient, practitioner, put


def _millis_floor(instant: str) -> datetime:
    return datetime.fromisoformat(instant).replace(microsecond=0)


def test_read_returns_the_current_version_with_etag_and_last_modified(client: httpx.Client) -> None:
    """§3.1.0.2: 200, the resource, ETag W/"versionId" and Last-Modified equal to meta.lastUpdated."""
    put(client, patient("Dupré", "Marie", resource_id="pat-1"))
    put(client, patient("Dupré", "Marie", gender="other", resource_id="pat-1"))

    response = client.get("/fhir/Patient/pat-1")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "Patient"
    assert body["id"] == "pat-1"
    assert body["gender"] == "other"
    assert body["meta"]["versionId"] == "2"
    assert response.headers["etag"] == 'W/"2"'
    last_modified = parsedate_to_datetime(response.headers["last-modified"])
    assert last_modified.tzinfo is not None
    assert last_modified.astimezone(UTC) == _millis_floor(body["meta"]["lastUpdated"]).astimezone(UTC)


def test_read_of_an_unknown_id_is_404_operation_outcome(client: httpx.Client) -> None:
    """§3.1.0.2: an unknown resource is 404 with an OperationOutcome."""
    issues = assert_outcome(client.get("/fhir/Patient/nobody-here"), 404)
    assert issues[0]["code"] == "not-found"
    assert "Patient/nobody-here" in issues[0]["diagnostics"]


def test_read_of_an_unknown_type_is_404_operation_outcome(client: httpx.Client) -> None:
    """§3.1.0.2 / §3.1.0.1.5: a type the server does not support is 404, as an OperationOutcome."""
    response = client.get("/fhir/Banana/b1")
    issues = assert_outcome(response, 404)
    assert issues[0]["code"] == "not-found"
    assert expressions(response) == ["Banana"]


def test_read_after_delete_is_410_gone(client: httpx.Client) -> None:
    """§3.1.0.2: a deleted resource is 410 Gone (an OperationOutcome) and the ETag names the deletion version."""
    put(client, practitioner("10001234567", "Martin", "Paul", resource_id="prac-1"))
    assert client.delete("/fhir/Practitioner/prac-1").status_code == 204

    response = client.get("/fhir/Practitioner/prac-1")

    issues = assert_outcome(response, 410)
    assert issues[0]["code"] == "deleted"
    assert response.headers["etag"] == 'W/"2"'


def test_vread_returns_each_old_version_as_it_was(client: httpx.Client) -> None:
    """§3.1.0.3: GET [type]/[id]/_history/[vid] gives that version, with its own ETag and Last-Modified."""
    put(client, patient("Dupré", "Marie", birth_date="1948-08-12", resource_id="pat-2"))
    put(client, patient("Dupré", "Marie", birth_date="1948-08-13", resource_id="pat-2"))
    put(client, patient("Dupré-Leroy", "Marie", birth_date="1948-08-13", resource_id="pat-2"))

    bodies = {}
    for version in ("1", "2", "3"):
        response = client.get(f"/fhir/Patient/pat-2/_history/{version}")
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == f'W/"{version}"'
        bodies[version] = response.json()
        assert bodies[version]["meta"]["versionId"] == version
        modified = parsedate_to_datetime(response.headers["last-modified"]).astimezone(UTC)
        assert modified == _millis_floor(bodies[version]["meta"]["lastUpdated"]).astimezone(UTC)

    assert bodies["1"]["birthDate"] == "1948-08-12"
    assert bodies["2"]["birthDate"] == "1948-08-13"
    assert bodies["2"]["name"][0]["family"] == "Dupré"
    assert bodies["3"]["name"][0]["family"] == "Dupré-Leroy"
    assert bodies["3"] == client.get("/fhir/Patient/pat-2").json()


def test_vread_of_an_unknown_version_is_404(client: httpx.Client) -> None:
    """§3.1.0.3: a version that does not exist (or is not a version number) is 404."""
    put(client, patient("Dupré", "Marie", resource_id="pat-3"))
    assert_outcome(client.get("/fhir/Patient/pat-3/_history/2"), 404)
    assert_outcome(client.get("/fhir/Patient/pat-3/_history/first"), 404)
    assert_outcome(client.get("/fhir/Patient/no-such/_history/1"), 404)
    assert_outcome(client.get("/fhir/Banana/pat-3/_history/1"), 404)


def test_vread_of_a_deletion_is_410_while_earlier_versions_stay_readable(client: httpx.Client) -> None:
    """§3.1.0.3: the version recording a deletion is 410 Gone; the versions before it can still be read."""
    put(client, patient("Dupré", "Marie", resource_id="pat-4"))
    assert client.delete("/fhir/Patient/pat-4").status_code == 204

    issues = assert_outcome(client.get("/fhir/Patient/pat-4/_history/2"), 410)
    assert issues[0]["code"] == "deleted"
    first = client.get("/fhir/Patient/pat-4/_history/1")
    assert first.status_code == 200
    assert first.json()["name"][0]["family"] == "Dupré"

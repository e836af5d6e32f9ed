"""``POST /ingest/{format}`` over real HTTP: 202 with a job once the payload is committed, then the job's report."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from tests.gateway.ingest.test_fhir_bundles import agenda_bundle

TENANT = "350000014"


def wait_for(client: httpx.Client, href: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        report: dict[str, Any] = client.get(href).json()
        if report["status"] in ("done", "rejected"):
            return report
        time.sleep(0.05)
    raise AssertionError(f"{href} did not finish")


def test_a_bundle_is_acknowledged_with_202_and_processed_by_the_worker(client: httpx.Client) -> None:
    response = client.post(f"/ingest/fhir?tenant={TENANT}", content=orjson.dumps(agenda_bundle()))
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == body["href"] == f"/ingest/jobs/{body['id']}"
    report = wait_for(client, body["href"])
    assert report["counts"] == {"accepted": 3, "duplicate": 0, "rejected": 0}
    slot = report["records"][2]["resources"][0]
    assert client.get(f"/fhir/{slot.rsplit('/_history', 1)[0]}").status_code == 200


def test_the_same_idempotency_key_returns_the_first_job(client: httpx.Client) -> None:
    payload = orjson.dumps(agenda_bundle())
    headers = {"Idempotency-Key": "export-2026-03-02"}
    first = client.post(f"/ingest/fhir?tenant={TENANT}", content=payload, headers=headers)
    again = client.post(f"/ingest/fhir?tenant={TENANT}", content=payload, headers=headers)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    other = client.post(f"/ingest/fhir?tenant={TENANT}", content=payload + b" ", headers=headers)
    assert other.status_code == 409
    assert other.json()["resourceType"] == "OperationOutcome"
    assert wait_for(client, first.json()["href"])["counts"]["accepted"] == 3  # one job, processed once


def test_bad_requests_get_an_operation_outcome_with_a_location(client: httpx.Client) -> None:
    cases = [
        (f"/ingest/xml?tenant={TENANT}", b"<a/>", 404, "format"),
        ("/ingest/fhir", b"{}", 400, "tenant"),
        (f"/ingest/csv?tenant={TENANT}", b"a;b\n1;2\n", 400, "export"),
        (f"/ingest/csv?tenant={TENANT}&export=unknown", b"a;b\n1;2\n", 400, "export"),
        (f"/ingest/fhir?tenant={TENANT}", b"", 400, "body"),
    ]
    for url, body, status, location in cases:
        response = client.post(url, content=body)
        assert response.status_code == status, (url, response.text)
        issue = response.json()["issue"][0]
        assert issue["expression"] == [location], (url, issue)


def test_an_unknown_job_is_404(client: httpx.Client) -> None:
    response = client.get("/ingest/jobs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_payload_refused_as_a_whole_reports_why(client: httpx.Client) -> None:
    response = client.post(f"/ingest/fhir?tenant={TENANT}", content=b'{"resourceType": "Bundle", "type": "searchset"}')
    report = wait_for(client, response.json()["href"])
    assert report["status"] == "rejected"
    assert report["summary"]["error"]["location"] == ["Bundle.type"]

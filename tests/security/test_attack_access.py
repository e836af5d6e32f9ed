"""Attacks on the way in: no token, a broken header, scope escalation, another tenant's ingest, flooding."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from security.ratelimit import RateLimiter
from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import IPP_A, patient, refused

SLOT = {
    "resourceType": "Slot",
    "id": "s1",
    "schedule": {"reference": "Schedule/x"},
    "status": "free",
    "start": "2026-11-23T09:00:00+01:00",
    "end": "2026-11-23T09:15:00+01:00",
}


@pytest.mark.parametrize(
    "path", ["/fhir/Slot", "/fhir/Patient/x", "/fhir/_history", "/ingest/jobs/x", "/audit/events", "/metrics"]
)
def test_attack_no_token(ids: Identities, anonymous: httpx.Client, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"
    if not path.startswith("/metrics"):
        event = ids.audited(response.headers["x-request-id"])
        assert event["outcome"] == "4" and "SEC-UNAUTHENTICATED" in str(event)


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Token abc", "Bearer e30.e30.x"]
)
def test_attack_malformed_authorization(anonymous: httpx.Client, header: str) -> None:
    response = anonymous.get("/fhir/Slot", headers={"Authorization": header})
    assert response.status_code == 401, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "Traceback" not in response.text


def test_public_endpoints_need_no_token(anonymous: httpx.Client) -> None:
    for path in ("/healthz", "/fhir/metadata", "/.well-known/smart-configuration", "/oauth/jwks"):
        assert anonymous.get(path).status_code == 200, path


def test_attack_scope_escalation(ids: Identities) -> None:
    reader = ids.centre(CENTRE_A, name="slot-reader", scopes="system/Slot.rs")
    assert reader.get("/fhir/Slot").status_code == 200
    refused(reader.put("/fhir/Slot/s1", json=SLOT), ids, code="SEC-SCOPE")
    refused(reader.get("/fhir/Patient"), ids, code="SEC-SCOPE")
    entry = {"resource": patient("p", IPP_A, "X"), "request": {"method": "PUT", "url": "Patient/p"}}
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    refused(reader.post("/fhir", json=transaction), ids, code="SEC-SCOPE")
    v1 = ids.centre(CENTRE_A, name="v1-reader", scopes="system/*.read")
    assert v1.get("/fhir/Patient").status_code == 200
    refused(v1.delete("/fhir/Slot/s1"), ids, code="SEC-SCOPE")


def test_attack_role_escalation_through_scopes(ids: Identities) -> None:
    # a coordinator asking for write scopes gets none of them: its role cannot write
    token = ids.token("coord-w", "coordinator", scopes="system/Slot.rs system/Slot.cud", registered="system/*.cruds")
    http = httpx.Client(base_url=ids.base, headers={"Authorization": f"Bearer {token}"})
    refused(http.put("/fhir/Slot/s1", json=SLOT), ids, code="SEC-")
    http.close()


def test_attack_ingest_into_another_centre(ids: Identities) -> None:
    a = ids.centre(CENTRE_A)
    csv = b"id;nom\n1;x\n"
    refused(a.post(f"/ingest/csv?export=practitioners&tenant={CENTRE_B}", content=csv), ids, code="SEC-TENANT")
    coordinator = ids.client("coord-ingest", "coordinator")
    refused(coordinator.post(f"/ingest/csv?export=practitioners&tenant={CENTRE_B}", content=csv), ids, code="SEC-ROLE")
    accepted = a.post("/ingest/hl7v2", content=b"MSH|^~\\&|X|Y\r")
    assert accepted.status_code == 202
    job = accepted.json()["href"]
    b = ids.centre(CENTRE_B)
    assert b.get(job).status_code == 404  # another centre's job is not found
    assert a.get(job).status_code == 200


def test_attack_flooding_is_throttled(ids: Identities, secure_app: Any) -> None:
    a = ids.centre(CENTRE_A, name="flooder")
    # the server's limiter with a small burst, so that the flood outruns the refill on any machine: after n requests
    # at most 5 + n x (seconds per request) tokens came back, fewer than n unless a request took over a second
    secure_app.state.rate_limiter = RateLimiter(per_minute=60, burst=5)
    limited = None
    for _ in range(100):
        response = a.get("/fhir/Slot?_count=1")
        if response.status_code == 429:
            limited = response
            break
    assert limited is not None, "no 429 within 100 requests"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["issue"][0]["code"] == "throttled"
    other = ids.centre(CENTRE_B, name="neighbour")  # limits are per client
    assert other.get("/fhir/Slot?_count=1").status_code == 200

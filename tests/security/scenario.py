"""The small territory of the security tests: two centres, their patients, a care team, consents, and helpers to
write resources and to check that a refusal is an audited OperationOutcome."""

from __future__ import annotations

from typing import Any

import httpx

from tests.security.identities import CENTRE_A, CENTRE_B, Identities

IPP_A = f"urn:cpts-gateway:ipp:{CENTRE_A}"
IPP_B = f"urn:cpts-gateway:ipp:{CENTRE_B}"


def patient(pid: str, system: str, family: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "identifier": [{"system": system, "value": pid}],
            "name": [{"family": family, "given": ["Jeanne"]}]}  # fmt: skip


def appointment(aid: str, patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": aid,
        "status": "booked",
        "start": "2026-11-23T09:00:00+01:00",
        "end": "2026-11-23T09:15:00+01:00",
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    }


def put(http: httpx.Client, resource: dict[str, Any]) -> httpx.Response:
    response = http.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.text
    return response


def refused(response: httpx.Response, ids: Identities, status: int = 403, code: str = "SEC-TENANT") -> None:
    """Refused with an OperationOutcome carrying the reason code, and audited as a denial."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert code in str(body)
    assert "Traceback" not in response.text and "SELECT" not in response.text
    event = ids.audited(response.headers["x-request-id"])
    assert event["outcome"] == "4"
    assert code in str(event)


NURSE_PS = "810000000002"
GP_PS = "810000000003"
PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"


def consent(cid: str, patient_id: str, decision: str, when: str, actor_ps: str | None = None) -> dict[str, Any]:
    provision: dict[str, Any] = {"type": decision}
    if actor_ps:
        reference = {"type": "Practitioner", "identifier": {"system": PS_SYSTEM, "value": actor_ps}}
        provision["actor"] = [
            {
                "role": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]
                },
                "reference": reference,
            }
        ]
    return {
        "resourceType": "Consent",
        "id": cid,
        "status": "active",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]},
            {"coding": [{"system": "urn:cpts-gateway:consent-category", "code": "sharing"}]},
        ],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": when,
        "policyRule": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "OPTIN" if decision == "permit" else "OPTOUT",
                }
            ]
        },
        "provision": provision,
    }

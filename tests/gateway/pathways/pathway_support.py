"""The small territory of the pathway scenarios: centre A holds the patient and its GP, centre B a nurse; the
protocols are published as at start-up (the tables were emptied after the session's server started)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gateway.pathways.loader import publish_protocols, read_protocols
from tests.security.identities import CENTRE_A, CENTRE_B, Identities

GP_PS, NURSE_PS = "810000000071", "810000000072"
PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
FINESS = "https://finess.esante.gouv.fr"
G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
PATIENT = "pw-patient"
DIABETES = "cpts-diabetes-t2"


@dataclass
class Territory:
    centre_a: httpx.Client
    centre_b: httpx.Client
    gp: httpx.Client
    nurse: httpx.Client


def put(http: httpx.Client, resource: dict[str, Any]) -> httpx.Response:
    response = http.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.text
    return response


def role(rid: str, practitioner: str, organization: str, profession: str) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "id": rid,
        "practitioner": {"reference": f"Practitioner/{practitioner}"},
        "organization": {"reference": f"Organization/{organization}"},
        "code": [{"coding": [{"system": G15, "code": profession}]}],
    }


def organization(oid: str, finess: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": oid, "identifier": [{"system": FINESS, "value": finess}],
            "name": f"Centre {finess}"}  # fmt: skip


def territory(ids: Identities) -> Territory:
    publish_protocols(ids.engine, ids.settings, read_protocols())
    ids.seed_shared(
        {"resourceType": "Practitioner", "id": "pw-pr-gp", "identifier": [{"system": PS_SYSTEM, "value": GP_PS}]},
        {"resourceType": "Practitioner", "id": "pw-pr-nurse", "identifier": [{"system": PS_SYSTEM, "value": NURSE_PS}]},
    )
    a, b = ids.centre(CENTRE_A), ids.centre(CENTRE_B)
    put(a, organization("pw-org-a", CENTRE_A))
    put(a, role("pw-role-gp", "pw-pr-gp", "pw-org-a", "10"))
    put(b, organization("pw-org-b", CENTRE_B))
    put(b, role("pw-role-nurse", "pw-pr-nurse", "pw-org-b", "60"))
    put(
        a,
        {
            "resourceType": "Patient",
            "id": PATIENT,
            "identifier": [{"system": f"urn:cpts-gateway:ipp:{CENTRE_A}", "value": "PW1"}],
            "name": [{"family": "Parcours", "given": ["Jeanne"]}],
            "generalPractitioner": [{"reference": "PractitionerRole/pw-role-gp"}],
        },
    )
    return Territory(
        a,
        b,
        ids.practitioner("pw-gp", GP_PS, [CENTRE_A], "10"),
        ids.practitioner("pw-nurse", NURSE_PS, [CENTRE_B], "60"),
    )


def referral(tid: str, due: str, *, status: str = "requested", based_on: str | None = None) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": tid,
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": "urn:cpts-gateway:task-type", "code": "referral", "display": "Adressage"}]},
        "focus": {"reference": f"ServiceRequest/{tid}-sr"},
        "for": {"reference": f"Patient/{PATIENT}"},
        "authoredOn": "2026-01-15T09:00:00+01:00",
        "requester": {"reference": "PractitionerRole/pw-role-gp"},
        "owner": {"reference": "PractitionerRole/pw-role-nurse"},
        "restriction": {"period": {"end": due}},
    }
    if based_on:
        task["basedOn"] = [{"reference": based_on}]
    return task


def service_request(sid: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": "active",
        "intent": "order",
        "code": {"text": "Séances d'éducation thérapeutique infirmière"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "requester": {"reference": "PractitionerRole/pw-role-gp"},
        "performer": [{"reference": "PractitionerRole/pw-role-nurse"}],
    }


def refer(gp: httpx.Client, tid: str, due: str, based_on: str | None = None) -> None:
    """The GP sends the referral: the ServiceRequest and its Task in one transaction."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": service_request(f"{tid}-sr"), "request": {"method": "PUT", "url": f"ServiceRequest/{tid}-sr"}},
            {"resource": referral(tid, due, based_on=based_on), "request": {"method": "PUT", "url": f"Task/{tid}"}},
        ],
    }
    response = gp.post("/fhir", json=bundle)
    assert response.status_code == 200, response.text


def move(http: httpx.Client, tid: str, status: str) -> httpx.Response:
    """Read the Task and write it back with a new status."""
    current = http.get(f"/fhir/Task/{tid}")
    assert current.status_code == 200, current.text
    return http.put(f"/fhir/Task/{tid}", json={**current.json(), "status": status})

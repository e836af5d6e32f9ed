"""Small builders of valid FHIR R4 resources (French directory flavour) and helpers for the HTTP tests.

Identifiers follow the French conventions: idNat_PS (RPPS-based) for professionals, idNat_Struct (FINESS) for
structures, INS-NIR for patients. Every builder returns a fresh dict that ``gateway.fhir.validation`` accepts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"  # idNat_PS (RPPS)
IDNAT_STRUCT = "urn:oid:1.2.250.1.71.4.2.2"  # idNat_Struct (FINESS / SIRET)
INS_NIR = "urn:oid:1.2.250.1.213.1.4.10"  # INS-NIR (test OID)
SPECIALTY = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
PROFESSION = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
GENERAL_PRACTICE = "SM54"  # Médecine générale
CARDIOLOGY = "SM04"  # Cardiologie et maladies vasculaires
FHIR_JSON = "application/fhir+json"

Resource = dict[str, Any]


def _with_id(resource: Resource, resource_id: str | None) -> Resource:
    return {"resourceType": resource["resourceType"], "id": resource_id, **resource} if resource_id else resource


def practitioner(rpps: str, family: str, given: str, *, resource_id: str | None = None) -> Resource:
    """A Practitioner identified by its idNat_PS (``8`` + RPPS)."""
    return _with_id(
        {
            "resourceType": "Practitioner",
            "identifier": [{"use": "official", "system": IDNAT_PS, "value": f"8{rpps}"}],
            "active": True,
            "name": [{"use": "official", "family": family, "given": [given], "prefix": ["DR"]}],
        },
        resource_id,
    )


def practitioner_role(
    practitioner_id: str,
    *,
    specialty: str = GENERAL_PRACTICE,
    organization_id: str | None = None,
    resource_id: str | None = None,
) -> Resource:
    role: Resource = {
        "resourceType": "PractitionerRole",
        "active": True,
        "practitioner": {"reference": f"Practitioner/{practitioner_id}"},
        "code": [{"coding": [{"system": PROFESSION, "code": "10", "display": "Médecin"}]}],
        "specialty": [{"coding": [{"system": SPECIALTY, "code": specialty}]}],
    }
    if organization_id:
        role["organization"] = {"reference": f"Organization/{organization_id}"}
    return _with_id(role, resource_id)


def organization(finess: str, name: str, *, resource_id: str | None = None) -> Resource:
    return _with_id(
        {
            "resourceType": "Organization",
            "identifier": [{"system": IDNAT_STRUCT, "value": f"1{finess}"}],
            "active": True,
            "name": name,
            "address": [{"line": ["12 rue de la République"], "city": "Lyon", "postalCode": "69002"}],
        },
        resource_id,
    )


def patient(
    family: str,
    given: str,
    *,
    gender: str | None = "female",
    birth_date: str | None = "1948-08-12",
    ins: str | None = None,
    resource_id: str | None = None,
) -> Resource:
    resource: Resource = {
        "resourceType": "Patient",
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
    }
    if ins:
        resource["identifier"] = [{"use": "official", "system": INS_NIR, "value": ins}]
    if gender:
        resource["gender"] = gender
    if birth_date:
        resource["birthDate"] = birth_date
    return _with_id(resource, resource_id)


def schedule(actors: list[str], *, resource_id: str | None = None) -> Resource:
    """A Schedule whose actors are ``Type/id`` references."""
    return _with_id(
        {"resourceType": "Schedule", "active": True, "actor": [{"reference": actor} for actor in actors]},
        resource_id,
    )


def slot(
    schedule_id: str,
    start: str,
    *,
    minutes: int = 30,
    status: str = "free",
    resource_id: str | None = None,
) -> Resource:
    """A Slot of ``schedule_id``; ``start`` is an instant with seconds and an offset."""
    end = (datetime.fromisoformat(start) + timedelta(minutes=minutes)).isoformat()
    return _with_id(
        {
            "resourceType": "Slot",
            "schedule": {"reference": f"Schedule/{schedule_id}"},
            "status": status,
            "start": start,
            "end": end,
        },
        resource_id,
    )


def appointment(patient_reference: str, practitioner_reference: str, start: str) -> Resource:
    end = (datetime.fromisoformat(start) + timedelta(minutes=20)).isoformat()
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": start,
        "end": end,
        "participant": [
            {"actor": {"reference": patient_reference}, "status": "accepted"},
            {"actor": {"reference": practitioner_reference}, "status": "accepted"},
        ],
    }


# -- helpers over HTTP ------------------------------------------------------------------------------------------------
def fhir_base(client: httpx.Client) -> str:
    """The FHIR base URL the server puts in Location headers, fullUrls and links."""
    return str(client.base_url).rstrip("/") + "/fhir"


def put(client: httpx.Client, resource: Resource, **headers: str) -> httpx.Response:
    """PUT a resource that carries its id; fails the test unless the server stored it."""
    response = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response


def put_all(client: httpx.Client, *resources: Resource) -> None:
    for resource in resources:
        put(client, resource)


def assert_outcome(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    """The response has this status and an OperationOutcome body whose issues all carry an ``expression``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issues: list[dict[str, Any]] = body["issue"]
    assert issues, body
    assert any(issue.get("expression") for issue in issues), body
    return issues


def expressions(response: httpx.Response) -> list[str]:
    return [e for issue in response.json()["issue"] for e in issue.get("expression", [])]


def entries(bundle: Resource, mode: str | None = "match") -> list[Resource]:
    return [e for e in bundle.get("entry", []) if mode is None or e.get("search", {}).get("mode") == mode]


def ids(bundle: Resource, mode: str | None = "match") -> list[str]:
    """``Type/id`` of the bundle's entries with this search mode, in order."""
    return [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries(bundle, mode)]


def link(bundle: Resource, relation: str) -> str | None:
    return next((item["url"] for item in bundle.get("link", []) if item["relation"] == relation), None)


def search(client: httpx.Client, path: str, params: Any = None, **headers: str) -> Resource:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: Resource = response.json()
    assert body["resourceType"] == "Bundle"
    return body

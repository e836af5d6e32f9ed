"""FHIR R4 §3.1.0.12 capabilities: ``GET [base]/metadata`` returns the CapabilityStatement of what is served."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from builders import FHIR_JSON

from gateway.errors import ValidationFailed
from gateway.fhir.validation import validate_resource

RESOURCE_TYPES = [
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "HealthcareService",
    "Schedule",
    "Slot",
    "Appointment",
    "CareTeam",
    "CarePlan",
    "PlanDefinition",
    "Task",
    "ServiceRequest",
    "Consent",
    "Measure",
    "MeasureReport",
    "Provenance",
    "AuditEvent",
    "ChargeItem",
    "Claim",
    "ClaimResponse",
    "Communication",
    "Subscription",
]
TYPE_INTERACTIONS = {
    "read",
    "vread",
    "update",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
}


@pytest.fixture
def capability(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    return body


def _resources(capability: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["type"]: r for r in capability["rest"][0]["resource"]}


def _param_names(resource: dict[str, Any]) -> set[str]:
    return {p["name"] for p in resource["searchParam"]}


def test_capability_statement_basics(capability: dict[str, Any], client: httpx.Client) -> None:
    assert capability["resourceType"] == "CapabilityStatement"
    assert capability["fhirVersion"] == "4.0.1"
    assert capability["kind"] == "instance"
    assert capability["status"] == "active"
    assert "application/fhir+json" in capability["format"]
    assert capability["implementation"]["url"] == str(client.base_url).rstrip("/") + "/fhir"
    assert len(capability["rest"]) == 1
    assert capability["rest"][0]["mode"] == "server"


def test_capability_statement_is_valid_fhir(capability: dict[str, Any]) -> None:
    """The statement must itself be valid FHIR R4 (no empty arrays, required elements present).

    One known validator false positive is set aside: ``fhir.resources`` lists the codes of ``format`` as
    (formats, json, ttl, mime) -- a mangled "xml | json | ttl | mime type" -- although R4 binds it to MimeType, which
    allows ``application/fhir+json``.
    """
    try:
        validate_resource(capability, expected_type="CapabilityStatement")
    except ValidationFailed as exc:
        real = [i for i in exc.issues if not all(e.startswith("CapabilityStatement.format[") for e in i.expression)]
        assert real == [], [i.diagnostics for i in real]
    assert capability["format"] == ["application/fhir+json", "json"]


def test_lists_exactly_the_24_resource_types(capability: dict[str, Any]) -> None:
    assert [r["type"] for r in capability["rest"][0]["resource"]] == RESOURCE_TYPES


@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_each_type_has_every_interaction(capability: dict[str, Any], resource_type: str) -> None:
    resource = _resources(capability)[resource_type]
    codes = [i["code"] for i in resource["interaction"]]
    assert set(codes) == TYPE_INTERACTIONS
    assert len(codes) == len(TYPE_INTERACTIONS)
    assert resource["versioning"] == "versioned-update"
    assert resource["readHistory"] is True
    assert resource["updateCreate"] is True
    assert {"_id", "_lastUpdated"} <= _param_names(resource)


def test_system_interactions(capability: dict[str, Any]) -> None:
    codes = {i["code"] for i in capability["rest"][0]["interaction"]}
    assert codes == {"transaction", "batch", "history-system"}


def test_search_parameters_come_from_the_registry(capability: dict[str, Any]) -> None:
    resources = _resources(capability)
    slot = resources["Slot"]
    assert {"start", "end", "schedule", "status", "service-type", "service-type-reference", "identifier"} <= (
        _param_names(slot)
    )
    types = {p["name"]: p["type"] for p in slot["searchParam"]}
    assert types["start"] == "date"
    assert types["schedule"] == "reference"
    assert types["status"] == "token"
    assert types["service-type-reference"] == "reference"
    assert "Slot:schedule" in slot["searchInclude"]
    assert {"specialty", "practitioner", "organization"} <= _param_names(resources["PractitionerRole"])
    assert {"actor", "date", "service-type"} <= _param_names(resources["Schedule"])
    assert {"identifier", "family", "given", "birthdate", "gender"} <= _param_names(resources["Patient"])
    assert "PractitionerRole:practitioner" in resources["Practitioner"]["searchRevInclude"]
    assert "Slot:schedule" in resources["Schedule"]["searchRevInclude"]
    assert "birthdate" not in _param_names(slot)


def test_every_advertised_parameter_is_searchable(client: httpx.Client, capability: dict[str, Any]) -> None:
    """What the statement lists must be accepted under strict handling (a :missing test works for every type)."""
    for resource_type, resource in _resources(capability).items():
        for name in _param_names(resource):
            params = {f"{name}:missing": "true"}
            response = client.get(f"/fhir/{resource_type}", params=params, headers={"Prefer": "handling=strict"})
            assert response.status_code == 200, (resource_type, name, response.text)

"""Enrolment of a patient in a protocol: the CarePlan, one per patient and protocol, with its dated activities.

``POST /fhir/PlanDefinition/{id}/$apply?subject=Patient/<id>[&start=<date>][&practitioner=PractitionerRole/<id>]``
builds the CarePlan from the stored PlanDefinition (gateway/pathways/schedule.py lays out the activities) and stores
it; the write rules (gateway/pathways/writes.py) put the patient's cercle de soins in the same transaction. Its id
is deterministic from (patient, protocol), as is that of a pathway CarePlan POSTed without identifier, so enrolling
twice changes nothing: an active enrolment is answered as it is (200), with the activities the centres updated.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from gateway.errors import InvalidRequest
from gateway.fhir.ids import deterministic_id
from gateway.pathways.protocols import URL_PREFIX
from gateway.pathways.schedule import plan_activities
from gateway.storage.db import read_transaction
from gateway.storage.indexer import parse_reference
from gateway.storage.store import StoredResource, WriteItem

if TYPE_CHECKING:
    from gateway.fhir.service import FhirResponse, FhirService
    from security.principal import Principal

ENROLMENT_SYSTEM = "urn:cpts-gateway:enrolment"
CATEGORY = {"coding": [{"system": "urn:cpts-gateway:careplan-category", "code": "pathway", "display": "Parcours CPTS"}]}


def enrolment_id(careplan: dict[str, Any]) -> str | None:
    """The id of the enrolment of ``subject`` in the protocol of ``instantiatesCanonical``, when both are there."""
    subject = careplan.get("subject")
    literal = subject.get("reference") if isinstance(subject, dict) else None
    target_type, patient = parse_reference(literal) if isinstance(literal, str) else (None, None)
    canonicals = [c for c in careplan.get("instantiatesCanonical", []) if isinstance(c, str)]
    protocols = [c.split("|", 1)[0].removeprefix(URL_PREFIX) for c in canonicals if c.startswith(URL_PREFIX)]
    if target_type != "Patient" or not patient or not protocols:
        return None
    return deterministic_id("CarePlan", None, ENROLMENT_SYSTEM, f"Patient/{patient}", protocols[0])


def build_careplan(
    plan_definition: dict[str, Any], patient: str, start: date, author: str | None = None
) -> dict[str, Any]:
    """The enrolment's CarePlan (status active, intent plan, category pathway) with every activity laid out."""
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "instantiatesCanonical": [f"{plan_definition['url']}|{plan_definition.get('version', '')}".rstrip("|")],
        "status": "active",
        "intent": "plan",
        "category": [copy.deepcopy(CATEGORY)],
        "title": plan_definition.get("title", plan_definition["id"]),
        "subject": {"reference": f"Patient/{patient}"},
        "period": {"start": start.isoformat()},
    }
    if author:
        resource["author"] = {"reference": author}
    resource["activity"] = plan_activities(plan_definition, start)
    resource["id"] = enrolment_id(resource)
    return resource


def _one(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in pairs if k == name]
    if len(values) > 1:
        raise InvalidRequest(f"{name} is given {len(values)} times; give it once", expression=f"parameter:{name}")
    return values[0].strip() if values else None


def _reference(text: str | None, name: str, types: tuple[str, ...]) -> str | None:
    if text is None:
        return None
    target_type, target_id = parse_reference(text)
    if target_type not in types or not target_id:
        raise InvalidRequest(
            f"{name} must be a reference {' or '.join(t + '/<id>' for t in types)}, not {text!r}",
            expression=f"parameter:{name}",
        )
    return f"{target_type}/{target_id}"


def apply(
    service: FhirService, principal: Principal, plan_id: str, pairs: Sequence[tuple[str, str]], base: str
) -> FhirResponse:
    """The ``$apply`` operation (module docstring)."""
    from gateway.fhir.service import FhirResponse, resource_headers

    subject = _reference(_one(pairs, "subject"), "subject", ("Patient",))
    if subject is None:
        raise InvalidRequest("subject=Patient/<id> is required: the patient to enrol", expression="parameter:subject")
    author = _reference(_one(pairs, "practitioner"), "practitioner", ("PractitionerRole", "Practitioner"))
    raw_start = _one(pairs, "start")
    try:
        start = date.fromisoformat(raw_start) if raw_start else datetime.now(UTC).astimezone(service.settings.tz).date()
    except ValueError as exc:
        raise InvalidRequest(
            f"start must be a date YYYY-MM-DD, not {raw_start!r}", expression="parameter:start"
        ) from exc
    if not date(1900, 1, 1) <= start <= date(2199, 12, 31):
        raise InvalidRequest("start must be between 1900-01-01 and 2199-12-31", expression="parameter:start")
    protocol = service.read(principal, "PlanDefinition", plan_id, base).body
    service.read(principal, "Patient", subject.split("/", 1)[1], base)  # 404, or 403 when consent hides the patient
    assert isinstance(protocol, StoredResource)
    careplan = build_careplan(protocol.json(), subject.split("/", 1)[1], start, author)
    with read_transaction(service.engine) as conn:
        existing = service.store.read(conn, "CarePlan", careplan["id"])
    if existing is not None and not existing.deleted and existing.json().get("status") == "active":
        return service.read(principal, "CarePlan", existing.id, base)
    resource = service.prepare(principal, "CarePlan", careplan, None)
    outcome = service.write(principal, [WriteItem("CarePlan", careplan["id"], resource, method="POST")])[0]
    stored = outcome.stored
    assert stored is not None
    return FhirResponse(201 if outcome.outcome == "created" else 200, stored, resource_headers(stored, base))


__all__ = ["CATEGORY", "ENROLMENT_SYSTEM", "apply", "build_careplan", "enrolment_id"]

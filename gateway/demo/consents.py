"""Patients' choices about sharing inside the CPTS (architecture §7): a few objections, a few explicit consents.

Some patients object to sharing outside their centre (a Consent ``deny`` naming no one); others consent explicitly to
one professional of a neighbouring centre who is not in their care team (a Consent ``permit`` naming that
professional's idNat_PS). The shape is the one the consent engine reads (security/consent.py) and the CSV
``consents`` export produces.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

from gateway.demo.codes import concept, reference
from gateway.demo.localtime import LocalClock
from gateway.demo.patients import PatientSpec
from gateway.demo.territory import CentreSpec, Territory
from gateway.fhir.ids import deterministic_id

OBJECTION_SHARE = 0.04
CONSENT_SHARE = 0.03
IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"


def _consent(centre: CentreSpec, patient: PatientSpec, when: str, decision: str, actor: Any) -> dict[str, Any]:
    provision: dict[str, Any] = {
        "type": decision,
        "action": [concept("http://terminology.hl7.org/CodeSystem/consentaction", "access", "Access")],
    }
    if actor is not None:
        provision["actor"] = [
            {
                "role": concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PRCP"),
                "reference": {"type": "Practitioner", "identifier": {"system": IDNAT_PS, "value": actor.id_nat_ps},
                              "display": actor.display},
            }
        ]  # fmt: skip
    return {
        "resourceType": "Consent",
        "id": deterministic_id("Consent", centre.finess, f"sharing:{patient.ipp}"),
        "identifier": [{"system": f"urn:cpts-gateway:consent:{centre.finess}", "value": f"sharing:{patient.ipp}"}],
        "status": "active",
        "scope": concept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent"),
        "category": [
            concept("http://loinc.org", "59284-0", "Patient Consent"),
            concept("urn:cpts-gateway:consent-category", "sharing", "Partage au sein de la CPTS"),
        ],
        "patient": reference("Patient", patient.id),
        "dateTime": when,
        "organization": [reference("Organization", centre.organization_id, centre.name)],
        "policyRule": concept(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN" if decision == "permit" else "OPTOUT"
        ),
        "provision": provision,
    }


def centre_consents(
    territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"{territory.options.seed}/consents/{centre.finess}")
    today = territory.options.start
    neighbours = [c for c in territory.centres if c is not centre]
    for patient in patients:
        draw = rng.random()
        if draw >= OBJECTION_SHARE + CONSENT_SHARE:
            continue
        when = clock.instant(today - dt.timedelta(days=rng.randint(1, 400)), rng.randint(8 * 60, 19 * 60))
        if draw < OBJECTION_SHARE:
            yield _consent(centre, patient, when, "deny", None)
        elif neighbours:
            other = rng.choice(neighbours)
            if other.practitioners:
                yield _consent(centre, patient, when, "permit", rng.choice(other.practitioners))


__all__ = ["CONSENT_SHARE", "OBJECTION_SHARE", "centre_consents"]

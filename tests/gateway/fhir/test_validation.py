"""Strict FHIR R4 validation: structure, primitives, bindings, model errors, with exact FHIRPaths."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import Issue, ValidationFailed
from gateway.fhir.primitives import check_primitive, compare_temporal
from gateway.fhir.resources import SUPPORTED_TYPES
from gateway.fhir.validation import _loc_path, validate_resource

INS = "urn:oid:1.2.250.1.213.1.4.10"  # INS-NIR (test OID)
IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"  # idNat_PS (RPPS)
IDNAT_STRUCT = "urn:oid:1.2.250.1.71.4.2.2"  # idNat_Struct (FINESS / SIRET)
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">'

EXAMPLES: dict[str, dict[str, Any]] = {
    "Patient": {
        "resourceType": "Patient",
        "id": "pat-dupont",
        "meta": {
            "lastUpdated": "2025-03-04T09:12:00.000+01:00",
            "profile": ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"],
        },
        "text": {"status": "generated", "div": f"{XHTML}Marie DUPONT, née le 12/08/1948</div>"},
        "identifier": [
            {
                "use": "official",
                "type": {
                    "coding": [
                        {"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "INS-NIR"}
                    ]
                },
                "system": INS,
                "value": "248087512345621",
            }
        ],
        "active": True,
        "name": [
            {
                "use": "official",
                "family": "DUPONT",
                "given": ["Marie", "Louise"],
                "_given": [
                    None,
                    {
                        "extension": [
                            {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier", "valueCode": "CL"}
                        ]
                    },
                ],
            }
        ],
        "telecom": [{"system": "phone", "value": "+33 6 12 34 56 78", "use": "mobile"}],
        "gender": "female",
        "birthDate": "1948-08-12",
        "_birthDate": {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "1948-08-12T06:30:00+01:00",
                }
            ]
        },
        "address": [
            {"use": "home", "line": ["12 rue des Lilas"], "city": "Lyon", "postalCode": "69003", "country": "FR"}
        ],
        "contact": [{"relationship": [{"text": "fille"}], "name": {"family": "DUPONT", "given": ["Claire"]}}],
        "generalPractitioner": [{"reference": "Practitioner/pra-martin"}],
    },
    "Practitioner": {
        "resourceType": "Practitioner",
        "id": "pra-martin",
        "identifier": [{"system": IDNAT_PS, "value": "810002909371"}],
        "active": True,
        "name": [{"family": "MARTIN", "given": ["Paul"], "prefix": ["Dr"]}],
        "telecom": [{"system": "email", "value": "paul.martin@medecin.mssante.fr", "use": "work"}],
        "qualification": [
            {
                "code": {
                    "coding": [
                        {
                            "system": "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante",
                            "code": "10",
                        }
                    ]
                }
            }
        ],
    },
    "PractitionerRole": {
        "resourceType": "PractitionerRole",
        "id": "role-martin",
        "active": True,
        "practitioner": {"reference": "Practitioner/pra-martin"},
        "organization": {"reference": "Organization/msp-lumiere"},
        "code": [{"text": "Médecin généraliste"}],
        "telecom": [{"system": "phone", "value": "04 78 00 00 00", "use": "work"}],
        "availableTime": [
            {"daysOfWeek": ["mon", "tue"], "availableStartTime": "08:30:00", "availableEndTime": "18:00:00"}
        ],
    },
    "Organization": {
        "resourceType": "Organization",
        "id": "msp-lumiere",
        "identifier": [{"system": IDNAT_STRUCT, "value": "1690000001"}],
        "active": True,
        "name": "Maison de santé pluriprofessionnelle Lumière",
        "telecom": [{"system": "phone", "value": "04 78 00 00 00", "use": "work"}],
        "address": [
            {"use": "work", "line": ["3 place Bellecour"], "city": "Lyon", "postalCode": "69002", "country": "FR"}
        ],
    },
    "Location": {
        "resourceType": "Location",
        "id": "loc-lumiere",
        "status": "active",
        "name": "MSP Lumière, cabinet 2",
        "mode": "instance",
        "address": {"line": ["3 place Bellecour"], "city": "Lyon", "postalCode": "69002", "country": "FR"},
        "position": {"longitude": 4.832, "latitude": 45.757},
        "managingOrganization": {"reference": "Organization/msp-lumiere"},
    },
    "HealthcareService": {
        "resourceType": "HealthcareService",
        "id": "hs-soins-non-programmes",
        "active": True,
        "providedBy": {"reference": "Organization/msp-lumiere"},
        "name": "Soins non programmés",
        "appointmentRequired": True,
        "availableTime": [{"daysOfWeek": ["sat"], "availableStartTime": "09:00:00", "availableEndTime": "12:00:00"}],
    },
    "Schedule": {
        "resourceType": "Schedule",
        "id": "agenda-martin",
        "active": True,
        "actor": [{"reference": "Practitioner/pra-martin"}, {"reference": "Location/loc-lumiere"}],
        "planningHorizon": {"start": "2025-03-03", "end": "2025-03-31"},
    },
    "Slot": {
        "resourceType": "Slot",
        "id": "creneau-1",
        "schedule": {"reference": "Schedule/agenda-martin"},
        "status": "free",
        "start": "2025-03-10T09:00:00+01:00",
        "end": "2025-03-10T09:20:00+01:00",
    },
    "Appointment": {
        "resourceType": "Appointment",
        "id": "rdv-1",
        "status": "booked",
        "description": "Consultation de soins non programmés",
        "start": "2025-03-10T09:00:00+01:00",
        "end": "2025-03-10T09:20:00+01:00",
        "minutesDuration": 20,
        "slot": [{"reference": "Slot/creneau-1"}],
        "participant": [
            {"actor": {"reference": "Patient/pat-dupont", "display": "Marie DUPONT"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/pra-martin"}, "required": "required", "status": "accepted"},
        ],
    },
    "CareTeam": {
        "resourceType": "CareTeam",
        "id": "equipe-dupont",
        "status": "active",
        "name": "Équipe de soins de Mme DUPONT",
        "subject": {"reference": "Patient/pat-dupont"},
        "participant": [
            {
                "member": {"reference": "Practitioner/pra-martin"},
                "onBehalfOf": {"reference": "Organization/msp-lumiere"},
            },
            {"member": {"reference": "Patient/pat-dupont"}},
        ],
    },
    "CarePlan": {
        "resourceType": "CarePlan",
        "id": "ppcs-dupont",
        "status": "active",
        "intent": "plan",
        "title": "Plan personnalisé de coordination en santé",
        "subject": {"reference": "Patient/pat-dupont"},
        "period": {"start": "2025-03-01"},
        "activity": [
            {"detail": {"kind": "Appointment", "status": "scheduled", "description": "Visite infirmière hebdomadaire"}},
            {"reference": {"reference": "ServiceRequest/demande-kine"}},
        ],
    },
    "Task": {
        "resourceType": "Task",
        "id": "tache-1",
        "status": "requested",
        "intent": "order",
        "description": "Rappeler la patiente pour le bilan",
        "for": {"reference": "Patient/pat-dupont"},
        "authoredOn": "2025-03-04T10:00:00+01:00",
        "lastModified": "2025-03-04T11:30:00+01:00",
        "input": [{"type": {"text": "motif"}, "valueString": "Bilan sanguin à prévoir"}],
    },
    "ServiceRequest": {
        "resourceType": "ServiceRequest",
        "id": "demande-kine",
        "status": "active",
        "intent": "order",
        "code": {"text": "Rééducation kinésithérapique"},
        "orderDetail": [{"text": "10 séances"}],
        "subject": {"reference": "Patient/pat-dupont"},
        "authoredOn": "2025-03-04",
        "requester": {"reference": "Practitioner/pra-martin"},
    },
    "Consent": {
        "resourceType": "Consent",
        "id": "consentement-1",
        "status": "active",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/pat-dupont"},
        "dateTime": "2025-03-04T10:00:00+01:00",
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
    },
    "Measure": {
        "resourceType": "Measure",
        "id": "indicateur-snp",
        "url": "https://cpts.example.fr/fhir/Measure/indicateur-snp",
        "name": "SoinsNonProgrammes",
        "title": "Part des demandes de soins non programmés prises en charge sous 48 h",
        "status": "active",
        "group": [
            {
                "population": [
                    {"code": {"text": "denominateur"}, "criteria": {"language": "text/plain", "expression": "demandes"}}
                ]
            }
        ],
    },
    "PlanDefinition": {
        "resourceType": "PlanDefinition",
        "id": "cpts-bpco",
        "url": "https://cpts-gateway.fr/fhir/PlanDefinition/cpts-bpco",
        "name": "CptsBpco",
        "status": "active",
        "action": [
            {
                "id": "spirometrie",
                "title": "Spirométrie annuelle",
                "participant": [{"type": "practitioner"}],
                "timingTiming": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "a"}},
            }
        ],
    },
    "MeasureReport": {
        "resourceType": "MeasureReport",
        "id": "rapport-snp-2025-02",
        "status": "complete",
        "type": "summary",
        "measure": "https://cpts.example.fr/fhir/Measure/indicateur-snp",
        "period": {"start": "2025-02-01", "end": "2025-02-28"},
        "group": [{"population": [{"code": {"text": "denominateur"}, "count": 132}], "measureScore": {"value": 0.87}}],
    },
    "Provenance": {
        "resourceType": "Provenance",
        "id": "prov-1",
        "target": [{"reference": "Appointment/rdv-1"}],
        "recorded": "2025-03-04T10:00:00.000+01:00",
        "agent": [{"who": {"reference": "Organization/msp-lumiere"}}],
    },
    "AuditEvent": {
        "resourceType": "AuditEvent",
        "id": "audit-1",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "action": "C",
        "recorded": "2025-03-04T10:00:00.123+01:00",
        "outcome": "0",
        "agent": [{"who": {"identifier": {"system": IDNAT_PS, "value": "810002909371"}}, "requestor": True}],
        "source": {"observer": {"display": "cpts-gateway"}},
        "entity": [{"what": {"reference": "Appointment/rdv-1"}, "name": "rdv-1"}],
    },
    "ChargeItem": {
        "resourceType": "ChargeItem",
        "id": "acte-1",
        "status": "billable",
        "code": {"coding": [{"system": "urn:oid:1.2.250.1.213.2.5", "code": "YYYY010"}]},
        "subject": {"reference": "Patient/pat-1"},
        "occurrenceDateTime": "2025-03-04T10:00:00+01:00",
        "priceOverride": {"value": 26.5, "currency": "EUR"},
    },
    "Claim": {
        "resourceType": "Claim",
        "id": "fse-1",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim",
        "patient": {"reference": "Patient/pat-1"},
        "created": "2025-03-04",
        "provider": {"reference": "Organization/msp-lumiere"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "AMO"}}],
        "total": {"value": 26.5, "currency": "EUR"},
    },
    "ClaimResponse": {
        "resourceType": "ClaimResponse",
        "id": "retour-1",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim",
        "patient": {"reference": "Patient/pat-1"},
        "created": "2025-03-10",
        "insurer": {"display": "AMO"},
        "request": {"reference": "Claim/fse-1"},
        "outcome": "complete",
    },
    "Communication": {
        "resourceType": "Communication",
        "id": "appel-1",
        "status": "completed",
        "medium": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", "code": "PHONE"}]}
        ],
        "received": "2025-03-04T09:12:00+01:00",
        "recipient": [{"reference": "Organization/msp-lumiere"}],
    },
    "Subscription": {
        "resourceType": "Subscription",
        "id": "adressages-recus",
        "status": "requested",
        "reason": "adressages reçus par le centre",
        "criteria": "Task?status=requested",
        "channel": {"type": "rest-hook", "endpoint": "https://si.example.fr/notifications"},
    },
}


def issues_of(data: object, **kwargs: Any) -> list[Issue]:
    with pytest.raises(ValidationFailed) as caught:
        validate_resource(data, **kwargs)
    return caught.value.issues


def only_issue(data: object, **kwargs: Any) -> Issue:
    issues = issues_of(data, **kwargs)
    assert len(issues) == 1, issues
    return issues[0]


def example(resource_type: str, **changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(EXAMPLES[resource_type])
    resource.update(changes)
    return resource


# --- valid resources ------------------------------------------------------------------------------


def test_examples_cover_every_supported_type() -> None:
    assert set(EXAMPLES) == set(SUPPORTED_TYPES)


@pytest.mark.parametrize("resource_type", SUPPORTED_TYPES)
def test_realistic_resource_is_valid_and_returned_unchanged(resource_type: str) -> None:
    resource = example(resource_type)
    before = copy.deepcopy(resource)
    assert validate_resource(resource, expected_type=resource_type) is resource
    assert resource == before


def test_bundle_with_valid_entries() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0c3e1b52-7c1a-4a51-9d8e-2f9a4f4b6a10",
                "resource": EXAMPLES["Slot"],
                "request": {"method": "PUT", "url": "Slot/creneau-1"},
            },
            {"resource": EXAMPLES["Appointment"], "request": {"method": "POST", "url": "Appointment"}},
        ],
    }
    assert validate_resource(bundle) is bundle


# --- resource type --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected_type", "code", "details", "expression"),
    [
        ([], "Patient", "structure", "VAL-TYPE", "Patient"),
        ("Patient", None, "structure", "VAL-TYPE", "Resource"),
        ({"id": "x"}, None, "structure", "VAL-RESOURCE-TYPE", "resourceType"),
        ({"resourceType": 3}, None, "structure", "VAL-RESOURCE-TYPE", "resourceType"),
        ({"resourceType": "Patiente"}, None, "invalid", "VAL-RESOURCE-TYPE", "resourceType"),
        ({"resourceType": "DomainResource"}, None, "invalid", "VAL-RESOURCE-TYPE", "resourceType"),
        ({"resourceType": "HumanName", "family": "X"}, None, "invalid", "VAL-RESOURCE-TYPE", "resourceType"),
        ({"resourceType": "Patient", "active": True}, "Practitioner", "invalid", "VAL-RESOURCE-TYPE", "resourceType"),
    ],
)
def test_resource_type_errors(
    data: object, expected_type: str | None, code: str, details: str, expression: str
) -> None:
    issue = only_issue(data, expected_type=expected_type)
    assert (issue.severity, issue.code, issue.details_code, issue.expression) == ("error", code, details, (expression,))


def test_expected_type_mismatch_names_both_types() -> None:
    issue = only_issue({"resourceType": "Patient", "active": True}, expected_type="Practitioner")
    assert issue.diagnostics == "resourceType: expected a Practitioner resource, got Patient"


# --- the measured laxities of the fhir.resources models -------------------------------------------


@pytest.mark.parametrize(
    ("resource", "code", "details", "expression"),
    [
        (example("Patient", gender="mal"), "code-invalid", "VAL-BINDING", "Patient.gender"),
        (example("Slot", status="open"), "code-invalid", "VAL-BINDING", "Slot.status"),
        (example("Patient", active="yes"), "structure", "VAL-TYPE", "Patient.active"),
        (example("Patient", name=[{}]), "structure", "VAL-EMPTY", "Patient.name[0]"),
        (example("Patient", identifier=[]), "structure", "VAL-EMPTY", "Patient.identifier"),
        (example("Patient", name=[{"family": ""}]), "value", "VAL-EMPTY", "Patient.name[0].family"),
        (example("Patient", meta={}), "structure", "VAL-EMPTY", "Patient.meta"),
    ],
)
def test_model_laxities_are_refused(resource: dict[str, Any], code: str, details: str, expression: str) -> None:
    issue = only_issue(resource)
    assert (issue.code, issue.details_code, issue.expression) == (code, details, (expression,))


def test_binding_diagnostics_list_the_allowed_codes() -> None:
    issue = only_issue(example("Slot", status="open"))
    assert issue.diagnostics == (
        "Slot.status: 'open' is not an allowed code (busy, busy-tentative, busy-unavailable, entered-in-error, free)"
    )


@pytest.mark.parametrize(
    ("changes", "expression", "bad"),
    [
        ({"name": [{"use": "officiel", "family": "DUPONT"}]}, "Patient.name[0].use", "officiel"),
        ({"telecom": [{"system": "portable", "value": "06"}]}, "Patient.telecom[0].system", "portable"),
        ({"identifier": [{"use": "officiel", "system": INS, "value": "1"}]}, "Patient.identifier[0].use", "officiel"),
        ({"address": [{"use": "domicile", "city": "Lyon"}]}, "Patient.address[0].use", "domicile"),
        ({"text": {"status": "genere", "div": f"{XHTML}x</div>"}}, "Patient.text.status", "genere"),
        ({"contact": [{"name": {"family": "X"}, "gender": "F"}]}, "Patient.contact[0].gender", "F"),
    ],
)
def test_required_bindings_in_nested_datatypes(changes: dict[str, Any], expression: str, bad: str) -> None:
    issue = only_issue(example("Patient", **changes))
    assert (issue.code, issue.details_code, issue.expression) == ("code-invalid", "VAL-BINDING", (expression,))
    assert f"'{bad}' is not an allowed code" in issue.diagnostics


# --- primitives -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "changes", "code", "details", "expression"),
    [
        ("Patient", {"active": 1}, "structure", "VAL-TYPE", "Patient.active"),
        ("Patient", {"active": "true"}, "structure", "VAL-TYPE", "Patient.active"),
        ("Appointment", {"minutesDuration": "20"}, "structure", "VAL-TYPE", "Appointment.minutesDuration"),
        ("Appointment", {"minutesDuration": 20.5}, "structure", "VAL-TYPE", "Appointment.minutesDuration"),
        ("Appointment", {"minutesDuration": True}, "structure", "VAL-TYPE", "Appointment.minutesDuration"),
        ("Appointment", {"minutesDuration": 0}, "value", "VAL-PRIMITIVE", "Appointment.minutesDuration"),
        ("Appointment", {"priority": -1}, "value", "VAL-PRIMITIVE", "Appointment.priority"),
        ("Patient", {"multipleBirthInteger": 2**31}, "value", "VAL-PRIMITIVE", "Patient.multipleBirthInteger"),
        (
            "Location",
            {"position": {"longitude": "4.83", "latitude": 45.7}},
            "structure",
            "VAL-TYPE",
            "Location.position.longitude",
        ),
        ("Slot", {"start": "2025-03-10T09:00+01:00"}, "value", "VAL-PRIMITIVE", "Slot.start"),
        ("Slot", {"start": "2025-03-10T09:00:00"}, "value", "VAL-PRIMITIVE", "Slot.start"),
        ("Slot", {"start": "2025-03-10"}, "value", "VAL-PRIMITIVE", "Slot.start"),
        ("Patient", {"deceasedDateTime": "2024-01-01T10:00:00"}, "value", "VAL-PRIMITIVE", "Patient.deceasedDateTime"),
        ("Patient", {"birthDate": "1948-08-12T00:00:00Z"}, "value", "VAL-PRIMITIVE", "Patient.birthDate"),
        ("Patient", {"birthDate": "1948-02-30"}, "value", "VAL-PRIMITIVE", "Patient.birthDate"),
        ("Patient", {"birthDate": "12/08/1948"}, "value", "VAL-PRIMITIVE", "Patient.birthDate"),
        ("Patient", {"birthDate": 1948}, "structure", "VAL-TYPE", "Patient.birthDate"),
        ("Patient", {"id": "pat_dupont"}, "value", "VAL-PRIMITIVE", "Patient.id"),
        ("Patient", {"id": "a" * 65}, "value", "VAL-PRIMITIVE", "Patient.id"),
        ("Slot", {"status": "free "}, "value", "VAL-PRIMITIVE", "Slot.status"),
        ("Slot", {"comment": "   "}, "value", "VAL-EMPTY", "Slot.comment"),
        ("Patient", {"implicitRules": "http://a b"}, "value", "VAL-PRIMITIVE", "Patient.implicitRules"),
        (
            "PractitionerRole",
            {"availableTime": [{"availableStartTime": "8:30"}]},
            "value",
            "VAL-PRIMITIVE",
            "PractitionerRole.availableTime[0].availableStartTime",
        ),
        ("Measure", {"url": ""}, "value", "VAL-EMPTY", "Measure.url"),
    ],
)
def test_strict_primitives(
    resource_type: str, changes: dict[str, Any], code: str, details: str, expression: str
) -> None:
    issue = only_issue(example(resource_type, **changes))
    assert (issue.code, issue.details_code, issue.expression) == (code, details, (expression,))


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("instant", "2016-12-31T23:59:60Z"),
        ("instant", "2025-03-10T09:00:00.123456789-03:30"),
        ("dateTime", "2025"),
        ("dateTime", "2025-03"),
        ("dateTime", "2024-02-29T23:00:00+14:00"),
        ("date", "2024-02-29"),
        ("time", "23:59:59.5"),
        ("decimal", 0.87),
        ("decimal", 12),
        ("unsignedInt", 0),
        ("oid", "urn:oid:1.2.250.1.213.1.4.10"),
        ("uuid", "urn:uuid:0c3e1b52-7c1a-4a51-9d8e-2f9a4f4b6a10"),
        ("base64Binary", "aGVsbG8="),
        ("code", "a b"),
    ],
)
def test_valid_primitive_values(kind: str, value: object) -> None:
    assert check_primitive(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value", "details"),
    [
        ("dateTime", "2025-13", "VAL-PRIMITIVE"),
        ("dateTime", "2023-02-29", "VAL-PRIMITIVE"),
        ("dateTime", "2025-03-10T24:00:00Z", "VAL-PRIMITIVE"),
        ("date", "0000", "VAL-PRIMITIVE"),
        ("time", "10:00:00Z", "VAL-PRIMITIVE"),
        ("decimal", float("nan"), "VAL-PRIMITIVE"),
        ("decimal", "1.5", "VAL-TYPE"),
        ("unsignedInt", -1, "VAL-PRIMITIVE"),
        ("oid", "1.2.250.1", "VAL-PRIMITIVE"),
        ("uuid", "urn:uuid:0C3E1B52-7C1A-4A51-9D8E-2F9A4F4B6A10", "VAL-PRIMITIVE"),
        ("code", "a  b", "VAL-PRIMITIVE"),
        ("code", "", "VAL-EMPTY"),
        ("string", None, "VAL-TYPE"),
        ("xhtml", "Marie", "VAL-PRIMITIVE"),
    ],
)
def test_invalid_primitive_values(kind: str, value: object, details: str) -> None:
    problem = check_primitive(kind, value)
    assert problem is not None
    assert problem.details_code == details


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("2025-03-10T09:00:00+01:00", "2025-03-10T08:30:00Z", -1),
        ("2025-03-10T09:00:00+01:00", "2025-03-10T08:00:00Z", 0),
        ("2025-03-11", "2025-03-10T23:00:00Z", 1),
        ("2025-03", "2025-03-10", None),
        ("2025-04", "2025-03-10", 1),
        ("2025", "2025", 0),
        ("not a date", "2025", None),
    ],
)
def test_compare_temporal(first: str, second: str, expected: int | None) -> None:
    assert compare_temporal(first, second) == expected


# --- structure ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "code", "details", "expression"),
    [
        (
            example("Patient", name=[{"family": "DUPONT", "firstName": "Marie"}]),
            "structure",
            "VAL-UNKNOWN-ELEMENT",
            "Patient.name[0].firstName",
        ),
        (example("Patient", sexe="F"), "structure", "VAL-UNKNOWN-ELEMENT", "Patient.sexe"),
        (example("Patient", fhir_comments=["x"]), "structure", "VAL-UNKNOWN-ELEMENT", "Patient.fhir_comments"),
        (
            example("Slot", schedule={"resourceType": "Schedule", "reference": "Schedule/1"}),
            "structure",
            "VAL-UNKNOWN-ELEMENT",
            "Slot.schedule.resourceType",
        ),
        (example("Patient", gender=None), "structure", "VAL-NULL", "Patient.gender"),
        (example("Patient", gender=["female"]), "structure", "VAL-CARDINALITY", "Patient.gender"),
        (example("Patient", name={"family": "DUPONT"}), "structure", "VAL-CARDINALITY", "Patient.name"),
        (
            example("Patient", name=[{"family": "DUPONT", "given": "Marie"}]),
            "structure",
            "VAL-CARDINALITY",
            "Patient.name[0].given",
        ),
        (example("Patient", name=["DUPONT"]), "structure", "VAL-TYPE", "Patient.name[0]"),
        (
            example("Patient", name=[{"family": "DUPONT", "given": ["Marie", None]}]),
            "structure",
            "VAL-NULL",
            "Patient.name[0].given[1]",
        ),
        (example("Patient", managingOrganization={}), "structure", "VAL-EMPTY", "Patient.managingOrganization"),
        (example("Patient", extension=[{"valueString": "x"}]), "required", "VAL-REQUIRED", "Patient.extension[0].url"),
        (example("Slot", schedule=None), "structure", "VAL-NULL", "Slot.schedule"),
        (
            example("Patient", deceasedBoolean=False, deceasedDateTime="2020"),
            "structure",
            "VAL-CHOICE",
            "Patient.deceased[x]",
        ),
        (example("Task", input=[{"type": {"text": "motif"}}]), "required", "VAL-REQUIRED", "Task.input[0].value[x]"),
    ],
)
def test_structure_errors(resource: dict[str, Any], code: str, details: str, expression: str) -> None:
    issue = only_issue(resource)
    assert (issue.code, issue.details_code, issue.expression) == (code, details, (expression,))


def test_missing_required_elements_are_each_reported() -> None:
    slot = {"resourceType": "Slot", "id": "creneau-1"}
    assert [(i.code, i.details_code, i.expression) for i in issues_of(slot)] == [
        ("required", "VAL-REQUIRED", ("Slot.end",)),
        ("required", "VAL-REQUIRED", ("Slot.schedule",)),
        ("required", "VAL-REQUIRED", ("Slot.start",)),
        ("required", "VAL-REQUIRED", ("Slot.status",)),
    ]


def test_required_primitive_may_be_given_by_its_extension_only() -> None:
    absent = {
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]
    }
    slot = example("Slot")
    del slot["status"]
    slot["_status"] = absent
    assert validate_resource(slot) is slot


def test_primitive_extension_arrays_must_line_up() -> None:
    extension = {"extension": [{"url": "http://example.org/x", "valueCode": "CL"}]}
    resource = example(
        "Patient", name=[{"family": "DUPONT", "given": ["Marie", "Louise"], "_given": [None, extension, extension]}]
    )
    issue = only_issue(resource)
    assert (issue.details_code, issue.expression) == ("VAL-CARDINALITY", ("Patient.name[0]._given",))


def test_primitive_extension_object_is_validated() -> None:
    issue = only_issue(example("Patient", _birthDate={"extension": [{"url": "http://example.org/x", "valueFoo": 1}]}))
    assert (issue.details_code, issue.expression) == (
        "VAL-UNKNOWN-ELEMENT",
        ("Patient._birthDate.extension[0].valueFoo",),
    )


def test_contained_resources_are_validated_with_their_path() -> None:
    contained = {"resourceType": "Organization", "id": "org", "name": "Cabinet", "active": "oui"}
    resource = example("Patient", contained=[contained], managingOrganization={"reference": "#org"})
    issue = only_issue(resource)
    assert (issue.details_code, issue.expression) == ("VAL-TYPE", ("Patient.contained[0].active",))


def test_bundle_entries_are_validated_recursively() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": EXAMPLES["Patient"]},
            {"resource": EXAMPLES["Slot"]},
            {"resource": example("Appointment", status="reserve")},
            {"resource": {"resourceType": "Slott"}},
        ],
    }
    assert [(i.code, i.expression) for i in issues_of(bundle)] == [
        ("code-invalid", ("Bundle.entry[2].resource.status",)),
        ("invalid", ("Bundle.entry[3].resource.resourceType",)),
    ]


def test_every_problem_is_reported_together() -> None:
    resource = example("Patient", gender="mal", active="yes", name=[{"family": "DUPONT", "given": ["Marie", ""]}])
    issues = issues_of(resource)
    assert [(i.severity, i.code, i.expression) for i in issues] == [
        ("error", "structure", ("Patient.active",)),
        ("error", "value", ("Patient.name[0].given[1]",)),
        ("error", "code-invalid", ("Patient.gender",)),
    ]


def test_validation_failed_renders_an_operation_outcome() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_resource(example("Slot", status="open"))
    outcome = caught.value.to_operation_outcome()
    assert caught.value.status == 422
    assert outcome["issue"][0]["expression"] == ["Slot.status"]
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "VAL-BINDING"


def test_excessive_nesting_is_refused_without_crashing() -> None:
    extension: dict[str, Any] = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(100):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    issues = issues_of(example("Patient", extension=[extension]))
    assert [i.details_code for i in issues] == ["VAL-DEPTH"]


# --- errors found by the fhir.resources model ------------------------------------------------------


def test_model_errors_are_added_with_their_fhirpath() -> None:
    # base64 that matches the FHIR regex but does not decode: only the model notices
    resource = example("Patient", photo=[{"contentType": "image/png", "data": "a==="}])
    issue = only_issue(resource)
    assert (issue.code, issue.details_code, issue.expression) == ("invalid", "VAL-MODEL", ("Patient.photo[0].data",))


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("entry", 2, "resource", "status"), "Bundle.entry[2].resource.status"),
        (("resource_type",), "Bundle.resourceType"),
        (("entry", 0, "function-wrap[_validate()]", "_fullUrl"), "Bundle.entry[0]._fullUrl"),
        ((), "Bundle"),
    ],
)
def test_pydantic_locations_become_fhirpaths(loc: tuple[int | str, ...], expected: str) -> None:
    assert _loc_path("Bundle", loc) == expected


# --- robustness -----------------------------------------------------------------------------------

_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_keys = st.sampled_from(
    [
        "id",
        "status",
        "name",
        "given",
        "family",
        "_given",
        "start",
        "end",
        "schedule",
        "reference",
        "extension",
        "url",
        "valueString",
        "active",
        "gender",
        "contained",
        "resourceType",
        "entry",
        "resource",
        "type",
        "x",
    ]
)
_json = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_keys | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    resource_type=st.sampled_from([*SUPPORTED_TYPES, "Bundle", "Nope", ""]),
    body=st.dictionaries(_keys, _json, max_size=6),
)
def test_random_json_only_ever_raises_validation_failed(resource_type: str, body: dict[str, Any]) -> None:
    data = {**body, "resourceType": resource_type}
    issues: list[Issue] = []
    try:
        assert validate_resource(data) is data
    except ValidationFailed as failure:
        issues = failure.issues
    assert all(issue.severity == "error" and len(issue.expression) == 1 for issue in issues)


@pytest.mark.parametrize("bad", ["A\u0000B", "tab\tCR\rLF\n ok but \u0007 bell", "a\u001fb"])
def test_control_characters_are_refused_where_they_are(bad: str) -> None:
    """FHIR strings hold no character below U+0020 but tab, CR and LF (PostgreSQL cannot even store U+0000)."""
    found = issues_of({"resourceType": "Organization", "id": "o1", "name": bad})
    assert [(i.expression, i.details_code) for i in found] == [(("Organization.name",), "VAL-PRIMITIVE")]
    assert "control character" in found[0].diagnostics


def test_tab_cr_and_lf_are_allowed() -> None:
    resource = {"resourceType": "Organization", "id": "o1", "name": "a\tb\r\nc"}
    assert validate_resource(resource) is resource

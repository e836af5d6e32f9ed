"""FHIR R4 core invariants: each key has a passing and a failing case, with the exact FHIRPath."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import ValidationFailed
from gateway.fhir.invariants import Context, all_invariants, invariants_for
from gateway.fhir.validation import validate_resource

UCUM = "http://unitsofmeasure.org"
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">'
SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
Json = dict[str, Any]


def failures(resource: Json) -> list[tuple[str, str]]:
    """The (key, FHIRPath) of every invariant failure; any other kind of issue fails the test."""
    try:
        validate_resource(resource)
    except ValidationFailed as failed:
        issues = failed.issues
    else:
        return []
    assert [i for i in issues if i.code != "invariant"] == []
    assert all(i.details_code == "VAL-INVARIANT" and i.severity == "error" for i in issues)
    return [(i.diagnostics.split(": ", 2)[1], i.expression[0]) for i in issues]


def patient(**fields: Any) -> Json:
    return {"resourceType": "Patient", "id": "p1", **fields}


def ext(**value: Any) -> Json:
    return patient(extension=[{"url": "http://example.org/x", **value}])


def appointment(**fields: Any) -> Json:
    base = {
        "resourceType": "Appointment",
        "status": "booked",
        "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}],
    }
    base.update(start="2025-03-10T09:00:00+01:00", end="2025-03-10T09:20:00+01:00")
    return {**base, **fields}


def without(resource: Json, *keys: str) -> Json:
    return {key: value for key, value in resource.items() if key not in keys}


def slot(start: str, end: str) -> Json:
    return {
        "resourceType": "Slot",
        "schedule": {"reference": "Schedule/s"},
        "status": "free",
        "start": start,
        "end": end,
    }


def organization(**fields: Any) -> Json:
    return {"resourceType": "Organization", "name": "MSP Lumière", **fields}


def care_team(member: str) -> Json:
    participant = {"member": {"reference": member}, "onBehalfOf": {"reference": "Organization/o1"}}
    return {"resourceType": "CareTeam", "participant": [participant]}


def care_plan(**activity: Any) -> Json:
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/p1"},
        "activity": [activity],
    }


def task(authored: str, modified: str) -> Json:
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "authoredOn": authored,
        "lastModified": modified,
    }


def service_request(**fields: Any) -> Json:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "orderDetail": [{"text": "10 séances"}],
        **fields,
    }


def consent(scope: str, **fields: Any) -> Json:
    base = {"resourceType": "Consent", "status": "active", "category": [{"text": "ADR"}]}
    return {**base, "scope": {"coding": [{"system": SCOPE, "code": scope}]}, **fields}


def measure(**fields: Any) -> Json:
    return {"resourceType": "Measure", "status": "active", **fields}


def stratifier(**fields: Any) -> Json:
    return measure(group=[{"stratifier": [fields]}])


def measure_report(report_type: str, **stratum: Any) -> Json:
    group: Json = {"population": [{"count": 3}]}
    if stratum:
        group["stratifier"] = [{"stratum": [stratum]}]
    return {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": report_type,
        "measure": "http://x/Measure/m",
        "period": {"start": "2025-02"},
        "group": [group],
    }


def audit_event(**entity: Any) -> Json:
    return {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "recorded": "2025-03-04T10:00:00Z",
        "agent": [{"requestor": True, "who": {"display": "gateway"}}],
        "source": {"observer": {"display": "gateway"}},
        "entity": [entity],
    }


def bundle(bundle_type: str, *entries: Json, **fields: Any) -> Json:
    return {"resourceType": "Bundle", "type": bundle_type, **({"entry": list(entries)} if entries else {}), **fields}


SLOT_ENTRY: Json = {"fullUrl": "http://gw/Slot/1", "resource": slot("2025-03-10T09:00:00Z", "2025-03-10T09:20:00Z")}
REQUEST = {"method": "POST", "url": "Slot"}
RESPONSE = {"status": "201 Created"}
COMPOSITION = {
    "resourceType": "Composition",
    "status": "final",
    "type": {"text": "CR"},
    "date": "2025-03-04",
    "author": [{"display": "Dr Martin"}],
    "title": "Compte rendu",
}
HEADER = {"resourceType": "MessageHeader", "eventCoding": {"code": "x"}, "source": {"endpoint": "http://gw"}}
DOC_ID = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3e1b52-7c1a-4a51-9d8e-2f9a4f4b6a10"}
ORG = {"resourceType": "Organization", "id": "org", "name": "Cabinet"}
REF_ORG = {"reference": "#org"}


def versioned(version: str) -> Json:
    resource = {**SLOT_ENTRY["resource"], "meta": {"versionId": version}}
    return {"fullUrl": "http://gw/Slot/1", "resource": resource}


ACTIVITY_DUE = {"url": "urn:cpts-gateway:extension:activity-due", "valueDate": "2026-02-15"}
CASES: list[tuple[str, Json, Json, str]] = [
    # key, passing resource, failing resource, expected FHIRPath of the failure
    (
        "per-1",
        patient(name=[{"family": "A", "period": {"start": "2020", "end": "2020-05"}}]),
        patient(name=[{"family": "A", "period": {"start": "2021", "end": "2020-05"}}]),
        "Patient.name[0].period",
    ),
    (
        "ext-1",
        ext(valueString="x"),
        ext(valueString="x", extension=[{"url": "http://example.org/y", "valueCode": "y"}]),
        "Patient.extension[0]",
    ),
    (
        "qty-3",
        ext(valueQuantity={"value": 1, "system": UCUM, "code": "mg"}),
        ext(valueQuantity={"value": 1, "code": "mg"}),
        "Patient.extension[0].valueQuantity.system",
    ),
    (
        "age-1",
        ext(valueAge={"value": 77, "system": UCUM, "code": "a"}),
        ext(valueAge={"value": 0, "system": UCUM, "code": "a"}),
        "Patient.extension[0].valueAge",
    ),
    (
        "drt-1",
        ext(valueDuration={"value": 20, "system": UCUM, "code": "min"}),
        ext(valueDuration={"code": "min", "system": UCUM}),
        "Patient.extension[0].valueDuration",
    ),
    (
        "dis-1",
        ext(valueDistance={"value": 3, "system": UCUM, "code": "km"}),
        ext(valueDistance={"value": 3, "unit": "km"}),
        "Patient.extension[0].valueDistance",
    ),
    (
        "cpt-2",
        patient(telecom=[{"system": "phone", "value": "0600000000"}]),
        patient(telecom=[{"value": "0600000000"}]),
        "Patient.telecom[0].system",
    ),
    (
        "att-1",
        patient(photo=[{"contentType": "image/png", "data": "aGVsbG8="}]),
        patient(photo=[{"data": "aGVsbG8="}]),
        "Patient.photo[0].contentType",
    ),
    (
        "ref-1",
        patient(contained=[ORG], managingOrganization=REF_ORG),
        patient(managingOrganization=REF_ORG),
        "Patient.managingOrganization.reference",
    ),
    (
        "ref-1",
        patient(
            contained=[{"resourceType": "RelatedPerson", "id": "rp", "patient": {"reference": "#"}}],
            link=[{"other": {"reference": "#rp"}, "type": "seealso"}],
        ),
        patient(managingOrganization={"reference": "#"}),
        "Patient.managingOrganization.reference",
    ),
    (
        "txt-1",
        patient(text={"status": "generated", "div": f"{XHTML}<b>Marie</b></div>"}),
        patient(text={"status": "generated", "div": "<div>Marie</div>"}),
        "Patient.text.div",
    ),
    (
        "txt-1",
        patient(text={"status": "generated", "div": f'{XHTML}<p style="color:red">Marie</p></div>'}),
        patient(text={"status": "generated", "div": f'{XHTML}<p onclick="x()">Marie</p></div>'}),
        "Patient.text.div",
    ),
    (
        "txt-2",
        patient(text={"status": "generated", "div": f'{XHTML}<img src="#a"/></div>'}),
        patient(text={"status": "generated", "div": f"{XHTML}<p> </p></div>"}),
        "Patient.text.div",
    ),
    (
        "dom-2",
        patient(contained=[ORG], managingOrganization=REF_ORG),
        patient(
            contained=[{**ORG, "contained": [{**ORG, "id": "o2", "partOf": {"reference": "#"}}]}],
            managingOrganization=REF_ORG,
        ),
        "Patient.contained[0].contained",
    ),
    (
        "dom-3",
        patient(contained=[ORG], managingOrganization=REF_ORG),
        patient(contained=[ORG]),
        "Patient.contained[0]",
    ),
    (
        "dom-4",
        patient(contained=[{**ORG, "meta": {"source": "lgc"}}], managingOrganization=REF_ORG),
        patient(contained=[{**ORG, "meta": {"versionId": "2"}}], managingOrganization=REF_ORG),
        "Patient.contained[0].meta",
    ),
    (
        "dom-5",
        patient(contained=[{**ORG, "meta": {"tag": [{"code": "x"}]}}], managingOrganization=REF_ORG),
        patient(contained=[{**ORG, "meta": {"security": [{"code": "R"}]}}], managingOrganization=REF_ORG),
        "Patient.contained[0].meta.security",
    ),
    (
        "pat-1",
        patient(contact=[{"telecom": [{"system": "phone", "value": "06"}]}]),
        patient(contact=[{"gender": "female"}]),
        "Patient.contact[0]",
    ),
    (
        "org-1",
        {"resourceType": "Organization", "identifier": [{"value": "1690000001"}]},
        {"resourceType": "Organization", "active": True},
        "Organization",
    ),
    (
        "org-2",
        organization(address=[{"use": "work", "city": "Lyon"}]),
        organization(address=[{"use": "home", "city": "Lyon"}]),
        "Organization.address[0].use",
    ),
    (
        "org-3",
        organization(telecom=[{"system": "phone", "value": "04", "use": "work"}]),
        organization(telecom=[{"system": "phone", "value": "04", "use": "home"}]),
        "Organization.telecom[0].use",
    ),
    (
        "app-1",
        appointment(participant=[{"type": [{"text": "secrétaire"}], "status": "accepted"}]),
        appointment(participant=[{"status": "accepted"}]),
        "Appointment.participant[0]",
    ),
    (
        "app-2",
        without(appointment(status="proposed"), "start", "end"),
        without(appointment(status="proposed"), "end"),
        "Appointment.end",
    ),
    (
        "app-3",
        without(appointment(status="waitlist"), "start", "end"),
        without(appointment(), "start", "end"),
        "Appointment.status",
    ),
    (
        "app-4",
        appointment(status="cancelled", cancelationReason={"text": "grève"}),
        appointment(cancelationReason={"text": "grève"}),
        "Appointment.cancelationReason",
    ),
    (
        "gw-slot-1",
        slot("2025-03-10T09:00:00+01:00", "2025-03-10T08:00:00Z"),
        slot("2025-03-10T09:00:00+01:00", "2025-03-10T07:59:59Z"),
        "Slot.end",
    ),
    ("ctm-1", care_team("Practitioner/pr1"), care_team("Patient/p1"), "CareTeam.participant[0].onBehalfOf"),
    (
        "cpl-3",
        care_plan(reference={"reference": "ServiceRequest/s1"}),
        care_plan(reference={"reference": "ServiceRequest/s1"}, detail={"status": "scheduled"}),
        "CarePlan.activity[0]",
    ),
    (
        "inv-1",
        task("2025-03-04", "2025-03-04T10:00:00+01:00"),
        task("2025-03-04T10:00:00+01:00", "2025-03-04T09:59:00+01:00"),
        "Task.lastModified",
    ),
    ("prr-1", service_request(code={"text": "kinésithérapie"}), service_request(), "ServiceRequest.orderDetail"),
    (
        "ppc-1",
        consent("adr", patient={"reference": "Patient/p1"}, policy=[{"uri": "http://x/p"}]),
        consent("adr", patient={"reference": "Patient/p1"}),
        "Consent",
    ),
    (
        "ppc-2",
        consent("patient-privacy", patient={"reference": "Patient/p1"}, policyRule={"text": "opt-in"}),
        consent("patient-privacy", policyRule={"text": "opt-in"}),
        "Consent.patient",
    ),
    (
        "ppc-3",
        consent("treatment", patient={"reference": "Patient/p1"}, policyRule={"text": "opt-in"}),
        consent("research", policyRule={"text": "opt-in"}),
        "Consent.patient",
    ),
    (
        "ppc-4",
        consent("research", patient={"reference": "Patient/p1"}, policyRule={"text": "opt-in"}),
        consent("adr", policyRule={"text": "opt-in"}),
        "Consent.patient",
    ),
    (
        "ppc-5",
        consent("treatment", patient={"reference": "Patient/p1"}, policyRule={"text": "opt-in"}),
        consent("treatment", policyRule={"text": "opt-in"}),
        "Consent.patient",
    ),
    ("mea-0", measure(name="SoinsNonProgrammes_2025"), measure(name="soins non programmés"), "Measure.name"),
    (
        "mea-1",
        stratifier(code={"text": "âge"}),
        stratifier(
            code={"text": "âge"},
            component=[{"code": {"text": "sexe"}, "criteria": {"language": "text/fhirpath", "expression": "gender"}}],
        ),
        "Measure.group[0].stratifier[0]",
    ),
    ("mrp-1", measure_report("summary"), measure_report("data-collection"), "MeasureReport.group"),
    (
        "mrp-2",
        measure_report("summary", value={"text": "F"}),
        measure_report("summary", value={"text": "F"}, component=[{"code": {"text": "sexe"}, "value": {"text": "F"}}]),
        "MeasureReport.group[0].stratifier[0].stratum[0]",
    ),
    ("sev-1", audit_event(name="rdv-1"), audit_event(name="rdv-1", query="c2VhcmNo"), "AuditEvent.entity[0]"),
    ("bdl-1", bundle("searchset", total=0), bundle("collection", total=0), "Bundle.total"),
    (
        "bdl-2",
        bundle("searchset", {**SLOT_ENTRY, "search": {"mode": "match"}}),
        bundle("collection", {**SLOT_ENTRY, "search": {"mode": "match"}}),
        "Bundle.entry[0].search",
    ),
    (
        "bdl-3",
        bundle("transaction", {**SLOT_ENTRY, "request": REQUEST}),
        bundle("transaction", SLOT_ENTRY),
        "Bundle.entry[0].request",
    ),
    (
        "bdl-3",
        bundle("collection", SLOT_ENTRY),
        bundle("collection", {**SLOT_ENTRY, "request": REQUEST}),
        "Bundle.entry[0].request",
    ),
    (
        "bdl-4",
        bundle("batch-response", {"response": RESPONSE}),
        bundle("batch-response", SLOT_ENTRY),
        "Bundle.entry[0].response",
    ),
    (
        "bdl-5",
        bundle("collection", SLOT_ENTRY),
        bundle("collection", {"fullUrl": "http://gw/Slot/1"}),
        "Bundle.entry[0]",
    ),
    (
        "bdl-7",
        bundle("collection", versioned("1"), versioned("2")),
        bundle("collection", SLOT_ENTRY, SLOT_ENTRY),
        "Bundle.entry[1].fullUrl",
    ),
    (
        "bdl-8",
        bundle("collection", SLOT_ENTRY),
        bundle("collection", {**SLOT_ENTRY, "fullUrl": "http://gw/Slot/1/_history/2"}),
        "Bundle.entry[0].fullUrl",
    ),
    (
        "bdl-9",
        bundle("document", {"resource": COMPOSITION}, identifier=DOC_ID, timestamp="2025-03-04T10:00:00Z"),
        bundle("document", {"resource": COMPOSITION}, identifier={"value": "x"}, timestamp="2025-03-04T10:00:00Z"),
        "Bundle.identifier",
    ),
    (
        "bdl-10",
        bundle("document", {"resource": COMPOSITION}, identifier=DOC_ID, timestamp="2025-03-04T10:00:00Z"),
        bundle("document", {"resource": COMPOSITION}, identifier=DOC_ID),
        "Bundle.timestamp",
    ),
    (
        "bdl-11",
        bundle("document", {"resource": COMPOSITION}, identifier=DOC_ID, timestamp="2025-03-04T10:00:00Z"),
        bundle("document", SLOT_ENTRY, identifier=DOC_ID, timestamp="2025-03-04T10:00:00Z"),
        "Bundle.entry[0].resource",
    ),
    ("bdl-12", bundle("message", {"resource": HEADER}), bundle("message", SLOT_ENTRY), "Bundle.entry[0].resource"),
    (
        "gw-task-1",
        {"resourceType": "Task", "status": "in-progress", "intent": "order"},
        {"resourceType": "Task", "status": "started", "intent": "order"},
        "Task.status",
    ),
    (
        "gw-cpl-1",
        {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "subject": {"reference": "Patient/p"},
            "activity": [{"detail": {"status": "not-started", "extension": [ACTIVITY_DUE]}}],
        },
        {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "subject": {"reference": "Patient/p"},
            "activity": [{"detail": {"status": "completed", "extension": [ACTIVITY_DUE]}}],
        },
        "CarePlan.activity[0].detail.extension[0]",
    ),
]


@pytest.mark.parametrize(("key", "passing", "failing", "path"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_invariant_passes_and_fails(key: str, passing: Json, failing: Json, path: str) -> None:
    assert failures(passing) == []
    assert failures(failing) == [(key, path)]


def test_every_registered_invariant_is_tested() -> None:
    registered = {inv.key for inv in all_invariants()}
    assert registered == {case[0] for case in CASES}
    assert len(registered) == len(all_invariants())  # one registration per key


@pytest.mark.parametrize("inv", all_invariants(), ids=lambda inv: inv.key)
def test_invariant_metadata(inv: Any) -> None:
    assert inv.applies_to[0].isupper()
    assert len(inv.human) > 20
    assert not inv.human.endswith(".")
    assert inv in invariants_for(inv.applies_to)


def test_per_1_applies_to_every_period() -> None:
    reversed_period = {"start": "2025-03-31", "end": "2025-03-01"}
    schedule = {
        "resourceType": "Schedule",
        "actor": [{"reference": "Practitioner/pr1"}],
        "planningHorizon": reversed_period,
    }
    assert failures(schedule) == [("per-1", "Schedule.planningHorizon")]
    nested = patient(identifier=[{"value": "1", "period": reversed_period, "assigner": {"display": "CPAM"}}])
    assert failures(nested) == [("per-1", "Patient.identifier[0].period")]


def test_per_1_is_lenient_when_precisions_make_the_order_ambiguous() -> None:
    assert failures(patient(name=[{"family": "A", "period": {"start": "2025-03-10", "end": "2025-03"}}])) == []


def test_invariants_in_bundle_entries_and_contained_resources_get_full_paths() -> None:
    broken_appointment = without(appointment(), "end")
    contained_patient = patient(contact=[{"gender": "male"}])
    data = bundle(
        "collection",
        {"resource": broken_appointment},
        {
            "resource": {
                "resourceType": "Provenance",
                "target": [{"reference": "#p1"}],
                "recorded": "2025-03-04T10:00:00Z",
                "agent": [{"who": {"display": "gw"}}],
                "contained": [contained_patient],
            }
        },
    )
    assert failures(data) == [
        ("app-2", "Bundle.entry[0].resource.end"),
        ("app-3", "Bundle.entry[0].resource.status"),
        ("pat-1", "Bundle.entry[1].resource.contained[0].contact[0]"),
    ]


def test_checks_tolerate_malformed_input() -> None:
    ctx = Context(root={"contained": "nope"})
    weird: list[Json] = [{}, {"entry": "x", "type": 3}, {"contained": [1, None]}, {"start": 5, "end": []}]
    for inv in all_invariants():
        for obj in weird:
            assert isinstance(list(inv.check(obj, ctx)), list)

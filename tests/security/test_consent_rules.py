"""The consent decision table (architecture §7), rule by rule, with a permit and a deny case each.

The rules run on what the store knows about one patient (security/consent.py ``decide``): the holding centre, the
care team, and the sharing Consents read from FHIR Consent resources exactly as they are stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from security.consent import (
    CARE_TEAM,
    EXPLICIT,
    HOLDING_CENTRE,
    OBJECTION,
    REQUIRED,
    TRE_G15,
    Actor,
    PatientFacts,
    decide,
    in_care_team,
    patient_ids,
    sharing_consent,
)

NOW = "2026-11-22T10:00:00"
CENTRE_A, CENTRE_B = "350000014", "350000022"
NURSE = Actor("810000000001", frozenset({CENTRE_B}), "60", frozenset({"Practitioner/nurse", "Organization/org-b"}))


def consent(
    provision_type: str,
    when: str,
    *,
    actors: list[dict[str, Any]] | None = None,
    category: str = "sharing",
    status: str = "active",
    period: dict[str, str] | None = None,
) -> dict[str, Any]:
    provision: dict[str, Any] = {"type": provision_type}
    if actors is not None:
        provision["actor"] = actors
    if period is not None:
        provision["period"] = period
    return {
        "resourceType": "Consent",
        "id": f"c-{provision_type}-{when}",
        "status": status,
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "urn:cpts-gateway:consent-category", "code": category}]}],
        "patient": {"reference": "Patient/p1"},
        "dateTime": when,
        "provision": provision,
    }


def facts(*consents: dict[str, Any], tenant: str = CENTRE_A, team: bool = False, actor: Actor = NURSE) -> PatientFacts:
    read = [sharing_consent(actor, c, datetime(2026, 1, 1), NOW) for c in consents]
    return PatientFacts("p1", tenant, team, [c for c in read if c is not None])


# Rule 1: inside the équipe de soins, sharing is presumed unless the patient objected.
def test_rule1_permit_care_team_member_is_presumed() -> None:
    assert decide(NURSE, facts(team=True)) == decide(NURSE, facts(team=True))
    decision = decide(NURSE, facts(team=True))
    assert (decision.permit, decision.reason) == (True, CARE_TEAM)


def test_rule1_permit_the_holding_centre_always_sees_its_record() -> None:
    objection = consent("deny", "2026-11-01T09:00:00+01:00")
    decision = decide(NURSE, facts(objection, tenant=CENTRE_B))
    assert (decision.permit, decision.reason) == (True, HOLDING_CENTRE)


def test_rule1_deny_care_team_member_after_an_objection() -> None:
    decision = decide(NURSE, facts(consent("deny", "2026-11-01T09:00:00+01:00"), team=True))
    assert (decision.permit, decision.reason) == (False, OBJECTION)
    assert decision.consent == "Consent/c-deny-2026-11-01T09:00:00+01:00"


# Rule 2: outside it, sharing needs an explicit prior consent naming the actor, organisation or role.
def test_rule2_deny_outsider_without_consent() -> None:
    decision = decide(NURSE, facts())
    assert (decision.permit, decision.reason) == (False, REQUIRED)


@pytest.mark.parametrize(
    "actor",
    [
        {"reference": {"reference": "Practitioner/nurse"}},
        {
            "reference": {
                "type": "Practitioner",
                "identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000000001"},
            }
        },
        {"reference": {"reference": "Organization/org-b"}},
        {"reference": {"identifier": {"system": "https://finess.esante.gouv.fr", "value": CENTRE_B}}},
        {"reference": {"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.2", "value": f"1{CENTRE_B}"}}},
        {"role": {"coding": [{"system": TRE_G15, "code": "60"}]}, "reference": {"reference": "Organization/cpts"}},
    ],
    ids=["practitioner", "idnat-ps", "organization", "finess", "idnat-struct", "profession"],
)
def test_rule2_permit_outsider_named_by_a_consent(actor: dict[str, Any]) -> None:
    decision = decide(NURSE, facts(consent("permit", "2026-10-01T09:00:00+02:00", actors=[actor])))
    assert (decision.permit, decision.reason) == (True, EXPLICIT)


def test_rule2_deny_consent_naming_someone_else() -> None:
    other = {"reference": {"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000000099"}}}
    decision = decide(NURSE, facts(consent("permit", "2026-10-01T09:00:00+02:00", actors=[other])))
    assert (decision.permit, decision.reason) == (False, REQUIRED)


def test_rule2_permit_general_consent_without_actor() -> None:
    decision = decide(NURSE, facts(consent("permit", "2026-10-01T09:00:00+02:00")))
    assert decision.permit


# Rule 3: an objection wins over a presumption and an older consent; the newest applicable Consent decides.
def test_rule3_objection_newer_than_consent_denies() -> None:
    older = consent("permit", "2026-10-01T09:00:00+02:00")
    newer = consent("deny", "2026-11-01T09:00:00+01:00")
    decision = decide(NURSE, facts(older, newer, team=True))
    assert (decision.permit, decision.reason) == (False, OBJECTION)


def test_rule3_consent_newer_than_objection_permits() -> None:
    older = consent("deny", "2026-10-01T09:00:00+02:00")
    newer = consent("permit", "2026-11-01T09:00:00+01:00")
    decision = decide(NURSE, facts(older, newer))
    assert (decision.permit, decision.reason) == (True, EXPLICIT)


def test_rule3_same_instant_the_objection_wins() -> None:
    decision = decide(
        NURSE, facts(consent("permit", "2026-11-01T09:00:00Z"), consent("deny", "2026-11-01T10:00:00+01:00"))
    )
    assert not decision.permit


def test_rule3_offsets_are_compared_as_instants() -> None:
    # 09:30+02:00 is 07:30Z, earlier than the objection at 08:00Z although its local time reads later
    permit = consent("permit", "2026-11-01T09:30:00+02:00")
    deny = consent("deny", "2026-11-01T08:00:00Z")
    assert not decide(NURSE, facts(permit, deny)).permit


def test_rule3_an_objection_aimed_at_someone_else_leaves_the_presumption() -> None:
    other = {"reference": {"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000000099"}}}
    decision = decide(NURSE, facts(consent("deny", "2026-11-01T09:00:00Z", actors=[other]), team=True))
    assert (decision.permit, decision.reason) == (True, CARE_TEAM)


# What is not a sharing choice does not count.
@pytest.mark.parametrize(
    "ignored",
    [
        consent("deny", "2026-11-01T09:00:00Z", category="dmp-feed"),
        consent("deny", "2026-11-01T09:00:00Z", category="dmp-access"),
        consent("deny", "2026-11-01T09:00:00Z", status="inactive"),
        consent("deny", "2026-11-01T09:00:00Z", status="entered-in-error"),
        consent("deny", "2026-11-01T09:00:00Z", period={"end": "2026-06-30"}),
        consent("deny", "2026-11-01T09:00:00Z", period={"start": "2027-01-01"}),
    ],
    ids=["dmp-feed", "dmp-access", "inactive", "entered-in-error", "expired", "not-yet"],
)
def test_consents_that_do_not_apply_leave_the_presumption(ignored: dict[str, Any]) -> None:
    assert decide(NURSE, facts(ignored, team=True)).permit


def test_care_team_membership_needs_an_active_team_and_participation() -> None:
    member = {"member": {"reference": "Practitioner/nurse"}}
    team: dict[str, Any] = {"resourceType": "CareTeam", "status": "active", "participant": [member]}
    assert in_care_team(NURSE, team, NOW)
    assert not in_care_team(NURSE, {**team, "status": "inactive"}, NOW)
    ended = {**member, "period": {"end": "2026-01-31"}}
    assert not in_care_team(NURSE, {**team, "participant": [ended]}, NOW)
    stranger = {"member": {"reference": "Practitioner/someone-else"}}
    assert not in_care_team(NURSE, {**team, "participant": [stranger]}, NOW)


def test_patient_ids_follow_the_patient_search_parameter() -> None:
    assert patient_ids("Patient", {"id": "p1"}) == {"p1"}
    appointment = {"participant": [{"actor": {"reference": "Patient/p1"}}, {"actor": {"reference": "Practitioner/x"}}]}
    assert patient_ids("Appointment", appointment) == {"p1"}
    assert patient_ids("Task", {"for": {"reference": "Patient/p2"}}) == {"p2"}
    assert patient_ids("Slot", {"schedule": {"reference": "Schedule/s"}}) == set()


def test_membership_periods_are_local_dates_in_the_gateway_time_zone() -> None:
    """A nurse who joined on 23 November (Paris) is a member from local midnight, 23:00 UTC on the 22nd; a
    membership ending on the 22nd lasts until that same instant."""
    joined = {"member": {"reference": "Practitioner/nurse"}, "period": {"start": "2026-11-23"}}
    team: dict[str, Any] = {"resourceType": "CareTeam", "status": "active", "participant": [joined]}
    assert not in_care_team(NURSE, team, "2026-11-22T22:59:59")
    assert in_care_team(NURSE, team, "2026-11-22T23:00:00")
    leaving = {"member": {"reference": "Practitioner/nurse"}, "period": {"end": "2026-11-22"}}
    assert in_care_team(NURSE, {**team, "participant": [leaving]}, "2026-11-22T22:59:59")
    assert not in_care_team(NURSE, {**team, "participant": [leaving]}, "2026-11-22T23:00:00")

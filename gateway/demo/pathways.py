"""Care pathways of the demo territory: enrolments (CarePlans laid out from the protocols) and referrals (Task +
ServiceRequest) in every state of the state machine, some overdue.

About one patient with a médecin traitant in eight is enrolled, by that GP, in one of the CPTS's protocols; most
enrolments are active, some completed. Each enrolled patient gets one referral from the GP to a professional of a
neighbouring centre; the statuses take turns through the eight states (requested, received, accepted, rejected,
in-progress, completed, cancelled, failed), due two weeks after the referral was sent; the open ones were sent in
the last month, so about half of them are overdue. Everything is held by the patient's centre. Deterministic
(seeded per centre), no clock read.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

from gateway.demo.codes import reference
from gateway.demo.localtime import LocalClock
from gateway.demo.patients import PatientSpec
from gateway.demo.professions import GP
from gateway.demo.territory import CentreSpec, PractitionerSpec, Territory
from gateway.fhir.ids import deterministic_id
from gateway.pathways.enrolment import build_careplan
from gateway.pathways.loader import read_protocols
from gateway.pathways.schedule import plan_activities

ENROLMENT_SHARE = 0.125
COMPLETED_SHARE = 0.15
STATES = ("requested", "received", "accepted", "rejected", "in-progress", "completed", "cancelled", "failed")
DUE_DAYS = 14
OPEN = frozenset({"requested", "received", "accepted", "in-progress"})
NEIGHBOURS = (1, -1, 2)
TASK_TYPE = {"coding": [{"system": "urn:cpts-gateway:task-type", "code": "referral", "display": "Adressage"}]}


def _recipients(territory: Territory, centre: CentreSpec) -> list[tuple[CentreSpec, PractitionerSpec]]:
    centres = territory.centres
    others = {centres[(centre.index + k) % len(centres)].finess: centres[(centre.index + k) % len(centres)]
              for k in NEIGHBOURS if len(centres) > 1}  # fmt: skip
    others.pop(centre.finess, None)
    pool = [(other, p) for other in others.values() for p in other.practitioners if p.profession is not GP]
    return pool or [(centre, p) for p in centre.practitioners if p.profession is not GP]


def _enrolment(protocol: dict[str, Any], patient: PatientSpec, gp: PractitionerSpec, start: dt.date,
               completed: bool, today: dt.date) -> dict[str, Any]:  # fmt: skip
    plan = build_careplan(protocol, patient.id, start, f"PractitionerRole/{gp.role_id}")
    if completed:
        end = min(start + dt.timedelta(days=180), today - dt.timedelta(days=1))
        plan["status"] = "completed"
        plan["period"]["end"] = end.isoformat()
        plan["activity"] = plan_activities(protocol, start, end=end, status="completed")
    return plan


def _referral(
    patient: PatientSpec, plan: dict[str, Any], gp: PractitionerSpec, owner: PractitionerSpec, status: str,
    sent: dt.date, clock: LocalClock, rng: random.Random,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    key = f"{plan['id']}/referral"
    request_id, task_id = deterministic_id("ServiceRequest", key), deterministic_id("Task", key)
    authored = clock.instant(sent, rng.randint(8 * 60, 18 * 60))
    service_request = {
        "resourceType": "ServiceRequest",
        "id": request_id,
        "status": {"completed": "completed", "cancelled": "revoked", "rejected": "revoked", "failed": "revoked"}.get(
            status, "active"
        ),
        "intent": "order",
        "code": {"text": f"Prise en charge : {owner.profession.display}"},
        "subject": reference("Patient", patient.id),
        "authoredOn": authored,
        "requester": reference("PractitionerRole", gp.role_id, gp.display),
        "performer": [reference("PractitionerRole", owner.role_id, owner.display)],
        "basedOn": [reference("CarePlan", plan["id"])],
    }
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id,
        "basedOn": [reference("CarePlan", plan["id"])],
        "status": status,
        "intent": "order",
        "code": {"coding": [dict(TASK_TYPE["coding"][0])]},
        "focus": reference("ServiceRequest", request_id),
        "for": reference("Patient", patient.id),
        "authoredOn": authored,
        "requester": reference("PractitionerRole", gp.role_id, gp.display),
        "owner": reference("PractitionerRole", owner.role_id, owner.display),
        "restriction": {"period": {"end": (sent + dt.timedelta(days=DUE_DAYS)).isoformat()}},
    }
    if status in ("in-progress", "completed", "failed"):
        started = sent + dt.timedelta(days=rng.randint(1, DUE_DAYS))
        task["executionPeriod"] = {"start": clock.instant(started, rng.randint(8 * 60, 18 * 60))}
        if status != "in-progress":
            ended = started + dt.timedelta(days=rng.randint(1, 10))  # a later day: the period stays ordered
            task["executionPeriod"]["end"] = clock.instant(ended, rng.randint(8 * 60, 18 * 60))
    return service_request, task


def centre_pathways(
    territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
) -> Iterator[dict[str, Any]]:
    """The centre's enrolments, each followed by its referral (ServiceRequest, then Task)."""
    rng = random.Random(f"{territory.options.seed}/pathways/{centre.finess}")
    today = territory.options.start
    protocols = read_protocols()
    recipients = _recipients(territory, centre)
    turn = centre.index  # so small territories still show every state
    for patient in patients:
        gp = patient.general_practitioner
        if gp is None or rng.random() >= ENROLMENT_SHARE:
            continue
        protocol = protocols[rng.randrange(len(protocols))]
        start = today - dt.timedelta(days=rng.randint(7, 400))
        completed = rng.random() < COMPLETED_SHARE and (today - start).days > 30
        plan = _enrolment(protocol, patient, gp, start, completed, today)
        yield plan
        if not recipients:
            continue
        status = STATES[turn % len(STATES)]
        turn += 1
        sent = start + dt.timedelta(days=rng.randint(0, max(0, min(60, (today - start).days - 1))))
        if status in OPEN:  # open referrals were sent in the last month: about half are past their due date
            sent = max(start, today - dt.timedelta(days=rng.randint(1, 30)))
        owner = rng.choice(recipients)[1]
        yield from _referral(patient, plan, gp, owner, status, sent, clock, rng)


__all__ = ["STATES", "centre_pathways"]

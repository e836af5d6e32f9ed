"""The acceptance story of issue 6, over real HTTP with tokens of the right roles.

A GP of centre A enrols a patient in the diabetes protocol and refers her to a nurse of centre B; B accepts (and so
joins the patient's cercle de soins), starts and completes; the coordinator sees the counts but not the patient; the
patient objects and B loses access while A keeps its record; illegal transitions are refused at Task.status.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.pathways.pathway_support import DIABETES, PATIENT, move, refer, territory
from tests.security.identities import Identities
from tests.security.scenario import consent, refused


def members(team: dict[str, Any]) -> dict[str, list[str]]:
    return {
        p["member"]["reference"]: [c["code"] for r in p.get("role", []) for c in r["coding"]]
        for p in team.get("participant", [])
    }


def enrol(gp: httpx.Client) -> httpx.Response:
    return gp.post(
        f"/fhir/PlanDefinition/{DIABETES}/$apply",
        params={"subject": f"Patient/{PATIENT}", "practitioner": "PractitionerRole/pw-role-gp", "start": "2026-01-15"},
    )


def test_pathway_scenario_enrol_refer_accept_complete_object(ids: Identities) -> None:
    land = territory(ids)
    gp, nurse = land.gp, land.nurse

    # 1. the GP of centre A enrols the patient: a CarePlan with the protocol's dated activities, and her cercle de soins
    enrolled = enrol(gp)
    assert enrolled.status_code == 201, enrolled.text
    plan = enrolled.json()
    assert plan["instantiatesCanonical"] == [f"https://cpts-gateway.fr/fhir/PlanDefinition/{DIABETES}|1.0.0"]
    assert plan["status"] == "active" and plan["subject"] == {"reference": f"Patient/{PATIENT}"}
    steps = [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]]
    assert steps.count("revue-medecin-hba1c") == 4 and steps.count("education-therapeutique") == 4
    assert plan["activity"][0]["detail"]["scheduledPeriod"] == {"start": "2026-01-15", "end": "2026-02-15"}
    again = enrol(gp)  # enrolling twice changes nothing
    assert again.status_code == 200 and again.json()["id"] == plan["id"]
    assert again.json()["meta"]["versionId"] == plan["meta"]["versionId"]
    team_ref = plan["careTeam"][0]["reference"]
    team = gp.get(f"/fhir/{team_ref}").json()
    assert members(team) == {"PractitionerRole/pw-role-gp": ["PCP"]}  # the médecin traitant
    assert team["meta"]["profile"] == [
        "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"
    ]

    # 2. the GP refers her to the nurse of centre B; the nurse sees the referral, not yet the patient
    refer(gp, "pw-t1", "2026-02-15", based_on=f"CarePlan/{plan['id']}")
    received = nurse.get("/fhir/Task/pw-t1")
    assert received.status_code == 200
    assert "CONSENT-REFERRAL-RECIPIENT" in str(ids.audited(received.headers["x-request-id"]))
    assert nurse.get("/fhir/ServiceRequest/pw-t1-sr").status_code == 200
    refused(nurse.get(f"/fhir/Patient/{PATIENT}"), ids, code="CONSENT-REQUIRED")

    # 3. illegal moves: skipping states, and accepting from the requester's side
    skipped = move(nurse, "pw-t1", "completed")
    refused(skipped, ids, status=409, code="PATHWAY-TASK-TRANSITION")
    issue = skipped.json()["issue"][0]
    assert issue["expression"] == ["Task.status"] and "from 'requested' it may go to" in issue["diagnostics"]
    refused(move(gp, "pw-t1", "accepted"), ids, code="PATHWAY-TASK-SIDE")

    # 4. B accepts: the nurse joins the cercle de soins in the same transaction, and now sees the patient
    accepted = move(nurse, "pw-t1", "accepted")
    assert accepted.status_code == 200, accepted.text
    team = gp.get(f"/fhir/{team_ref}").json()
    assert members(team) == {"PractitionerRole/pw-role-gp": ["PCP"], "PractitionerRole/pw-role-nurse": []}
    assert nurse.get(f"/fhir/Patient/{PATIENT}").status_code == 200
    assert nurse.get(f"/fhir/CarePlan/{plan['id']}").status_code == 200

    # 5. B starts and completes: the execution period is recorded (IND-PATHWAY's completion delay)
    assert move(nurse, "pw-t1", "in-progress").status_code == 200
    done = move(nurse, "pw-t1", "completed")
    assert done.status_code == 200, done.text
    assert {"start", "end"} <= set(done.json()["executionPeriod"])
    refused(move(nurse, "pw-t1", "in-progress"), ids, status=409, code="PATHWAY-TASK-TRANSITION")  # final

    # 6. the coordinator sees the counts, never the patient nor her pathway
    coordinator = ids.client("pw-coordination", "coordinator")
    summary = coordinator.get("/pathways/summary")
    assert summary.status_code == 200, summary.text
    counts = summary.json()
    diabetes = next(p for p in counts["protocols"] if p["id"] == DIABETES)
    assert diabetes == {"id": DIABETES, "title": "Suivi du diabète de type 2", "active": 1, "completed": 0}
    assert counts["referrals"]["completed"] == 1 and sum(counts["referrals"].values()) == 1
    assert PATIENT not in summary.text and "Jeanne" not in summary.text
    for path in (f"/fhir/Patient/{PATIENT}", f"/fhir/CarePlan/{plan['id']}", "/fhir/Task/pw-t1", "/fhir/Task"):
        refused(coordinator.get(path), ids, code="SEC-ROLE")

    # 7. the patient objects: B loses access; the holding centre keeps its record
    objection = consent("pw-objection", PATIENT, "deny", "2026-03-01T10:00:00+01:00")
    assert land.centre_a.put("/fhir/Consent/pw-objection", json=objection).status_code == 201
    for path in (f"/fhir/Patient/{PATIENT}", f"/fhir/CarePlan/{plan['id']}", "/fhir/Task/pw-t1", f"/fhir/{team_ref}"):
        refused(nurse.get(path), ids, code="CONSENT-OBJECTION")
    assert nurse.get("/fhir/Task", params={"patient": f"Patient/{PATIENT}"}).json().get("entry", []) == []
    assert gp.get(f"/fhir/CarePlan/{plan['id']}").status_code == 200
    assert land.centre_a.get("/fhir/Task/pw-t1").status_code == 200


def test_pathway_scenario_rejection_and_cancellation(ids: Identities) -> None:
    land = territory(ids)
    refer(land.gp, "pw-t2", "2026-02-01")
    refer(land.gp, "pw-t3", "2026-02-01")
    refused(move(land.nurse, "pw-t2", "cancelled"), ids, code="PATHWAY-TASK-SIDE")  # only the requester cancels
    assert move(land.nurse, "pw-t2", "received").status_code == 200
    assert move(land.nurse, "pw-t2", "rejected").status_code == 200
    refused(move(land.gp, "pw-t2", "accepted"), ids, status=409, code="PATHWAY-TASK-TRANSITION")
    assert move(land.gp, "pw-t3", "cancelled").status_code == 200
    # a rejected referral adds nobody to the cercle de soins: the nurse still cannot read the patient
    refused(land.nurse.get(f"/fhir/Patient/{PATIENT}"), ids, code="CONSENT-REQUIRED")
    created_late = land.gp.post("/fhir/Task", json={**move_body("pw-t4"), "status": "completed"})
    refused(created_late, ids, status=409, code="PATHWAY-TASK-TRANSITION")


def move_body(tid: str) -> dict[str, Any]:
    from tests.gateway.pathways.pathway_support import referral

    body = referral(tid, "2026-02-01")
    body.pop("id")
    return body


def test_pathway_scenario_the_centres_own_cercle_de_soins_is_kept(ids: Identities) -> None:
    land = territory(ids)
    team = {
        "resourceType": "CareTeam",
        "id": "pw-centre-team",
        "meta": {"profile": ["https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"]},
        "identifier": [{"system": "urn:cpts-gateway:careteam:350000014", "value": "PW1"}],
        "status": "active",
        "name": "Cercle de soins",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "period": {"start": "2025-06-01"},
        "participant": [
            {"member": {"reference": "PractitionerRole/pw-role-gp"}, "period": {"start": "2025-06-01"}},
        ],
    }
    assert land.centre_a.put("/fhir/CareTeam/pw-centre-team", json=team).status_code == 201
    refer(land.gp, "pw-t5", "2026-02-01")
    assert move(land.nurse, "pw-t5", "accepted").status_code == 200
    teams = land.centre_a.get("/fhir/CareTeam", params={"patient": f"Patient/{PATIENT}"}).json()["entry"]
    assert [e["resource"]["id"] for e in teams] == ["pw-centre-team"]
    assert members(teams[0]["resource"]) == {"PractitionerRole/pw-role-gp": [], "PractitionerRole/pw-role-nurse": []}
    assert move(land.nurse, "pw-t5", "accepted").status_code == 200  # the same status again: not a move
    again = land.centre_a.get("/fhir/CareTeam/pw-centre-team").json()
    assert len(again["participant"]) == 2


def test_pathway_scenario_a_task_addressed_to_no_one_is_run_by_its_centre(ids: Identities) -> None:
    land = territory(ids)
    task = {"resourceType": "Task", "id": "pw-own", "status": "requested", "intent": "order",
            "for": {"reference": f"Patient/{PATIENT}"}}  # fmt: skip
    assert land.centre_a.put("/fhir/Task/pw-own", json=task).status_code == 201
    for status in ("accepted", "in-progress", "completed"):
        assert move(land.centre_a, "pw-own", status).status_code == 200, status
    refused(move(land.centre_a, "pw-own", "requested"), ids, status=409, code="PATHWAY-TASK-TRANSITION")

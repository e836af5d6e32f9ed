"""Follow-up over HTTP: overdue referrals (``Task?status=requested&period=lt<date>``, period covering the due date
``restriction.period.end``) and overdue activities (``CarePlan?activity-due=lt<date>``); enrolment by a plain
``POST /fhir/CarePlan`` is idempotent; the pathway counts per role (coordinator: every centre, centre: its own)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.gateway.pathways.pathway_support import DIABETES, PATIENT, move, refer, territory
from tests.security.identities import CENTRE_A, Identities
from tests.security.scenario import refused


def ids_of(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def test_pathway_scenario_overdue_referrals_and_activities(ids: Identities) -> None:
    land = territory(ids)
    gp = land.gp
    today = date.today()
    refer(gp, "pw-late", (today - timedelta(days=10)).isoformat())
    refer(gp, "pw-soon", (today + timedelta(days=10)).isoformat())
    refer(gp, "pw-started", (today - timedelta(days=10)).isoformat())
    assert move(land.nurse, "pw-started", "accepted").status_code == 200

    overdue = gp.get("/fhir/Task", params={"status": "requested", "period": f"lt{today.isoformat()}"})
    assert overdue.status_code == 200, overdue.text
    assert ids_of(overdue.json()) == {"pw-late"}
    open_late = gp.get("/fhir/Task", params={"status": "requested,received,accepted", "period": f"lt{today}"})
    assert ids_of(open_late.json()) == {"pw-late", "pw-started"}

    start = (today - timedelta(days=45)).isoformat()
    url = f"/fhir/PlanDefinition/{DIABETES}/$apply"
    enrolled = gp.post(url, params={"subject": f"Patient/{PATIENT}", "start": start})
    assert enrolled.status_code == 201, enrolled.text
    plan = enrolled.json()
    late = gp.get("/fhir/CarePlan", params={"activity-due": f"lt{today}", "status": "active"})
    assert ids_of(late.json()) == {plan["id"]}
    # the centre records the overdue activities as done: the due date goes with the pending status
    activities, completed = [], []
    for item in plan["activity"]:
        detail = item["detail"]
        if detail["scheduledPeriod"]["end"] < today.isoformat():
            completed.append(detail["code"]["coding"][0]["code"])
            detail = {**{k: v for k, v in detail.items() if k != "extension"}, "status": "completed"}
        activities.append({"detail": detail})
    assert sorted(completed) == ["education-therapeutique", "revue-medecin-hba1c"]
    updated = land.centre_a.put(f"/fhir/CarePlan/{plan['id']}", json={**plan, "activity": activities})
    assert updated.status_code == 200, updated.text
    assert ids_of(gp.get("/fhir/CarePlan", params={"activity-due": f"lt{today}"}).json()) == set()
    assert ids_of(gp.get("/fhir/CarePlan", params={"activity-due": f"lt{today + timedelta(days=60)}"}).json()) == {
        plan["id"]
    }
    first = plan["activity"][0]["detail"]
    bad = {**plan, "activity": [{"detail": {**first, "status": "completed"}}]}
    invalid = land.centre_a.put(f"/fhir/CarePlan/{plan['id']}", json=bad)
    assert invalid.status_code == 422 and "gw-cpl-1" in invalid.text
    assert invalid.json()["issue"][0]["expression"] == ["CarePlan.activity[0].detail.extension[0]"]

    coordinator = ids.client("pw-coordination", "coordinator").get("/pathways/summary").json()
    assert coordinator["overdue"] == 2
    assert coordinator["referrals"] == {
        "requested": 2, "received": 0, "accepted": 1, "rejected": 0, "in-progress": 0, "completed": 0,
        "cancelled": 0, "failed": 0,
    }  # fmt: skip
    centre_b = ids.client("pw-manager-b", "centre-manager", tenant="350000022").get("/pathways/summary").json()
    assert centre_b["overdue"] == 0 and sum(centre_b["referrals"].values()) == 0  # held by A, the patient's centre
    manager_a = ids.client("pw-manager-a", "centre-manager", tenant=CENTRE_A).get("/pathways/summary").json()
    assert manager_a["referrals"]["requested"] == 2
    refused(land.gp.get("/pathways/summary"), ids, code="SEC-ROLE")  # a practitioner has no pathway counts


def test_pathway_scenario_post_careplan_is_idempotent(ids: Identities) -> None:
    land = territory(ids)
    body = {
        "resourceType": "CarePlan",
        "instantiatesCanonical": ["https://cpts-gateway.fr/fhir/PlanDefinition/cpts-copd"],
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [{"system": "urn:cpts-gateway:careplan-category", "code": "pathway"}]}],
        "subject": {"reference": f"Patient/{PATIENT}"},
        "period": {"start": "2026-03-01"},
        "author": {"reference": "PractitionerRole/pw-role-gp"},
    }
    first = land.gp.post("/fhir/CarePlan", json=body)
    assert first.status_code == 201, first.text
    second = land.gp.post("/fhir/CarePlan", json=body)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert second.json()["meta"]["versionId"] == "1"
    assert first.json()["careTeam"] == [{"reference": first.json()["careTeam"][0]["reference"]}]
    assert first.json()["careTeam"][0]["reference"].startswith("CareTeam/")
    teams = land.centre_a.get("/fhir/CareTeam", params={"patient": f"Patient/{PATIENT}"}).json()
    assert len(teams["entry"]) == 1  # one cercle de soins per patient, held by the patient's centre
    refused(land.nurse.post("/fhir/CarePlan", json=body), ids, code="CONSENT-REQUIRED")  # outside the team
    assert land.centre_a.get(f"/fhir/CarePlan/{first.json()['id']}").status_code == 200


def test_pathway_scenario_apply_refuses_bad_input(ids: Identities) -> None:
    land = territory(ids)
    url = f"/fhir/PlanDefinition/{DIABETES}/$apply"
    for params in ({}, {"subject": "Group/x"}, {"subject": f"Patient/{PATIENT}", "start": "15/01/2026"}):
        answer = land.gp.post(url, params=params)
        assert answer.status_code == 400, answer.text
        assert answer.json()["issue"][0]["expression"] in (["parameter:subject"], ["parameter:start"])
    unknown = land.gp.post("/fhir/PlanDefinition/cpts-nothing/$apply", params={"subject": f"Patient/{PATIENT}"})
    assert unknown.status_code == 404
    refused(land.nurse.post(url, params={"subject": f"Patient/{PATIENT}"}), ids, code="CONSENT-REQUIRED")
    coordinator = ids.client("pw-coordination", "coordinator")
    refused(coordinator.post(url, params={"subject": f"Patient/{PATIENT}"}), ids, code="SEC-ROLE")

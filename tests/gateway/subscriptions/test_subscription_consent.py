"""Subscriptions under the consent rules (architecture §7), with real tokens: a notification carries the resource
only when its subscriber may read it now, else it is id-only; a Subscription is its subscriber's alone."""

from __future__ import annotations

import httpx
import orjson

from gateway.subscriptions.delivery import Deliverer
from tests.gateway.subscriptions.conftest import FHIR_JSON, drive, subscribe, task
from tests.gateway.subscriptions.subscription_receiver import Received, receiving
from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import GP_PS, IPP_A, NURSE_PS, PS_SYSTEM, consent, patient, put


def territory(ids: Identities) -> httpx.Client:
    """Centre A holds patients pa (the nurse of centre B is in their care team) and pc (no care team, no consent)."""
    ids.seed_shared(
        {"resourceType": "Practitioner", "id": "pr-nurse", "identifier": [{"system": PS_SYSTEM, "value": NURSE_PS}]},
    )
    a = ids.centre(CENTRE_A)
    put(a, patient("pa", IPP_A, "Alpha"))
    put(a, patient("pc", IPP_A, "Charlie"))
    put(a, {"resourceType": "CareTeam", "id": "ct-pa", "status": "active", "subject": {"reference": "Patient/pa"},
            "participant": [{"member": {"reference": "Practitioner/pr-nurse"}}]})  # fmt: skip
    return a


def by_task(received: list[Received]) -> dict[str, list[Received]]:
    found: dict[str, list[Received]] = {}
    for request in received:
        found.setdefault(request.headers["x-resource"].split("/_history")[0], []).append(request)
    return found


def test_payload_only_where_consent_allows_it(ids: Identities, deliverer: Deliverer) -> None:
    a = territory(ids)
    nurse = ids.practitioner("nurse", NURSE_PS, [CENTRE_B], "60")
    with receiving() as receiver:
        sub = subscribe(nurse, "Task?status=requested", receiver.url, payload=FHIR_JSON)
        put(a, task("t-pa", "requested", "pa"))
        put(a, task("t-pc", "requested", "pc"))
        drive(deliverer, lambda: len(receiver.received) >= 2)
        put(a, consent("objection-pa", "pa", "deny", "2026-11-20T10:00:00+01:00"))  # pa objects to sharing
        put(a, {**task("t-pa", "requested", "pa"), "description": "bilan podologique"})
        drive(deliverer, lambda: len(receiver.received) >= 3)
        received = by_task(receiver.received)

    care_team, objected = received["Task/t-pa"]
    assert (care_team.method, care_team.path) == ("PUT", "/hooks/cpts/Task/t-pa")
    assert orjson.loads(care_team.body)["for"] == {"reference": "Patient/pa"}
    for id_only in (objected, *received["Task/t-pc"]):
        assert (id_only.method, id_only.path, id_only.body) == ("POST", "/hooks/cpts", b"")
        assert "content-type" not in id_only.headers
    assert objected.headers["x-resource"] == "Task/t-pa/_history/2"

    report = nurse.get(f"/subscriptions/{sub['id']}/deliveries")
    assert report.status_code == 200, report.text
    reasons = {(d["resource"], a["content"], a["reason"]) for d in report.json()["deliveries"] for a in d["attempts"]}
    assert reasons == {
        ("Task/t-pa/_history/1", "full", "CONSENT-PRESUMED-CARE-TEAM"),
        ("Task/t-pa/_history/2", "id-only", "CONSENT-OBJECTION"),
        ("Task/t-pc/_history/1", "id-only", "CONSENT-REQUIRED"),
    }
    assert "Alpha" not in report.text and "bilan" not in report.text  # the record names resources, no content

    for delivery in report.json()["deliveries"]:  # every decision is audited, with the patients a payload concerned
        (attempt,) = delivery["attempts"]
        event = ids.audited(f"subscription-delivery-{delivery['id']}-1")
        assert event["outcome"] == "0" and attempt["reason"] in str(event) and "notify" in str(event)
        carried = "Patient/pa" in str(event)
        assert carried == (attempt["content"] == "full")


def test_a_subscription_is_its_subscribers_alone(ids: Identities) -> None:
    a = territory(ids)
    nurse = ids.practitioner("nurse", NURSE_PS, [CENTRE_B], "60")
    gp = ids.practitioner("gp", GP_PS, [CENTRE_A], "10")
    admin = ids.client("ops", "admin")
    sub = subscribe(nurse, "Task?status=requested", "https://infirmiere.example.fr/hooks")
    mine = subscribe(a, "Patient", "https://si-a.example.fr/hooks")
    assert mine["id"] != sub["id"]

    assert nurse.get(f"/fhir/Subscription/{sub['id']}").status_code == 200
    for other in (gp, a):
        refused = other.get(f"/fhir/Subscription/{sub['id']}")
        assert refused.status_code == 403, refused.text
    assert "SEC-SUBSCRIBER" in gp.get(f"/fhir/Subscription/{sub['id']}").text
    assert gp.get("/fhir/Subscription").json().get("entry", []) == []
    assert [e["resource"]["id"] for e in nurse.get("/fhir/Subscription").json()["entry"]] == [sub["id"]]
    assert [e["resource"]["id"] for e in a.get("/fhir/Subscription").json()["entry"]] == [mine["id"]]
    taken = {**sub, "channel": {"type": "rest-hook", "endpoint": "https://gp.example.fr/steal"}}
    assert gp.put(f"/fhir/Subscription/{sub['id']}", json=taken).status_code == 403
    assert gp.delete(f"/fhir/Subscription/{sub['id']}").status_code == 403

    assert nurse.get(f"/subscriptions/{sub['id']}/deliveries").status_code == 200
    assert admin.get(f"/subscriptions/{sub['id']}/deliveries").status_code == 200
    assert gp.get(f"/subscriptions/{sub['id']}/deliveries").status_code == 403
    assert nurse.delete(f"/fhir/Subscription/{sub['id']}").status_code == 204


def test_who_may_subscribe(ids: Identities) -> None:
    coordinator = ids.client("coordination", "coordinator")
    refused = coordinator.post(
        "/fhir/Subscription",
        json={"resourceType": "Subscription", "status": "requested", "reason": "r", "criteria": "Slot",
              "channel": {"type": "rest-hook", "endpoint": "https://cpts.example.fr/hooks"}},
    )  # fmt: skip
    assert refused.status_code == 403 and "SEC-ROLE" in refused.text
    nurse = ids.practitioner("nurse", NURSE_PS, [CENTRE_B], "60")
    chained = nurse.post(
        "/fhir/Subscription",
        json={"resourceType": "Subscription", "status": "requested", "reason": "r",
              "criteria": "Task?patient.family=Alpha",
              "channel": {"type": "rest-hook", "endpoint": "https://infirmiere.example.fr/hooks"}},
    )  # fmt: skip
    assert chained.status_code == 403 and "CONSENT-CHAIN" in chained.text  # would test what consent may hide

"""``GET /audit/events`` over real HTTP: the admin's (here the developer's) view of the trail, filtered and paged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from gateway.settings import Settings
from security.audit import AuditRecord, AuditTrail


def seed(engine: Engine, settings: Settings) -> tuple[str, str]:
    """Five events of one unique agent; the patient is first in one event and second in another."""
    agent, patient = f"api-{uuid.uuid4()}", f"Patient/{uuid.uuid4()}"
    AuditTrail(engine, settings).record_many(
        [
            AuditRecord("read", "0", agent, role="centre-system", resource_ids=(patient,), patients=(patient,)),
            AuditRecord("search", "0", agent, resource_type="Appointment", patients=("Patient/other", patient)),
            AuditRecord("create", "0", agent, resource_ids=("Task/t1",)),
            AuditRecord("read", "4", agent, resource_ids=("Consent/c1",), decision="deny", reason="SEC-TENANT"),
            AuditRecord("token", "0", agent, client=agent, token_id="jti-x"),
        ]
    )
    return agent, patient


def entries(http: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    response = http.get("/audit/events", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset"
    return list(bundle.get("entry", []))


def test_events_come_newest_first_in_keyset_pages(client: httpx.Client, engine: Engine, settings: Settings) -> None:
    agent, _ = seed(engine, settings)
    seen: list[dict[str, Any]] = []
    url: str | None = f"/audit/events?agent={agent}&_count=2"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        bundle = response.json()
        seen.extend(bundle["entry"])
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        pages += 1
    assert pages == 3
    events = [entry["resource"] for entry in seen]
    for event in events:
        AuditEvent.model_validate(event)
    seqs = [int(event["id"]) for event in events]
    assert seqs == sorted(seqs, reverse=True)
    assert len(seqs) == 5
    assert [e["subtype"][-1]["code"] for e in events] == ["token", "read", "create", "search", "read"]
    assert seen[0]["fullUrl"].endswith(f"/audit/events/{seqs[0]}")
    one = client.get(f"/audit/events/{seqs[0]}")
    assert one.status_code == 200
    assert one.json() == events[0]


def test_filters_by_patient_action_outcome_and_time(client: httpx.Client, engine: Engine, settings: Settings) -> None:
    agent, patient = seed(engine, settings)
    by_patient = entries(client, {"agent": agent, "patient": patient})
    assert [e["resource"]["subtype"][-1]["code"] for e in by_patient] == ["search", "read"]
    assert len(entries(client, {"agent": agent, "patient": patient.removeprefix("Patient/")})) == 2
    assert len(entries(client, {"agent": agent, "action": "create"})) == 1
    (denied,) = entries(client, {"agent": agent, "outcome": "4"})
    assert denied["resource"]["outcome"] == "4"
    now = datetime.now(UTC)
    later = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert entries(client, {"agent": agent, "since": later}) == []
    assert entries(client, {"agent": agent, "until": earlier}) == []
    assert len(entries(client, {"agent": agent, "since": earlier, "until": later})) == 5


def test_bad_parameters_are_400_naming_the_parameter(client: httpx.Client) -> None:
    for params, where in [
        ({"who": "x"}, "who"),
        ({"_count": "0"}, "_count"),
        ({"_count": "many"}, "_count"),
        ({"_count": "²"}, "_count"),  # a digit to str.isdigit, not to int()
        ({"_cursor": "٣"}, "_cursor"),
        ({"since": "yesterday"}, "since"),
        ({"outcome": "3"}, "outcome"),
        ({"patient": "Patient/a b"}, "patient"),
        ({"_cursor": "-1"}, "_cursor"),
        ({"agent": "nul\x00byte"}, "agent"),
        ({"action": "DROP TABLE"}, "action"),
    ]:
        response = client.get("/audit/events", params=params)
        assert response.status_code == 400, (params, response.text)
        issue = response.json()["issue"][0]
        assert issue["location"] == [where]
    assert client.get("/audit/events/999999999999").status_code == 404


parameter_names = st.sampled_from(["since", "until", "agent", "patient", "action", "outcome", "_count", "_cursor"])


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(parameter_names, st.text(max_size=20), max_size=4))
def test_any_parameter_values_give_a_page_or_a_400(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get("/audit/events", params=params)
    assert response.status_code in (200, 400), response.text
    assert response.json()["resourceType"] in ("Bundle", "OperationOutcome")


def test_an_anonymous_caller_is_refused(anonymous: httpx.Client) -> None:
    response = anonymous.get("/audit/events")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"

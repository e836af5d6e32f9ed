"""Subscription resources: criteria read with the gateway's search semantics, channel rules, status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidRequest
from gateway.subscriptions.criteria import criteria_request, split_criteria


def subscription(criteria: str = "Task?status=requested", **channel: Any) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "adressages reçus",
        "criteria": criteria,
        "channel": {"type": "rest-hook", "endpoint": "https://si.example.fr/hooks", **channel},
    }


def refused_at(response: httpx.Response, status: int, location: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    assert issue["location"] == [location]
    return str(issue["diagnostics"])


def test_a_valid_subscription_is_stored_active(client: httpx.Client) -> None:
    created = client.post("/fhir/Subscription", json=subscription(payload="application/fhir+json"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active"  # requested: the gateway needs no handshake
    found = client.get("/fhir/Subscription", params={"status": "active", "type": "rest-hook"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created.json()["id"]]


@pytest.mark.parametrize(
    ("criteria", "said"),
    [
        ("Taks?status=requested", "'Taks' is not a resource type"),
        ("Task?bogus=1", "unknown search parameter 'bogus'"),
        ("Task?status=requested&_include=Task:owner", "'_include' shapes a result"),
        ("Task?authored-on=lt2026-13-45", "authored-on"),
        ("Subscription?status=active", "Subscription itself"),
        ("", "needs criteria"),
    ],
)
def test_bad_criteria_are_refused_at_the_criteria(client: httpx.Client, criteria: str, said: str) -> None:
    response = client.post("/fhir/Subscription", json=subscription(criteria))
    if criteria == "":  # an empty string is no FHIR string: the validator refuses it at the element first
        assert response.status_code in (400, 422) and "Subscription.criteria" in response.text
        return
    assert said in refused_at(response, 400, "Subscription.criteria")


@pytest.mark.parametrize(
    ("channel", "location"),
    [
        ({"type": "websocket"}, "Subscription.channel.type"),
        ({"type": "email", "endpoint": "mailto:a@b.fr"}, "Subscription.channel.type"),
        ({"endpoint": "ftp://si.example.fr/hooks"}, "Subscription.channel.endpoint"),
        ({"payload": "text/plain"}, "Subscription.channel.payload"),
        ({"header": ["no colon here"]}, "Subscription.channel.header[0]"),
    ],
)
def test_unserved_channels_are_refused_with_422(client: httpx.Client, channel: dict[str, Any], location: str) -> None:
    body = subscription()
    body["channel"] = {**body["channel"], **channel}
    refused_at(client.post("/fhir/Subscription", json=body), 422, location)


def test_criteria_in_a_transaction_are_checked_too(client: httpx.Client) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": subscription("Task?nope=1"), "request": {"method": "POST", "url": "Subscription"}}],
    }
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["location"] == ["Bundle.entry[0].resource.criteria"]


@given(st.text(max_size=60))
def test_any_criteria_text_parses_or_is_refused_at_the_criteria(text: str) -> None:
    problem = None
    try:
        resource_type, pairs = split_criteria(text)
        criteria_request(resource_type, pairs, ["a", "b"])
    except InvalidRequest as exc:
        problem = exc
    assert problem is None or problem.expression == ("Subscription.criteria",)

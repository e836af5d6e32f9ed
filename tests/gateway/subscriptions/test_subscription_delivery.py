"""Delivery of rest-hook notifications to a real local endpoint: retries with back-off, attempts recorded, the
Subscription in error after too many failures, and every write path (REST, transaction, ingest) notifying."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, select

from gateway.ingest.pipeline import Pipeline
from gateway.settings import Settings
from gateway.subscriptions.delivery import Deliverer
from gateway.subscriptions.outbox import DELIVERIES
from tests.gateway.ingest.conftest import run_ingest
from tests.gateway.subscriptions.conftest import FHIR_JSON, drive, put, subscribe, task
from tests.gateway.subscriptions.subscription_receiver import receiving


def pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(DELIVERIES.c.status == "pending")).scalar_one())


def test_two_failures_then_delivered_with_growing_delays(client: httpx.Client, deliverer: Deliverer) -> None:
    with receiving([500, 500]) as receiver:
        sub = subscribe(client, "Task?status=requested", receiver.url, payload=FHIR_JSON,
                        header=["Authorization: Bearer jeton-du-si"])  # fmt: skip
        put(client, task("adressage-1", "requested"))
        put(client, task("brouillon-1", "draft"))  # does not match: no notification
        drive(deliverer, lambda: len(receiver.received) >= 3)
        first, second, third = receiver.received
    for request in (first, second, third):
        assert (request.method, request.path) == ("PUT", "/hooks/cpts/Task/adressage-1")  # R4 rest-hook with payload
        assert request.headers["authorization"] == "Bearer jeton-du-si"
        assert request.headers["x-resource"] == "Task/adressage-1/_history/1"
        assert request.headers["x-subscription"] == f"Subscription/{sub['id']}"
        assert request.headers["content-type"] == FHIR_JSON
        assert orjson.loads(request.body)["id"] == "adressage-1"
    base = 0.3
    assert second.at - first.at >= base * 0.9
    assert third.at - second.at >= 2 * base * 0.9  # exponential: the second retry waits twice as long

    report = client.get(f"/subscriptions/{sub['id']}/deliveries").json()
    assert report["status"] == "active" and report["consecutiveFailures"] == 0
    (delivery,) = report["deliveries"]
    assert delivery["resource"] == "Task/adressage-1/_history/1"
    assert delivery["status"] == "delivered"
    attempts = delivery["attempts"]
    assert [(a["attempt"], a["httpStatus"], a["outcome"]) for a in attempts] == [
        (1, 500, "failed"),
        (2, 500, "failed"),
        (3, 200, "delivered"),
    ]
    assert all(a["content"] == "full" and a["durationMs"] >= 0 for a in attempts)
    assert attempts[0]["started"] < attempts[1]["started"] < attempts[2]["started"]


def test_too_many_failures_fail_the_delivery_and_put_the_subscription_in_error(
    client: httpx.Client, fast_settings: Settings, clean_db: Engine
) -> None:
    settings = fast_settings.model_copy(update={"subscription_max_attempts": 2, "subscription_error_after": 2})
    deliverer = Deliverer(settings, clean_db)
    try:
        with receiving([503] * 10) as receiver:
            sub = subscribe(client, "Task?status=requested", receiver.url)
            put(client, task("adressage-2", "requested"))
            drive(deliverer, lambda: len(receiver.received) >= 2 and pending(clean_db) == 0)
            put(client, task("adressage-3", "requested"))  # the Subscription is in error: nothing more is queued
            assert pending(clean_db) == 0
            assert len(receiver.received) == 2
    finally:
        deliverer.close()
    stored = client.get(f"/fhir/Subscription/{sub['id']}").json()
    assert stored["status"] == "error"
    assert "2 consecutive failed notifications" in stored["error"] and "HTTP 503" in stored["error"]
    report = client.get(f"/subscriptions/{sub['id']}/deliveries").json()
    (delivery,) = report["deliveries"]
    assert delivery["status"] == "failed" and delivery["lastError"] == "HTTP 503"
    assert [a["httpStatus"] for a in delivery["attempts"]] == [503, 503]

    revived = {**stored, "status": "active"}
    del revived["error"]
    assert client.put(f"/fhir/Subscription/{sub['id']}", json=revived).status_code == 200
    report = client.get(f"/subscriptions/{sub['id']}/deliveries").json()
    assert report["status"] == "active" and report["consecutiveFailures"] == 0


def test_an_unreachable_endpoint_is_an_attempt_with_its_error(client: httpx.Client, deliverer: Deliverer) -> None:
    with receiving() as receiver:
        closed = receiver.url  # the receiver stops at the end of the block: its port then refuses connections
    sub = subscribe(client, "Task", closed)
    put(client, task("adressage-4", "requested"))

    def attempts() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = client.get(f"/subscriptions/{sub['id']}/deliveries").json()["deliveries"][0][
            "attempts"
        ]
        return found

    drive(deliverer, lambda: bool(attempts()))
    (attempt,) = attempts()
    assert attempt["httpStatus"] is None and "Connect" in attempt["error"] and attempt["outcome"] == "failed"


def test_transactions_and_ingest_notify_too(
    client: httpx.Client, deliverer: Deliverer, settings: Settings, clean_db: Engine
) -> None:
    with receiving() as receiver:
        sub = subscribe(client, "Practitioner?family=Martin", receiver.url)  # no payload: id-only notifications
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Practitioner", "id": "pr-tx", "name": [{"family": "Martin"}]},
                    "request": {"method": "PUT", "url": "Practitioner/pr-tx"},
                },
                {
                    "resource": {"resourceType": "Practitioner", "id": "pr-other", "name": [{"family": "Durand"}]},
                    "request": {"method": "PUT", "url": "Practitioner/pr-other"},
                },
            ],
        }
        assert client.post("/fhir", json=bundle).status_code == 200
        ingested = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {
                    "resource": {"resourceType": "Practitioner", "id": "pr-in", "name": [{"family": "Martin"}]},
                    "request": {"method": "PUT", "url": "Practitioner/pr-in"},
                }
            ],
        }
        report = run_ingest(Pipeline(settings, clean_db), orjson.dumps(ingested))
        assert report["counts"]["accepted"] == 1, report
        drive(deliverer, lambda: len(receiver.received) >= 2)
        received = receiver.received
    notified = {r.headers["x-resource"].split("/_history")[0] for r in received}
    assert len(received) == 2 and "Practitioner/pr-tx" in notified and "Practitioner/pr-other" not in notified
    (from_ingest,) = notified - {"Practitioner/pr-tx"}  # ingest gives the resource its deterministic id
    assert client.get(f"/fhir/{from_ingest}").json()["name"] == [{"family": "Martin"}]
    for request in received:  # id-only: the R4 form without payload, an empty POST to the endpoint
        assert (request.method, request.path, request.body) == ("POST", "/hooks/cpts", b"")
    report = client.get(f"/subscriptions/{sub['id']}/deliveries").json()
    assert {a["reason"] for d in report["deliveries"] for a in d["attempts"]} == {"no-payload"}

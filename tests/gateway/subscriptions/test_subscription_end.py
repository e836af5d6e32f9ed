"""``Subscription.end``: no write after it is notified, a notification still queued is cancelled, and the delivery
worker turns the Subscription ``off`` (a new version); an ``end`` already past is stored ``off``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import Engine, select

from gateway.subscriptions.delivery import Deliverer, new_owner
from gateway.subscriptions.outbox import DELIVERIES
from tests.gateway.subscriptions.conftest import drive, put, subscribe, task
from tests.gateway.subscriptions.subscription_receiver import receiving


def instant(seconds_from_now: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.astimezone(timezone(timedelta(hours=1))).isoformat(timespec="milliseconds")  # Paris in winter


def deliveries(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(DELIVERIES.c.status, DELIVERIES.c.last_error)).all())


def subscribe_until(http: httpx.Client, endpoint: str, end: str) -> dict[str, Any]:
    created = subscribe(http, "Task?status=requested", endpoint)
    response = http.put(f"/fhir/Subscription/{created['id']}", json={**created, "status": "active", "end": end})
    assert response.status_code == 200, response.text
    stored: dict[str, Any] = response.json()
    return stored


def wait_past(end: str) -> None:
    while datetime.now(UTC) <= datetime.fromisoformat(end) + timedelta(milliseconds=50):
        time.sleep(0.05)


def test_writes_before_the_end_are_notified_and_after_it_are_not(
    client: httpx.Client, deliverer: Deliverer, clean_db: Engine
) -> None:
    with receiving() as receiver:
        end = instant(4)  # room for the first delivery on a slow machine
        sub = subscribe_until(client, receiver.url, end)
        assert sub["status"] == "active" and sub["end"] == end
        put(client, task("avant-la-fin", "requested"))
        drive(deliverer, lambda: len(receiver.received) == 1)
        wait_past(end)
        put(client, task("apres-la-fin", "requested"))  # matched by nothing: the Subscription has ended
        assert [d.status for d in deliveries(clean_db)] == ["delivered"]
        deliverer.run_due(new_owner())
        assert len(receiver.received) == 1
    stored = client.get(f"/fhir/Subscription/{sub['id']}").json()
    assert stored["status"] == "off" and stored["meta"]["versionId"] == str(int(sub["meta"]["versionId"]) + 1)
    assert client.get(f"/subscriptions/{sub['id']}/deliveries").json()["status"] == "off"


def test_a_notification_still_queued_at_the_end_is_cancelled(
    client: httpx.Client, deliverer: Deliverer, clean_db: Engine
) -> None:
    with receiving() as receiver:
        end = instant(3)
        sub = subscribe_until(client, receiver.url, end)
        put(client, task("en-attente", "requested"))  # queued; no worker runs before the end
        wait_past(end)
        deliverer.run_due(new_owner())
        assert receiver.received == []
    ((status, why),) = deliveries(clean_db)
    assert status == "cancelled" and why.startswith("the Subscription ended at ")
    assert client.get(f"/fhir/Subscription/{sub['id']}").json()["status"] == "off"


def test_an_end_already_past_is_stored_off(client: httpx.Client, clean_db: Engine) -> None:
    created = subscribe(client, "Task?status=requested", "http://127.0.0.1:9/hooks")
    past = {**created, "status": "requested", "end": "2026-01-01T00:00:00+01:00"}
    response = client.put(f"/fhir/Subscription/{created['id']}", json=past)
    assert response.status_code == 200 and response.json()["status"] == "off"
    put(client, task("jamais-notifie", "requested"))
    assert deliveries(clean_db) == []


def test_an_end_without_a_time_zone_is_refused_at_the_element(client: httpx.Client) -> None:
    created = subscribe(client, "Task?status=requested", "http://127.0.0.1:9/hooks")
    response = client.put(f"/fhir/Subscription/{created['id']}", json={**created, "end": "2026-12-31T23:59:59"})
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Subscription.end"]

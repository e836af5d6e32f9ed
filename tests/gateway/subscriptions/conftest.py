"""Fixtures of the Subscription tests: settings with short retry delays and a delivery worker run by the test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.settings import Settings
from gateway.subscriptions.delivery import Deliverer, new_owner

FHIR_JSON = "application/fhir+json"


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "subscription_retry_base_seconds": 0.3,
            "subscription_retry_max_seconds": 5,
            "subscription_max_attempts": 4,
            "subscription_error_after": 10,
            "subscription_timeout_seconds": 5,
        }
    )


@pytest.fixture
def deliverer(fast_settings: Settings, clean_db: Engine) -> Iterator[Deliverer]:
    sender = Deliverer(fast_settings, clean_db)
    yield sender
    sender.close()


def drive(deliverer: Deliverer, done: Callable[[], bool], timeout: float = 20) -> None:
    """Run the delivery worker (as a serving process does, polling) until ``done``."""
    owner = new_owner()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliverer.run_due(owner)
        if done():
            return
        time.sleep(0.02)
    raise AssertionError("the notifications were not delivered in time")


def subscribe(http: httpx.Client, criteria: str, endpoint: str, **channel: Any) -> dict[str, Any]:
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "suivi des adressages",
        "criteria": criteria,
        "channel": {"type": "rest-hook", "endpoint": endpoint, **channel},
    }
    response = http.post("/fhir/Subscription", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def task(task_id: str, status: str, patient: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Task", "id": task_id, "status": status, "intent": "order"}
    if patient is not None:
        resource["for"] = {"reference": f"Patient/{patient}"}
    return resource


def put(http: httpx.Client, resource: dict[str, Any]) -> None:
    response = http.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.text

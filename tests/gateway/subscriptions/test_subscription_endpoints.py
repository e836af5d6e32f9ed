"""The notification endpoint policy (CPTS_SUBSCRIPTION_ENDPOINTS): no request leaves for an endpoint outside it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.settings import Settings
from gateway.subscriptions.delivery import Deliverer
from gateway.subscriptions.endpoints import endpoint_refusal
from tests.gateway.subscriptions.conftest import drive, put, subscribe, task
from tests.gateway.subscriptions.subscription_receiver import receiving


@pytest.mark.parametrize(
    ("env", "allowed", "endpoint", "refused"),
    [
        ("development", [], "http://127.0.0.1:9000/hook", False),  # development, no list: local receivers
        ("development", ["https://si.centre-a.fr/fhir/"], "https://si.centre-a.fr/fhir/Task", False),
        ("development", ["https://si.centre-a.fr/fhir/"], "https://si.centre-a.fr.evil.example/fhir/", True),
        ("development", ["https://si.centre-a.fr/fhir/"], "http://169.254.169.254/latest/meta-data/", True),
        ("production", [], "https://si.centre-a.fr/fhir/", True),  # production needs the list
        ("production", ["http://si.centre-a.fr/"], "http://si.centre-a.fr/hook", True),  # and https
        ("production", ["https://si.centre-a.fr/fhir/"], "https://si.centre-a.fr/fhir/", False),
    ],
)
def test_endpoint_policy(env: str, allowed: list[str], endpoint: str, refused: bool) -> None:
    settings = Settings.model_construct(env=env, subscription_endpoints=allowed)
    assert (endpoint_refusal(endpoint, settings) is not None) == refused


def test_an_endpoint_outside_the_policy_is_never_called(
    client: httpx.Client, settings: Settings, clean_db: Engine
) -> None:
    with receiving() as receiver:
        sub = subscribe(client, "Task?status=requested", receiver.url)  # allowed when written (no list)
        narrowed = settings.model_copy(update={"subscription_endpoints": ["https://si.centre-a.fr/fhir/"]})
        deliverer = Deliverer(narrowed, clean_db)
        try:
            put(client, task("adressage-ssrf", "requested"))

            def attempts() -> list[dict[str, Any]]:
                report = client.get(f"/subscriptions/{sub['id']}/deliveries").json()
                found: list[dict[str, Any]] = report["deliveries"][0]["attempts"] if report["deliveries"] else []
                return found

            drive(deliverer, lambda: bool(attempts()))
        finally:
            deliverer.close()
        assert receiver.received == []
        (attempt,) = attempts()[:1]
        assert attempt["httpStatus"] is None and "CPTS_SUBSCRIPTION_ENDPOINTS" in attempt["error"]

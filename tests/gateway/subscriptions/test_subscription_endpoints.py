"""The notification endpoint policy (CPTS_SUBSCRIPTION_ENDPOINTS): no request leaves for an endpoint outside it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine

from gateway.settings import Settings
from gateway.subscriptions.delivery import Deliverer
from tests.gateway.subscriptions.conftest import drive, put, subscribe, task
from tests.gateway.subscriptions.subscription_receiver import receiving


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

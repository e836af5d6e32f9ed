"""Where notifications may go: ``CPTS_SUBSCRIPTION_ENDPOINTS`` (security/outbound.py), checked when a Subscription
is written and again before every delivery (the setting may have changed since)."""

from __future__ import annotations

from gateway.settings import Settings
from security.outbound import outbound_refusal


def endpoint_refusal(endpoint: str, settings: Settings) -> str | None:
    """Why ``endpoint`` may not receive notifications, or None when it may."""
    return outbound_refusal(
        endpoint, settings.subscription_endpoints, production=settings.env == "production",
        setting="CPTS_SUBSCRIPTION_ENDPOINTS",
    )  # fmt: skip


__all__ = ["endpoint_refusal"]

"""Where notifications may go: the endpoint policy of ``CPTS_SUBSCRIPTION_ENDPOINTS``.

A subscriber names the URL the gateway will call, so without a policy anyone allowed to subscribe could make the
gateway reach addresses only it can reach (server-side request forgery). The setting lists URL prefixes
(``https://si.centre-a.fr/fhir/``); an endpoint must start with one of them. In production the list must not be
empty and endpoints must use https; in development an empty list admits any http(s) endpoint (local receivers).
The policy is checked when a Subscription is written and again before every delivery (the setting may change).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.settings import Settings


def endpoint_refusal(endpoint: str, settings: Settings) -> str | None:
    """Why ``endpoint`` may not receive notifications, or None when it may."""
    allowed = settings.subscription_endpoints
    production = settings.env == "production"
    if production and urlsplit(endpoint).scheme != "https":
        return "in production a notification endpoint must use https"
    if not allowed:
        if production:
            return "no notification endpoint is allowed: CPTS_SUBSCRIPTION_ENDPOINTS is empty"
        return None
    if not any(endpoint.startswith(prefix) for prefix in allowed):
        return f"the endpoint is not under one of the allowed prefixes (CPTS_SUBSCRIPTION_ENDPOINTS: {len(allowed)})"
    return None


__all__ = ["endpoint_refusal"]

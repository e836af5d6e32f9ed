"""Requests the gateway sends to URLs its callers name: a Subscription's endpoint, an integrator's agenda server
under conformance test. Without a policy, anyone allowed to name such a URL could make the gateway reach addresses
only it can reach (server-side request forgery).

A policy is a list of URL prefixes (``https://si.centre-a.fr/fhir/``): a URL must start with one of them. In
production the list must not be empty and URLs must use https; in development an empty list admits any http(s) URL
(local receivers and test servers).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit


def outbound_refusal(url: str, allowed: Sequence[str], *, production: bool, setting: str) -> str | None:
    """Why the gateway may not call ``url`` under the prefixes ``allowed`` (named ``setting`` in messages)."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        return "only http and https URLs are called"
    if production and scheme != "https":
        return "in production the gateway calls https URLs only"
    if not allowed:
        return f"no URL is allowed: {setting} is empty" if production else None
    if not any(url.startswith(prefix) for prefix in allowed):
        return f"the URL is not under one of the prefixes {setting} allows"
    return None


__all__ = ["outbound_refusal"]

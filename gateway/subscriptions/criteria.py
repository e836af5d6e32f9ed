"""A Subscription resource as the gateway accepts it (FHIR R4 §2.46): criteria, channel, status.

* ``criteria`` is ``Type`` or ``Type?params``, read with the gateway's own search semantics (strict: an unknown
  parameter is an error). Result parameters (``_include``, ``_sort``, ``_count``, ...) mean nothing for one resource
  and are refused, as are criteria on Subscription itself. Errors: 400 at ``Subscription.criteria``.
* ``channel.type`` must be ``rest-hook`` (the only channel served); ``channel.endpoint`` an absolute http(s) URL;
  ``channel.payload`` absent (id-only notifications) or ``application/fhir+json``; each ``channel.header`` a
  ``Name: value`` line. Errors: 422 at the element.
* ``status``: ``requested`` is accepted as ``active`` (the gateway needs no handshake); ``off`` and ``error`` stop
  notifications.
* ``end``: the instant the gateway turns the Subscription ``off``. No write after it is notified, a notification
  still queued is cancelled, and the delivery worker writes the ``off`` version (gateway/subscriptions/outbox.py).
  A Subscription written with an ``end`` already past is stored ``off``. Errors: 422 at ``Subscription.end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import Connection

from gateway.errors import InvalidRequest, Issue, ValidationFailed
from gateway.fhir.dates import utc_now
from gateway.fhir.query import SearchRequest, parse_search
from gateway.fhir.resources import SUPPORTED
from gateway.fhir.search import SearchEngine, Visibility

CHANNEL_TYPES = ("rest-hook",)
FHIR_JSON = "application/fhir+json"
RESULT_PARAMETERS = frozenset(
    {"_include", "_revinclude", "_sort", "_count", "_summary", "_total", "_elements", "_cursor", "_contained"}
)
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\r\n]*$")
_CRITERIA = "Subscription.criteria"


@dataclass(frozen=True)
class SubscriptionSpec:
    criteria_type: str
    criteria: str
    pairs: tuple[tuple[str, str], ...]
    status: str
    endpoint: str
    payload: str | None
    headers: tuple[str, ...]
    end: datetime | None = None  # UTC, naive (as the subscription table stores instants)


def _criteria_error(message: str) -> InvalidRequest:
    return InvalidRequest(message, expression=_CRITERIA, code="API-SUBSCRIPTION-CRITERIA")


def split_criteria(criteria: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``Task?owner=Practitioner/p1&status=requested`` → ``("Task", (("owner", ...), ("status", ...)))``."""
    resource_type, _, query = criteria.strip().partition("?")
    if resource_type not in SUPPORTED:
        raise _criteria_error(f"criteria {criteria!r}: '{resource_type}' is not a resource type served here")
    if resource_type == "Subscription":
        raise _criteria_error("criteria on Subscription itself are not served")
    pairs = tuple(parse_qsl(query, keep_blank_values=True))
    for name, _value in pairs:
        if name.split(":")[0] in RESULT_PARAMETERS:
            raise _criteria_error(f"criteria {criteria!r}: '{name}' shapes a result; a criteria only selects")
    return resource_type, pairs


def criteria_request(
    resource_type: str, pairs: tuple[tuple[str, str], ...], ids: list[str] | None = None
) -> SearchRequest:
    """The criteria as a search request (strict); with ``ids``, narrowed to those resources (the matcher's use)."""
    narrowed = [*pairs, ("_id", ",".join(ids))] if ids else list(pairs)
    size = max(len(ids or ()), 1)
    try:
        request = parse_search(resource_type, narrowed, strict=True, default_count=size, max_count=size)
    except InvalidRequest as exc:
        raise _criteria_error(f"criteria: {exc.diagnostics}") from exc
    request.total = "none"
    return request


def try_criteria(search: SearchEngine, conn: Connection, spec: SubscriptionSpec, visibility: Visibility) -> None:
    """Run the criteria once (on no resource): values such as dates are only read when a search runs."""
    request = criteria_request(spec.criteria_type, spec.pairs, ["-"])
    try:
        search.search(conn, request, visibility)
    except InvalidRequest as exc:
        raise _criteria_error(f"criteria: {exc.diagnostics}") from exc


def _unprocessable(message: str, where: str, code: str) -> ValidationFailed:
    return ValidationFailed([Issue("error", "not-supported" if code.endswith("CHANNEL") else "value", message,
                                   (where,), code)])  # fmt: skip


def _check_channel(channel: dict[str, Any]) -> tuple[str, str | None, tuple[str, ...]]:
    kind = channel.get("type")
    if kind not in CHANNEL_TYPES:
        raise _unprocessable(
            f"channel type '{kind}' is not served: only {', '.join(CHANNEL_TYPES)}",
            "Subscription.channel.type",
            "API-SUBSCRIPTION-CHANNEL",
        )
    endpoint = channel.get("endpoint")
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _unprocessable(
            "a rest-hook needs an absolute http or https endpoint", "Subscription.channel.endpoint",
            "API-SUBSCRIPTION-ENDPOINT",
        )  # fmt: skip
    payload = channel.get("payload")
    if payload is not None and payload.split(";")[0].strip() != FHIR_JSON:
        raise _unprocessable(
            f"payload '{payload}' is not served: {FHIR_JSON}, or none for id-only notifications",
            "Subscription.channel.payload",
            "API-SUBSCRIPTION-PAYLOAD",
        )
    headers = channel.get("header", [])
    for index, header in enumerate(headers):
        if not isinstance(header, str) or not _HEADER.match(header):
            raise _unprocessable(
                "a header is one 'Name: value' line", f"Subscription.channel.header[{index}]",
                "API-SUBSCRIPTION-HEADER",
            )  # fmt: skip
    return str(endpoint), FHIR_JSON if payload is not None else None, tuple(headers)


def _end(resource: dict[str, Any]) -> datetime | None:
    """``Subscription.end`` in UTC (naive), or None; an instant needs a date, a time and a zone."""
    raw = resource.get("end")
    if raw is None:
        return None
    moment = None
    if isinstance(raw, str) and "T" in raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise _unprocessable(
            f"end {raw!r} is not an instant such as 2026-12-31T23:59:59+01:00", "Subscription.end",
            "API-SUBSCRIPTION-END",
        )  # fmt: skip
    return moment.astimezone(UTC).replace(tzinfo=None)


def check_subscription(resource: dict[str, Any]) -> tuple[dict[str, Any], SubscriptionSpec]:
    """The Subscription as stored (``requested`` becomes ``active``; ``off`` once its ``end`` has passed) and what
    the gateway reads of it."""
    criteria = resource.get("criteria")
    if not isinstance(criteria, str) or not criteria.strip():
        raise _criteria_error("a Subscription needs criteria such as Task?status=requested")
    resource_type, pairs = split_criteria(criteria)
    criteria_request(resource_type, pairs)
    channel = resource.get("channel")
    endpoint, payload, headers = _check_channel(channel if isinstance(channel, dict) else {})
    end = _end(resource)
    status = str(resource.get("status"))
    if status == "requested":
        status = "active"
    if status == "active" and end is not None and end <= utc_now().replace(tzinfo=None):
        status = "off"
    if status != resource.get("status"):
        resource = {**resource, "status": status}
    spec = SubscriptionSpec(resource_type, criteria.strip(), pairs, status, endpoint, payload, headers, end)
    return resource, spec


__all__ = [
    "CHANNEL_TYPES",
    "FHIR_JSON",
    "SubscriptionSpec",
    "check_subscription",
    "criteria_request",
    "split_criteria",
    "try_criteria",
]

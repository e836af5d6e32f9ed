"""What one notification sends, decided when it leaves, as its subscriber (architecture §7).

* With ``channel.payload = application/fhir+json``, and when the subscriber may read the resource *now* (its role
  and scopes, its tenants, and for roles under consent the consent rules, e.g. a patient's objection): the R4
  rest-hook form with content, ``PUT {endpoint}/{type}/{id}`` with the resource version that matched.
* Otherwise an **id-only** notification, the R4 rest-hook form without content: ``POST {endpoint}`` with an empty
  body. It names the subscription and the resource version that matched in headers only
  (``X-Subscription: Subscription/{id}``, ``X-Resource: {type}/{id}/_history/{version}``), which say nothing
  clinical: the subscriber then reads the resource with its own token, and the usual checks apply.

Every notification carries the Subscription's ``channel.header`` lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Connection

from gateway.storage.store import ResourceStore, StoredResource
from gateway.subscriptions.criteria import FHIR_JSON
from gateway.subscriptions.outbox import AttemptResult, Claimed
from gateway.subscriptions.subscribers import subscriber_principal
from security import consent
from security.access import AccessPolicy
from security.audit import AuditRecord
from security.principal import Principal

NO_PAYLOAD = "no-payload"
GONE = "version-unavailable"
UNKNOWN_ROLE = "SEC-UNKNOWN-ROLE"


@dataclass(frozen=True)
class Notification:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content: str  # full | id-only
    reason: str  # the decision behind the content
    patients: tuple[str, ...] = ()  # "Patient/id" whose data a full notification carries


def may_receive(
    conn: Connection, policy: AccessPolicy, principal: Principal, stored: StoredResource
) -> tuple[bool, str]:
    """Whether the subscriber may receive the resource now, and why (role, scopes, tenant, then consent)."""
    if not principal.may("read", stored.resource_type):
        return False, "SEC-ROLE"
    if not principal.visibility.allows(stored.tenant):
        return False, "SEC-TENANT"
    role = principal.role
    if stored.resource_type in role.patient_data and not role.clinical:
        return False, "SEC-NOT-CLINICAL"
    if role.consent and stored.resource_type in role.patient_data:
        decision = policy.decisions(conn, principal, [stored])[0]
        return decision.permit, decision.reason
    return True, "SEC-PERMITTED"


def _header_lines(raw: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in orjson.loads(raw):
        name, _, value = str(line).partition(":")
        headers[name.strip()] = value.strip()
    return headers


def build(
    conn: Connection, store: ResourceStore, policy: AccessPolicy, subscription: Any, delivery: Any
) -> Notification:
    reference = f"{delivery.res_type}/{delivery.res_id}"
    headers = {
        **_header_lines(subscription.headers),
        "X-Subscription": f"Subscription/{subscription.id}",
        "X-Resource": f"{reference}/_history/{delivery.version_id}",
    }
    endpoint = subscription.endpoint
    reason = NO_PAYLOAD
    if subscription.payload == FHIR_JSON:
        stored = store.vread(conn, delivery.res_type, delivery.res_id, delivery.version_id)
        if stored is None or stored.deleted:
            reason = GONE
        else:
            try:
                subscriber = subscriber_principal(subscription)
            except KeyError:  # its role is no longer in the roles table: it receives ids only
                permitted, reason = False, UNKNOWN_ROLE
            else:
                permitted, reason = may_receive(conn, policy, subscriber, stored)
            if permitted:
                about = consent.patient_ids(stored.resource_type, stored.json())
                return Notification(
                    "PUT", f"{endpoint.rstrip('/')}/{reference}", headers | {"Content-Type": FHIR_JSON},
                    stored.content.encode(), "full", reason, tuple(sorted(f"Patient/{p}" for p in about)),
                )  # fmt: skip
    return Notification("POST", endpoint, headers, b"", "id-only", reason)


def audit_record(claimed: Claimed, notification: Notification, result: AttemptResult) -> AuditRecord:
    """The AuditEvent of one notification: what left for whom, and the decision on its content."""
    subscription, delivery = claimed.subscription, claimed.delivery
    sent = f"HTTP {result.http_status}" if result.http_status is not None else str(result.error)
    return AuditRecord(
        action="notify",
        outcome="0" if result.delivered else "8",
        agent=subscription.subscriber,
        role=subscription.role,
        tenant=subscription.tenant,
        practitioner_id=subscription.practitioner_id,
        issuer="subscription",
        resource_type=delivery.res_type,
        resource_ids=(f"{delivery.res_type}/{delivery.res_id}",),
        patients=notification.patients,
        decision="permit" if notification.content == "full" else "deny",
        reason=notification.reason,
        detail=f"{notification.content} notification of Subscription/{subscription.id} to "
        f"{urlsplit(notification.url).netloc}, attempt {delivery.attempts + 1}: {sent}",
        request_id=f"subscription-delivery-{delivery.id}-{delivery.attempts + 1}",
        path=f"{notification.method} {urlsplit(notification.url).path or '/'}",
    )


__all__ = ["GONE", "NO_PAYLOAD", "UNKNOWN_ROLE", "Notification", "audit_record", "build", "may_receive"]

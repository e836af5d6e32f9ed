"""Who owns a Subscription, and the subscriber as a principal again when a notification leaves.

A Subscription belongs to its subscriber's centre (a centre's clients share their centre's data, so its
Subscriptions too); a subscriber of no centre (a practitioner) owns it alone: its Subscriptions are stored under a
private owner key derived from its issuer and subject, which no centre role can see. Only the owner (or the
development principal) reads, searches, updates or deletes a Subscription and reads its deliveries; the operator's
``audit`` right also reads the deliveries.

The subscriber's rights are recorded with the Subscription (role, centre, practitioner identity, scopes), so the
delivery worker, which has no request, decides as that principal whether a notification may carry the resource.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import Connection

from gateway.errors import Forbidden
from gateway.fhir.search import Keep
from gateway.storage.store import StoredResource
from security.principal import Principal
from security.roles import role_named
from security.scopes import Scopes

SUBSCRIPTION = "Subscription"
PRIVATE_OWNER = "~"  # first character of a private owner key (a FINESS is digits)


def owner_tenant(principal: Principal) -> str:
    """The tenant a Subscription of this principal is stored under."""
    if principal.write_tenant is not None:
        return principal.write_tenant
    digest = hashlib.sha256(f"{principal.issuer or ''}|{principal.subject}".encode()).hexdigest()
    return PRIVATE_OWNER + digest[:40]


def owns(principal: Principal, tenant: str | None) -> bool:
    return principal.is_developer or tenant == owner_tenant(principal)


def check_owner(principal: Principal, stored: StoredResource) -> None:
    if stored.resource_type == SUBSCRIPTION and not owns(principal, stored.tenant):
        raise Forbidden(
            f"{stored.reference} belongs to another subscriber: {principal.subject} may not access it",
            expression=SUBSCRIPTION,
            code="SEC-SUBSCRIBER",
        )


def owner_keep(principal: Principal, then: Keep | None) -> Keep:
    """A search's filter of Subscriptions: the principal's own only (then ``then``, the usual filter)."""

    def keep(conn: Connection, resources: list[StoredResource]) -> list[StoredResource]:
        mine = [r for r in resources if r.resource_type != SUBSCRIPTION or owns(principal, r.tenant)]
        return then(conn, mine) if then is not None else mine

    return keep


def subscriber_values(principal: Principal) -> dict[str, object]:
    """The columns of the ``subscription`` row that record who subscribed."""
    return {
        "subscriber": principal.subject[:255],
        "role": principal.role.name,
        "tenant": principal.tenant,
        "practitioner_id": principal.practitioner_id,
        "structures": orjson.dumps(sorted(principal.structures)).decode(),
        "profession": principal.profession,
        "scopes": str(principal.scopes),
        "unrestricted": principal.scopes.unrestricted,
    }


def subscriber_principal(row: Any) -> Principal:
    """The subscriber again, from its ``subscription`` row, with its role as the roles table says today."""
    scopes = Scopes.everything() if row.unrestricted else Scopes.parse(row.scopes, ignore_unknown=True)
    return Principal(
        subject=row.subscriber,
        role=role_named(row.role),
        tenant=row.tenant,
        scopes=scopes,
        structures=frozenset(orjson.loads(row.structures)),
        practitioner_id=row.practitioner_id,
        profession=row.profession,
        issuer="subscription",
    )


__all__ = [
    "SUBSCRIPTION",
    "check_owner",
    "owner_keep",
    "owner_tenant",
    "owns",
    "subscriber_principal",
    "subscriber_values",
]

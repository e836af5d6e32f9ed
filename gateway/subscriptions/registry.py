"""The subscribers' side of a Subscription write, in the transaction of the write (called by the FHIR service).

Before the write: a Subscription is stored under its owner (gateway/subscriptions/subscribers.py) and only its owner
may replace or delete it. After the write: the ``subscription`` row the matcher reads is brought up to date, with
the writer as the subscriber; an update starts its failure count again.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import Connection, Table, delete, insert, update

from gateway.fhir.dates import utc_now
from gateway.storage.store import ResourceStore, WriteItem, WriteOutcome
from gateway.subscriptions.criteria import check_subscription
from gateway.subscriptions.models import SubscriptionRow
from gateway.subscriptions.subscribers import SUBSCRIPTION, check_owner, owner_tenant, subscriber_values
from security.principal import Principal

SUBSCRIPTIONS: Table = SubscriptionRow.__table__  # type: ignore[attr-defined]


def before_write(conn: Connection, store: ResourceStore, principal: Principal, items: Sequence[WriteItem]) -> None:
    for item in items:
        if item.resource_type != SUBSCRIPTION:
            continue
        item.tenant = owner_tenant(principal)
        existing = store.read(conn, SUBSCRIPTION, item.id)
        if existing is not None:
            check_owner(principal, existing)


def after_write(
    conn: Connection, principal: Principal, items: Sequence[WriteItem], outcomes: Sequence[WriteOutcome]
) -> None:
    for item, outcome in zip(items, outcomes, strict=False):
        if item.resource_type != SUBSCRIPTION or outcome.outcome in ("unchanged", "absent"):
            continue
        if outcome.outcome == "deleted":
            conn.execute(update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == item.id).values(status="deleted"))
            continue
        assert item.resource is not None
        _resource, spec = check_subscription(item.resource)
        conn.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == item.id))
        conn.execute(
            insert(SUBSCRIPTIONS).values(
                id=item.id,
                criteria_type=spec.criteria_type,
                criteria=spec.criteria,
                status=spec.status,
                endpoint=spec.endpoint,
                payload=spec.payload,
                headers=orjson.dumps(list(spec.headers)).decode(),
                failures=0,
                error=None,
                updated_at=utc_now().replace(tzinfo=None),
                end_at=spec.end,
                **subscriber_values(principal),
            )
        )


__all__ = ["SUBSCRIPTIONS", "after_write", "before_write"]

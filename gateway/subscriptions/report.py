"""The deliveries of one Subscription and their attempts, newest first (``GET /subscriptions/{id}/deliveries``).

Readable by the Subscription's owner (gateway/subscriptions/subscribers.py) and by the operator (``audit`` right):
it names resources by id and never carries their content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from gateway.errors import Forbidden, NotFound
from gateway.storage.db import read_transaction
from gateway.storage.store import ResourceStore
from gateway.subscriptions.outbox import ATTEMPTS, DELIVERIES
from gateway.subscriptions.registry import SUBSCRIPTIONS
from gateway.subscriptions.subscribers import SUBSCRIPTION, owns
from security.principal import Principal


def _instant(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value is not None else None


def deliveries_report(
    engine: Engine, store: ResourceStore, principal: Principal, subscription_id: str, limit: int
) -> dict[str, Any]:
    with read_transaction(engine) as conn:
        stored = store.read(conn, SUBSCRIPTION, subscription_id)
        if stored is None:
            raise NotFound(f"Subscription/{subscription_id} is not known", expression=SUBSCRIPTION)
        if not owns(principal, stored.tenant) and "audit" not in principal.role.operations:
            raise Forbidden(
                f"Subscription/{subscription_id} belongs to another subscriber: {principal.subject} may not read its "
                "deliveries",
                expression=SUBSCRIPTION,
                code="SEC-SUBSCRIBER",
            )
        row = conn.execute(select(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id)).first()
        deliveries = conn.execute(
            select(DELIVERIES)
            .where(DELIVERIES.c.subscription_id == subscription_id)
            .order_by(DELIVERIES.c.created_at.desc(), DELIVERIES.c.id)
            .limit(limit)
        ).all()
        attempts = conn.execute(
            select(ATTEMPTS)
            .where(ATTEMPTS.c.delivery_id.in_([d.id for d in deliveries]))
            .order_by(ATTEMPTS.c.delivery_id, ATTEMPTS.c.attempt)
        ).all()
    by_delivery: dict[str, list[dict[str, Any]]] = {}
    for a in attempts:
        by_delivery.setdefault(a.delivery_id, []).append(
            {
                "attempt": a.attempt,
                "started": _instant(a.started_at),
                "durationMs": a.duration_ms,
                "httpStatus": a.http_status,
                "error": a.error,
                "content": a.content,
                "reason": a.reason,
                "outcome": a.outcome,
            }
        )
    return {
        "subscription": f"Subscription/{subscription_id}",
        "status": row.status if row is not None else None,
        "error": row.error if row is not None else None,
        "consecutiveFailures": row.failures if row is not None else 0,
        "deliveries": [
            {
                "id": d.id,
                "resource": f"{d.res_type}/{d.res_id}/_history/{d.version_id}",
                "status": d.status,
                "created": _instant(d.created_at),
                "due": _instant(d.due_at) if d.status == "pending" else None,
                "finished": _instant(d.finished_at),
                "lastError": d.last_error,
                "attempts": by_delivery.get(d.id, []),
            }
            for d in deliveries
        ],
    }


__all__ = ["deliveries_report"]

"""The notification outbox: deliveries queued with the write that caused them, leased to one worker at a time.

``claim`` takes one due delivery with a lease (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
write transaction is ``BEGIN IMMEDIATE``, so claims are serialised), so N workers never send one notification
twice while its lease runs. ``finish`` records the attempt, then either closes the delivery or schedules the next
try with exponential back-off; too many consecutive failures put the Subscription in status ``error``. ``expire``
turns ``off`` the Subscriptions whose ``end`` has passed (a delivery claimed after it is cancelled).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, insert, or_, select, update

from gateway.fhir.dates import utc_now
from gateway.settings import Settings
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import ResourceStore, WriteItem
from gateway.subscriptions.models import SubscriptionAttemptRow, SubscriptionDeliveryRow
from gateway.subscriptions.registry import SUBSCRIPTIONS
from gateway.subscriptions.subscribers import SUBSCRIPTION

DELIVERIES: Table = SubscriptionDeliveryRow.__table__  # type: ignore[attr-defined]
ATTEMPTS: Table = SubscriptionAttemptRow.__table__  # type: ignore[attr-defined]


def now() -> datetime:
    return utc_now().replace(tzinfo=None)


def enqueue(conn: Connection, subscription_id: str, res_type: str, res_id: str, version_id: int) -> None:
    stamp = now()
    conn.execute(
        insert(DELIVERIES).values(
            id=str(uuid.uuid4()), subscription_id=subscription_id, res_type=res_type, res_id=res_id,
            version_id=version_id, status="pending", attempts=0, due_at=stamp, created_at=stamp,
        )
    )  # fmt: skip


@dataclass(frozen=True)
class Claimed:
    delivery: Any  # the subscription_delivery row
    subscription: Any  # its subscription row
    owner: str


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    duration_ms: int
    http_status: int | None
    error: str | None
    content: str  # full | id-only
    reason: str

    @property
    def delivered(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def backoff(settings: Settings, attempt: int) -> timedelta:
    """Delay after the ``attempt``-th failure: base, 2 x base, 4 x base, ... at most the configured maximum."""
    seconds = settings.subscription_retry_base_seconds * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, settings.subscription_retry_max_seconds))


class Outbox:
    def __init__(self, engine: Engine, store: ResourceStore, settings: Settings) -> None:
        self.engine, self.store, self.settings = engine, store, settings
        self.lease = timedelta(seconds=settings.subscription_lease_seconds)

    def claim(self, owner: str) -> Claimed | None:
        """One due delivery, leased to ``owner``; a delivery of a Subscription no longer active is cancelled."""
        while True:
            stamp = now()
            with write_transaction(self.engine) as conn:
                query = (
                    select(DELIVERIES)
                    .where(
                        DELIVERIES.c.status == "pending",
                        DELIVERIES.c.due_at <= stamp,
                        or_(DELIVERIES.c.lease_until.is_(None), DELIVERIES.c.lease_until < stamp),
                    )
                    .order_by(DELIVERIES.c.due_at)
                    .limit(1)
                )
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                delivery = conn.execute(query).first()
                if delivery is None:
                    return None
                subscription = conn.execute(
                    select(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == delivery.subscription_id)
                ).first()
                why = _stopped(subscription, stamp)
                if why is not None:
                    if subscription is not None and subscription.status == "active":  # ended, not yet turned off
                        self._set_status(conn, delivery.subscription_id, "off")
                    conn.execute(
                        update(DELIVERIES)
                        .where(DELIVERIES.c.id == delivery.id)
                        .values(status="cancelled", finished_at=stamp, last_error=why)
                    )
                    continue
                conn.execute(
                    update(DELIVERIES)
                    .where(DELIVERIES.c.id == delivery.id)
                    .values(lease_owner=owner, lease_until=stamp + self.lease)
                )
            return Claimed(delivery, subscription, owner)

    def finish(self, claimed: Claimed, result: AttemptResult) -> None:
        """Record the attempt and what follows from it, if the lease is still ours."""
        delivery, attempt = claimed.delivery, claimed.delivery.attempts + 1
        stamp = now()
        with write_transaction(self.engine) as conn:
            held = conn.execute(
                update(DELIVERIES)
                .where(and_(DELIVERIES.c.id == delivery.id, DELIVERIES.c.lease_owner == claimed.owner))
                .values(attempts=attempt, lease_owner=None, lease_until=None)
            )
            if held.rowcount != 1:
                return  # the lease ran out and another worker took the delivery: its record wins
            conn.execute(
                insert(ATTEMPTS).values(
                    delivery_id=delivery.id, subscription_id=delivery.subscription_id, attempt=attempt,
                    started_at=result.started_at, duration_ms=result.duration_ms, http_status=result.http_status,
                    error=result.error, content=result.content, reason=result.reason,
                    outcome="delivered" if result.delivered else "failed",
                )
            )  # fmt: skip
            if result.delivered:
                conn.execute(
                    update(DELIVERIES)
                    .where(DELIVERIES.c.id == delivery.id)
                    .values(status="delivered", finished_at=stamp, last_error=None)
                )
                conn.execute(
                    update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == delivery.subscription_id).values(failures=0)
                )
                return
            problem = result.error or f"HTTP {result.http_status}"
            values: dict[str, Any] = {"last_error": problem}
            if attempt >= self.settings.subscription_max_attempts:
                values |= {"status": "failed", "finished_at": stamp}
            else:
                values["due_at"] = stamp + backoff(self.settings, attempt)
            conn.execute(update(DELIVERIES).where(DELIVERIES.c.id == delivery.id).values(**values))
            conn.execute(
                update(SUBSCRIPTIONS)
                .where(SUBSCRIPTIONS.c.id == delivery.subscription_id)
                .values(failures=SUBSCRIPTIONS.c.failures + 1)
            )
            current = conn.execute(
                select(SUBSCRIPTIONS.c.failures, SUBSCRIPTIONS.c.status).where(
                    SUBSCRIPTIONS.c.id == delivery.subscription_id
                )
            ).first()
            limit = self.settings.subscription_error_after
            if current is not None and current.status == "active" and current.failures >= limit:
                text = f"{current.failures} consecutive failed notifications; the last: {problem}"
                self._set_status(conn, delivery.subscription_id, "error", text)

    def expire(self) -> int:
        """Turn ``off`` every active Subscription whose ``end`` has passed; how many. (Run at every poll: it takes
        the write lock only when one has ended.)"""
        stamp = now()
        ended = (SUBSCRIPTIONS.c.status == "active", SUBSCRIPTIONS.c.end_at <= stamp)
        with read_transaction(self.engine) as conn:
            if not conn.execute(select(SUBSCRIPTIONS.c.id).where(*ended).limit(1)).first():
                return 0
        with write_transaction(self.engine) as conn:  # found again under the lock: another worker may be first
            query = select(SUBSCRIPTIONS.c.id).where(*ended)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query).scalars())
            for subscription_id in ids:
                self._set_status(conn, subscription_id, "off")
        return len(ids)

    def _set_status(self, conn: Connection, subscription_id: str, status: str, error: str | None = None) -> None:
        """``off`` or ``error`` (with its reason), on the row and on the Subscription resource (a new version)."""
        conn.execute(
            update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id).values(status=status, error=error)
        )
        stored = self.store.read(conn, SUBSCRIPTION, subscription_id)
        if stored is None or stored.deleted:
            return
        resource = {**stored.json(), "status": status}
        if error is not None:
            resource["error"] = error
        self.store.write(conn, [WriteItem(SUBSCRIPTION, subscription_id, resource, tenant=stored.tenant)])


def _stopped(subscription: Any, stamp: datetime) -> str | None:
    """Why a delivery of this Subscription is no longer sent, or None while it is active and has not ended."""
    if subscription is None:
        return "the Subscription is unknown"
    end: datetime | None = subscription.end_at
    if end is not None and end <= stamp:
        return f"the Subscription ended at {end.isoformat()}Z"
    if subscription.status != "active":
        return f"the Subscription is {subscription.status}"
    return None


__all__ = ["ATTEMPTS", "DELIVERIES", "AttemptResult", "Claimed", "Outbox", "backoff", "enqueue", "now"]

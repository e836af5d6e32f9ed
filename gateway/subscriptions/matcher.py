"""Which active Subscriptions a write matches, decided in the write's own transaction (the outbox pattern).

The store calls the matcher after it applied a write, on the same connection: the new versions and their search
index rows are visible there. The active Subscriptions on the written types come from one indexed query
(``criteria_type, status``); each one's criteria is then run by the search engine narrowed to the written ids
(``criteria&_id=a,b,...``), as its subscriber sees the tenants. A match queues a delivery in the same transaction,
so a notification exists exactly when the write committed. Deletions notify nothing (FHIR R4: criteria apply to
the new content).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, or_, select

from gateway.errors import InvalidRequest
from gateway.fhir.dates import utc_now
from gateway.fhir.search import SearchEngine
from gateway.settings import Settings
from gateway.storage.store import ResourceStore, StoredResource
from gateway.subscriptions.criteria import criteria_request, split_criteria
from gateway.subscriptions.outbox import enqueue
from gateway.subscriptions.registry import SUBSCRIPTIONS
from gateway.subscriptions.subscribers import SUBSCRIPTION, subscriber_principal

_CHUNK = 200
log = logging.getLogger("gateway.subscriptions")


class SubscriptionMatcher:
    def __init__(self, store: ResourceStore, settings: Settings) -> None:
        self.search = SearchEngine(store, settings.tz, max_include=0, total_limit=0)

    def __call__(self, conn: Connection, written: Sequence[StoredResource]) -> None:
        versions: dict[str, dict[str, int]] = {}
        for stored in written:
            if not stored.deleted and stored.resource_type != SUBSCRIPTION:
                versions.setdefault(stored.resource_type, {})[stored.id] = stored.version_id
        if not versions:
            return
        ended = SUBSCRIPTIONS.c.end_at <= utc_now().replace(tzinfo=None)  # not yet turned off by the worker
        active = conn.execute(
            select(SUBSCRIPTIONS).where(
                SUBSCRIPTIONS.c.criteria_type.in_(sorted(versions)),
                SUBSCRIPTIONS.c.status == "active",
                or_(SUBSCRIPTIONS.c.end_at.is_(None), ~ended),
            )
        ).all()
        for subscription in active:
            self._match(conn, subscription, versions[subscription.criteria_type])

    def _match(self, conn: Connection, subscription: Any, versions: dict[str, int]) -> None:
        matched: list[str] = []
        try:
            resource_type, pairs = split_criteria(subscription.criteria)
            visibility = subscriber_principal(subscription).visibility
            for chunk in _chunks(sorted(versions)):
                request = criteria_request(resource_type, pairs, chunk)
                matched.extend(m.id for m in self.search.search(conn, request, visibility).matches)
        except (InvalidRequest, KeyError) as exc:  # criteria or role no longer valid: the write goes on without it
            log.warning("subscription skipped", extra={"subscription": subscription.id, "reason": str(exc)})
            return
        for resource_id in matched:
            enqueue(conn, subscription.id, resource_type, resource_id, versions[resource_id])


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]


__all__ = ["SubscriptionMatcher"]

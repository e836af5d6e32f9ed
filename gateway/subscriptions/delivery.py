"""Sending due notifications: claim one from the outbox, decide its content, send it, record the attempt, and audit
the disclosure decision (an AuditEvent with action ``notify``: the resource, the patients concerned when it carried
their data, permit or deny and its reason)."""

from __future__ import annotations

import logging
import time
import uuid

import httpx
from sqlalchemy import Engine

from gateway.settings import Settings
from gateway.storage.db import read_transaction
from gateway.storage.store import build_store
from gateway.subscriptions.endpoints import endpoint_refusal
from gateway.subscriptions.notification import Notification, audit_record, build
from gateway.subscriptions.outbox import AttemptResult, Outbox, now
from security.access import AccessPolicy
from security.audit import AuditTrail

log = logging.getLogger("gateway.subscriptions")


def new_owner() -> str:
    return f"subscriptions-{uuid.uuid4().hex[:12]}"


class Deliverer:
    """One process's sender; any number may run on one database (the outbox leases keep them apart)."""

    def __init__(self, settings: Settings, engine: Engine, http: httpx.Client | None = None) -> None:
        self.settings, self.engine = settings, engine
        self.store = build_store(engine, settings)
        self.outbox = Outbox(engine, self.store, settings)
        self.policy = AccessPolicy()
        self.audit = AuditTrail(engine, settings)
        self.http = http or httpx.Client(timeout=settings.subscription_timeout_seconds, follow_redirects=False)

    def run_next(self, owner: str) -> bool:
        """Send one due notification; False when none is due."""
        claimed = self.outbox.claim(owner)
        if claimed is None:
            return False
        with read_transaction(self.engine) as conn:
            notification = build(conn, self.store, self.policy, claimed.subscription, claimed.delivery)
        result = self.send(notification)
        self.outbox.finish(claimed, result)
        self.audit.record(audit_record(claimed, notification, result))
        return True

    def run_due(self, owner: str, limit: int = 1000) -> int:
        """Turn off the Subscriptions that ended, then send the notifications due now (at most ``limit``); the
        number sent."""
        self.outbox.expire()
        sent = 0
        while sent < limit and self.run_next(owner):
            sent += 1
        return sent

    def send(self, notification: Notification) -> AttemptResult:
        started, clock = now(), time.perf_counter()
        status: int | None = None
        error = endpoint_refusal(notification.url, self.settings)
        if error is not None:  # the policy changed since the Subscription was written: nothing is sent
            return AttemptResult(started, 0, None, error, notification.content, notification.reason)
        try:
            with self.http.stream(  # the answer's body is never read: only its status counts
                notification.method, notification.url, headers=notification.headers, content=notification.body
            ) as response:
                status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: a header httpx cannot encode
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration = round((time.perf_counter() - clock) * 1000)
        if error is not None or status is None or not 200 <= status < 300:
            log.info("notification failed", extra={"status": status, "error": error})
        return AttemptResult(started, duration, status, error, notification.content, notification.reason)

    def close(self) -> None:
        self.http.close()


__all__ = ["Deliverer", "new_owner"]

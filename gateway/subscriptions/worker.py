"""The background delivery worker of an API process (like the ingest worker): sends due notifications.

Any number of processes may run one; the outbox's leases keep them from sending the same notification twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from gateway.subscriptions.delivery import Deliverer, new_owner

log = logging.getLogger("gateway.subscriptions")


class SubscriptionWorker:
    def __init__(self, deliverer: Deliverer, poll_seconds: float = 1.0) -> None:
        self.deliverer, self.poll_seconds = deliverer, poll_seconds
        self.owner = new_owner()
        self.stopping = threading.Event()
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="subscription-worker")

    async def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._task is not None:
            await self._task
        self.deliverer.close()

    def _drain(self) -> int:
        self.deliverer.outbox.expire()
        sent = 0
        while not self.stopping.is_set() and self.deliverer.run_next(self.owner):
            sent += 1
        return sent

    async def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                await asyncio.to_thread(self._drain)
            except Exception:  # a bug or a lost database: log, back off, keep serving
                log.exception("subscription worker failed", extra={"owner": self.owner})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.poll_seconds)


__all__ = ["SubscriptionWorker"]

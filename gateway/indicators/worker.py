"""The background refresh of the indicators' daily rollups in an API process (like the subscription worker).

A computation refreshes the rollups before it reads them anyway; refreshing them every few minutes means that the
marks a day's sync leaves are consumed before anybody asks, so ``$evaluate-measure`` stays fast. Any number of
processes may run one: refreshes are serialised (an advisory lock on PostgreSQL, the writer lock on SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import tzinfo

from sqlalchemy import Engine

from gateway.indicators.rollups import Refreshed, refresh

log = logging.getLogger("gateway.indicators")


class RollupWorker:
    def __init__(self, engine: Engine, zone: tzinfo, every_seconds: float) -> None:
        self.engine, self.zone, self.every_seconds = engine, zone, every_seconds
        self.stopping = threading.Event()
        self.wake = asyncio.Event()
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="rollup-worker")

    async def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._task is not None:
            await self._task

    def _pass(self) -> Refreshed:
        done = refresh(self.engine, self.zone)
        self.passes += 1
        if done.days or done.rebuilt:
            log.info("indicator rollups refreshed", extra={"days": done.days, "rebuilt": done.rebuilt})
        return done

    async def _loop(self) -> None:
        while not self.stopping.is_set():  # the first pass after one period: start-up stays quick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.every_seconds)
            if self.stopping.is_set():
                return
            try:
                await asyncio.to_thread(self._pass)
            except Exception:  # a lost database or a bug: log, keep serving; the next computation refreshes anyway
                log.exception("indicator rollup refresh failed")


__all__ = ["RollupWorker"]

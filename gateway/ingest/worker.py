"""The background ingest worker of an API process: takes queued jobs and runs them, one at a time.

Any number of processes may run one; the job lease keeps them from running the same job. On shutdown the worker
stops between batches and hands its job back to the queue, so another process (or the next start) resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from gateway.ingest.pipeline import Pipeline, new_owner

log = logging.getLogger("gateway.ingest")


class IngestWorker:
    def __init__(self, pipeline: Pipeline, poll_seconds: float = 0.5) -> None:
        self.pipeline, self.poll_seconds = pipeline, poll_seconds
        self.owner = new_owner()
        self.stopping = threading.Event()
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="ingest-worker")

    def notify(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self.wake.set()

    async def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                ran = await asyncio.to_thread(self.pipeline.run_next, self.owner, self.stopping)
            except Exception:  # a bug or a lost database: log, back off, keep serving
                log.exception("ingest worker failed", extra={"owner": self.owner})
                ran = None
            if ran is None:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.poll_seconds)


__all__ = ["IngestWorker"]

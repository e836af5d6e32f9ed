"""The threads that run interactive requests' blocking work (reads, searches, ``$capacity``) in a process, and the
order in which waiting requests get them.

A process runs Python under one GIL. On SQLite a request's work is mostly CPU under that GIL: a second thread
splits the core, but keeps it busy while the first waits for a page the OS had evicted. On PostgreSQL a request
mostly waits for the database, and a few threads keep the core busy meanwhile. ``CPTS_REQUEST_THREADS`` says how
many run at once (unset: 2 with SQLite, 4 with PostgreSQL); dozens of them (starlette's pool has 40) take the GIL
and the database locks from each other and get less done (`bench/capacity.py`, docs/capacity.md).

Waiting requests are served **earliest deadline first**: each request's deadline is its arrival plus its latency
target, ``CPTS_LATENCY_TARGET_MS`` (50) for interactive requests and ``CPTS_SAS_LATENCY_TARGET_MS`` (250) for the SAS
INT_R04 query, whose contract allows a second and whose answer costs several times a coordinator's search. So a
coordinator's search is not queued behind the SAS answers that arrived just before it, and a SAS answer that has
waited 200 ms (the difference) goes before newer interactive requests: none is starved. Writes and long operations
(ingest, indicators, conformance runs, history) keep starlette's pool and never hold these threads.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

T = TypeVar("T")


class DeadlineGate:
    """At most ``threads`` calls run at once; the others wait, and the one with the earliest deadline goes next
    (in arrival order among equal deadlines). Used from one event loop."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.limiter = anyio.CapacityLimiter(threads)  # the worker threads themselves (anyio's pool, this many)
        self._free = threads
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, granted in self._waiting if not granted.done())

    async def acquire(self, deadline: float) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (deadline, next(self._arrival), granted))
        try:
            await granted
        except BaseException:  # cancelled while waiting (the client went away)
            if granted.done() and not granted.cancelled():
                self.release()  # the turn was given at the same moment: pass it on
            else:
                granted.cancel()  # release() skips it
            raise

    def release(self) -> None:
        while self._waiting:
            _, _, granted = heapq.heappop(self._waiting)
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1


def _gate(request: Request) -> DeadlineGate:
    """The process's gate (made on first use, on the event loop: no other coroutine runs in between)."""
    state = request.app.state
    found: DeadlineGate | None = getattr(state, "request_threads", None)
    if found is None:
        found = DeadlineGate(state.settings.threads_per_process)
        state.request_threads = found
    return found


async def in_thread(request: Request, func: Callable[..., T], /, *args: Any, sas: bool = False, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in one of the process's interactive threads, when its turn comes (``sas``: the
    request is the SAS INT_R04 query, with its own latency target)."""
    settings = request.app.state.settings
    target = settings.sas_latency_target_ms if sas else settings.latency_target_ms
    gate = _gate(request)
    await gate.acquire(time.monotonic() + target / 1000)
    try:
        return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=gate.limiter)
    finally:
        gate.release()


__all__ = ["DeadlineGate", "in_thread"]

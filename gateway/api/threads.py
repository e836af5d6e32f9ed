"""The threads that run interactive requests' blocking work (reads, searches, ``$capacity``) in a process.

A process runs Python under one GIL: a few threads keep its core busy while others wait on the database; dozens
of them (starlette's default pool has 40) mostly take the GIL from each other, queue on the database's locks and
get less done (`bench/capacity.py`: see docs/capacity.md). Writes, which may wait for the database's write lock,
and long operations (ingest, indicators, conformance runs, history) keep the default pool, so they never hold
these threads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

T = TypeVar("T")


def _limiter(request: Request) -> anyio.CapacityLimiter:
    """The process's limiter (made on first use, on the event loop: no other coroutine runs in between)."""
    state = request.app.state
    found: anyio.CapacityLimiter | None = getattr(state, "request_threads", None)
    if found is None:
        found = anyio.CapacityLimiter(state.settings.request_threads)
        state.request_threads = found
    return found


async def in_thread(request: Request, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in one of the process's ``CPTS_REQUEST_THREADS`` interactive threads."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=_limiter(request))


__all__ = ["in_thread"]

"""The threads that run interactive requests' blocking work (reads, searches, ``$capacity``) in a process, and the
order in which waiting requests get them.

A process runs Python under one GIL. On SQLite a request's work is mostly CPU under that GIL: a second thread
splits the core, but keeps it busy while the first waits for a page the OS had evicted. On PostgreSQL a request
mostly waits for the database, and a few threads keep the core busy meanwhile. ``CPTS_REQUEST_THREADS`` says how
many run at once (unset: 2 with SQLite, 4 with PostgreSQL); dozens of them (starlette's pool has 40) take the GIL
and the database locks from each other and get less done (`bench/capacity.py`, docs/capacity.md).

Waiting requests are served **earliest deadline first**: each request's deadline is its arrival plus its latency
target, ``CPTS_LATENCY_TARGET_MS`` (50) for interactive requests and ``CPTS_SAS_LATENCY_TARGET_MS`` (150) for the SAS
INT_R04 query, whose contract allows a second and whose answer costs several times a coordinator's search. So a
coordinator's search is not queued behind the SAS answers that arrived just before it, and a SAS answer that has
waited 100 ms (the difference) goes before newer interactive requests: none is starved. Writes and long operations
(ingest, indicators, conformance runs, history) keep starlette's pool and never hold these threads.

At most ``CPTS_SAS_THREADS`` of the threads (unset: half, at least 1) run SAS answers at once, so an interactive
request seldom waits for SAS answers holding every thread (two SAS answers in two threads made coordinator searches
wait, then run at a third of their speed); a SAS answer that reached its deadline takes any free thread, so the
limit never starves it.

A thread that finishes a call takes the next waiting one itself. Handing turns out from the event loop instead left
a thread idle for several loop turns between two calls, each turn waiting for the GIL the other thread held: a third
of the threads' time under the capacity bench.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, NamedTuple, TypeVar

from starlette.requests import Request

T = TypeVar("T")
SAS = "sas"  # the lane of SAS INT_R04 answers


class DeadlineExecutor:
    """``threads`` threads running the submitted calls, at most that many at once, and at most ``limits[lane]`` of
    one lane's calls; the waiting call with the earliest deadline that may start goes next (in arrival order among
    equal deadlines). A call runs in the context (context variables) it was submitted from; a call cancelled while
    it waits never runs."""

    def __init__(self, threads: int, limits: dict[str, int] | None = None, name: str = "cpts-request") -> None:
        if threads < 1:
            raise ValueError("DeadlineExecutor needs at least one thread")
        self.threads = threads
        self.limits = dict(limits or {})
        self.name = name
        self._turns = threading.Condition()
        self._waiting: list[_Call] = []  # a few dozen at most: scanned, not kept as a heap
        self._running: Counter[str] = Counter()
        self._arrival = itertools.count()
        self._workers: list[threading.Thread] = []
        self._closed = False

    @property
    def waiting(self) -> int:
        """Calls submitted, not started, not cancelled."""
        with self._turns:
            return sum(1 for call in self._waiting if not call.future.cancelled())

    def submit(self, deadline: float, call: Callable[[], T], lane: str = "") -> Future[T]:
        """Queue ``call()`` in ``lane``; its future holds the result or the exception (``deadline``: monotonic
        seconds)."""
        future: Future[T] = Future()
        run: Callable[[], Any] = functools.partial(contextvars.copy_context().run, call)
        with self._turns:
            if self._closed:
                raise RuntimeError("the request threads are shut down")
            self._waiting.append(_Call((deadline, next(self._arrival)), lane, future, run))
            if not self._workers:  # started on first use, in the serving process
                for n in range(self.threads):
                    worker = threading.Thread(target=self._work, name=f"{self.name}-{n}", daemon=True)
                    worker.start()
                    self._workers.append(worker)
            self._turns.notify()
        return future

    def _startable(self) -> _Call | None:
        """The earliest-deadline waiting call that may start: its lane is under its limit, or its deadline passed
        (then any free thread takes it: a lane's limit must not starve it)."""
        best, now = None, time.monotonic()
        for call in self._waiting:
            if (best is None or call.order < best.order) and (
                self._running[call.lane] < self.limits.get(call.lane, self.threads) or call.order[0] <= now
            ):
                best = call
        return best

    def _next(self, done: str | None) -> _Call | None:
        with self._turns:
            if done is not None:
                self._running[done] -= 1
                if done in self.limits:
                    self._turns.notify()  # a call of that lane may start now, in a thread that found none
            while (call := self._startable()) is None:
                if self._closed and not self._waiting:
                    return None
                # calls held back by their lane's limit may start at their deadline
                first = min((call.order[0] for call in self._waiting), default=None)
                self._turns.wait(None if first is None else max(first - time.monotonic(), 0.0) + 0.0005)
            self._waiting.remove(call)
            self._running[call.lane] += 1
            return call

    def _work(self) -> None:
        done = None
        while (call := self._next(done)) is not None:
            done = call.lane
            if not call.future.set_running_or_notify_cancel():
                continue  # cancelled while waiting
            try:
                result = call.run()
            except BaseException as exc:  # handed to the caller, as a thread pool does
                call.future.set_exception(exc)
                del exc
            else:
                call.future.set_result(result)
            del call

    def shutdown(self) -> None:
        """Let the threads finish what is queued, then stop them."""
        with self._turns:
            self._closed = True
            self._turns.notify_all()
        for worker in self._workers:
            worker.join()


class _Call(NamedTuple):
    order: tuple[float, int]  # (deadline, arrival)
    lane: str
    future: Future[Any]
    run: Callable[[], Any]


def executor_of(request: Request) -> DeadlineExecutor:
    """The process's request threads (made on first use, on the event loop: no other coroutine runs in between)."""
    state = request.app.state
    found: DeadlineExecutor | None = getattr(state, "request_threads", None)
    if found is None:
        settings = state.settings
        found = DeadlineExecutor(settings.threads_per_process, {SAS: settings.sas_threads_per_process})
        state.request_threads = found
    return found


async def in_thread(request: Request, func: Callable[..., T], /, *args: Any, sas: bool = False, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in one of the process's interactive threads, when its turn comes (``sas``: the
    request is the SAS INT_R04 query, with its own latency target). Cancelling the caller while the call waits
    withdraws it; once started, it runs to its end and its result is dropped."""
    settings = request.app.state.settings
    target = settings.sas_latency_target_ms if sas else settings.latency_target_ms
    call = functools.partial(func, *args, **kwargs)
    future = executor_of(request).submit(time.monotonic() + target / 1000, call, SAS if sas else "")
    return await asyncio.wrap_future(future)


__all__ = ["DeadlineExecutor", "executor_of", "in_thread"]

"""The threads that run interactive requests (gateway/api/threads.py): earliest deadline first, never more than the
threads at once, the caller's context variables, errors handed back, and a call cancelled while waiting never runs."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from concurrent.futures import CancelledError, Future

import pytest

from gateway.api.threads import DeadlineExecutor

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def _blocker(executor: DeadlineExecutor) -> tuple[threading.Event, Future[None]]:
    """A call that holds the executor's one thread until the event is set (and has started when this returns)."""
    started, go = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        go.wait(10)

    future = executor.submit(0.0, hold)
    assert started.wait(10)
    return go, future


def test_waiting_calls_go_by_deadline_then_arrival() -> None:
    executor, order = DeadlineExecutor(1), []
    go, first = _blocker(executor)
    waiting = [("sas", 5.2), ("search", 5.05), ("read", 5.05), ("late sas", 5.3), ("urgent", 1.0)]
    futures = [executor.submit(deadline, lambda name=name: order.append(name)) for name, deadline in waiting]
    assert executor.waiting == len(waiting)
    go.set()
    for future in [first, *futures]:
        future.result(10)
    assert order == ["urgent", "search", "read", "sas", "late sas"]
    executor.shutdown()


@pytest.mark.parametrize("threads", [1, 3])
def test_never_more_than_the_threads_at_once(threads: int) -> None:
    executor, lock, running, most = DeadlineExecutor(threads), threading.Lock(), [0], [0]

    def call() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.005)
        with lock:
            running[0] -= 1

    for future in [executor.submit(float(n % 7), call) for n in range(40)]:
        future.result(10)
    executor.shutdown()
    assert most[0] == threads and executor.waiting == 0


def test_a_call_runs_in_its_callers_context_and_hands_back_its_error() -> None:
    executor = DeadlineExecutor(2)
    WHO.set("sas-region")
    assert executor.submit(0.0, WHO.get).result(10) == "sas-region"

    def fail() -> None:
        raise LookupError("no such slot")

    with pytest.raises(LookupError, match="no such slot"):
        executor.submit(0.0, fail).result(10)
    executor.shutdown()


def test_a_call_cancelled_while_waiting_never_runs() -> None:
    executor, ran = DeadlineExecutor(1), []
    go, first = _blocker(executor)
    gone = executor.submit(1.0, lambda: ran.append("gone"))
    after = executor.submit(2.0, lambda: ran.append("after"))
    assert gone.cancel() and executor.waiting == 1
    go.set()
    first.result(10)
    after.result(10)
    with pytest.raises(CancelledError):
        gone.result(0)
    executor.shutdown()
    assert ran == ["after"]


def test_an_awaiting_request_cancelled_withdraws_its_call() -> None:
    executor, ran = DeadlineExecutor(1), []
    go, first = _blocker(executor)

    async def scenario() -> None:
        waiting = asyncio.ensure_future(asyncio.wrap_future(executor.submit(1.0, lambda: ran.append("gone"))))
        await asyncio.sleep(0.01)
        waiting.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.01)  # the cancellation reaches the queued call by a callback of the loop
        assert executor.waiting == 0

    asyncio.run(scenario())
    go.set()
    first.result(10)
    executor.shutdown()
    assert ran == []


def test_shutdown_finishes_what_is_queued_then_refuses() -> None:
    executor, done = DeadlineExecutor(1), []
    go, first = _blocker(executor)
    queued = [executor.submit(float(n), lambda n=n: done.append(n)) for n in range(3)]
    go.set()
    executor.shutdown()
    assert first.done() and all(f.done() for f in queued) and done == [0, 1, 2]
    with pytest.raises(RuntimeError, match="shut down"):
        executor.submit(0.0, lambda: None)


def test_a_lane_runs_at_most_its_limit_and_leaves_the_other_threads_to_the_rest() -> None:
    executor, started = DeadlineExecutor(2, {"sas": 1}), []
    go = threading.Event()
    later = time.monotonic() + 60  # deadlines far ahead: the limit holds

    def call(name: str) -> None:
        started.append(name)
        go.wait(10)

    first = executor.submit(later, lambda: call("sas 1"), "sas")
    second = executor.submit(later, lambda: call("sas 2"), "sas")
    search = executor.submit(later + 1, lambda: call("search"))  # a later deadline, yet it starts before "sas 2"
    deadline = time.monotonic() + 10
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(started) == ["sas 1", "search"] and executor.waiting == 1
    go.set()
    for future in (first, second, search):
        future.result(10)
    executor.shutdown()
    assert started[-1] == "sas 2"


def test_a_call_past_its_deadline_takes_any_free_thread() -> None:
    executor, go = DeadlineExecutor(2, {"sas": 1}), threading.Event()
    held = executor.submit(time.monotonic() + 60, lambda: go.wait(10), "sas")
    overdue = executor.submit(time.monotonic() + 0.05, lambda: "answered", "sas")
    assert overdue.result(5) == "answered" and not held.done()  # it did not wait for the lane
    go.set()
    held.result(10)
    executor.shutdown()

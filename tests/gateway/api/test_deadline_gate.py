"""The order in which waiting interactive requests get a thread (gateway/api/threads.py): earliest deadline first,
never more than the threads at once, and a request cancelled while waiting neither runs nor keeps a turn."""

from __future__ import annotations

import asyncio

import pytest

from gateway.api.threads import DeadlineGate


async def _hold(gate: DeadlineGate, deadline: float, name: str, order: list[str], go: asyncio.Event) -> None:
    await gate.acquire(deadline)
    order.append(name)
    try:
        await go.wait()
    finally:
        gate.release()


def test_waiting_calls_go_by_deadline_then_arrival() -> None:
    async def scenario() -> list[str]:
        gate, order, go = DeadlineGate(1), [], asyncio.Event()
        first = asyncio.create_task(_hold(gate, 10.0, "running", order, go))
        await asyncio.sleep(0)
        waiting = [("sas", 5.2), ("search", 5.05), ("read", 5.05), ("late sas", 5.3), ("urgent", 1.0)]
        tasks = []
        for name, deadline in waiting:
            tasks.append(asyncio.create_task(_hold(gate, deadline, name, order, go)))
            await asyncio.sleep(0)
        assert gate.waiting == len(waiting)
        go.set()
        await asyncio.gather(first, *tasks)
        return order

    assert asyncio.run(scenario()) == ["running", "urgent", "search", "read", "sas", "late sas"]


@pytest.mark.parametrize("threads", [1, 3])
def test_never_more_than_the_threads_at_once(threads: int) -> None:
    async def scenario() -> int:
        gate, running, most = DeadlineGate(threads), [0], [0]

        async def call(deadline: float) -> None:
            await gate.acquire(deadline)
            running[0] += 1
            most[0] = max(most[0], running[0])
            await asyncio.sleep(0.001)
            running[0] -= 1
            gate.release()

        await asyncio.gather(*(call(float(n % 7)) for n in range(40)))
        assert gate.waiting == 0
        return most[0]

    assert asyncio.run(scenario()) == threads


def test_a_call_cancelled_while_waiting_gives_its_turn_away() -> None:
    async def scenario() -> list[str]:
        gate, order, go = DeadlineGate(1), [], asyncio.Event()
        first = asyncio.create_task(_hold(gate, 10.0, "running", order, go))
        await asyncio.sleep(0)
        gone = asyncio.create_task(_hold(gate, 1.0, "gone", order, go))
        after = asyncio.create_task(_hold(gate, 2.0, "after", order, go))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        assert gate.waiting == 1
        go.set()
        await asyncio.gather(first, after)
        with pytest.raises(asyncio.CancelledError):
            await gone
        # every turn came back: the gate admits one call at once again, without waiting
        await asyncio.wait_for(gate.acquire(0.0), 1)
        gate.release()
        return order

    assert asyncio.run(scenario()) == ["running", "after"]


def test_a_call_cancelled_as_its_turn_comes_passes_the_turn_on() -> None:
    async def scenario() -> list[str]:
        gate, order, go = DeadlineGate(1), [], asyncio.Event()
        await gate.acquire(0.0)
        granted = asyncio.create_task(gate.acquire(1.0))
        after = asyncio.create_task(_hold(gate, 2.0, "after", order, go))
        await asyncio.sleep(0)
        gate.release()  # the turn goes to `granted`...
        granted.cancel()  # ...which is cancelled before it runs
        go.set()
        await asyncio.wait_for(after, 1)
        with pytest.raises(asyncio.CancelledError):
            await granted
        return order

    assert asyncio.run(scenario()) == ["after"]

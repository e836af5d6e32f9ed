"""An HTTP/1.1 load generator on raw asyncio streams, cheap in CPU so that the server keeps the cores.

Closed loop (:func:`closed_loop`): each client holds one keep-alive connection and sends its next request when the
previous answer has arrived (connections open one after the other during the warm-up, so that the server's workers
share them). Open loop (:func:`open_loop`): requests are due at random moments at a given rate, whatever the server
answers, and each one's latency counts from when it was due. The
request bytes are built by hand; the answer is read as status line, headers, then a ``Content-Length`` or chunked
body. Only requests started after the warm-up are measured.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

TIMEOUT_SECONDS = 30.0
ERROR_BODY_CHARS = 400


@dataclass(frozen=True, slots=True)
class Call:
    """One request to send: what it measures (kind, variant), where, and whose token it carries."""

    kind: str
    variant: str
    path: str
    params: list[tuple[str, str]]
    who: str


@dataclass
class Results:
    """Latencies (ms) per (kind, variant), error counts and the first error body of each (kind, variant)."""

    timings: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    first_error: dict[tuple[str, str], str] = field(default_factory=dict)
    elapsed: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU (user + system) over the whole run, warm-up included
    wall_seconds: float = 0.0
    server_cpu: dict[int, float] = field(default_factory=dict)  # CPU seconds of each server process (the caller's)
    connections: list[int] = field(default_factory=list)  # connections each server process held (the caller's)

    def note(self, call: Call, request: str, millis: float, status: int, body: bytes) -> None:
        """One measured answer: its latency, and whether (and how) it failed."""
        key = (call.kind, call.variant)
        self.timings[key].append(millis)
        if status != 200:
            self.errors[key] += 1
            text = body[:ERROR_BODY_CHARS].decode("utf-8", "replace")
            self.first_error.setdefault(key, f"{status} {request[:160]} -> {text}")


class Connection:
    """One keep-alive HTTP/1.1 connection (opened again after the server closes it or an error)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, target: str, headers: bytes) -> tuple[int, bytes]:
        """Send ``GET target`` and return (status, body); raises ``OSError``/``asyncio.IncompleteReadError``."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        assert self._reader is not None
        head = f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n".encode("latin-1")
        self._writer.write(head + headers + b"\r\n")
        try:
            status, body, keep = await asyncio.wait_for(self._answer(self._reader), TIMEOUT_SECONDS)
        except BaseException:
            self.close()
            raise
        if not keep:
            self.close()
        return status, body

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, keep = 0, False, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = b"close" not in value.lower()
        if not chunked:
            return status, await reader.readexactly(length), keep
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
                    pass
                return status, b"".join(parts), keep
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def target(call: Call) -> str:
    return f"{call.path}?{urlencode(call.params)}" if call.params else call.path


async def closed_loop(
    base: str,
    clients: int,
    seconds: float,
    warmup: float,
    draw: Callable[[random.Random], Call],
    headers: dict[str, bytes],
) -> Results:
    """Run ``clients`` connections for ``warmup + seconds``; ``headers[who]`` is read afresh for each request."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    results = Results()
    loop = asyncio.get_running_loop()
    measured_from = loop.time() + warmup
    stop = measured_from + seconds
    ended = [measured_from]

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = Connection(host, port)
        # Connections open one by one over the first half of the warm-up: a burst would all be accepted by the
        # server worker that wakes first, a staggered start lets the idle workers take their share.
        await asyncio.sleep(seed * warmup / 2 / max(1, clients))
        try:
            while loop.time() < stop:
                call = draw(rng)
                request = target(call)
                extra = headers[call.who]
                began = loop.time()
                started = time.perf_counter()
                try:
                    status, body = await connection.get(request, extra)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as e:
                    status, body = 0, f"{type(e).__name__}: {e}".encode()
                millis = (time.perf_counter() - started) * 1000
                if began < measured_from:
                    continue
                ended[0] = max(ended[0], loop.time())
                results.note(call, request, millis, status, body)
        finally:
            connection.close()

    cpu, wall = _cpu_seconds(), loop.time()
    await asyncio.gather(*(client(n) for n in range(clients)))
    results.elapsed = ended[0] - measured_from
    results.cpu_seconds, results.wall_seconds = _cpu_seconds() - cpu, loop.time() - wall
    return results


async def open_loop(
    base: str,
    rate: float,
    connections: int,
    seconds: float,
    warmup: float,
    draw: Callable[[random.Random], Call],
    headers: dict[str, bytes],
) -> Results:
    """Send requests at ``rate`` per second on average (Poisson arrivals: independent callers), over at most
    ``connections`` keep-alive connections, for ``warmup + seconds``. A request's latency runs from the moment it
    was due, so time spent waiting for a free connection (the server falling behind) counts: no coordinated
    omission. Requests due after the end are not sent; the run ends when the last one sent is answered."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    results = Results()
    loop = asyncio.get_running_loop()
    begin = loop.time()
    measured_from = begin + warmup
    stop = measured_from + seconds
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(Connection(host, port))
    rng = random.Random(0)
    pending: set[asyncio.Task[None]] = set()

    async def one(call: Call, due: float) -> None:
        connection = await idle.get()
        request = target(call)
        try:
            status, body = await connection.get(request, headers[call.who])
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as e:
            status, body = 0, f"{type(e).__name__}: {e}".encode()
        finally:
            idle.put_nowait(connection)
        if due >= measured_from:
            results.note(call, request, (loop.time() - due) * 1000, status, body)

    cpu = _cpu_seconds()
    due = begin
    while True:
        due += rng.expovariate(rate)
        if due >= stop:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(draw(rng), due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    results.elapsed = seconds
    results.cpu_seconds, results.wall_seconds = _cpu_seconds() - cpu, loop.time() - begin
    while not idle.empty():
        idle.get_nowait().close()
    return results


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


__all__ = ["Call", "Results", "closed_loop", "open_loop", "percentile", "target"]

"""Keep-alive connections spread evenly over the worker processes of one ``serve --workers N``.

Uvicorn's workers share one listening socket: a new connection goes to whichever worker accepts it first, and a
keep-alive connection stays there. A few busy clients (the SAS aggregator, a reverse proxy's upstream pool, a
benchmark) can so load one worker with most of the work while the other idles or queues less: splits of 12/4
connections were seen with 16 clients on 2 workers, and the loaded worker set the latency of everyone.

Each worker counts the requests it holds (running or waiting), smoothed, and publishes that load in a small file
shared by the workers of one ``serve`` (:class:`WorkerLoads`, one slot per worker). A worker whose load is at least
about one request above the workers' mean answers its next request with ``Connection: close``, at most every
:data:`PAUSE_SECONDS`: the client opens a new connection, which another worker may accept. Balanced workers close
nothing. A worker that published nothing for :data:`STALE_SECONDS` counts as idle while its process runs, and is
left out once it has ended (uvicorn restarts a worker under a new pid, which takes the slot).
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SLOTS = 64  # worker processes one file can describe (CPTS_WORKERS is at most 64)
_SLOT = struct.Struct("<qdd")  # pid, smoothed load, when published (CLOCK_MONOTONIC: one clock for the machine)
SMOOTHING = 0.02  # weight of each new observation in the load (about the last 50 requests)
EXCESS = 0.75  # a worker this much above the workers' mean load closes a connection
PAUSE_SECONDS = 0.5  # between two closes by one worker: time for its load to show the change
PUBLISH_SECONDS = 0.05
STALE_SECONDS = 2.0


def loads_path(serve_pid: int) -> Path:
    """The file of the workers of the ``serve`` process ``serve_pid`` (their parent)."""
    return Path(tempfile.gettempdir()) / f"cpts-gateway-loads-{serve_pid}"


class WorkerLoads:
    """This process's slot in the shared file, and the other workers' loads. Returns None from :meth:`open` when
    the file cannot be used safely (not ours, a link, full): the worker then simply does not balance."""

    def __init__(self, fd: int, memory: mmap.mmap, slot: int) -> None:
        self._fd, self._memory, self._slot, self._pid = fd, memory, slot, os.getpid()

    @classmethod
    def open(cls, path: Path) -> WorkerLoads | None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError:
            return None
        try:
            if os.fstat(fd).st_uid != os.geteuid():
                raise OSError("the loads file belongs to another user")
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size < SLOTS * _SLOT.size:
                    os.ftruncate(fd, SLOTS * _SLOT.size)
                memory = mmap.mmap(fd, SLOTS * _SLOT.size)
                slot = cls._claim(memory)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except (OSError, ValueError):
            os.close(fd)
            return None
        if slot is None:
            memory.close()
            os.close(fd)
            return None
        return cls(fd, memory, slot)

    @staticmethod
    def _claim(memory: mmap.mmap) -> int | None:
        """A free slot, or one left by a process that is gone (under the file lock); marked with this pid."""
        now = time.monotonic()
        for slot in range(SLOTS):
            pid, _, published = _SLOT.unpack_from(memory, slot * _SLOT.size)
            if pid == 0 or pid == os.getpid() or (now - published > STALE_SECONDS and not _alive(pid)):
                _SLOT.pack_into(memory, slot * _SLOT.size, os.getpid(), 0.0, now)
                return slot
        return None

    def publish(self, load: float, now: float) -> None:
        _SLOT.pack_into(self._memory, self._slot * _SLOT.size, self._pid, load, now)

    def others(self, now: float) -> list[float]:
        """The other workers' loads: as published within :data:`STALE_SECONDS`, else 0 for a worker still running
        (it had no request to publish from), and none for a process that is gone."""
        found = []
        for slot in range(SLOTS):
            if slot == self._slot:
                continue
            pid, load, published = _SLOT.unpack_from(self._memory, slot * _SLOT.size)
            if pid and now - published <= STALE_SECONDS:
                found.append(load)
            elif pid and _alive(pid):
                found.append(0.0)
        return found

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            _SLOT.pack_into(self._memory, self._slot * _SLOT.size, 0, 0.0, 0.0)
            self._memory.close()
            os.close(self._fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ConnectionBalancer:
    """ASGI middleware: counts this worker's requests, publishes its load and asks a client to reconnect (one
    ``Connection: close``) when this worker holds more than its share. ``state.worker_loads`` is the worker's
    :class:`WorkerLoads`, opened at start-up (None: nothing to balance with)."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app, self.state = app, state
        self.held = 0  # requests in this worker now (running or waiting for a thread)
        self.load = 0.0
        self.published = 0.0
        self.closed_at = 0.0
        self.closes = 0  # connections this worker asked to reopen (for tests and logs)

    def _over_share(self, loads: WorkerLoads, now: float) -> bool:
        if now - self.closed_at < PAUSE_SECONDS:
            return False
        others = loads.others(now)
        if not others:
            return False
        mean = (sum(others) + self.load) / (len(others) + 1)
        return self.load - mean >= EXCESS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loads: WorkerLoads | None = getattr(self.state, "worker_loads", None)
        if scope["type"] != "http" or loads is None:
            await self.app(scope, receive, send)
            return
        self.held += 1
        self.load += SMOOTHING * (self.held - self.load)
        now = time.monotonic()
        if now - self.published >= PUBLISH_SECONDS:
            loads.publish(self.load, now)
            self.published = now
        try:
            if not self._over_share(loads, now):
                await self.app(scope, receive, send)
                return
            self.closed_at = now
            self.closes += 1

            async def closing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
                await send(message)

            await self.app(scope, receive, closing)
        finally:
            self.held -= 1


__all__ = ["ConnectionBalancer", "WorkerLoads", "loads_path"]

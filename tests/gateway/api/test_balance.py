"""Keep-alive connections spread over the workers of one ``serve --workers N`` (gateway/api/balance.py): the shared
loads file between real processes, and the ``Connection: close`` a worker above its share answers with, over real
HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.api.balance import STALE_SECONDS, ConnectionBalancer, WorkerLoads
from tests.conftest import _free_port, serving

Start = Callable[[float], "subprocess.Popen[str]"]  # runs another worker publishing this load
PEER = """
import sys, time
from pathlib import Path
from gateway.api.balance import WorkerLoads
loads = WorkerLoads.open(Path(sys.argv[1]))
print("ready" if loads else "refused", flush=True)
while True:
    loads.publish(float(sys.argv[2]), time.monotonic())
    time.sleep(0.1)
"""


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[tuple[Path, Start]]:
    """Another worker process publishing a fixed load in the shared file; ``start(load)`` runs it."""
    path = tmp_path / "loads"
    started: list[subprocess.Popen[str]] = []

    def start(load: float) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", PEER, str(path), str(load)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        started.append(process)
        return process

    yield path, start
    for process in started:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_workers_see_each_others_load_and_forget_a_process_that_ended(peer: tuple[Path, Start]) -> None:
    path, start = peer
    mine = WorkerLoads.open(path)
    assert mine is not None
    process = start(6.0)
    deadline = time.monotonic() + 10
    while mine.others(time.monotonic()) != [6.0] and time.monotonic() < deadline:  # its first publication
        time.sleep(0.05)
    now = time.monotonic()
    assert mine.others(now) == [6.0]
    assert mine.others(now + STALE_SECONDS + 1) == [0.0]  # silent but running: an idle worker
    process.kill()
    process.wait()
    assert mine.others(now + STALE_SECONDS + 1) == []  # gone: its slot no longer counts, and can be taken again
    again = start(1.0)
    assert again.poll() is None
    mine.close()


def test_a_loads_file_of_another_kind_is_not_used(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"")
    (tmp_path / "loads").symlink_to(target)
    assert WorkerLoads.open(tmp_path / "loads") is None


def _app(loads: WorkerLoads) -> Starlette:
    async def slow(request: Request) -> PlainTextResponse:
        await asyncio.sleep(0.02)  # the clients' requests are held here together, as in a loaded worker
        return PlainTextResponse("ok")

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", slow), Route("/healthz", healthz)])
    app.state.worker_loads = loads
    app.add_middleware(ConnectionBalancer, state=app.state)
    return app


def _closes(path: Path, requests: int = 160) -> int:
    loads = WorkerLoads.open(path)
    assert loads is not None
    app = _app(loads)
    with serving(app, _free_port()) as base, ThreadPoolExecutor(8) as pool:

        def get(_: int) -> str:
            answer = httpx.get(base, timeout=30)
            assert answer.status_code == 200
            return str(answer.headers.get("connection", ""))

        closes = sum(1 for header in pool.map(get, range(requests)) if header == "close")
    loads.close()
    return closes


def test_a_worker_above_its_share_asks_clients_to_reconnect(peer: tuple[Path, Start]) -> None:
    path, start = peer
    start(0.0)
    assert _closes(path) >= 1


def test_balanced_workers_close_nothing(peer: tuple[Path, Start]) -> None:
    path, start = peer
    start(50.0)
    assert _closes(path) == 0

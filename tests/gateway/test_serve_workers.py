"""``cpts-gateway serve --workers N``: N processes answer the API with the settings the command line resolved."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.api.balance import loads_path
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security.oauth.clients import ClientRegistry, generate_managed_key
from security.oauth.managed import managed_token

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(tmp_path: Path, base: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CPTS_DATABASE_URL": f"sqlite:///{tmp_path}/workers.db",
        "CPTS_KEYS_DIR": str(tmp_path / "keys"),
        "CPTS_ISSUER": base,
        "CPTS_LOG_LEVEL": "WARNING",
        "CPTS_RATE_LIMIT_PER_MINUTE": "0",
    }


def _spawned_children(pid: int) -> list[int]:
    """The worker processes of ``pid`` (uvicorn spawns them with multiprocessing)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"spawn_main" in command:
            children.append(int(entry.name))
    return children


def _running(pid: int) -> bool:
    """Still running: an ended process another parent has not reaped yet (a zombie) does not count."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gateway", "serve", "--workers", "2", "--port", str(port)]
    server = subprocess.Popen(command, env=_environment(tmp_path, base), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, server, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_two_workers_answer_authenticated_requests(two_workers: tuple[str, subprocess.Popen[bytes], Path]) -> None:
    base, server, tmp_path = two_workers
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    assert len(_spawned_children(server.pid)) == 2
    settings = Settings(database_url=f"sqlite:///{tmp_path}/workers.db", keys_dir=tmp_path / "keys", issuer=base)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)  # the parent migrated before the workers started: nothing left to do
    jwks = generate_managed_key(settings.keys_dir, "coord-workers")
    ClientRegistry(engine).add("coord-workers", role="coordinator", tenant=None, jwks=jwks, managed_key=True)
    token = str(managed_token(settings, engine, "coord-workers").body["access_token"])
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    statuses = set()
    for _ in range(40):  # a fresh connection each time: both workers take some (they share the signing keys)
        statuses.add(httpx.get(f"{base}/fhir/Slot", params={"_count": "1"}, headers=headers).status_code)
    assert statuses == {200}
    assert httpx.get(f"{base}/fhir/Slot", params={"_count": "1"}).status_code == 401
    assert len(_spawned_children(server.pid)) == 2  # no worker died on the way


def test_workers_end_when_their_parent_is_killed(two_workers: tuple[str, subprocess.Popen[bytes], Path]) -> None:
    base, server, _ = two_workers
    workers = _spawned_children(server.pid)
    assert len(workers) == 2
    server.kill()  # SIGKILL: uvicorn's supervisor stops nothing on the way out
    server.wait(timeout=10)
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers), "a worker outlived its killed parent"
    with pytest.raises(httpx.TransportError):  # nothing answers on the port any more: a new server can bind it
        httpx.get(f"{base}/readyz", timeout=2)


def test_workers_refuse_an_mllp_listener(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "gateway", "serve", "--workers", "2", "--mllp-port", "2575", "--port", "1"]
    result = subprocess.run(
        command, env=_environment(tmp_path, "http://127.0.0.1:1"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "--workers 2 cannot serve MLLP" in result.stderr
    assert "Traceback" not in result.stderr


def test_workers_must_be_a_positive_number(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "gateway", "serve", "--workers", "0"]
    result = subprocess.run(
        command, env=_environment(tmp_path, "http://127.0.0.1:1"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "is not a number of workers from 1 to 64" in result.stderr


def test_workers_share_their_loads_and_the_file_goes_with_serve(
    two_workers: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    """Each worker takes a slot of the loads file its connections are balanced by (gateway/api/balance.py)."""
    base, server, _ = two_workers
    path = loads_path(server.pid)
    workers = set(_spawned_children(server.pid))
    deadline = time.monotonic() + 60
    pids: set[int] = set()
    while pids != workers and time.monotonic() < deadline:  # a worker claims its slot once its start-up is done
        assert httpx.get(f"{base}/readyz").status_code == 200
        data = path.read_bytes() if path.exists() else b""
        pids = {struct.unpack_from("<q", data, slot * 24)[0] for slot in range(len(data) // 24)} - {0}
        time.sleep(0.2)
    assert pids == workers
    server.terminate()
    server.wait(timeout=30)
    assert not path.exists()

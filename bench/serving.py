"""A ``cpts-gateway serve`` process on loopback for the benchmarks, and real access tokens to call it with.

The benchmarks measure the API as clients meet it: through OAuth (a client registered with a key the gateway keeps,
tokens renewed before they expire), the audit trail, and the role's access rules.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security.oauth.clients import ClientRegistry, generate_managed_key, load_managed_key
from security.oauth.managed import managed_token

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Tokens:
    """An access token for one registered client, renewed a minute before it expires."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings, self.name = settings, name
        self._token, self._until = "", 0.0

    def seconds_left(self) -> float:
        """Seconds until :meth:`header` mints a new token (0 or less: the next call does)."""
        return self._until - time.monotonic()

    def header(self) -> dict[str, str]:
        if time.monotonic() > self._until:
            engine = make_engine(self.settings.database_url)
            outcome = managed_token(self.settings, engine, self.name)
            engine.dispose()
            self._token = str(outcome.body["access_token"])
            self._until = time.monotonic() + float(outcome.body["expires_in"]) - 60
        return {"Authorization": f"Bearer {self._token}"}


def register(settings: Settings, name: str, role: str, tenant: str | None = None, *, reuse: bool = False) -> Tokens:
    """(Re)register a client whose key the gateway keeps, and a token source for it.

    With ``reuse``, a client of that name and role whose key is under ``keys_dir`` is kept as it is (a database
    loaded before is not written to).
    """
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    registry = ClientRegistry(engine)
    known = registry.get(name)
    usable = known is not None and known.role == role and load_managed_key(settings.keys_dir, name) is not None
    if not (reuse and usable):
        registry.remove(name)
        jwks = generate_managed_key(settings.keys_dir, name)
        registry.add(name, role=role, tenant=tenant, jwks=jwks, managed_key=True)
    engine.dispose()
    return Tokens(settings, name)


START_TIMEOUT = 900  # seconds


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def _workers(pid: int) -> list[int]:
    """The processes ``pid`` started (uvicorn's workers), from /proc (none elsewhere than Linux)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def settle(pid: int, deadline: float) -> None:
    """Wait until every worker has finished starting (its CPU time stands still for half a second): the first ready
    worker answers ``/readyz`` while the others may still start, and the connections opened meanwhile would all
    stay with that one worker."""
    last: dict[int, int | None] = {}
    while time.monotonic() < deadline:
        now = {worker: _cpu_ticks(worker) for worker in _workers(pid)}
        if now and now == last:
            return
        last = now
        time.sleep(0.5)


@contextmanager
def serving(url: str, keys_dir: Path, workers: int = 1, audit_url: str | None = None) -> Iterator[tuple[str, Settings]]:
    """A server process (``workers`` of them) on a free port; yields its base URL and the settings of its tokens.
    ``audit_url``: the audit trail's database (``CPTS_AUDIT_DATABASE_URL``), the store's when None."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=url, issuer=base, keys_dir=keys_dir, log_level="WARNING")
    env = {
        **os.environ,
        "CPTS_DATABASE_URL": url,
        "CPTS_ISSUER": base,
        "CPTS_KEYS_DIR": str(keys_dir),
        "CPTS_LOG_LEVEL": "WARNING",
        "CPTS_RATE_LIMIT_PER_MINUTE": "0",  # the benchmark is one client sending as fast as it can
    }
    if audit_url is not None:
        env["CPTS_AUDIT_DATABASE_URL"] = audit_url
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        # a first start may migrate the database or copy the store's audit chain to its own file (minutes)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the gateway stopped at start-up (exit {server.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not answer {base}/readyz within {START_TIMEOUT} s")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        settle(server.pid, time.monotonic() + 60)
        yield base, settings
    finally:
        server.terminate()
        server.wait(timeout=30)


__all__ = ["Tokens", "free_port", "register", "serving", "settle"]

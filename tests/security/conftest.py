"""The gateway served *without* open access: every request needs real credentials (tokens, certificates)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import _free_port


@pytest.fixture(scope="session")
def secure_settings(settings: Settings) -> Settings:
    port = _free_port()
    return settings.model_copy(
        update={"open_access": False, "port": port, "issuer": f"http://127.0.0.1:{port}", "ingest_worker": False}
    )


@pytest.fixture(scope="session")
def secure_server(secure_settings: Settings, engine: Engine) -> Iterator[str]:
    """The gateway on its own loopback port, issuer = its own base URL, no open access."""
    app = create_app(secure_settings, configure_logs=False)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=secure_settings.port, log_config=None, ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{secure_settings.port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the secure test server did not start")
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def anonymous(secure_server: str, clean_db: Engine) -> Iterator[httpx.Client]:
    """An HTTP client with no credentials on the secure server, with an empty database."""
    with httpx.Client(base_url=secure_server, timeout=30, headers={"Accept": "application/fhir+json"}) as http:
        yield http

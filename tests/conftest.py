"""Shared fixtures: a real database (SQLite file or the PostgreSQL of ``scripts/test``) and a real HTTP server.

``CPTS_TEST_DATABASE_URL`` selects the backend: ``sqlite`` (default, a temporary file) or a PostgreSQL URL.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gateway.app import create_app
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security.ratelimit import RateLimiter
from tests.security.identities import Identities

# The shared material next to the repository (``../shared``): public corpora, FHIR IG packages.
SHARED = Path(os.environ.get("CPTS_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
HL7V2_CORPORA = SHARED / "corpora" / "hl7v2"

TABLES = (  # audit_event and audit_head are append-only: never emptied (tests read the events they caused)
    "subscription_attempt",
    "subscription_delivery",
    "subscription",
    "centre_sync",
    "oauth_jti",
    "oauth_client",
    "ingest_record",
    "ingest_job",
    "ingest_message",
    "dead_letter",
    "ingest_control_id",
    "search_token",
    "search_date",
    "search_reference",
    "search_string",
    "search_number",
    "search_slot",
    "fact_appointment",
    "indicator_dirty",
    "indicator_slot_day",
    "indicator_appt_day",
    "indicator_rollup_state",
    "resource_version",
    "resource",
)


# No per-example deadline: one example stalled by a loaded CI machine would fail a property that holds. Slow
# parsers are caught by the benchmarks under bench/, not here.
hypothesis_settings.register_profile("gateway", deadline=None)
hypothesis_settings.load_profile("gateway")


def backend_url(tmp_dir: str) -> str:
    url = os.environ.get("CPTS_TEST_DATABASE_URL", "sqlite")
    return f"sqlite:///{tmp_dir}/test.db" if url == "sqlite" else url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = backend_url(str(tmp_path_factory.mktemp("db")))
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:  # a clean slate for this run
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The tests of the FHIR API, ingest and storage run with development open access (the developer principal);
    # tests/security/ serves the same application without it and proves what each role and token may do.
    return Settings(
        database_url=database_url,
        log_level="WARNING",
        max_body_bytes=256 * 1024,
        default_page_size=20,
        open_access=True,
        rate_limit_per_minute=0,  # the suite sends thousands of requests as one principal; tests/security throttles
        keys_dir=Path(tempfile.mkdtemp(prefix="cpts-keys-")),
        indicator_refresh_seconds=0,  # computations refresh the rollups themselves; one test runs the worker
        subscription_worker=False,  # tests/gateway/subscriptions/ run their own workers, with short retry delays
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    """Empties every table before the test.

    The live server's ingest worker polls the job table; on PostgreSQL a TRUNCATE racing its transaction can be
    chosen as a deadlock victim, so it is tried again.
    """
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
                else:
                    for table in TABLES:
                        conn.execute(text(f"DELETE FROM {table}"))  # fixed table names
                conn.execute(text("UPDATE directory_version SET version = version + 1"))  # cached directories: stale
            return engine
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)
    return engine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: Any, port: int, *, context: ssl.SSLContext | None = None, **options: Any) -> Iterator[str]:
    """The app under uvicorn on a loopback port, in a thread, until the block ends (HTTPS with ``context``)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, ws="none", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"{'https' if context else 'http'}://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1, verify=context or True).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        raise RuntimeError(f"the test server on {base} did not start")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, engine: Engine) -> Iterator[str]:
    """The gateway served by uvicorn on a free loopback port, in a thread, for the whole session."""
    with serving(create_app(settings, configure_logs=False), _free_port()) as base:
        yield base


@pytest.fixture
def client(live_server: str, clean_db: Engine) -> Iterator[httpx.Client]:
    """An HTTP client on the live server, with an empty database."""
    with httpx.Client(base_url=live_server, timeout=30, headers={"Accept": "application/fhir+json"}) as http:
        yield http


# -- the gateway served *without* open access: every request needs real credentials (tokens, certificates) ---------
@pytest.fixture(scope="session")
def secure_settings(settings: Settings) -> Settings:
    port = _free_port()
    return settings.model_copy(
        update={
            "open_access": False,
            "port": port,
            "issuer": f"http://127.0.0.1:{port}",
            "ingest_worker": False,
            "rate_limit_per_minute": 1200,
            "rate_limit_burst": 200,
        }
    )


def serve(settings: Settings) -> Iterator[str]:
    """The gateway with these settings on its loopback port (``settings.port``) until the generator closes."""
    with serving(create_app(settings, configure_logs=False), settings.port) as base:
        yield base


@pytest.fixture(scope="session")
def secure_app(secure_settings: Settings, engine: Engine) -> Any:
    return create_app(secure_settings, configure_logs=False)


@pytest.fixture(scope="session")
def secure_server(secure_app: Any, secure_settings: Settings) -> Iterator[str]:
    """The gateway on its own loopback port, issuer = its own base URL, no open access."""
    with serving(secure_app, secure_settings.port) as base:
        yield base


@pytest.fixture
def fresh_limits(secure_app: Any, secure_settings: Settings) -> RateLimiter:
    """Full rate-limit buckets for this test's callers: the limiter is per process, and the session's server would
    otherwise carry a client name's (or the loopback address's) spending from one test to the next."""
    limiter = RateLimiter(secure_settings.rate_limit_per_minute, secure_settings.rate_limit_burst)
    secure_app.state.rate_limiter = limiter
    return limiter


@pytest.fixture
def anonymous(secure_server: str, clean_db: Engine, fresh_limits: RateLimiter) -> Iterator[httpx.Client]:
    """An HTTP client with no credentials on the secure server, with an empty database."""
    with httpx.Client(base_url=secure_server, timeout=30, headers={"Accept": "application/fhir+json"}) as http:
        yield http


@pytest.fixture
def ids(
    secure_server: str, clean_db: Engine, secure_settings: Settings, fresh_limits: RateLimiter
) -> Iterator[Identities]:
    """Real OAuth clients of the secure server (each with its own key and token), on an empty database."""
    identities = Identities(secure_server, clean_db, secure_settings)
    yield identities
    identities.close()

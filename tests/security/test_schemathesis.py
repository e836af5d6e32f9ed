"""schemathesis over the generated OpenAPI, with a valid token: whatever it sends, no 5xx and no internals leak."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import _free_port, serve
from tests.security.identities import CENTRE_A, Identities


@pytest.fixture(scope="session")
def fuzz_server(secure_settings: Settings, engine: Engine) -> Iterator[str]:
    port = _free_port()
    unthrottled = secure_settings.model_copy(
        update={"port": port, "issuer": f"http://127.0.0.1:{port}", "rate_limit_per_minute": 0}
    )
    yield from serve(unthrottled)


@pytest.fixture
def fuzz_token(fuzz_server: str, clean_db: Engine, secure_settings: Settings) -> str:
    """A centre system's token with every scope its role allows, fresh for each operation (it lives 300 s), on an
    empty database: rows left by an earlier test may be sealed with keys this server does not hold (key rotation)."""
    name = f"fuzzer-{uuid.uuid4().hex[:12]}"
    return Identities(fuzz_server, clean_db, secure_settings).token(name, "centre-system", tenant=CENTRE_A)


def _openapi() -> dict[str, Any]:
    """The OpenAPI document the gateway generates (the same one ``GET /openapi.json`` serves)."""
    work = Path(tempfile.mkdtemp(prefix="cpts-openapi-"))
    settings = Settings(database_url=f"sqlite:///{work}/openapi.db", keys_dir=work / "keys", log_level="WARNING")
    document: dict[str, Any] = create_app(settings, configure_logs=False).openapi()
    return document


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_with_a_valid_token(case: Any, fuzz_server: str, fuzz_token: str) -> None:
    response = case.call(base_url=fuzz_server, headers={"Authorization": f"Bearer {fuzz_token}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    sent = repr((case.formatted_path, case.query, case.body, case.headers))  # a diagnostic may quote the request
    for leak in ("Traceback", "sqlalchemy", "SELECT ", "psycopg", "sqlite3"):
        if leak not in sent:
            assert leak not in response.text, f"{case.method} {case.formatted_path} leaks {leak}"

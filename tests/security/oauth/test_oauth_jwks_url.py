"""A client registered by JWKS URL: the gateway fetches its keys (from a real local HTTP server), caches them and
fetches again when the client signs with a key it has not seen."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from gateway.settings import Settings
from security.oauth import client_keys
from tests.security.jwks_host import JwksHost
from tests.security.jwks_host import jwks_host as serve_jwks
from tests.security.oauth.oauth_helpers import ask_token, assertion, es384_key, public_jwks, register, token_form


@pytest.fixture
def jwks_host() -> Iterator[JwksHost]:
    with serve_jwks() as host:
        yield host


def test_a_jwks_url_client_gets_tokens_and_rotates_its_key(
    anonymous: httpx.Client,
    clean_db: Engine,
    secure_settings: Settings,
    jwks_host: JwksHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audience = f"{secure_settings.issuer}/oauth/token"
    old = es384_key()
    jwks_host.document = public_jwks(old)
    register(clean_db, "vendor-si", jwks_url=jwks_host.url)

    assert ask_token(anonymous, token_form(assertion(old, "vendor-si", audience))).status_code == 200
    assert ask_token(anonymous, token_form(assertion(old, "vendor-si", audience))).status_code == 200
    assert jwks_host.fetches == 1  # cached

    new = es384_key()
    jwks_host.document = public_jwks(new, old)
    monkeypatch.setattr(client_keys, "REFETCH_INTERVAL_SECONDS", 0.0)  # no need to wait between refetches
    response = ask_token(anonymous, token_form(assertion(new, "vendor-si", audience)))
    assert response.status_code == 200, response.text
    assert jwks_host.fetches == 2

    stranger = es384_key()
    refused = ask_token(anonymous, token_form(assertion(stranger, "vendor-si", audience)))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_an_unreachable_jwks_url_is_an_invalid_client_not_a_crash(
    anonymous: httpx.Client, clean_db: Engine, secure_settings: Settings, jwks_host: JwksHost
) -> None:
    audience = f"{secure_settings.issuer}/oauth/token"
    register(clean_db, "vendor-down", jwks_url="http://127.0.0.1:9/jwks.json")
    response = ask_token(anonymous, token_form(assertion(es384_key(), "vendor-down", audience)))
    assert response.status_code == 401
    assert "could not be fetched" in response.json()["error_description"]
    jwks_host.document = {"keys": "nonsense"}
    register(clean_db, "vendor-bad", jwks_url=jwks_host.url)
    response = ask_token(anonymous, token_form(assertion(es384_key(), "vendor-bad", audience)))
    assert response.status_code == 401
    assert "not a valid JWK Set" in response.json()["error_description"]

"""Attack: the dashboard's OpenID Connect callback (gateway/dashboard/oidc.py) before any code is exchanged.

The happy path runs in a real browser against the real test provider (tests/e2e/test_e2e_dashboard.py); here, the
refusals that must happen before the identity provider is even asked: no login in progress, a state that does not
match, an expired or unreadable login cookie, the provider's own error; and a dashboard issuer that is not trusted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.dashboard.oidc import LoginFailed, OidcLogin, Transaction, challenge
from gateway.settings import Settings
from security.session import COOKIE
from tests.conftest import _free_port, serving

UNREACHABLE = "http://127.0.0.1:9"  # discard port: a login that reached the provider would fail differently
LOGIN_COOKIE = "__Host-cpts-login"


def _settings(settings: Settings, issuer: str = UNREACHABLE) -> Settings:
    port = _free_port()
    issuers = orjson.dumps([{"issuer": UNREACHABLE, "audience": "urn:cpts-gateway", "role": "coordinator"}]).decode()
    update = {"open_access": False, "port": port, "issuer": f"http://127.0.0.1:{port}", "ingest_worker": False}
    return settings.model_copy(update={**update, "external_issuers": issuers, "dashboard_oidc_issuer": issuer})


@pytest.fixture(scope="module")
def oidc_base(settings: Settings, engine: Engine) -> Iterator[str]:
    served = _settings(settings)
    with serving(create_app(served, configure_logs=False), served.port) as base:
        yield base


def _callback(base: str, query: str, transaction: Transaction | None = None) -> httpx.Response:
    cookies = {"Cookie": f"{LOGIN_COOKIE}={transaction.encode()}"} if transaction else {}
    return httpx.get(f"{base}/dashboard/api/callback?{query}", headers=cookies, timeout=30)


def test_dashboard_pkce_challenge_is_rfc7636_s256() -> None:
    # RFC 7636 appendix B
    assert challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_dashboard_callback_refusals_open_no_session(oidc_base: str) -> None:
    fresh = Transaction("the-state", "v" * 64, int(time.time()))
    stale = Transaction("the-state", "v" * 64, int(time.time()) - 3600)
    cases = [
        ("code=abc&state=the-state", None, "unreadable"),  # no login was started in this browser
        ("code=abc&state=another-state", fresh, "does not match"),  # login CSRF: someone else's code
        ("code=abc&state=the-state", stale, "too long"),
        ("error=access_denied&state=the-state", fresh, "access_denied"),
        ("state=the-state", fresh, "pas de code"),
    ]
    for query, transaction, says in cases:
        response = _callback(oidc_base, query, transaction)
        assert response.status_code == 401, (query, response.text)
        assert says in response.text, (query, response.text)
        assert COOKIE not in response.headers.get("set-cookie", "")
        assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_dashboard_login_offered_and_unreachable_provider_said(oidc_base: str) -> None:
    offers = httpx.get(f"{oidc_base}/dashboard/api/session", timeout=30).json()["login"]
    assert offers == {"development": True, "oidc": True}
    response = httpx.get(f"{oidc_base}/dashboard/api/login", timeout=30)
    assert response.status_code == 502 and "does not answer" in response.text


def test_dashboard_issuer_must_be_a_trusted_external_issuer(settings: Settings) -> None:
    with pytest.raises(ValueError, match="not one of CPTS_EXTERNAL_ISSUERS"):
        create_app(_settings(settings, "https://idp.elsewhere.example"), configure_logs=False)
    assert OidcLogin.from_settings(settings) is None  # no dashboard issuer: no OIDC login


def test_dashboard_transaction_cookie_round_trip() -> None:
    transaction = Transaction("s", "v", int(time.time()))
    assert Transaction.decode(transaction.encode()) == transaction
    with pytest.raises(LoginFailed):
        Transaction.decode("not base64 json")

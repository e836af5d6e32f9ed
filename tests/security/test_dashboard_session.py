"""Attack: the dashboard's browser session (security/session.py) must give a coordinator's reading rights, nothing more.

The cookie is admitted only for GET/HEAD, only without an Authorization header, only when the gateway signed it as a
session (an access token is not a session, a session is not an access token), never after tampering or expiry, never
for a role other than the coordinator's, and a development login is refused in production.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.errors import Unauthenticated
from gateway.settings import Settings
from security.crypto import generate_keys, write_keys
from security.keys import new_key_dict, signing_keys, write_key_file
from security.principal import Principal
from security.roles import role_named
from security.session import COOKIE, DEVELOPMENT, DashboardSessions, SessionRefused
from tests.conftest import _free_port, serving
from tests.security.identities import Identities

FHIR = "application/fhir+json"


def _login(base: str) -> tuple[httpx.Response, str]:
    response = httpx.post(f"{base}/dashboard/api/login/dev", headers={"X-Request-ID": "dash-login-1"}, timeout=30)
    cookie = response.cookies.get(COOKIE) or ""
    return response, cookie


@pytest.fixture
def session_cookie(ids: Identities) -> str:
    response, cookie = _login(ids.base)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    assert cookie
    return cookie


def _get(base: str, path: str, cookie: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"Cookie": f"{COOKIE}={cookie}", "Accept": FHIR, **headers}, timeout=30)


def test_dashboard_login_sets_a_host_only_secure_strict_cookie(ids: Identities) -> None:
    response, cookie = _login(ids.base)
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}={cookie};")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in header.lower(), attribute
    assert "domain=" not in header.lower()
    event = ids.audited("dash-login-1")  # the login is on the audit trail, naming who logged in
    assert "coordination-demo" in str(event["agent"]) and event["outcome"] == "0"


def test_dashboard_session_reads_as_a_coordinator(ids: Identities, session_cookie: str) -> None:
    assert _get(ids.base, "/fhir/Slot/$capacity", session_cookie).status_code == 200
    assert _get(ids.base, "/fhir/Slot?status=free&_count=5", session_cookie).status_code == 200
    refused = _get(ids.base, "/fhir/Patient", session_cookie)
    assert refused.status_code == 403 and "SEC-ROLE" in refused.text  # a coordinator never sees patients
    who = httpx.get(f"{ids.base}/dashboard/api/session", headers={"Cookie": f"{COOKIE}={session_cookie}"}).json()
    assert who["authenticated"] is True and who["role"] == "coordinator" and who["via"] == "development"
    assert who["login"] == {"development": True, "oidc": False}


def test_dashboard_session_never_writes(ids: Identities, session_cookie: str) -> None:
    slot = {"resourceType": "Slot", "status": "free", "start": "2026-11-23T09:00:00Z", "end": "2026-11-23T09:15:00Z"}
    for method in ("POST", "PUT", "DELETE"):
        path = "/fhir/Slot" if method == "POST" else "/fhir/Slot/s1"
        response = httpx.request(
            method,
            f"{ids.base}{path}",
            json=slot if method != "DELETE" else None,
            headers={"Cookie": f"{COOKIE}={session_cookie}", "Content-Type": FHIR},
            timeout=30,
        )
        assert response.status_code == 401, (method, response.text)  # the cookie is not a credential for writing


def test_dashboard_tampered_or_misplaced_tokens_are_refused(ids: Identities, session_cookie: str) -> None:
    head, payload, signature = session_cookie.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    assert _get(ids.base, "/fhir/Slot/$capacity", forged).status_code == 401
    who = httpx.get(f"{ids.base}/dashboard/api/session", headers={"Cookie": f"{COOKIE}={forged}"}).json()
    assert who["authenticated"] is False and "log in again" in who["reason"]
    # a session is not an access token, and an access token is not a session
    bearer = httpx.get(
        f"{ids.base}/fhir/Slot/$capacity", headers={"Authorization": f"Bearer {session_cookie}"}, timeout=30
    )
    assert bearer.status_code == 401
    token = ids.token("dash-coordinator", "coordinator")
    assert _get(ids.base, "/fhir/Slot/$capacity", token).status_code == 401
    # an Authorization header wins over the cookie: a bad bearer token is not rescued by a good session
    assert _get(ids.base, "/fhir/Slot/$capacity", session_cookie, Authorization="Bearer x.y.z").status_code == 401


def test_logging_out_closes_the_session_on_the_server(ids: Identities, session_cookie: str) -> None:
    other_response, other = _login(ids.base)  # a second session of the same person stays open
    assert _get(ids.base, "/fhir/Slot/$capacity", session_cookie).status_code == 200
    out = httpx.post(
        f"{ids.base}/dashboard/api/logout",
        headers={"Cookie": f"{COOKIE}={session_cookie}", "X-Request-ID": "dash-logout-1"},
        timeout=30,
    )
    assert out.status_code == 303 and out.headers["location"] == "/dashboard"
    assert f"{COOKIE}=" in out.headers["set-cookie"] and "max-age=0" in out.headers["set-cookie"].lower()
    replayed = _get(ids.base, "/fhir/Slot/$capacity", session_cookie)  # a copy of the cookie kept after logging out
    assert replayed.status_code == 401 and "closed by logging out" in replayed.text
    who = httpx.get(f"{ids.base}/dashboard/api/session", headers={"Cookie": f"{COOKIE}={session_cookie}"}).json()
    assert who["authenticated"] is False and "closed by logging out" in who["reason"]
    assert "dashboard session of coordination-demo closed" in str(ids.audited("dash-logout-1"))
    assert other_response.status_code == 303 and _get(ids.base, "/fhir/Slot/$capacity", other).status_code == 200
    again = httpx.post(f"{ids.base}/dashboard/api/logout", headers={"Cookie": f"{COOKIE}={session_cookie}"})
    assert again.status_code == 303  # closing a closed session is not an error


def test_dashboard_sessions_only_for_coordinators_and_they_expire(secure_settings: Settings, clean_db: Engine) -> None:
    sessions = DashboardSessions(secure_settings, signing_keys(secure_settings), clean_db)
    practitioner = Principal(subject="8199", role=role_named("practitioner"))
    with pytest.raises(SessionRefused, match="coordinators"):
        sessions.issue(practitioner, "https://idp.example")
    coordinator = Principal(subject="coord", role=role_named("coordinator"))
    old, _ = sessions.issue(coordinator, "https://idp.example", now=int(time.time()) - sessions.lifetime - 60)
    with pytest.raises(Unauthenticated, match="expired"):
        sessions.read(old)
    fresh, session = sessions.issue(coordinator, DEVELOPMENT)
    assert sessions.read(fresh) == session
    production = DashboardSessions(secure_settings.model_copy(update={"env": "production"}), sessions.keys, clean_db)
    with pytest.raises(Unauthenticated, match="production"):
        production.read(fresh)  # a development login's session is worthless in production


def test_dashboard_development_login_refused_in_production(tmp_path: Path) -> None:
    signing, data = tmp_path / "signing.json", tmp_path / "data.json"
    write_key_file(signing, [new_key_dict()])
    write_keys(data, generate_keys(data))
    port = _free_port()
    settings = Settings(
        env="production",
        database_url=f"sqlite:///{tmp_path}/p.db",
        issuer="https://gateway.cpts.example",
        signing_key_file=signing,
        data_keys_file=data,
        log_level="WARNING",
        port=port,
        ingest_worker=False,
    )
    with serving(create_app(settings, configure_logs=False), port) as base:
        response = httpx.post(f"{base}/dashboard/api/login/dev", timeout=30)
        assert response.status_code == 403 and "SEC-PRODUCTION" in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")
        offers = httpx.get(f"{base}/dashboard/api/session", timeout=30).json()["login"]
        assert offers == {"development": False, "oidc": False}

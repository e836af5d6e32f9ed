"""``GET /dashboard``: the coordinator's web page (plain files under static/), its login and its session.

The page itself and its assets need no credentials; everything it shows comes from the gateway's own APIs
(``$capacity``, Slot search, ``/indicators/*``, ``/pathways/summary``), called with the session cookie that the
authenticator admits as the person's principal (security/session.py). The routes under ``/dashboard/api`` are
audited (security/auditing.py): a login records who logged in, through which issuer, or why it was refused.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.dashboard.oidc import LoginFailed, OidcLogin, Transaction
from gateway.errors import Forbidden, NotFound, Unauthenticated
from gateway.settings import Settings
from security.keys import signing_keys
from security.ledger import current
from security.principal import Principal
from security.roles import role_named
from security.scopes import Scopes
from security.session import COOKIE, DEVELOPMENT, DashboardSessions, SessionRefused

STATIC = Path(__file__).parent / "static"
LOGIN_COOKIE = "__Host-cpts-login"
DEMO_SUBJECT = "coordination-demo"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the callback's URL carries the authorization code
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)  # a browser application, not part of the API's OpenAPI document


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _sessions(request: Request) -> DashboardSessions:
    sessions: DashboardSessions | None = getattr(request.app.state, "dashboard_sessions", None)
    if sessions is None:
        settings = _settings(request)
        sessions = DashboardSessions(settings, signing_keys(settings), request.app.state.engine)
        request.app.state.dashboard_sessions = sessions
    return sessions


def _login(request: Request) -> OidcLogin | None:
    login: OidcLogin | None = getattr(request.app.state, "dashboard_login", None)
    return login


def _redirect_uri(request: Request) -> str:
    base = _settings(request).base_url or str(request.base_url)
    return f"{base.rstrip('/')}/dashboard/api/callback"


def _message_page(title: str, message: str, status: int) -> HTMLResponse:
    """A small page for the end of a login (the browser lands on it); no script, so the CSP holds."""
    title, message = html.escape(title), html.escape(message)
    body = (
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
        '<link rel="stylesheet" href="/dashboard/static/dashboard.css"></head><body><main class="message">'
        f'<h1>{title}</h1><p role="alert">{message}</p>'
        '<p><a href="/dashboard">Retour au tableau de bord</a></p></main></body></html>'
    )
    return HTMLResponse(body, status, headers=HEADERS)


def _logged_in(request: Request, principal: Principal, via: str, response: Response) -> Response:
    """Open the session on ``response``, or answer why this person may not hold one."""
    try:
        token, session = _sessions(request).issue(principal, via)
    except SessionRefused as exc:
        current().error = "SEC-ROLE"
        return _message_page("Connexion refusée", str(exc), 403)
    request.state.principal = principal  # the login's AuditEvent names who logged in
    current().detail = f"dashboard session opened (via {via})"
    max_age = max(0, session.expires - int(time.time()))
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


def _landing() -> HTMLResponse:
    """After the identity provider's redirect, a same-site page that goes on to the dashboard: a SameSite=Strict
    cookie is not sent on a navigation that another site started, so the dashboard must be reached from here."""
    body = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="0;url=/dashboard"><title>Connexion</title></head>'
        '<body><p><a href="/dashboard">Ouvrir le tableau de bord</a></p></body></html>'
    )
    return HTMLResponse(body, headers=HEADERS)


@router.get("/dashboard")
async def page() -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/dashboard/")
async def page_slash() -> Response:
    return RedirectResponse("/dashboard", 308)


@router.get("/dashboard/api/session")
async def session(request: Request) -> Response:
    """Who is logged in (or that nobody is), and which ways to log in this gateway offers."""
    current().note("session", None)
    settings = _settings(request)
    offers = {"development": settings.env != "production", "oidc": _login(request) is not None}
    token = request.cookies.get(COOKIE)
    answer: dict[str, object] = {"authenticated": False, "login": offers}
    if token:
        try:
            found = _sessions(request).read(token)
        except Unauthenticated as exc:
            answer["reason"] = exc.diagnostics
        else:
            development = found.via == DEVELOPMENT
            answer.update(authenticated=True, subject=found.subject, role=found.role, expires=found.expires)
            answer.update(via="development" if development else found.via)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.post("/dashboard/api/login/dev")
async def development_login(request: Request) -> Response:
    """The demo's login: a coordinator session without an identity provider; refused when CPTS_ENV=production."""
    current().note("login", None)
    if _settings(request).env == "production":
        raise Forbidden("the development login is refused in production", expression="login", code="SEC-PRODUCTION")
    principal = Principal(
        subject=DEMO_SUBJECT, role=role_named("coordinator"), scopes=Scopes.parse("system/*.rs"), issuer=DEVELOPMENT
    )
    return _logged_in(request, principal, DEVELOPMENT, RedirectResponse("/dashboard", 303))


@router.get("/dashboard/api/login")
async def oidc_login(request: Request) -> Response:
    """Send the browser to the identity provider (authorization code with PKCE)."""
    current().note("login", None)
    login = _login(request)
    if login is None:
        raise NotFound("no identity provider is configured for the dashboard (CPTS_DASHBOARD_OIDC_ISSUER)")
    try:
        url, transaction = await run_in_threadpool(login.start, _redirect_uri(request))
    except LoginFailed as exc:
        return _message_page("Connexion impossible", str(exc), 502)
    response = RedirectResponse(url, 302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    response.set_cookie(
        LOGIN_COOKIE, transaction.encode(), max_age=600, path="/", secure=True, httponly=True, samesite="lax"
    )
    return response


@router.get("/dashboard/api/callback")
async def oidc_callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """The identity provider's answer: check the state, exchange the code, verify the token, open the session."""
    current().note("login", None)
    login = _login(request)
    if login is None:
        raise NotFound("no identity provider is configured for the dashboard (CPTS_DASHBOARD_OIDC_ISSUER)")
    if error or not code or not state:
        current().error = error or "missing-code"
        return _message_page(
            "Connexion refusée", f"le fournisseur d'identité a répondu : {error or 'pas de code'}", 401
        )
    try:
        transaction = Transaction.decode(request.cookies.get(LOGIN_COOKIE, ""))
        token = await run_in_threadpool(login.complete, code, state, transaction, _redirect_uri(request))
        principal = await run_in_threadpool(login.verifier.principal, token)
    except LoginFailed as exc:
        current().error = "LOGIN-FAILED"
        return _message_page("Connexion impossible", str(exc), 401)
    except Unauthenticated as exc:
        current().error = "SEC-TOKEN"
        return _message_page("Connexion refusée", exc.diagnostics, 401)
    return _logged_in(request, principal, login.config.issuer, _landing())


@router.post("/dashboard/api/logout")
async def logout(request: Request) -> Response:
    """Close the session on the server (every process refuses the cookie from now on), then in the browser."""
    current().note("logout", None)
    token = request.cookies.get(COOKIE)
    if token:
        try:
            closed = await run_in_threadpool(_sessions(request).close, token)
            current().detail = f"dashboard session of {closed.subject} closed"
        except Unauthenticated:
            current().detail = "no open dashboard session to close (expired, closed or not ours)"
    response = RedirectResponse("/dashboard", 303)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


__all__ = ["router"]

"""Browser sessions of the dashboard: a person who logged in on ``GET /dashboard`` becomes a principal.

A session is a cookie holding a JWT signed ES256 by the gateway's signing keys (security/keys.py), so every gateway
process verifies it without shared state. It is never an access token: its ``typ`` is ``cpts-session+jwt`` and its
``aud`` is ``<issuer>/dashboard``, which the access-token verifier refuses (and this module refuses access tokens).

The cookie (``__Host-`` prefixed: Secure, Path=/, no Domain; HttpOnly; SameSite=Strict) is admitted by the
authenticator (security/authn.py) only when the request carries no ``Authorization`` header and only for reading
(GET, HEAD): the dashboard never writes, and a forged cross-site request could at most read into a page it cannot
see. Only :data:`SESSION_ROLES` may hold a session, with read and search scopes only, whatever the role would allow.
A session made by the development login is refused outright when ``CPTS_ENV=production``.

Logging out closes the session on the server too: its ``jti`` is recorded (table ``oauth_jti``, under the key
:data:`CLOSED`, until the session would have expired), and every process then refuses the cookie, should a copy of
it outlive the browser's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from gateway.settings import Settings
from security.authn import unauthenticated
from security.keys import ALGORITHM, SigningKeys
from security.oauth.jti import SpentAssertions
from security.principal import Principal
from security.roles import role_named
from security.scopes import Scopes

COOKIE = "__Host-cpts-dashboard"
TYPE = "cpts-session+jwt"
SESSION_ROLES = frozenset({"coordinator"})  # the dashboard is the coordinator's; other people use their own tools
DEVELOPMENT = "dashboard-development-login"  # the ``via`` of the development login
READING = frozenset({"GET", "HEAD"})
READ_ONLY = "system/*.rs"
LEEWAY_SECONDS = 30
CLOSED = "~dashboard-logout"  # the oauth_jti key of closed sessions (no OAuth client name starts with "~")


class SessionRefused(ValueError):
    """This principal may not hold a dashboard session (its role), said in a sentence for the login page."""


@dataclass(frozen=True)
class Session:
    subject: str
    role: str
    via: str  # the OIDC issuer that vouched for the person, or DEVELOPMENT
    tenant: str | None
    expires: int  # seconds since the epoch
    jti: str  # the session's own id: what logging out records


def session_audience(settings: Settings) -> str:
    return f"{settings.issuer.rstrip('/')}/dashboard"


class DashboardSessions:
    """Issues and verifies session cookies; admits them as principals (a ``CertificateAdmission``-like hook)."""

    def __init__(self, settings: Settings, keys: SigningKeys, engine: Engine) -> None:
        self.settings = settings
        self.keys = keys
        self.lifetime = settings.dashboard_session_minutes * 60
        self.closed = SpentAssertions(engine)

    def issue(self, principal: Principal, via: str, now: int | None = None) -> tuple[str, Session]:
        """A signed session for ``principal``; :class:`SessionRefused` when its role may not hold one."""
        if principal.role.name not in SESSION_ROLES:
            raise SessionRefused(
                f"the dashboard is for CPTS coordinators; {principal.subject} has the role {principal.role.name}"
            )
        issued = int(time.time()) if now is None else now
        session = Session(
            principal.subject, principal.role.name, via, principal.tenant, issued + self.lifetime,
            secrets.token_urlsafe(16),
        )  # fmt: skip
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "aud": session_audience(self.settings),
            "sub": session.subject,
            "iat": issued,
            "exp": session.expires,
            "jti": session.jti,
            "role": session.role,
            "via": via,
        }
        if session.tenant:
            claims["tenant"] = session.tenant
        signing = self.keys.current
        header = {"alg": ALGORITHM, "typ": TYPE, "kid": signing.kid}
        return jwt.encode(header, claims, signing.key, algorithms=[ALGORITHM]), session

    def read(self, token: str) -> Session:
        """The session of a cookie value; :class:`gateway.errors.Unauthenticated` when it is not a valid one."""
        try:
            compact = jws.extract_compact(token.encode("ascii"))
            header = compact.headers()
        except (JoseError, ValueError, UnicodeError) as exc:
            raise unauthenticated("the dashboard session is not a signed token: log in again") from exc
        kid = header.get("kid")
        signing = self.keys.verification_key(kid) if isinstance(kid, str) else None
        if header.get("alg") != ALGORITHM or header.get("typ") != TYPE or signing is None:
            raise unauthenticated("the dashboard session was not issued by this gateway: log in again")
        try:
            valid = jws.validate_compact(compact, signing.public, algorithms=[ALGORITHM])
            claims = orjson.loads(compact.payload)
        except (JoseError, ValueError) as exc:
            raise unauthenticated("the dashboard session does not verify: log in again") from exc
        if not valid or not isinstance(claims, dict):
            raise unauthenticated("the dashboard session does not verify: log in again")
        session = self._checked(claims)
        if self.closed.spent(CLOSED, session.jti):
            raise unauthenticated("the dashboard session was closed by logging out: log in again")
        return session

    def close(self, token: str) -> Session:
        """Log out: refuse this session from now on, in every process; raises as :meth:`read` does for a cookie that
        is not an open session (nothing to close then)."""
        session = self.read(token)
        self.closed.spend(CLOSED, session.jti, datetime.fromtimestamp(session.expires, UTC))
        return session

    def _checked(self, claims: Mapping[str, Any]) -> Session:
        now = time.time()
        expires = claims.get("exp")
        if claims.get("iss") != self.settings.issuer or claims.get("aud") != session_audience(self.settings):
            raise unauthenticated("the dashboard session is not meant for this gateway: log in again")
        if not isinstance(expires, int) or expires < now - LEEWAY_SECONDS:
            raise unauthenticated("the dashboard session has expired: log in again")
        role, subject, via, jti = claims.get("role"), claims.get("sub"), claims.get("via"), claims.get("jti")
        if role not in SESSION_ROLES or not isinstance(subject, str) or not isinstance(via, str):
            raise unauthenticated("the dashboard session is malformed: log in again")
        if not isinstance(jti, str) or not jti:
            raise unauthenticated("the dashboard session is malformed: log in again")
        if via == DEVELOPMENT and self.settings.env == "production":
            raise unauthenticated("development sessions are refused in production")
        tenant = claims.get("tenant")
        return Session(subject, str(role), via, tenant if isinstance(tenant, str) else None, expires, jti)

    def principal(self, connection: HTTPConnection) -> Principal | None:
        """The principal of the request's session cookie (reading requests only), or None when there is none."""
        token = connection.cookies.get(COOKIE)
        if not token or connection.scope.get("method") not in READING:
            return None
        session = self.read(token)
        return Principal(
            subject=session.subject,
            role=role_named(session.role),
            tenant=session.tenant,
            scopes=Scopes.parse(READ_ONLY),
            issuer=session.via,
        )


__all__ = [
    "COOKIE",
    "DEVELOPMENT",
    "SESSION_ROLES",
    "DashboardSessions",
    "Session",
    "SessionRefused",
    "session_audience",
]

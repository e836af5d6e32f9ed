"""Authentication: turn a request's credentials into a :class:`~security.principal.Principal`.

Four ways in, tried in this order:

1. ``Authorization: Bearer <JWT>``: the token's (unverified) ``iss`` picks the verifier that owns it, and that
   verifier checks everything (signature with a pinned algorithm, ``exp``/``nbf``/``iat``, ``aud``, ``iss``) before
   it builds the principal. A token whose issuer nobody trusts is refused.
2. A dashboard session cookie (security/session.py), for reading requests only.
3. A verified TLS client certificate whose subject DN is on the ``sas-consumer`` allow-list (mutual TLS).
4. Nothing: refused (401) unless ``CPTS_OPEN_ACCESS=true`` in development, which answers as the developer.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson
from starlette.requests import HTTPConnection

from gateway.errors import Unauthenticated
from gateway.settings import Settings
from security.principal import Principal, development_principal

CHALLENGE = 'Bearer realm="cpts-gateway"'


class TokenVerifier(Protocol):
    """Checks the tokens of one or more issuers and builds the principal they vouch for."""

    def owns(self, issuer: str) -> bool: ...

    def principal(self, token: str) -> Principal:
        """Verify ``token`` completely; raise :class:`Unauthenticated` with the reason when anything is wrong."""
        ...


class CertificateAdmission(Protocol):
    """Admits a verified TLS client certificate (mutual TLS) as a principal, or answers None."""

    def principal(self, connection: HTTPConnection) -> Principal | None: ...


class SessionAdmission(Protocol):
    """Admits a browser session (the dashboard's cookie) as a principal, or answers None when there is none."""

    def principal(self, connection: HTTPConnection) -> Principal | None: ...


def unauthenticated(reason: str, *, error: str = "invalid_token") -> Unauthenticated:
    failure = Unauthenticated(reason, expression="Authorization")
    failure.headers = {"WWW-Authenticate": f'{CHALLENGE}, error="{error}"'}
    return failure


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, *not* verified: only to pick the verifier (which then verifies it)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise unauthenticated("the bearer token is not a JSON Web Token (three base64url parts)")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = orjson.loads(payload)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise unauthenticated("the bearer token's payload is not base64url-encoded JSON") from exc
    if not isinstance(claims, dict):
        raise unauthenticated("the bearer token's payload is not a JSON object")
    return claims


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        verifiers: Sequence[TokenVerifier] = (),
        certificates: CertificateAdmission | None = None,
        sessions: SessionAdmission | None = None,
    ) -> None:
        self.settings = settings
        self.verifiers = list(verifiers)
        self.certificates = certificates
        self.sessions = sessions

    def authenticate(self, connection: HTTPConnection) -> Principal:
        header = connection.headers.get("authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise unauthenticated(
                    "the Authorization header must be 'Bearer <access token>'", error="invalid_request"
                )
            return self.verify(token.strip())
        if self.sessions is not None:
            session = self.sessions.principal(connection)
            if session is not None:
                return session
        if self.certificates is not None:
            principal = self.certificates.principal(connection)
            if principal is not None:
                return principal
        if self.settings.open_access and self.settings.env != "production":
            return development_principal()
        failure = Unauthenticated(
            "this endpoint needs an access token: POST /oauth/token (SMART Backend Services), then send "
            "'Authorization: Bearer <token>'",
            expression="Authorization",
        )
        failure.headers = {"WWW-Authenticate": CHALLENGE}
        raise failure

    def cached(self, connection: HTTPConnection) -> Principal | None:
        """The principal of a bearer token a verifier checked a moment ago (security/token_cache.py), found without
        I/O so that it can be asked on the event loop; None: call :meth:`authenticate`."""
        header = connection.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        for verifier in self.verifiers:
            look: Callable[[str], Principal | None] | None = getattr(verifier, "cached", None)
            if look is not None and (found := look(token.strip())) is not None:
                return found
        return None

    def verify(self, token: str) -> Principal:
        issuer = unverified_claims(token).get("iss")
        if not isinstance(issuer, str):
            raise unauthenticated("the token has no issuer (iss)")
        for verifier in self.verifiers:
            if verifier.owns(issuer):
                return verifier.principal(token)
        raise unauthenticated(f"tokens of issuer '{issuer}' are not trusted here")


__all__ = [
    "CHALLENGE",
    "Authenticator",
    "CertificateAdmission",
    "SessionAdmission",
    "TokenVerifier",
    "unauthenticated",
    "unverified_claims",
]

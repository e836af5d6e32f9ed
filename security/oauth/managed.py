"""Tokens for clients whose key the gateway keeps (the demo clients): ``cpts-gateway clients token NAME``.

The gateway signs a real client assertion with the client's private key and sends it through the same
:meth:`TokenServer.token` as ``POST /oauth/token``, so what the CLI prints is exactly what the API would issue.
Refused in production: there a client's private key never leaves the client.
"""

from __future__ import annotations

import secrets
import time

from joserfc import jwt
from joserfc.jwk import Key
from sqlalchemy import Engine

from gateway.settings import Settings
from security.oauth import token_server
from security.oauth.clients import ClientRegistry, load_managed_key
from security.oauth.rfc7523 import ASSERTION_TYPE
from security.oauth.server import TokenOutcome, TokenRequest
from security.oauth.tokens import token_endpoint


class ManagedTokenRefused(RuntimeError):
    """The gateway cannot sign for this client (production, unknown client, or a key it does not hold)."""


def client_assertion(client: str, key: Key, audience: str, *, lifetime: int = 240, algorithm: str = "ES384") -> str:
    """A SMART Backend Services client assertion: iss = sub = the client, aud = the token endpoint, one-time jti."""
    now = int(time.time())
    claims = {"iss": client, "sub": client, "aud": audience, "iat": now, "exp": now + lifetime}
    claims["jti"] = secrets.token_urlsafe(24)
    header = {"alg": algorithm, "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[algorithm])


def managed_token(settings: Settings, engine: Engine, name: str, scope: str | None = None) -> TokenOutcome:
    if settings.env == "production":
        raise ManagedTokenRefused(
            "clients token is refused when CPTS_ENV=production: clients sign their own assertions"
        )
    client = ClientRegistry(engine).get(name)
    if client is None:
        raise ManagedTokenRefused(f"no client named '{name}' is registered")
    key = load_managed_key(settings.keys_dir, name) if client.managed_key else None
    if key is None:
        raise ManagedTokenRefused(
            f"the gateway does not hold the private key of '{name}' (only for clients added with --generate-key, "
            f"kept under {settings.keys_dir}/clients/)"
        )
    url = token_endpoint(settings)
    form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", client_assertion(name, key, url)),
    ]
    if scope is not None:
        form.append(("scope", scope))
    request = TokenRequest("POST", url, form, {"content-type": "application/x-www-form-urlencoded"})
    return token_server(settings, engine).token(request)


__all__ = ["ManagedTokenRefused", "client_assertion", "managed_token"]

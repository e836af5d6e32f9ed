"""Helpers of the OAuth tests: client keys, client assertions (good and crafted bad ones), token requests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import httpx
import orjson
from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey
from sqlalchemy import Engine

from security.oauth.clients import ClientRegistry

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def es384_key() -> ECKey:
    return ECKey.generate_key("P-384", auto_kid=True)


def rs384_key() -> RSAKey:
    return RSAKey.generate_key(2048, auto_kid=True)


def public_jwks(*keys: Key) -> dict[str, Any]:
    return {"keys": [dict(key.as_dict(private=False)) for key in keys]}


def register(
    engine: Engine,
    name: str,
    key: Key | None = None,
    *,
    role: str = "centre-system",
    tenant: str | None = "350000014",
    scopes: str | None = "system/*.cruds",
    jwks_url: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> None:
    ClientRegistry(engine).add(
        name,
        role=role,
        tenant=tenant,
        scopes=scopes,
        jwks=public_jwks(key) if key is not None else None,
        jwks_url=jwks_url,
        attributes=attributes,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key: Key, client: str, audience: str, *, alg: str | None = None, **overrides: Any) -> str:
    """A client assertion; ``overrides`` replace claims (None removes one)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client,
        "sub": client,
        "aud": audience,
        "iat": now,
        "exp": now + 240,
        "jti": secrets.token_hex(12),
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    algorithm = alg or ("ES384" if key.key_type == "EC" else "RS384")
    return jwt.encode({"alg": algorithm, "kid": key.kid}, claims, key, algorithms=[algorithm])


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """``alg: none``: no signature at all."""
    return f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}."


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 with a secret the attacker knows (e.g. the server's public key): the algorithm-confusion attack."""
    signing_input = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def token_form(client_assertion: str, scope: str | None = "system/*.cruds", **extra: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
        **extra,
    }
    if scope is not None:
        form["scope"] = scope
    return form


def ask_token(http: httpx.Client, form: dict[str, str]) -> httpx.Response:
    return http.post("/oauth/token", data=form, headers={"Accept": "application/json"})


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    header: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return header


def issue_token(anonymous: httpx.Client, engine: Engine, issuer: str) -> str:
    """A real token of client centre-a (centre-system of 350000014, system/*.cruds), through the token endpoint."""
    key = es384_key()
    register(engine, "centre-a", key)
    response = ask_token(anonymous, token_form(assertion(key, "centre-a", f"{issuer}/oauth/token")))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token

"""The gateway's access tokens: JWTs signed ES256 with the newest signing key (security/keys.py), ``kid`` in header.

Claims: ``iss`` (the gateway), ``sub`` (the client), ``aud`` (``ISSUER/fhir``), ``iat``, ``nbf``, ``exp``, ``jti``,
``scope``, ``client_id``, and the gateway's own ``cpts_role``, ``cpts_tenant`` and, for a practitioner client,
``cpts_practitioner_id``, ``cpts_structures``, ``cpts_profession``. The verifier (verifier.py) reads them back.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from joserfc import jwt

from gateway.settings import Settings
from security.keys import ALGORITHM, SigningKeys
from security.oauth.clients import Client

CLAIM_ROLE = "cpts_role"
CLAIM_TENANT = "cpts_tenant"
CLAIM_PRACTITIONER = "cpts_practitioner_id"
CLAIM_STRUCTURES = "cpts_structures"
CLAIM_PROFESSION = "cpts_profession"


def fhir_audience(settings: Settings) -> str:
    return f"{settings.issuer.rstrip('/')}/fhir"


def token_endpoint(settings: Settings) -> str:
    return f"{settings.issuer.rstrip('/')}/oauth/token"


class AccessTokens:
    def __init__(self, settings: Settings, keys: SigningKeys) -> None:
        self.settings = settings
        self.keys = keys

    def claims(self, client: Client, scope: str, now: int | None = None) -> dict[str, Any]:
        issued = int(time.time()) if now is None else now
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "sub": client.name,
            "aud": fhir_audience(self.settings),
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.settings.token_lifetime_seconds,
            "jti": secrets.token_urlsafe(16),
            "scope": scope,
            "client_id": client.name,
            CLAIM_ROLE: client.role,
        }
        tenant = client.token_tenant
        if tenant:
            claims[CLAIM_TENANT] = tenant
        attributes = client.attributes
        if attributes.get("practitioner_id"):
            claims[CLAIM_PRACTITIONER] = attributes["practitioner_id"]
            claims[CLAIM_STRUCTURES] = list(attributes.get("structures") or [])
            if attributes.get("profession"):
                claims[CLAIM_PROFESSION] = attributes["profession"]
        return claims

    def sign(self, claims: dict[str, Any]) -> str:
        signing = self.keys.current
        header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": signing.kid}
        return jwt.encode(header, claims, signing.key, algorithms=[ALGORITHM])

    def issue(self, client: Client, scope: str) -> dict[str, Any]:
        """The token response body (RFC 6749 §5.1)."""
        return {
            "access_token": self.sign(self.claims(client, scope)),
            "token_type": "bearer",
            "expires_in": self.settings.token_lifetime_seconds,
            "scope": scope,
        }


__all__ = [
    "CLAIM_PRACTITIONER",
    "CLAIM_PROFESSION",
    "CLAIM_ROLE",
    "CLAIM_STRUCTURES",
    "CLAIM_TENANT",
    "AccessTokens",
    "fhir_audience",
    "token_endpoint",
]

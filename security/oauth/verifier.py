"""Verifies the gateway's own access tokens on every request and builds the principal they vouch for.

Only ES256, only the gateway's published keys (chosen by ``kid``), ``iss`` = the gateway, ``aud`` = its FHIR base,
``exp``/``nbf``/``iat`` with at most 30 s of leeway, and the client must still be registered (a removed client's
tokens stop working within the cache's 30 s). It runs on every request, so decoded keys are kept (security/keys.py)
and the client check is cached; the cost is one ECDSA verification per token and client check
(security/token_cache.py): a token verified a moment ago is taken again until its ``exp`` or the next client check,
whichever comes first, as long as the key that signed it is still published.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy.exc import SQLAlchemyError

from gateway.settings import Settings
from security.authn import unauthenticated
from security.keys import ALGORITHM, SigningKey, SigningKeys
from security.oauth.tokens import (
    CLAIM_PRACTITIONER,
    CLAIM_PROFESSION,
    CLAIM_ROLE,
    CLAIM_STRUCTURES,
    CLAIM_TENANT,
    fhir_audience,
)
from security.principal import Principal
from security.roles import DEVELOPER, role_named
from security.scopes import ScopeError, Scopes
from security.token_cache import VerifiedTokens

LEEWAY_SECONDS = 30
CLIENT_CACHE_SECONDS = 30.0
REQUIRED = ("iss", "sub", "aud", "exp", "iat", "jti", "scope", CLAIM_ROLE)


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ClientPresence:
    """Whether a client is still registered, and since when; cached for a short time."""

    def __init__(self, lookup: Callable[[str], datetime | None], ttl: float = CLIENT_CACHE_SECONDS) -> None:
        self.lookup = lookup
        self.ttl = ttl
        self._cache: dict[str, tuple[float, datetime | None]] = {}
        self._lock = threading.Lock()

    def registered_at(self, name: str) -> datetime | None:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        value = self.lookup(name)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[name] = (now, value)
        return value

    def seconds_left(self, name: str) -> float:
        """How long the answer cached for ``name`` will still be given (0: the next call looks again)."""
        cached = self._cache.get(name)
        return 0.0 if cached is None else cached[0] + self.ttl - time.monotonic()


class GatewayTokenVerifier:
    """:class:`security.authn.TokenVerifier` for the tokens of this gateway's own authorization server."""

    def __init__(self, settings: Settings, keys: SigningKeys, clients: ClientPresence) -> None:
        self.issuer = settings.issuer
        self.audience = fhir_audience(settings)
        self.keys = keys
        self.clients = clients
        self._verified: VerifiedTokens[tuple[Principal, SigningKey]] = VerifiedTokens()

    def owns(self, issuer: str) -> bool:
        return issuer == self.issuer

    def _header(self, token: str) -> dict[str, Any]:
        try:
            header = orjson.loads(_segment(token.split(".", 1)[0]))
        except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
            raise unauthenticated("the token's header is not base64url-encoded JSON") from exc
        if not isinstance(header, dict):
            raise unauthenticated("the token's header is not a JSON object")
        return header

    def _claims(self, token: str) -> tuple[dict[str, Any], SigningKey]:
        header = self._header(token)
        if header.get("alg") != ALGORITHM:
            raise unauthenticated(f"the gateway's tokens are signed {ALGORITHM}; this one says {header.get('alg')!s}")
        kid = header.get("kid")
        signing = self.keys.verification_key(kid) if isinstance(kid, str) else None
        if signing is None:
            raise unauthenticated("the token was not signed by a key of this gateway (unknown kid)")
        try:
            signature = jws.deserialize_compact(token, signing.public, algorithms=[ALGORITHM])
            claims = orjson.loads(signature.payload)
        except (JoseError, ValueError, orjson.JSONDecodeError) as exc:
            raise unauthenticated("the token's signature does not verify") from exc
        if not isinstance(claims, dict):
            raise unauthenticated("the token's payload is not a JSON object")
        return claims, signing

    def _check_claims(self, claims: dict[str, Any]) -> None:
        missing = [name for name in REQUIRED if name not in claims]
        if missing:
            raise unauthenticated(f"the token lacks the claims {', '.join(missing)}")
        if claims["iss"] != self.issuer:
            raise unauthenticated("the token's issuer is not this gateway")
        audience = claims["aud"]
        if audience != self.audience and not (isinstance(audience, list) and self.audience in audience):
            raise unauthenticated(f"the token is not meant for this FHIR server (aud must be {self.audience})")
        now = time.time()
        times = {name: claims.get(name) for name in ("exp", "nbf", "iat")}
        for name, value in times.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise unauthenticated(f"the token's {name} is not a NumericDate")
        if claims["exp"] < now - LEEWAY_SECONDS:
            raise unauthenticated("the token has expired")
        if times["nbf"] is not None and claims["nbf"] > now + LEEWAY_SECONDS:
            raise unauthenticated("the token is not valid yet (nbf)")
        if claims["iat"] > now + LEEWAY_SECONDS:
            raise unauthenticated("the token was issued in the future (iat)")

    def _check_client(self, claims: dict[str, Any]) -> None:
        client = str(claims.get("client_id") or claims["sub"])
        try:
            registered = self.clients.registered_at(client)
        except SQLAlchemyError as exc:
            raise unauthenticated("the token's client could not be checked (database unavailable)") from exc
        if registered is None:
            raise unauthenticated(f"the client '{client}' is no longer registered")
        if registered.replace(tzinfo=UTC).timestamp() > claims["iat"] + LEEWAY_SECONDS:
            raise unauthenticated(f"the token predates the current registration of client '{client}'")

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified a moment ago (no I/O), or None: then :meth:`principal` verifies it."""
        found = self._verified.get(token)
        if found is None:
            return None
        principal, signing = found
        if self.keys.verification_key(signing.kid) is not signing:  # retired, or the key file was reloaded
            return None
        return principal

    def principal(self, token: str) -> Principal:
        known = self.cached(token)
        if known is not None:
            return known
        claims, signing = self._claims(token)
        self._check_claims(claims)
        self._check_client(claims)
        principal = self._principal(claims)
        client = str(claims.get("client_id") or claims["sub"])
        lifetime = min(float(claims["exp"]) - time.time(), self.clients.seconds_left(client))
        self._verified.put(token, (principal, signing), lifetime)
        return principal

    def _principal(self, claims: dict[str, Any]) -> Principal:
        try:
            role_name = str(claims[CLAIM_ROLE])
            if role_name == DEVELOPER:
                raise KeyError(role_name)
            role = role_named(role_name)
        except KeyError as exc:
            raise unauthenticated(f"the token's role '{claims[CLAIM_ROLE]}' is unknown here") from exc
        try:
            scopes = Scopes.parse(str(claims["scope"]))
        except ScopeError as exc:
            raise unauthenticated(f"the token's scope is not understood: {exc}") from exc
        structures = claims.get(CLAIM_STRUCTURES) or []
        return Principal(
            subject=str(claims["sub"]),
            role=role,
            tenant=str(claims[CLAIM_TENANT]) if claims.get(CLAIM_TENANT) else None,
            scopes=scopes,
            structures=frozenset(str(s) for s in structures) if isinstance(structures, list) else frozenset(),
            practitioner_id=str(claims[CLAIM_PRACTITIONER]) if claims.get(CLAIM_PRACTITIONER) else None,
            profession=str(claims[CLAIM_PROFESSION]) if claims.get(CLAIM_PROFESSION) else None,
            issuer=self.issuer,
            client=str(claims.get("client_id") or claims["sub"]),
        )


__all__ = ["ClientPresence", "GatewayTokenVerifier"]

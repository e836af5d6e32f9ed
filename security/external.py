"""Tokens of external OpenID Connect issuers (Pro Santé Connect, Keycloak): ``CPTS_EXTERNAL_ISSUERS``.

The setting is a JSON list with one object per trusted issuer::

    [{"issuer": "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet", "audience": "cpts-gateway",
      "profile": "psc", "acr": "eidas1"},
     {"issuer": "https://keycloak.example/realms/cpts", "jwks_uri": "https://.../certs", "audience": "cpts-gateway",
      "profile": "generic", "role": "coordinator", "tenant_claim": "finess"}]

``jwks_uri`` is found by OpenID Connect discovery when left out. A bad entry stops start-up, naming it.

A token is accepted only when its signature verifies with a key of its issuer's JWKS (RS256, PS256 or ES256: never
``none``, never an HMAC whose secret could be the public key), ``iss`` is exactly the configured issuer, ``aud``
contains the configured audience, ``exp`` is present and not past, ``nbf``/``iat`` are not in the future (leeway at
most 30 s) and ``acr`` is the required one when configured. The keys are cached for :data:`KEYS_TTL` seconds and
fetched again, at most every :data:`REFETCH_INTERVAL` seconds, when a token names a key id the cache lacks (key
rotation), so the usual request costs one signature check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
import orjson
from joserfc import jwk, jws
from joserfc.errors import JoseError
from joserfc.jws import CompactSignature
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.errors import Unauthenticated
from gateway.settings import Settings
from security.authn import unauthenticated
from security.principal import Principal
from security.psc import ClaimError, psc_principal
from security.roles import DEVELOPER, role_named
from security.scopes import Scopes

log = logging.getLogger(__name__)

ALGORITHMS = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}  # alg -> the key type it needs
KEYS_TTL = 300.0
REFETCH_INTERVAL = 30.0
FETCH_TIMEOUT = 3.0
RETRY_AFTER_FAILURE = 5.0  # an issuer that did not answer is not asked again sooner (each request would wait)
MAX_LEEWAY = 30

VerifyingKey = jwk.RSAKey | jwk.ECKey


class ExternalIssuersError(ValueError):
    """``CPTS_EXTERNAL_ISSUERS`` is not valid: start-up stops with the entry and the reason."""


class IssuerConfig(BaseModel):
    """One trusted issuer of ``CPTS_EXTERNAL_ISSUERS``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str
    jwks_uri: str | None = None
    audience: str = Field(min_length=1)
    profile: Literal["psc", "generic"] = "generic"
    role: str = "practitioner"
    acr: str | None = None
    tenant_claim: str | None = None
    leeway: int = Field(default=MAX_LEEWAY, ge=0, le=MAX_LEEWAY)

    @field_validator("issuer", "jwks_uri")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"'{value}' is not an http(s) URL")
        return value

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value == DEVELOPER:
            raise ValueError(f"'{DEVELOPER}' is the open-access role of development, never an issuer's")
        try:
            role_named(value)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from exc
        return value

    @model_validator(mode="after")
    def _psc_is_practitioner(self) -> IssuerConfig:
        if self.profile == "psc" and self.role != "practitioner":
            raise ValueError("the psc profile always gives the practitioner role")
        return self

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_issuers(text: str) -> list[IssuerConfig]:
    """The issuers of the setting, or :class:`ExternalIssuersError` naming the bad entry."""
    if not text.strip():
        return []
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ExternalIssuersError(f"CPTS_EXTERNAL_ISSUERS is not JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise ExternalIssuersError("CPTS_EXTERNAL_ISSUERS must be a JSON list of issuer objects")
    configs: list[IssuerConfig] = []
    for index, entry in enumerate(raw):
        name = entry.get("issuer", "?") if isinstance(entry, dict) else "?"
        try:
            config = IssuerConfig.model_validate(entry)
        except ValidationError as exc:
            reasons = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'entry'}: {error['msg']}" for error in exc.errors()
            )
            raise ExternalIssuersError(f"CPTS_EXTERNAL_ISSUERS[{index}] (issuer {name}): {reasons}") from exc
        if any(existing.issuer == config.issuer for existing in configs):
            raise ExternalIssuersError(f"CPTS_EXTERNAL_ISSUERS[{index}]: issuer {config.issuer} is listed twice")
        configs.append(config)
    return configs


def _fetch_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = orjson.loads(response.content)
    except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
        raise unauthenticated(f"the {what} at {url} could not be read ({exc}); try again later") from exc
    if not isinstance(document, dict):
        raise unauthenticated(f"the {what} at {url} is not a JSON object")
    return document


class IssuerKeys:
    """The signing keys of one issuer: fetched on first use, kept ``ttl`` seconds, refetched on an unknown kid."""

    def __init__(self, config: IssuerConfig, *, ttl: float = KEYS_TTL, refetch_interval: float = REFETCH_INTERVAL):
        self.config = config
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self._jwks_uri = config.jwks_uri
        self._keys: dict[str | None, VerifyingKey] = {}
        self._fetched_at = float("-inf")
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str | None, alg: str) -> VerifyingKey:
        now = time.monotonic()
        if now - self._fetched_at >= self.ttl:
            self._refresh(stale_after=self.ttl)
        found = self._find(kid, alg)
        if found is None and time.monotonic() - self._fetched_at >= self.refetch_interval:
            self._refresh(stale_after=self.refetch_interval)  # a rotated key: look once more, at most so often
            found = self._find(kid, alg)
        if found is None and not self._keys:
            raise unauthenticated(f"the keys of issuer {self.config.issuer} could not be fetched; try again later")
        if found is None:
            raise unauthenticated(f"issuer {self.config.issuer} publishes no {alg} key with kid '{kid}'")
        return found

    def _find(self, kid: str | None, alg: str) -> VerifyingKey | None:
        wanted = ALGORITHMS[alg]
        if kid is not None:
            key = self._keys.get(kid)
            return key if key is not None and key.key_type == wanted else None
        candidates = [key for key in self._keys.values() if key.key_type == wanted]
        return candidates[0] if len(candidates) == 1 else None

    def _refresh(self, *, stale_after: float) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._fetched_at < stale_after or now - self._failed_at < RETRY_AFTER_FAILURE:
                return  # another thread has just fetched them, or the issuer has just failed to answer
            try:
                self._fetch()
            except Unauthenticated as exc:
                self._failed_at = now
                log.warning("could not fetch an issuer's keys", extra={"issuer": self.config.issuer, "error": str(exc)})

    def _fetch(self) -> None:
        """Discovery (once, when no jwks_uri is configured) and the JWKS; raises when the issuer fails."""
        if self._jwks_uri is None:
            document = _fetch_json(self.config.discovery_url, "OpenID configuration")
            if document.get("issuer") != self.config.issuer:
                raise unauthenticated(
                    f"the OpenID configuration of {self.config.issuer} names another issuer "
                    f"({document.get('issuer')!r})"
                )
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise unauthenticated(f"the OpenID configuration of {self.config.issuer} has no jwks_uri")
            self._jwks_uri = jwks_uri
        self._keys = self._import(_fetch_json(self._jwks_uri, "JWKS"))
        self._fetched_at = time.monotonic()

    def _import(self, document: Mapping[str, Any]) -> dict[str | None, VerifyingKey]:
        keys: dict[str | None, VerifyingKey] = {}
        for item in document.get("keys") or []:
            if not isinstance(item, dict) or item.get("use", "sig") != "sig" or item.get("kty") not in ("RSA", "EC"):
                continue
            try:
                key = jwk.import_key(item)
            except (JoseError, ValueError, TypeError) as exc:
                log.warning("skipping an unusable JWKS key", extra={"issuer": self.config.issuer, "error": str(exc)})
                continue
            if isinstance(key, jwk.RSAKey | jwk.ECKey) and not key.is_private:
                keys[item.get("kid")] = key
        return keys


def check_claims(claims: Mapping[str, Any], config: IssuerConfig, now: float) -> None:
    """The registered claims (RFC 7519 §4.1) and ``acr``; raises :class:`Unauthenticated` with the reason."""
    leeway = config.leeway
    if claims.get("iss") != config.issuer:
        raise unauthenticated(f"the token's issuer is not {config.issuer}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if config.audience not in audiences:
        raise unauthenticated(f"the token's audience (aud) does not include '{config.audience}'")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise unauthenticated("the token has no expiry (exp)")
    if now > expires + leeway:
        raise unauthenticated("the token has expired")
    not_before = claims.get("nbf")
    if not_before is not None and (not isinstance(not_before, int | float) or now + leeway < not_before):
        raise unauthenticated("the token is not valid yet (nbf)")
    issued = claims.get("iat")
    if issued is not None and (not isinstance(issued, int | float) or now + leeway < issued):
        raise unauthenticated("the token was issued in the future (iat)")
    if config.acr is not None and claims.get("acr") != config.acr:
        raise unauthenticated(f"the token's authentication context (acr) is not '{config.acr}'")


def generic_principal(claims: Mapping[str, Any], config: IssuerConfig) -> Principal:
    """The principal of a plain OIDC issuer: ``sub`` with the configured role (and tenant claim)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise unauthenticated("the token has no subject (sub)")
    tenant = claims.get(config.tenant_claim) if config.tenant_claim else None
    if config.tenant_claim and not isinstance(tenant, str):
        raise unauthenticated(f"the token has no tenant claim '{config.tenant_claim}'")
    client = claims.get("azp") or claims.get("client_id")
    return Principal(
        subject=subject,
        role=role_named(config.role),
        tenant=tenant if isinstance(tenant, str) else None,
        scopes=Scopes.everything(),  # the configured role bounds it
        issuer=config.issuer,
        client=client if isinstance(client, str) else None,
    )


class ExternalVerifier:
    """The :class:`~security.authn.TokenVerifier` of every issuer of ``CPTS_EXTERNAL_ISSUERS``."""

    def __init__(self, configs: Sequence[IssuerConfig]) -> None:
        self.configs = {config.issuer: config for config in configs}
        self.keys = {config.issuer: IssuerKeys(config) for config in configs}

    @classmethod
    def from_settings(cls, settings: Settings) -> ExternalVerifier:
        return cls(parse_issuers(settings.external_issuers))

    def owns(self, issuer: str) -> bool:
        return issuer in self.configs

    def principal(self, token: str) -> Principal:
        try:
            compact = jws.extract_compact(token.encode("ascii"))
            header = compact.headers()
            claims = orjson.loads(compact.payload)  # not trusted until the signature is checked below
        except (JoseError, ValueError, UnicodeError) as exc:  # orjson.JSONDecodeError is a ValueError
            raise unauthenticated("the token is not a compact JWS with a JSON payload") from exc
        issuer = claims.get("iss") if isinstance(claims, dict) else None
        config = self.configs.get(issuer) if isinstance(issuer, str) else None
        if config is None:
            raise unauthenticated(f"tokens of issuer '{issuer}' are not trusted here")
        self._verify_signature(compact, header, config)
        check_claims(claims, config, time.time())
        try:
            if config.profile == "psc":
                return psc_principal(claims, issuer=config.issuer)
            return generic_principal(claims, config)
        except ClaimError as exc:
            raise unauthenticated(str(exc)) from exc

    def _verify_signature(self, compact: CompactSignature, header: Mapping[str, Any], config: IssuerConfig) -> None:
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise unauthenticated(f"tokens signed with alg '{alg}' are refused (RS256, PS256 or ES256 only)")
        kid = header.get("kid")
        key = self.keys[config.issuer].key(kid if isinstance(kid, str) else None, alg)
        try:
            valid = jws.validate_compact(compact, key, algorithms=[alg])
        except JoseError:
            valid = False
        if not valid:
            raise unauthenticated("the token's signature does not verify")


__all__ = [
    "ALGORITHMS",
    "ExternalIssuersError",
    "ExternalVerifier",
    "IssuerConfig",
    "IssuerKeys",
    "check_claims",
    "generic_principal",
    "parse_issuers",
]

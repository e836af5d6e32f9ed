"""Tokens of a real OpenID Connect provider, over real HTTP: what the gateway accepts and what it refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import httpx
import orjson
import pytest
from joserfc import jws
from joserfc.jwk import RSAKey

from tests.security.external.conftest import AUDIENCE, TokenFactory


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _get(base: str, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _refused(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    diagnostics: str = outcome["issue"][0]["diagnostics"]
    for word in words:
        assert word in diagnostics, diagnostics
    return diagnostics


@pytest.mark.parametrize("client", ["psc-practitioner", "psc-practitioner-ps256", "psc-practitioner-es256"])
def test_ext_psc_token_is_the_practitioner(external_server: str, provider_token: TokenFactory, client: str) -> None:
    token = provider_token(client)
    response = _get(external_server, "/fhir/Practitioner", token)
    assert response.status_code == 200, response.text
    assert response.json()["resourceType"] == "Bundle"
    # the practitioner role has no type-level history (it would bypass consent): the role, not a scope, says no
    assert _get(external_server, "/fhir/Patient/_history", token).status_code == 403


def test_ext_wrong_audience_is_refused(external_server: str, provider_token: TokenFactory) -> None:
    token = provider_token("psc-practitioner", resource="urn:cpts-gateway:other")
    _refused(_get(external_server, "/fhir/Practitioner", token), "audience", AUDIENCE)


def test_ext_expired_token_is_refused(external_server: str, provider_token: TokenFactory) -> None:
    token = provider_token("psc-expiring")  # lives one second; the test issuer is configured without leeway
    expires = orjson.loads(_unb64(token.split(".")[1]))["exp"]
    time.sleep(max(0.0, expires - time.time()) + 1.1)
    _refused(_get(external_server, "/fhir/Practitioner", token), "expired")


def test_ext_tampered_signature_is_refused(external_server: str, provider_token: TokenFactory) -> None:
    header, payload, signature = provider_token("psc-practitioner").split(".")
    damaged = bytearray(_unb64(signature))
    damaged[len(damaged) // 2] ^= 0x01
    _refused(_get(external_server, "/fhir/Practitioner", f"{header}.{payload}.{_b64(bytes(damaged))}"), "signature")


def test_ext_tampered_claims_are_refused(external_server: str, provider_token: TokenFactory) -> None:
    header, payload, signature = provider_token("psc-practitioner").split(".")
    claims = orjson.loads(_unb64(payload)) | {"SubjectNameID": "819990000028"}
    _refused(_get(external_server, "/fhir/Practitioner", f"{header}.{_b64(orjson.dumps(claims))}.{signature}"))


def test_ext_alg_none_is_refused(external_server: str, provider_token: TokenFactory) -> None:
    payload = provider_token("psc-practitioner").split(".")[1]
    for alg in ("none", "None", "NONE"):
        header = _b64(orjson.dumps({"alg": alg, "typ": "at+jwt"}))
        _refused(_get(external_server, "/fhir/Practitioner", f"{header}.{payload}."), "alg")


def _jwks(issuer: str) -> list[dict[str, Any]]:
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    keys: list[dict[str, Any]] = httpx.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    return keys


def test_ext_hs256_with_the_public_key_is_refused(
    external_server: str, oidc_issuer: str, provider_token: TokenFactory
) -> None:
    """The key-confusion attack: an HMAC whose secret is the issuer's published RSA key."""
    rsa = next(key for key in _jwks(oidc_issuer) if key["kty"] == "RSA")
    pem = RSAKey.import_key(rsa).as_pem(private=False)
    payload = provider_token("psc-practitioner").split(".")[1]
    for secret in (pem, orjson.dumps(rsa)):
        header = _b64(orjson.dumps({"alg": "HS256", "typ": "at+jwt", "kid": rsa["kid"]}))
        signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        _refused(_get(external_server, "/fhir/Practitioner", f"{header}.{payload}.{_b64(signature)}"), "HS256")


def test_ext_unknown_issuer_is_refused(external_server: str, provider_token: TokenFactory) -> None:
    claims = orjson.loads(_unb64(provider_token("psc-practitioner").split(".")[1]))
    claims["iss"] = "https://auth.unknown.example/realms/x"
    key = RSAKey.generate_key(2048)
    token = jws.serialize_compact({"alg": "RS256", "kid": "k"}, orjson.dumps(claims), key)
    _refused(_get(external_server, "/fhir/Practitioner", token), "not trusted")


def test_ext_a_key_the_issuer_does_not_publish_is_refused(
    external_server: str, oidc_issuer: str, provider_token: TokenFactory
) -> None:
    claims = orjson.loads(_unb64(provider_token("psc-practitioner").split(".")[1]))
    key = RSAKey.generate_key(2048)
    kid = next(key["kid"] for key in _jwks(oidc_issuer) if key["kty"] == "RSA")  # a published kid, the wrong key
    token = jws.serialize_compact({"alg": "RS256", "kid": kid}, orjson.dumps(claims), key)
    _refused(_get(external_server, "/fhir/Practitioner", token), "signature")
    token = jws.serialize_compact({"alg": "RS256", "kid": "not-published"}, orjson.dumps(claims), key)
    _refused(_get(external_server, "/fhir/Practitioner", token), "not-published")


def test_ext_malformed_subject_name_id_is_refused(external_server: str, provider_token: TokenFactory) -> None:
    _refused(_get(external_server, "/fhir/Practitioner", provider_token("psc-malformed-id")), "SubjectNameID")


def test_ext_missing_acr_is_refused(external_server: str, provider_token: TokenFactory) -> None:
    _refused(_get(external_server, "/fhir/Practitioner", provider_token("psc-without-acr")), "acr", "eidas1")

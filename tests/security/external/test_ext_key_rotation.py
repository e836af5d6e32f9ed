"""The JWKS cache through a key rotation, against a JWKS endpoint the test controls (stdlib HTTP server on loopback)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from gateway.errors import Unauthenticated
from security.external import ExternalVerifier, IssuerConfig
from tests.security.jwks_host import JwksHost, jwks_host

ISSUER = "https://rotating.idp.example"
AUDIENCE = "cpts-gateway"


@pytest.fixture
def jwks_endpoint() -> Iterator[tuple[str, JwksHost]]:
    with jwks_host() as host:
        yield host.url, host


def _token(key: RSAKey | ECKey, kid: str, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": [AUDIENCE, "other"], "sub": "user-1", "iat": now, "exp": now + 60} | claims
    return jws.serialize_compact({"alg": alg, "kid": kid}, orjson.dumps(payload), key)


def _public(key: RSAKey | ECKey, kid: str) -> dict[str, Any]:
    return {**key.as_dict(private=False), "kid": kid, "use": "sig"}


def _verifier(jwks_uri: str, *, refetch_interval: float) -> ExternalVerifier:
    verifier = ExternalVerifier([IssuerConfig(issuer=ISSUER, jwks_uri=jwks_uri, audience=AUDIENCE, role="coordinator")])
    verifier.keys[ISSUER].refetch_interval = refetch_interval
    return verifier


def test_ext_a_rotated_key_is_fetched_on_its_first_token(jwks_endpoint: tuple[str, JwksHost]) -> None:
    uri, state = jwks_endpoint
    old, new = RSAKey.generate_key(2048), ECKey.generate_key("P-256")
    state.keys = [_public(old, "old")]
    verifier = _verifier(uri, refetch_interval=0)
    assert verifier.principal(_token(old, "old")).role_name == "coordinator"
    assert verifier.principal(_token(old, "old")).subject == "user-1"
    assert state.fetches == 1
    state.keys = [_public(old, "old"), _public(new, "new")]  # the issuer rotates
    assert verifier.principal(_token(new, "new", alg="ES256")).subject == "user-1"
    assert state.fetches == 2


def test_ext_unknown_kids_do_not_hammer_the_issuer(jwks_endpoint: tuple[str, JwksHost]) -> None:
    uri, state = jwks_endpoint
    key = RSAKey.generate_key(2048)
    state.keys = [_public(key, "k1")]
    verifier = _verifier(uri, refetch_interval=30)
    verifier.principal(_token(key, "k1"))
    for attempt in range(10):
        with pytest.raises(Unauthenticated, match=f"no RS256 key with kid 'k-{attempt}'"):
            verifier.principal(_token(key, f"k-{attempt}"))
    assert state.fetches == 1


def test_ext_a_key_of_the_wrong_type_for_the_alg_is_not_used(jwks_endpoint: tuple[str, JwksHost]) -> None:
    uri, state = jwks_endpoint
    rsa = RSAKey.generate_key(2048)
    state.keys = [_public(rsa, "k"), {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}, {"kty": "RSA", "kid": "broken"}]
    verifier = _verifier(uri, refetch_interval=30)
    with pytest.raises(Unauthenticated, match="no ES256 key with kid 'k'"):
        verifier.principal(_token(ECKey.generate_key("P-256"), "k", alg="ES256"))
    assert verifier.principal(_token(rsa, "k")).subject == "user-1"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "other"}, "audience"),
        ({"exp": None}, "no expiry"),
        ({"exp": "tomorrow"}, "no expiry"),
        ({"exp": -31}, "expired"),  # seconds from now, computed when the test runs
        ({"nbf": 60}, "not valid yet"),
        ({"iat": 60}, "issued in the future"),
        ({"iss": ISSUER + "/"}, "not trusted"),
        ({"sub": ""}, "no subject"),
    ],
)
def test_ext_registered_claims(jwks_endpoint: tuple[str, JwksHost], claims: dict[str, Any], reason: str) -> None:
    uri, state = jwks_endpoint
    key = RSAKey.generate_key(2048)
    state.keys = [_public(key, "k")]
    verifier = _verifier(uri, refetch_interval=30)
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf", "iat") and isinstance(v, int) else v for k, v in claims.items()}
    with pytest.raises(Unauthenticated, match=reason):
        verifier.principal(_token(key, "k", **claims))


def test_ext_leeway_forgives_thirty_seconds(jwks_endpoint: tuple[str, JwksHost]) -> None:
    uri, state = jwks_endpoint
    key = RSAKey.generate_key(2048)
    state.keys = [_public(key, "k")]
    verifier = _verifier(uri, refetch_interval=30)
    now = int(time.time())
    assert verifier.principal(_token(key, "k", exp=now - 20, nbf=now + 20, iat=now + 20)).subject == "user-1"

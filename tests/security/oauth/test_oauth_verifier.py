"""The gateway's own tokens, verified on every request: forged and stale tokens are 401 with an OperationOutcome."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import Engine, text

from gateway.errors import Unauthenticated
from gateway.settings import Settings
from security.keys import signing_keys
from security.oauth import gateway_verifier
from tests.security.oauth.oauth_helpers import (
    claims_of,
    hmac_signed,
    issue_token,
    unsigned,
)

Forge = Callable[..., str]


@pytest.fixture
def issued(anonymous: httpx.Client, clean_db: Engine, secure_settings: Settings) -> str:
    """A real token of client centre-a (centre-system of 350000014, system/*.cruds)."""
    return issue_token(anonymous, clean_db, secure_settings.issuer)


@pytest.fixture
def forge(issued: str, secure_settings: Settings) -> Forge:
    """Re-sign the claims of a real token, changed, with the gateway's own current key (or another key)."""

    def make(key: ECKey | None = None, header: dict[str, Any] | None = None, **changes: Any) -> str:
        claims = claims_of(issued)
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        signing = signing_keys(secure_settings).current
        head = {"alg": "ES256", "kid": signing.kid, **(header or {})}
        return jwt.encode(head, claims, key or signing.key, algorithms=["ES256"])

    return make


def slot_search(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/fhir/Slot", headers={"Authorization": f"Bearer {token}"})


def assert_401(response: httpx.Response, says: str = "") -> None:
    """Refused with an OperationOutcome and a Bearer challenge, and the refusal is in the audit trail."""
    assert response.status_code == 401, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert says in outcome["issue"][0]["diagnostics"], outcome
    assert response.headers["www-authenticate"].startswith("Bearer")
    request_id = response.headers["x-request-id"]
    with _audit_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT outcome, event FROM audit_event WHERE event LIKE :rid"), {"rid": f"%{request_id}%"}
        ).all()
    assert [row.outcome for row in rows] == ["4"] and "SEC-UNAUTHENTICATED" in rows[0].event


_audit_engine: Engine


@pytest.fixture(autouse=True)
def _audit_database(engine: Engine) -> None:
    global _audit_engine
    _audit_engine = engine


def test_a_real_token_opens_the_fhir_api(anonymous: httpx.Client, issued: str) -> None:
    response = slot_search(anonymous, issued)
    assert response.status_code == 200, response.text
    assert response.json()["resourceType"] == "Bundle"


def test_tokens_resigned_correctly_are_accepted(anonymous: httpx.Client, forge: Forge) -> None:
    assert slot_search(anonymous, forge()).status_code == 200  # the forge itself is sound


def test_alg_none_is_refused(anonymous: httpx.Client, issued: str, secure_settings: Settings) -> None:
    kid = signing_keys(secure_settings).current.kid
    assert_401(slot_search(anonymous, unsigned({"alg": "none", "kid": kid}, claims_of(issued))), "signed ES256")


def test_hs256_signed_with_the_public_key_is_refused(
    anonymous: httpx.Client, issued: str, secure_settings: Settings
) -> None:
    published = anonymous.get("/oauth/jwks").json()["keys"][0]
    public = ECKey.import_key(published)
    for secret in (public.as_pem(private=False), httpx.get(f"{secure_settings.issuer}/oauth/jwks").content):
        forged = hmac_signed({"alg": "HS256", "kid": published["kid"]}, claims_of(issued), secret)
        assert_401(slot_search(anonymous, forged), "signed ES256")


def test_a_token_signed_by_another_key_is_refused(anonymous: httpx.Client, forge: Forge) -> None:
    stranger = ECKey.generate_key("P-256")
    assert_401(slot_search(anonymous, forge(key=stranger)), "signature does not verify")
    assert_401(slot_search(anonymous, forge(key=stranger, header={"kid": "not-ours"})), "unknown kid")


def test_expired_and_not_yet_valid_tokens_are_refused(anonymous: httpx.Client, forge: Forge) -> None:
    now = int(time.time())
    assert_401(slot_search(anonymous, forge(exp=now - 60, iat=now - 400, nbf=now - 400)), "expired")
    assert_401(slot_search(anonymous, forge(nbf=now + 120)), "not valid yet")
    assert_401(slot_search(anonymous, forge(iat=now + 120, nbf=now, exp=now + 300)), "issued in the future")
    assert slot_search(anonymous, forge(exp=now - 10)).status_code == 200  # within the 30 s leeway


def test_wrong_audience_and_issuer_are_refused(anonymous: httpx.Client, forge: Forge) -> None:
    assert_401(slot_search(anonymous, forge(aud="http://elsewhere.example/fhir")), "aud must be")
    assert_401(slot_search(anonymous, forge(iss="http://evil.example")), "not trusted")


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "aud", "scope", "cpts_role", "jti"])
def test_tokens_missing_a_claim_are_refused(anonymous: httpx.Client, forge: Forge, claim: str) -> None:
    assert_401(slot_search(anonymous, forge(**{claim: None})), "lacks the claims")


def test_an_unknown_role_or_bad_scope_is_refused(anonymous: httpx.Client, forge: Forge) -> None:
    assert_401(slot_search(anonymous, forge(cpts_role="developer")), "role")
    assert_401(slot_search(anonymous, forge(cpts_role="root")), "role")
    assert_401(slot_search(anonymous, forge(scope="system/Nope.rs")), "scope")


def test_the_verifier_builds_the_principal(issued: str, secure_settings: Settings, clean_db: Engine) -> None:
    verifier = gateway_verifier(secure_settings, clean_db)
    assert verifier.owns(secure_settings.issuer) and not verifier.owns("http://evil.example")
    principal = verifier.principal(issued)
    assert principal.subject == "centre-a" and principal.client == "centre-a"
    assert principal.role.name == "centre-system" and principal.tenant == "350000014"
    assert principal.scopes.permits("c", "Patient") and principal.issuer == secure_settings.issuer


def test_a_removed_client_loses_its_tokens(issued: str, secure_settings: Settings, clean_db: Engine) -> None:
    from security.oauth.clients import ClientRegistry

    verifier = gateway_verifier(secure_settings, clean_db, client_cache_seconds=0)
    verifier.principal(issued)
    ClientRegistry(clean_db).remove("centre-a")
    with pytest.raises(Unauthenticated, match="no longer registered"):
        verifier.principal(issued)

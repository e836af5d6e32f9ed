"""POST /oauth/token over real HTTP: SMART Backend Services client assertions, accepted and refused."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import Engine, text

from gateway.settings import Settings
from tests.security.oauth.oauth_helpers import (
    ASSERTION_TYPE,
    ask_token,
    assertion,
    claims_of,
    es384_key,
    header_of,
    hmac_signed,
    register,
    rs384_key,
    token_form,
    unsigned,
)


@pytest.fixture
def audience(secure_settings: Settings) -> str:
    return f"{secure_settings.issuer}/oauth/token"


def refused(response: httpx.Response, error: str, status: int, says: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert says in body.get("error_description", ""), body
    assert response.headers["cache-control"] == "no-store"
    assert "basic" not in response.headers.get("www-authenticate", "").lower()


def test_an_es384_assertion_gets_an_es256_token_with_the_gateway_claims(
    anonymous: httpx.Client, clean_db: Engine, audience: str, secure_settings: Settings
) -> None:
    key = es384_key()
    register(clean_db, "centre-a", key)
    response = ask_token(anonymous, token_form(assertion(key, "centre-a", audience)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == secure_settings.token_lifetime_seconds == 300
    assert body["scope"] == "system/*.cruds"
    header, claims = header_of(body["access_token"]), claims_of(body["access_token"])
    published = {k["kid"] for k in anonymous.get("/oauth/jwks").json()["keys"]}
    assert header["alg"] == "ES256" and header["kid"] in published
    assert claims["iss"] == secure_settings.issuer
    assert claims["aud"] == f"{secure_settings.issuer}/fhir"
    assert claims["sub"] == "centre-a"
    assert claims["exp"] == claims["iat"] + 300 and claims["nbf"] == claims["iat"]
    assert claims["cpts_role"] == "centre-system" and claims["cpts_tenant"] == "350000014"
    assert claims["scope"] == "system/*.cruds" and claims["jti"]


def test_an_rs384_assertion_is_accepted(anonymous: httpx.Client, clean_db: Engine, audience: str) -> None:
    key = rs384_key()
    register(clean_db, "centre-rsa", key)
    response = ask_token(anonymous, token_form(assertion(key, "centre-rsa", audience), scope="system/Slot.read"))
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "system/Slot.read"  # granted in full: echoed as written (SMART v1)


def test_a_practitioner_token_carries_the_practitioner_attributes(
    anonymous: httpx.Client, clean_db: Engine, audience: str
) -> None:
    key = es384_key()
    attributes = {"practitioner_id": "810002345678", "structures": ["350000014"], "profession": "10"}
    register(clean_db, "dr-a", key, role="practitioner", tenant=None, attributes=attributes)
    response = ask_token(anonymous, token_form(assertion(key, "dr-a", audience), scope="system/*.rs"))
    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["access_token"])
    assert claims["cpts_practitioner_id"] == "810002345678"
    assert claims["cpts_structures"] == ["350000014"] and claims["cpts_profession"] == "10"
    assert "cpts_tenant" not in claims


def test_a_replayed_assertion_is_refused(anonymous: httpx.Client, clean_db: Engine, audience: str) -> None:
    key = es384_key()
    register(clean_db, "centre-a", key)
    signed = assertion(key, "centre-a", audience)
    assert ask_token(anonymous, token_form(signed)).status_code == 200
    refused(ask_token(anonymous, token_form(signed)), "invalid_client", 401, "already used")


def test_the_same_jti_is_refused_even_in_a_new_assertion(
    anonymous: httpx.Client, clean_db: Engine, audience: str
) -> None:
    key = es384_key()
    register(clean_db, "centre-a", key)
    assert ask_token(anonymous, token_form(assertion(key, "centre-a", audience, jti="once"))).status_code == 200
    again = assertion(key, "centre-a", audience, jti="once", exp=int(time.time()) + 200)
    refused(ask_token(anonymous, token_form(again)), "invalid_client", 401, "already used")


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"aud": "http://elsewhere.example/oauth/token"}, "aud must be the token endpoint"),
        ({"exp": 3600}, "more than five minutes"),  # times: seconds from now, computed when the test runs
        ({"exp": -120, "iat": -300}, "expired"),
        ({"exp": None}, "no exp"),
        ({"jti": None}, "no jti"),
        ({"iss": "someone-else"}, "iss and sub"),
        ({"nbf": 600}, "not valid yet"),
    ],
    ids=["foreign-aud", "exp-too-far", "expired", "no-exp", "no-jti", "iss-not-sub", "nbf-future"],
)
def test_assertion_claims_are_checked(
    anonymous: httpx.Client, clean_db: Engine, audience: str, overrides: dict[str, object], says: str
) -> None:
    key = es384_key()
    register(clean_db, "centre-a", key)
    now = int(time.time())
    overrides = {k: now + v if k in ("exp", "iat", "nbf") and isinstance(v, int) else v for k, v in overrides.items()}
    refused(
        ask_token(anonymous, token_form(assertion(key, "centre-a", audience, **overrides))), "invalid_client", 401, says
    )


def test_an_unknown_client_is_refused(anonymous: httpx.Client, clean_db: Engine, audience: str) -> None:
    refused(
        ask_token(anonymous, token_form(assertion(es384_key(), "nobody", audience))),
        "invalid_client",
        401,
        "no client 'nobody'",
    )


def test_an_assertion_signed_with_another_key_is_refused(
    anonymous: httpx.Client, clean_db: Engine, audience: str
) -> None:
    key, thief = es384_key(), es384_key()
    register(clean_db, "centre-a", key)
    stolen = dict(thief.as_dict(private=True))
    stolen["kid"] = key.kid
    forged = ECKey.import_key(stolen)
    refused(
        ask_token(anonymous, token_form(assertion(forged, "centre-a", audience))),
        "invalid_client",
        401,
        "signature does not verify",
    )
    refused(ask_token(anonymous, token_form(assertion(thief, "centre-a", audience))), "invalid_client", 401, "has kid")


def test_alg_none_hs256_and_rs256_assertions_are_refused(
    anonymous: httpx.Client, clean_db: Engine, audience: str
) -> None:
    key, rsa = es384_key(), rs384_key()
    register(clean_db, "centre-a", key)
    register(clean_db, "centre-r", rsa)
    now = int(time.time())
    claims = {"iss": "centre-a", "sub": "centre-a", "aud": audience, "exp": now + 200, "jti": f"x{now}"}
    none = unsigned({"alg": "none", "kid": key.kid}, claims)
    refused(ask_token(anonymous, token_form(none)), "invalid_client", 401, "RS384 or ES384")
    public_pem = key.as_pem(private=False)
    hs256 = hmac_signed({"alg": "HS256", "kid": key.kid}, claims, public_pem)
    refused(ask_token(anonymous, token_form(hs256)), "invalid_client", 401, "RS384 or ES384")
    rs256 = assertion(rsa, "centre-r", audience, alg="RS256")
    refused(ask_token(anonymous, token_form(rs256)), "invalid_client", 401, "not RS256")


def test_an_es384_header_over_an_rsa_key_is_refused(anonymous: httpx.Client, clean_db: Engine, audience: str) -> None:
    rsa = rs384_key()
    register(clean_db, "centre-r", rsa)
    now = int(time.time())
    claims = {"iss": "centre-r", "sub": "centre-r", "aud": audience, "exp": now + 200, "jti": f"y{now}"}
    forged = hmac_signed({"alg": "ES384", "kid": rsa.kid}, claims, b"whatever")
    refused(ask_token(anonymous, token_form(forged)), "invalid_client", 401)


def test_scope_escalation_grants_only_what_is_registered_and_allowed(
    anonymous: httpx.Client, clean_db: Engine, audience: str
) -> None:
    key, coordinator = es384_key(), es384_key()
    register(clean_db, "centre-a", key, scopes="system/Slot.rs system/Schedule.r")
    register(clean_db, "coord", coordinator, role="coordinator", tenant=None, scopes="system/*.rs")

    wide = ask_token(anonymous, token_form(assertion(key, "centre-a", audience), scope="system/*.cruds"))
    assert wide.status_code == 200, wide.text
    assert wide.json()["scope"] == "system/Schedule.r system/Slot.rs"

    refused(
        ask_token(anonymous, token_form(assertion(key, "centre-a", audience), scope="system/Patient.rs")),
        "invalid_scope",
        400,
        "none of the requested scopes",
    )

    mixed = ask_token(anonymous, token_form(assertion(key, "centre-a", audience), scope="system/Slot.cruds openid"))
    assert mixed.json()["scope"] == "system/Slot.rs"

    # the role narrows further than the registration: a coordinator never gets patient data nor writes
    coord = ask_token(anonymous, token_form(assertion(coordinator, "coord", audience), scope="system/*.cruds"))
    granted = coord.json()["scope"].split()
    assert "system/Slot.rs" in granted and not any("Patient" in s or "*" in s for s in granted)
    refused(
        ask_token(anonymous, token_form(assertion(coordinator, "coord", audience), scope="system/Task.c")),
        "invalid_scope",
        400,
    )
    refused(
        ask_token(anonymous, token_form(assertion(coordinator, "coord", audience), scope="system/Nope.r")),
        "invalid_scope",
        400,
        "not served here",
    )


def test_malformed_requests_get_rfc6749_errors(anonymous: httpx.Client, clean_db: Engine, audience: str) -> None:
    key = es384_key()
    register(clean_db, "centre-a", key)
    as_json = anonymous.post("/oauth/token", json=token_form(assertion(key, "centre-a", audience)))
    refused(as_json, "invalid_request", 400, "application/x-www-form-urlencoded")
    form = token_form(assertion(key, "centre-a", audience))
    refused(ask_token(anonymous, {**form, "grant_type": "password"}), "unsupported_grant_type", 400)
    refused(
        ask_token(anonymous, {k: v for k, v in form.items() if k != "grant_type"}), "invalid_request", 400, "grant_type"
    )
    no_assertion = {"grant_type": "client_credentials", "client_id": "centre-a", "client_secret": "guess"}
    refused(ask_token(anonymous, no_assertion), "invalid_client", 401, "signed JWT")
    wrong_type = {**form, "client_assertion_type": "urn:other"}
    refused(ask_token(anonymous, wrong_type), "invalid_client", 401, ASSERTION_TYPE)
    refused(ask_token(anonymous, {**form, "client_assertion": "not.a.jwt"}), "invalid_client", 401)
    repeated = anonymous.post(
        "/oauth/token",
        content=f"grant_type=client_credentials&grant_type=client_credentials&client_assertion={form['client_assertion']}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused(repeated, "invalid_request", 400, "repeated")
    refused(ask_token(anonymous, {**form, "client_id": "someone-else"}), "invalid_client", 401, "client_id")


def test_discovery_and_jwks_are_public(anonymous: httpx.Client, secure_settings: Settings) -> None:
    config = anonymous.get("/.well-known/smart-configuration")
    assert config.status_code == 200
    body = config.json()
    assert body["issuer"] == secure_settings.issuer
    assert body["token_endpoint"] == f"{secure_settings.issuer}/oauth/token"
    assert body["jwks_uri"] == f"{secure_settings.issuer}/oauth/jwks"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert body["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert {"client-confidential-asymmetric", "permission-v1", "permission-v2"} <= set(body["capabilities"])
    assert "system/*.rs" in body["scopes_supported"]
    keys = anonymous.get("/oauth/jwks").json()["keys"]
    assert keys and all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in keys)


def test_issued_and_refused_tokens_are_audited(anonymous: httpx.Client, clean_db: Engine, audience: str) -> None:
    name = f"audited-{int(time.time() * 1000)}"
    key = es384_key()
    register(clean_db, name, key)
    assert ask_token(anonymous, token_form(assertion(key, name, audience))).status_code == 200
    assert ask_token(anonymous, token_form(assertion(key, name, audience), scope="system/Nope.rs")).status_code == 400
    with clean_db.connect() as conn:
        rows = conn.execute(
            text("SELECT action, outcome, event FROM audit_event WHERE agent = :agent ORDER BY seq"), {"agent": name}
        ).all()
    assert [(row.action, row.outcome) for row in rows] == [("token", "0"), ("token", "4")]
    assert "client_assertion=" not in rows[0].event  # the assertion itself is never kept


def test_a_replay_race_lets_exactly_one_request_through(secure_server: str, clean_db: Engine, audience: str) -> None:
    key = es384_key()
    register(clean_db, "centre-race", key)
    form = token_form(assertion(key, "centre-race", audience))

    def attempt(_: int) -> int:
        with httpx.Client(base_url=secure_server, timeout=30) as http:
            return ask_token(http, form).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [200] + [401] * 7

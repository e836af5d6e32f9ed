"""CPTS_EXTERNAL_ISSUERS: checked at start, naming the bad entry; the verifier's key cache against the real provider."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from gateway.app import create_app
from gateway.cli import EXIT_FAILED, EXIT_USAGE, build_parser, cmd_serve
from gateway.errors import Unauthenticated
from gateway.settings import Settings
from security.external import ExternalIssuersError, ExternalVerifier, IssuerConfig, parse_issuers
from tests.security.external.conftest import AUDIENCE, TokenFactory, psc_issuer_entry

GOOD = {"issuer": "https://idp.example/realms/cpts", "audience": "cpts-gateway"}


def test_ext_empty_setting_trusts_nobody() -> None:
    assert parse_issuers("") == [] and parse_issuers("  ") == []


def test_ext_a_valid_setting() -> None:
    psc = {**GOOD, "issuer": "https://psc.example", "profile": "psc", "acr": "eidas1"}
    generic = {**GOOD, "jwks_uri": "https://idp.example/certs", "role": "coordinator", "tenant_claim": "finess"}
    first, second = parse_issuers(orjson.dumps([psc, generic]).decode())
    assert first.profile == "psc" and first.role == "practitioner" and first.leeway == 30
    assert (
        second.profile == "generic" and second.role == "coordinator" and second.jwks_uri == "https://idp.example/certs"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not JSON"),
        ('{"issuer": "x"}', "JSON list"),
        (
            orjson.dumps([GOOD, {"issuer": "https://b.example"}]),
            r"CPTS_EXTERNAL_ISSUERS\[1\] \(issuer https://b.example\).*audience",
        ),
        (orjson.dumps([{**GOOD, "issuer": "idp.example"}]), r"\[0\].*issuer.*not an http\(s\) URL"),
        (orjson.dumps([{**GOOD, "profile": "saml"}]), r"\[0\].*profile"),
        (orjson.dumps([{**GOOD, "role": "superuser"}]), r"role.*unknown role 'superuser'.*coordinator"),
        (orjson.dumps([{**GOOD, "role": "developer"}]), r"role.*open-access role of development"),
        (orjson.dumps([{**GOOD, "profile": "psc", "role": "admin"}]), "psc profile always gives the practitioner"),
        (orjson.dumps([{**GOOD, "leeway": 300}]), r"leeway"),
        (orjson.dumps([{**GOOD, "audiences": ["x"]}]), r"audiences.*Extra inputs"),
        (orjson.dumps([GOOD, GOOD]), r"\[1\]: issuer https://idp.example/realms/cpts is listed twice"),
        (orjson.dumps(["https://idp.example"]), r"\[0\] \(issuer \?\)"),
    ],
)
def test_ext_bad_setting_names_the_entry(value: str | bytes, message: str) -> None:
    text = value.decode() if isinstance(value, bytes) else value
    with pytest.raises(ExternalIssuersError, match=message):
        parse_issuers(text)


def test_ext_bad_setting_stops_start_up(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    bad = settings.model_copy(update={"external_issuers": '[{"issuer": "https://idp.example"}]'})
    with pytest.raises(ExternalIssuersError, match="audience"):
        create_app(bad, configure_logs=False)
    assert cmd_serve(build_parser().parse_args(["serve", "--port", "0"]), bad) == EXIT_FAILED
    error = capsys.readouterr().err
    assert "CPTS_EXTERNAL_ISSUERS[0] (issuer https://idp.example)" in error and "Traceback" not in error


def test_ext_serve_tls_options_are_checked(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_serve(build_parser().parse_args(["serve", "--tls-key", "/nonexistent.key"]), settings) == EXIT_USAGE
    assert "need --tls-cert" in capsys.readouterr().err
    args = build_parser().parse_args(["serve", "--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"])
    assert cmd_serve(args, settings) == EXIT_USAGE
    assert "/nonexistent.crt cannot be read" in capsys.readouterr().err


def _verifier(**entry: object) -> ExternalVerifier:
    return ExternalVerifier([IssuerConfig.model_validate(entry)])


def test_ext_keys_are_fetched_once_and_cached(oidc_issuer: str, provider_token: TokenFactory) -> None:
    jwks_uri = httpx.get(f"{oidc_issuer}/.well-known/openid-configuration", timeout=10).json()["jwks_uri"]
    verifier = _verifier(**psc_issuer_entry(oidc_issuer, jwks_uri=jwks_uri))
    keys = verifier.keys[oidc_issuer]
    principal = verifier.principal(provider_token("psc-practitioner"))
    fetched = keys._fetched_at
    assert principal.subject == "819990000010" and principal.structures == {"359900016", "12345678900011"}
    assert principal.profession == "10" and principal.issuer == oidc_issuer and principal.client == "psc-practitioner"
    for client in ("psc-practitioner", "psc-practitioner-es256", "psc-practitioner-ps256"):
        assert verifier.principal(provider_token(client)).practitioner_id == "819990000010"
    assert keys._fetched_at == fetched  # every key came from the cache


def test_ext_generic_profile(oidc_issuer: str, provider_token: TokenFactory) -> None:
    verifier = _verifier(issuer=oidc_issuer, audience=AUDIENCE, role="coordinator", tenant_claim="client_id")
    principal = verifier.principal(provider_token("psc-without-acr"))
    assert principal.role_name == "coordinator" and principal.subject == "psc-without-acr"
    assert principal.tenant == "psc-without-acr" and principal.practitioner_id is None
    strict = _verifier(issuer=oidc_issuer, audience=AUDIENCE, tenant_claim="finess")
    with pytest.raises(Unauthenticated, match="tenant claim 'finess'"):
        strict.principal(provider_token("psc-practitioner"))


def test_ext_discovery_must_name_the_same_issuer(oidc_issuer: str, provider_token: TokenFactory) -> None:
    verifier = _verifier(issuer=oidc_issuer + "/", audience=AUDIENCE)
    claims_issuer_token = provider_token("psc-practitioner")
    with pytest.raises(Unauthenticated, match="not trusted"):  # iss is matched exactly: no trailing-slash leniency
        verifier.principal(claims_issuer_token)
    with pytest.raises(Unauthenticated, match="could not be fetched"):
        verifier.keys[oidc_issuer + "/"].key("any", "RS256")


def test_ext_an_unreachable_issuer_is_not_asked_on_every_request(
    provider_token: TokenFactory, oidc_issuer: str
) -> None:
    token = provider_token("psc-practitioner")
    verifier = ExternalVerifier([IssuerConfig(issuer=oidc_issuer, audience=AUDIENCE, jwks_uri="http://127.0.0.1:9/x")])
    with pytest.raises(Unauthenticated, match="could not be fetched"):
        verifier.principal(token)
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(Unauthenticated, match="could not be fetched"):
            verifier.principal(token)
    assert time.monotonic() - started < 1.0

"""Mutual TLS over a real uvicorn TLS server: the SAS's certificate is the sas-consumer, and nothing else is."""

from __future__ import annotations

import httpx
import pytest
from cryptography import x509
from starlette.requests import HTTPConnection

from gateway.settings import Settings
from security.mtls import AllowListError, CertificateAllowList, canonical_dn
from tests.gateway.sas.sas_support import INT_R04_EXAMPLE
from tests.security.external.conftest import ALLOWED_SAS, Pki


def _client(base: str, pki: Pki, name: str | None) -> httpx.Client:
    return httpx.Client(
        base_url=base, verify=pki.context(name), timeout=30, headers={"Accept": "application/fhir+json"}
    )


def test_ext_allowed_certificate_is_the_sas(mtls_server: str, pki: Pki) -> None:
    with _client(mtls_server, pki, "allowed") as sas:
        slots = sas.get(INT_R04_EXAMPLE)  # the SAS searches Slots with INT_R04 requests only
        assert slots.status_code == 200, slots.text
        assert slots.json()["resourceType"] == "Bundle"
        patients = sas.get("/fhir/Patient")
        assert patients.status_code == 403, patients.text
        assert "sas-consumer" in patients.json()["issue"][0]["diagnostics"]
        assert sas.get("/fhir/Practitioner").status_code == 403  # the SAS contract: Slot search only


def test_ext_certificate_not_on_the_list_is_refused(mtls_server: str, pki: Pki) -> None:
    with _client(mtls_server, pki, "unlisted") as other:
        response = other.get("/fhir/Slot")
    assert response.status_code == 401, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_ext_certificate_of_another_ca_never_reaches_the_app(mtls_server: str, pki: Pki) -> None:
    """The rogue certificate carries the allowed subject, but the handshake refuses its CA."""
    with _client(mtls_server, pki, "rogue") as rogue, pytest.raises(httpx.TransportError):
        rogue.get("/fhir/Slot")


def test_ext_no_certificate_is_still_welcome_with_a_token_or_refused_without(mtls_server: str, pki: Pki) -> None:
    with _client(mtls_server, pki, None) as anonymous:
        response = anonymous.get("/fhir/Slot")
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


def _connection(tls: dict[str, object] | None) -> HTTPConnection:
    scope: dict[str, object] = {"type": "http", "headers": [], "extensions": {"tls": tls} if tls else {}}
    return HTTPConnection(scope)


def test_ext_allow_list(settings: Settings) -> None:
    assert CertificateAllowList.from_settings(settings) is None
    configured = settings.model_copy(update={"mtls_allowed_subjects": f" {ALLOWED_SAS} ;; CN=b,O=c "})
    allow = CertificateAllowList.from_settings(configured)
    assert allow is not None and allow.subjects == {ALLOWED_SAS, "CN=b,O=c"}
    principal = allow.principal(_connection({"client_cert_name": ALLOWED_SAS}))
    assert principal is not None
    assert principal.role_name == "sas-consumer" and principal.subject == ALLOWED_SAS and principal.issuer == "mtls"
    assert principal.may("search", "Slot") and not principal.may("read", "Patient")
    assert allow.principal(_connection({"client_cert_name": "CN=b,O=d"})) is None
    assert allow.principal(_connection(None)) is None


def test_ext_allow_list_spelling_is_canonical() -> None:
    name = x509.Name.from_rfc4514_string(ALLOWED_SAS)
    assert canonical_dn(ALLOWED_SAS) == name.rfc4514_string()
    assert canonical_dn("CN=a\\,b,O=x") == "CN=a\\,b,O=x"
    with pytest.raises(AllowListError, match="not an RFC 4514"):
        canonical_dn("just a name")

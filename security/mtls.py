"""Mutual TLS for the regional SAS: a verified client certificate on the allow-list is the ``sas-consumer``.

uvicorn does not tell the application which certificate the client presented, so :class:`TlsHttpProtocol` (give it
to uvicorn as ``http=``) reads the peer certificate of each TLS connection and adds the ASGI TLS extension to every
request scope of that connection: ``scope["extensions"]["tls"] = {"client_cert_name": <subject DN, RFC 4514>,
"client_cert_chain": [<PEM>]}``. The server's SSL context verifies the certificate against ``CPTS_TLS_CLIENT_CA_FILE``
with ``CERT_OPTIONAL``: clients with a token need no certificate, and a certificate of another CA fails the
handshake, so only verified subjects ever reach :class:`CertificateAllowList`.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.settings import Settings
from security.principal import Principal
from security.roles import role_named
from security.scopes import Scopes

ROLE = "sas-consumer"
ISSUER = "mtls"


class AllowListError(ValueError):
    """``CPTS_MTLS_ALLOWED_SUBJECTS`` holds something that is not a distinguished name."""


def canonical_dn(text: str) -> str:
    """One spelling per distinguished name (attribute names and escaping as cryptography writes them)."""
    try:
        return x509.Name.from_rfc4514_string(text.strip()).rfc4514_string()
    except ValueError as exc:
        raise AllowListError(f"'{text.strip()}' is not an RFC 4514 distinguished name: {exc}") from exc


def peer_certificate(transport: asyncio.BaseTransport) -> x509.Certificate | None:
    """The client certificate the TLS handshake verified, or None (plain HTTP, or no certificate presented)."""
    ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der) if der else None


class _TlsScope:
    """Wraps the application for one connection: adds its client certificate to every HTTP scope."""

    def __init__(self, app: ASGIApp, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["extensions"] = {**scope.get("extensions", {}), "tls": self.tls}
        await self.app(scope, receive, send)


def _with_client_certificate(app: ASGIApp, transport: asyncio.BaseTransport) -> ASGIApp:
    certificate = peer_certificate(transport)
    if certificate is None:
        return app
    pem = certificate.public_bytes(Encoding.PEM).decode("ascii")
    return _TlsScope(app, {"client_cert_name": certificate.subject.rfc4514_string(), "client_cert_chain": [pem]})


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 HTTP protocol, plus the ASGI TLS extension with the verified client certificate."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = _with_client_certificate(self.app, transport)


class TlsHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools HTTP protocol (the faster one), plus the ASGI TLS extension."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = _with_client_certificate(self.app, transport)


TlsHttpProtocol = TlsHttpToolsProtocol  # what uvicorn's "auto" chooses: uvicorn[standard] brings httptools


class CertificateAllowList:
    """The :class:`~security.authn.CertificateAdmission` of ``CPTS_MTLS_ALLOWED_SUBJECTS`` (';'-separated DNs)."""

    def __init__(self, subjects: frozenset[str]) -> None:
        self.subjects = subjects
        self.role = role_named(ROLE)

    @classmethod
    def from_settings(cls, settings: Settings) -> CertificateAllowList | None:
        texts = [text for text in settings.mtls_allowed_subjects.split(";") if text.strip()]
        return cls(frozenset(canonical_dn(text) for text in texts)) if texts else None

    def principal(self, connection: HTTPConnection) -> Principal | None:
        tls = connection.scope.get("extensions", {}).get("tls") or {}
        name = tls.get("client_cert_name")
        if not isinstance(name, str):
            return None
        if name not in self.subjects:  # both spelt as cryptography writes a Name (see canonical_dn)
            return None
        return Principal(subject=name, role=self.role, scopes=Scopes.everything(), issuer=ISSUER)


__all__ = [
    "AllowListError",
    "CertificateAllowList",
    "TlsH11Protocol",
    "TlsHttpProtocol",
    "TlsHttpToolsProtocol",
    "canonical_dn",
    "peer_certificate",
]

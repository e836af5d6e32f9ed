"""External identity over real HTTP: a real OpenID Connect provider (scripts/oidc), real TLS with client certificates.

``CPTS_TEST_OIDC_ISSUER`` (exported by ``scripts/test``) names a running provider; without it the session starts
``node scripts/oidc/provider.mjs`` itself, and fails (never skips) when its dependencies were not installed.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from security.mtls import TlsH11Protocol, TlsHttpToolsProtocol
from tests.conftest import _free_port, serving

OIDC_DIR = Path(__file__).resolve().parents[3] / "scripts" / "oidc"
AUDIENCE = "urn:cpts-gateway"  # the provider's default resource indicator (OIDC_AUDIENCE)
ALLOWED_SAS = "CN=sas.bretagne.example,O=ARS Bretagne,C=FR"
UNLISTED_SAS = "CN=other.bretagne.example,O=ARS Bretagne,C=FR"

TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def oidc_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    running = os.environ.get("CPTS_TEST_OIDC_ISSUER")
    if running:
        yield running.rstrip("/")
        return
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "the test OIDC provider's dependencies are not installed: run ./scripts/test (it starts the provider), "
            "or `npm ci` in scripts/oidc",
            pytrace=False,
        )
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the test OIDC provider: run ./scripts/test (it installs it)", pytrace=False)
    errors = tmp_path_factory.mktemp("oidc") / "provider.err"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [node, str(OIDC_DIR / "provider.mjs"), "--port", "0"], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().strip() if ready else ""
    if not line.startswith("http"):
        process.kill()
        process.wait()
        process.stdout.close()
        pytest.fail(f"the test OIDC provider did not start: {errors.read_text()}", pytrace=False)
    yield line
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


@pytest.fixture(scope="session")
def provider_token(oidc_issuer: str) -> TokenFactory:
    """``provider_token(client_id, resource=AUDIENCE)``: an access token of a test client of the provider."""

    def issue(client_id: str, resource: str = AUDIENCE) -> str:
        response = httpx.post(
            f"{oidc_issuer}/token",
            data={"grant_type": "client_credentials", "resource": resource},
            auth=(client_id, f"{client_id}-secret"),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    return issue


def psc_issuer_entry(issuer: str, **extra: Any) -> dict[str, Any]:
    # leeway 0: the expired-token test waits one second past a one-second token, not thirty
    return {"issuer": issuer, "audience": AUDIENCE, "profile": "psc", "acr": "eidas1", "leeway": 0, **extra}


@pytest.fixture(scope="session")
def external_settings(settings: Settings, oidc_issuer: str) -> Settings:
    port = _free_port()
    issuers = orjson.dumps([psc_issuer_entry(oidc_issuer)]).decode()  # no jwks_uri: OpenID discovery
    return settings.model_copy(
        update={
            "open_access": False,
            "port": port,
            "issuer": f"http://127.0.0.1:{port}",
            "ingest_worker": False,
            "external_issuers": issuers,
        }
    )


@pytest.fixture(scope="session")
def external_server(external_settings: Settings, engine: Engine) -> Iterator[str]:
    """The gateway trusting the test OIDC provider as a Pro Santé Connect-like issuer (no open access)."""
    with serving(create_app(external_settings, configure_logs=False), external_settings.port) as base:
        yield base


# -- certificates ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """PEM files: a CA, the gateway's server certificate, and client certificates (allowed, unlisted, rogue)."""

    ca: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]]  # name -> (certificate, key)

    def context(self, client: str | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if client is not None:
            cert, key = self.clients[client]
            context.load_cert_chain(str(cert), str(key))
        return context


def _name(dn: str) -> x509.Name:
    return x509.Name.from_rfc4514_string(dn)


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey, **kind: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if kind.get("ca"):
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if kind.get("server") else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if kind.get("server"):
            import ipaddress

            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(
    directory: Path, name: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_dn, rogue_dn = "CN=CPTS test CA,O=CPTS,C=FR", "CN=Rogue CA,O=Elsewhere,C=FR"
    ca_key, rogue_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(ca_dn, ca_key, ca_dn, ca_key, ca=True)
    ca_path, _ = _write(directory, "ca", ca, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert, server_key_path = _write(
        directory, "server", _certificate("CN=127.0.0.1", server_key, ca_dn, ca_key, server=True), server_key
    )
    clients: dict[str, tuple[Path, Path]] = {}
    for name, subject, issuer, issuer_key in (
        ("allowed", ALLOWED_SAS, ca_dn, ca_key),
        ("unlisted", UNLISTED_SAS, ca_dn, ca_key),
        ("rogue", ALLOWED_SAS, rogue_dn, rogue_key),  # the allowed subject, signed by another CA
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        clients[name] = _write(directory, name, _certificate(subject, key, issuer, issuer_key), key)
    return Pki(ca_path, server_cert, server_key_path, clients)


@pytest.fixture(scope="session", params=[TlsHttpToolsProtocol, TlsH11Protocol], ids=["httptools", "h11"])
def mtls_server(settings: Settings, engine: Engine, pki: Pki, request: pytest.FixtureRequest) -> Iterator[str]:
    """The gateway over TLS, client certificates of the test CA optional, ``ALLOWED_SAS`` on the allow-list."""
    port = _free_port()
    mtls_settings = settings.model_copy(
        update={
            "open_access": False,
            "port": port,
            "issuer": f"https://127.0.0.1:{port}",
            "ingest_worker": False,
            "mtls_allowed_subjects": f"{ALLOWED_SAS}; CN=someone.else,O=Nowhere,C=FR",
        }
    )
    with serving(
        create_app(mtls_settings, configure_logs=False),
        port,
        context=pki.context(),
        http=request.param,
        ssl_certfile=str(pki.server_cert),
        ssl_keyfile=str(pki.server_key),
        ssl_ca_certs=str(pki.ca),
        ssl_cert_reqs=ssl.CERT_OPTIONAL,
    ) as base:
        yield base

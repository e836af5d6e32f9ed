"""``cpts-gateway serve --tls-cert --tls-key --tls-client-ca`` as a user runs it: HTTPS with the SAS's certificate."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import _free_port
from tests.gateway.sas.sas_support import INT_R04_EXAMPLE
from tests.security.external.conftest import ALLOWED_SAS, Pki

SCRIPT = Path(sys.executable).with_name("cpts-gateway")


def _env(tmp: Path, **settings: str) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("CPTS_")}
    return base | {
        "CPTS_DATABASE_URL": f"sqlite:///{tmp}/serve.db",
        "CPTS_LOG_LEVEL": "WARNING",
        "CPTS_INGEST_WORKER": "false",
        **settings,
    }


@pytest.fixture
def tls_process(tmp_path: Path, pki: Pki) -> Iterator[str]:
    port = _free_port()
    command = [str(SCRIPT), "serve", "--port", str(port), "--tls-cert", str(pki.server_cert)]
    command += ["--tls-key", str(pki.server_key), "--tls-client-ca", str(pki.ca)]
    env = _env(tmp_path, CPTS_MTLS_ALLOWED_SUBJECTS=ALLOWED_SAS, CPTS_ISSUER=f"https://127.0.0.1:{port}")
    with (tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", verify=pki.context(), timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"cpts-gateway serve did not start: {(tmp_path / 'serve.log').read_text()}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ext_serve_with_client_certificates(tls_process: str, pki: Pki) -> None:
    with httpx.Client(base_url=tls_process, verify=pki.context("allowed"), timeout=30) as sas:
        assert sas.get(INT_R04_EXAMPLE).status_code == 200  # the SAS searches Slots with INT_R04 requests only
        assert sas.get("/fhir/Patient").status_code == 403
    with httpx.Client(base_url=tls_process, verify=pki.context("unlisted"), timeout=30) as other:
        assert other.get("/fhir/Slot").status_code == 401
    with httpx.Client(base_url=tls_process, verify=pki.context(), timeout=30) as nobody:
        assert nobody.get("/fhir/Slot").status_code == 401


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("CPTS_EXTERNAL_ISSUERS", '[{"issuer": "https://idp.example", "profile": "psc"}]', "CPTS_EXTERNAL_ISSUERS[0]"),
        ("CPTS_MTLS_ALLOWED_SUBJECTS", "CN=sas,O=ARS;not a DN", "'not a DN' is not an RFC 4514 distinguished name"),
    ],
)
def test_ext_serve_refuses_bad_identity_settings(tmp_path: Path, setting: str, value: str, message: str) -> None:
    result = subprocess.run(
        [str(SCRIPT), "serve", "--port", "1"],
        env=_env(tmp_path, **{setting: value}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 4, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr

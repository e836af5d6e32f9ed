"""``cpts-gateway clients`` and ``keys``, run as a user would: the installed script in a subprocess."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from joserfc.jwk import ECKey

from gateway.settings import Settings
from gateway.storage.db import make_engine
from security.oauth import gateway_verifier

SCRIPT = Path(sys.executable).with_name("cpts-gateway")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "CPTS_DATABASE_URL": f"sqlite:///{home}/cli.db",
        "CPTS_KEYS_DIR": str(home / "keys"),
        "CPTS_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    return subprocess.run(
        [str(SCRIPT), *args], env=environment, capture_output=True, text=True, timeout=300, check=False
    )


def settings_of(home: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{home}/cli.db", keys_dir=home / "keys")


def listed(home: Path) -> list[dict[str, object]]:
    result = run(home, "clients", "list", "--json")
    assert result.returncode == 0, result.stderr
    clients: list[dict[str, object]] = orjson.loads(result.stdout)
    return clients


def test_add_list_token_remove_round_trip(home: Path) -> None:
    added = run(
        home,
        "clients",
        "add",
        "centre-x",
        "--role",
        "centre-system",
        "--tenant",
        "350000014",
        "--scope",
        "system/Slot.rs",
        "--scope",
        "system/Appointment.cruds",
        "--generate-key",
    )
    assert added.returncode == 0, added.stderr
    assert "cpts-gateway clients token centre-x" in added.stdout
    key_file = home / "keys" / "clients" / "centre-x.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    assert listed(home) == [
        {
            "name": "centre-x",
            "role": "centre-system",
            "tenant": "350000014",
            "scopes": ["system/Slot.rs", "system/Appointment.cruds"],
        }
    ]

    token = run(home, "clients", "token", "centre-x", "--scope", "system/Slot.rs")
    assert token.returncode == 0, token.stderr
    settings = settings_of(home)
    engine = make_engine(settings.database_url)
    principal = gateway_verifier(settings, engine, client_cache_seconds=0).principal(token.stdout.strip())
    assert principal.subject == "centre-x" and principal.tenant == "350000014"
    assert principal.scopes.permits("s", "Slot") and not principal.scopes.permits("r", "Appointment")

    removed = run(home, "clients", "remove", "centre-x")
    assert removed.returncode == 0, removed.stderr
    assert listed(home) == [] and not key_file.exists()
    from gateway.errors import Unauthenticated

    with pytest.raises(Unauthenticated, match="no longer registered"):
        gateway_verifier(settings, engine, client_cache_seconds=0).principal(token.stdout.strip())
    engine.dispose()


def test_a_client_with_its_own_public_key(home: Path) -> None:
    key = ECKey.generate_key("P-384", auto_kid=True)
    jwk_file = home / "vendor.jwk.json"
    jwk_file.write_bytes(orjson.dumps(dict(key.as_dict(private=False))))
    added = run(home, "clients", "add", "vendor", "--role", "integrator", "--jwk", str(jwk_file))
    assert added.returncode == 0, added.stderr
    assert listed(home)[0]["scopes"] == ["system/*.cruds"]  # default: everything its role can use
    token = run(home, "clients", "token", "vendor")
    assert token.returncode == 3 and "does not hold the private key" in token.stderr
    url = run(home, "clients", "add", "remote", "--role", "sas-consumer", "--jwks-url", "https://sas.example/jwks")
    assert url.returncode == 0, url.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "wizard"], "unknown role 'wizard'"),
        (["--role", "centre-system"], "--tenant FINESS is required"),
        (["--role", "centre-system", "--tenant", "12"], "not a FINESS"),
        (["--role", "coordinator", "--tenant", "350000014"], "has no tenant"),
        (["--role", "integrator", "--tenant", "350000014"], "sandbox tenant"),
        (["--role", "coordinator", "--scope", "system/Slot.fly"], "is not a SMART scope"),
        (["--role", "practitioner"], "--practitioner IDNAT_PS"),
        (["--role", "coordinator", "--practitioner", "810002345678"], "only practitioner clients"),
    ],
)
def test_bad_registrations_are_refused_with_a_message(home: Path, args: list[str], says: str) -> None:
    result = run(home, "clients", "add", "bad", *args, "--generate-key")
    assert result.returncode == 3, result.stdout
    assert says in result.stderr and "Traceback" not in result.stderr
    assert not (home / "keys" / "clients" / "bad.json").exists()


def test_cli_errors_without_tracebacks(home: Path) -> None:
    missing = run(home, "clients", "add", "x", "--role", "admin", "--jwk", str(home / "absent.json"))
    assert missing.returncode == 3 and "cannot be read" in missing.stderr
    (home / "bad.json").write_text("{")
    assert "is not JSON" in run(home, "clients", "add", "x", "--role", "admin", "--jwk", str(home / "bad.json")).stderr
    assert run(home, "clients", "remove", "ghost").returncode == 3
    unknown = run(home, "clients", "token", "ghost")
    assert unknown.returncode == 3 and "no client named 'ghost'" in unknown.stderr
    run(home, "clients", "add", "coord", "--role", "coordinator", "--generate-key")
    refused = run(home, "clients", "token", "coord", "--scope", "system/Patient.rs")
    assert refused.returncode == 3 and "invalid_scope" in refused.stderr
    twice = run(home, "clients", "add", "coord", "--role", "coordinator", "--generate-key")
    assert twice.returncode == 3 and "already registered" in twice.stderr
    for result in (missing, unknown, refused, twice):
        assert "Traceback" not in result.stderr


def test_production_refuses_gateway_held_keys(home: Path) -> None:
    run(home, "clients", "add", "coord", "--role", "coordinator", "--generate-key")
    production = {"CPTS_ENV": "production"}
    token = run(home, "clients", "token", "coord", env=production)
    assert token.returncode == 3 and "CPTS_ENV=production" in token.stderr
    add = run(home, "clients", "add", "other", "--role", "coordinator", "--generate-key", env=production)
    assert add.returncode == 3 and "refused" in add.stderr
    rotate = run(home, "keys", "rotate-signing", env=production)
    assert rotate.returncode == 3 and "CPTS_SIGNING_KEY_FILE" in rotate.stderr


def test_keys_rotate_signing(home: Path) -> None:
    key_file = home / "signing.json"
    env = {"CPTS_SIGNING_KEY_FILE": str(key_file)}
    first = run(home, "keys", "rotate-signing", env=env)
    assert first.returncode == 0, first.stderr
    second = run(home, "keys", "rotate-signing", env=env)
    assert second.returncode == 0 and "2 key(s)" in second.stdout
    keys = orjson.loads(key_file.read_bytes())["keys"]
    assert len(keys) == 2 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pruned = run(home, "keys", "rotate-signing", "--prune", env=env)
    assert pruned.returncode == 0 and "3 key(s)" in pruned.stdout  # nothing retired long enough ago


def test_demo_registers_its_clients_idempotently(home: Path) -> None:
    args = ("demo", "--centres", "2", "--days", "0", "--start", "2026-03-28", "--no-validate")
    first = run(home, *args)
    assert first.returncode == 0, first.stderr
    assert "cpts-gateway clients token demo-coordinator" in first.stdout
    clients = {c["name"]: c for c in listed(home)}
    assert set(clients) == {
        "demo-centre-1",
        "demo-centre-2",
        "demo-coordinator",
        "demo-practitioner",
        "demo-sas",
        "demo-integrator",
        "demo-admin",
    }
    assert clients["demo-centre-1"]["role"] == "centre-system" and clients["demo-centre-1"]["tenant"]
    assert clients["demo-centre-1"]["scopes"] == ["system/*.cruds"]
    assert clients["demo-sas"]["role"] == "sas-consumer"
    key_before = (home / "keys" / "clients" / "demo-coordinator.json").read_bytes()

    again = run(home, *args, "--if-empty")
    assert again.returncode == 0, again.stderr
    assert "demo-practitioner" in again.stdout
    assert {c["name"] for c in listed(home)} == set(clients)
    assert (home / "keys" / "clients" / "demo-coordinator.json").read_bytes() == key_before

    for name in ("demo-coordinator", "demo-practitioner", "demo-centre-2", "demo-admin"):
        token = run(home, "clients", "token", name)
        assert token.returncode == 0, token.stderr
    settings = settings_of(home)
    engine = make_engine(settings.database_url)
    practitioner = run(home, "clients", "token", "demo-practitioner").stdout.strip()
    principal = gateway_verifier(settings, engine).principal(practitioner)
    assert principal.role.name == "practitioner" and principal.practitioner_id and principal.structures
    engine.dispose()

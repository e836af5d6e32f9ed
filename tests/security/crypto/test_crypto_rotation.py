"""Data key rotation as an operator runs it: ``cpts-gateway keys rotate-data`` then ``keys reencrypt``, in a
subprocess, on the test database; old envelopes keep opening by their key id until they are rewrapped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from gateway.ingest.jobs import JobStore
from gateway.settings import Settings
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import ResourceStore, WriteItem
from security.crypto import DataCipher, bytes_kid, generate_keys, read_keys, split_text, write_keys
from security.protect import Protector

SCRIPT = Path(sys.executable).with_name("cpts-gateway")
PAYLOAD = b"MSH|^~\\&|X|Y|||20260115||ADT^A04|1|P|2.5\rPID|1||1^^^X^PI~284053523804256^^^INS||MARTIN^CLAIRE\r"


def cli(settings: Settings, keys: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPTS_DATABASE_URL": settings.database_url, "CPTS_DATA_KEYS_FILE": str(keys),
           "CPTS_KEYS_DIR": str(keys.parent), "CPTS_LOG_LEVEL": "WARNING"}  # fmt: skip
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def patient(resource_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": resource_id,
        "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.10", "value": f"2840535238042{resource_id[-2:]}"}],
        "name": [{"family": "Martin", "given": ["Claire"]}],
        "birthDate": "1984-05-12",
    }


class World:
    """A keys file of its own, and a store and job store sealing with it."""

    def __init__(self, engine: Engine, settings: Settings, tmp_path: Path) -> None:
        self.keys = tmp_path / "data-keys.json"
        write_keys(self.keys, generate_keys(self.keys))
        self.protector = Protector(DataCipher(read_keys(self.keys)))
        self.store = ResourceStore(engine, settings.tz, self.protector)
        self.jobs = JobStore(engine, cipher=self.protector.cipher)
        self.engine = engine

    def write(self, resource_id: str) -> None:
        with write_transaction(self.engine) as conn:
            self.store.write(conn, [WriteItem("Patient", resource_id, patient(resource_id), tenant="350000014")])
            changed = {**patient(resource_id), "gender": "female"}
            self.store.write(conn, [WriteItem("Patient", resource_id, changed, tenant="350000014")])

    def read(self, resource_id: str) -> dict[str, Any]:
        with read_transaction(self.engine) as conn:
            stored = self.store.read(conn, "Patient", resource_id)
        assert stored is not None
        return stored.json()

    def receive(self) -> str:
        return self.jobs.receive(
            PAYLOAD, tenant="350000014", format="hl7v2", source="t", owner="rotation-test"
        ).message_id

    def kids(self) -> dict[str, set[str]]:
        with self.engine.connect() as conn:
            resources = [r[0] for r in conn.execute(text("SELECT content FROM resource"))]
            versions = [r[0] for r in conn.execute(text("SELECT content FROM resource_version"))]
            payloads = [bytes(r[0]) for r in conn.execute(text("SELECT content FROM ingest_message"))]
        return {
            "resources": {split_text(orjson.loads(c)["_sealed"])[0] for c in resources},
            "versions": {split_text(orjson.loads(c)["_sealed"])[0] for c in versions},
            "payloads": {str(bytes_kid(p)) for p in payloads},
        }


@pytest.fixture
def world(clean_db: Engine, settings: Settings, tmp_path: Path) -> World:
    return World(clean_db, settings, tmp_path)


def test_rotate_write_read_reencrypt(world: World, settings: Settings) -> None:
    world.write("pat-01")
    first_message = world.receive()
    old_kid = world.protector.cipher.active_kid

    rotated = cli(settings, world.keys, "keys", "rotate-data")
    assert rotated.returncode == 0, rotated.stderr
    new_kid = orjson.loads(world.keys.read_bytes())["active"]
    assert new_kid != old_kid and f"data key {new_kid} is now active" in rotated.stdout

    world.protector.cipher.refresh()  # a running gateway does this by itself within seconds
    world.write("pat-02")
    world.receive()
    assert world.kids()["resources"] == {old_kid, new_kid}
    assert world.read("pat-01")["name"] == [{"family": "Martin", "given": ["Claire"]}]  # old key still opens

    done = cli(settings, world.keys, "keys", "reencrypt", "--batch", "1", "--verbose")
    assert done.returncode == 0, done.stderr
    assert f"rewrapping to data key {new_kid}" in done.stdout
    assert "resources  rewrapped 1, unchanged 1" in done.stdout
    assert "versions   rewrapped 2, unchanged 2" in done.stdout
    assert "payloads   rewrapped 1, unchanged 1" in done.stdout
    assert world.kids() == {"resources": {new_kid}, "versions": {new_kid}, "payloads": {new_kid}}
    assert world.read("pat-01")["birthDate"] == "1984-05-12"
    assert world.jobs.payload(first_message) == PAYLOAD

    again = cli(settings, world.keys, "keys", "reencrypt")  # resumable: a second run has nothing left to do
    assert again.returncode == 0, again.stderr
    assert "rewrapped" not in again.stdout and "resources  unchanged 2" in again.stdout


def test_a_missing_key_id_stops_reencrypt_with_a_clear_message(world: World, settings: Settings) -> None:
    world.write("pat-01")
    old_kid = world.protector.cipher.active_kid
    assert cli(settings, world.keys, "keys", "rotate-data").returncode == 0
    document = orjson.loads(world.keys.read_bytes())
    del document["keys"][old_kid]  # the old key was lost
    world.keys.write_bytes(orjson.dumps(document))
    result = cli(settings, world.keys, "keys", "reencrypt")
    assert result.returncode == 4
    assert f"data key '{old_kid}' is not in {world.keys}" in result.stderr
    assert "Traceback" not in result.stderr


def test_rotate_data_names_a_broken_keys_file(tmp_path: Path, settings: Settings) -> None:
    broken = tmp_path / "data-keys.json"
    broken.write_text('{"active": "k1"}')
    result = cli(settings, broken, "keys", "rotate-data")
    assert result.returncode == 4
    assert f"{broken}: 'keys' must be a non-empty object" in result.stderr
    assert "Traceback" not in result.stderr

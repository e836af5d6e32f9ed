"""Protocols at start-up: published as CPTS-level PlanDefinitions, idempotently, readable and searchable over HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.pathways.loader import PROTOCOLS_DIR
from gateway.settings import Settings
from mappings.issues import MappingFileError
from tests.conftest import _free_port, serving

DIABETES = "cpts-diabetes-t2"
URL = f"https://cpts-gateway.fr/fhir/PlanDefinition/{DIABETES}"


@contextmanager
def started(settings: Settings, **changes: Any) -> Iterator[httpx.Client]:
    """A gateway started (lifespan included) with these settings, and a client on it."""
    app = create_app(settings.model_copy(update={"ingest_worker": False, **changes}), configure_logs=False)
    with serving(app, _free_port()) as base, httpx.Client(base_url=base, timeout=30) as http:
        yield http


def versions(http: httpx.Client, resource_id: str = DIABETES) -> list[str]:
    response = http.get(f"/fhir/PlanDefinition/{resource_id}/_history")
    assert response.status_code == 200, response.text
    return sorted(e["resource"]["meta"]["versionId"] for e in response.json()["entry"])


def changed_copy(tmp_path: Path) -> Path:
    root = tmp_path / "protocols"
    shutil.copytree(PROTOCOLS_DIR, root)
    path = root / f"{DIABETES}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0"), encoding="utf-8")
    return root


@pytest.fixture
def empty(clean_db: Engine, settings: Settings) -> Settings:
    """An empty database (the session's server published the protocols before the tables were emptied)."""
    return settings


def test_start_publishes_every_protocol_readable_over_http(empty: Settings) -> None:
    with started(empty) as http:
        bundle = http.get("/fhir/PlanDefinition").json()
        ids = {e["resource"]["id"] for e in bundle["entry"]}
        assert {DIABETES, "cpts-elderly-frailty", "cpts-return-home"} <= ids

        read = http.get(f"/fhir/PlanDefinition/{DIABETES}")
        assert read.status_code == 200
        resource = read.json()
        assert (resource["url"], resource["status"], resource["meta"]["versionId"]) == (URL, "active", "1")
        assert [a["id"] for a in resource["action"]][:2] == ["revue-medecin-hba1c", "examen-pieds"]

        queries = (f"url={URL}", f"identifier=urn:cpts-gateway:protocol|{DIABETES}", "name=CptsDiabete",
                   "title=suivi du diabete", f"status=active&type=clinical-protocol&url={URL}")  # fmt: skip
        for query in queries:
            found = http.get(f"/fhir/PlanDefinition?{query}").json()
            assert [e["resource"]["id"] for e in found["entry"]] == [DIABETES], query
        assert "entry" not in http.get("/fhir/PlanDefinition?status=retired").json()


def test_two_starts_make_one_version(empty: Settings, engine: Engine) -> None:
    with started(empty) as http:
        assert versions(http) == ["1"]
    with started(empty) as http:
        assert versions(http) == ["1"]
        assert http.get("/fhir/PlanDefinition/cpts-return-home").json()["meta"]["versionId"] == "1"
    with engine.connect() as conn:
        tenants = conn.execute(text("SELECT DISTINCT tenant FROM resource WHERE res_type = 'PlanDefinition'")).all()
    assert tenants == [(None,)]  # CPTS-level resources, owned by no centre


def test_a_changed_protocol_makes_a_new_version(empty: Settings, tmp_path: Path) -> None:
    with started(empty) as http:
        assert versions(http) == ["1"]
    with started(empty, protocols_dir=changed_copy(tmp_path)) as http:
        assert versions(http) == ["1", "2"]
        assert http.get(f"/fhir/PlanDefinition/{DIABETES}").json()["version"] == "1.1.0"
        assert http.get("/fhir/PlanDefinition/cpts-return-home").json()["meta"]["versionId"] == "1"


def test_a_broken_protocol_file_stops_start_up(settings: Settings, tmp_path: Path) -> None:
    root = changed_copy(tmp_path)
    path = root / f"{DIABETES}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('profession: "80"', 'profession: "99"'), "utf-8")
    with pytest.raises(MappingFileError) as caught:
        create_app(settings.model_copy(update={"protocols_dir": root}), configure_logs=False)
    assert caught.value.file == str(path)
    assert caught.value.key == "steps[1].profession"

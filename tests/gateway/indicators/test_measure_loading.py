"""The indicators' Measures are stored at application start as CPTS-level resources, idempotently, and read with
the normal FHIR API (open access here; a coordinator's token below)."""

from __future__ import annotations

from dataclasses import replace

import httpx
from sqlalchemy import Engine, select

from gateway.app import create_app
from gateway.indicators.loader import load_measures, store_measures
from gateway.settings import Settings
from gateway.storage.store import RESOURCE
from tests.conftest import _free_port, serving
from tests.security.identities import Identities


def _start_once(settings: Settings) -> None:
    with serving(create_app(settings, configure_logs=False), _free_port()):
        pass


def test_two_starts_write_version_one_only(client: httpx.Client, settings: Settings, clean_db: Engine) -> None:
    _start_once(settings)
    _start_once(settings)
    history = client.get("/fhir/Measure/ind-noshow/_history").json()
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["1"]
    with clean_db.connect() as conn:
        rows = conn.execute(select(RESOURCE.c.res_id, RESOURCE.c.tenant, RESOURCE.c.version_id).where(
            RESOURCE.c.res_type == "Measure")).all()  # fmt: skip
    assert len(rows) == 12
    assert {(tenant, version) for _id, tenant, version in rows} == {(None, 1)}


def test_a_changed_definition_writes_version_two(client: httpx.Client, settings: Settings, clean_db: Engine) -> None:
    measures = load_measures()
    assert set(store_measures(clean_db, settings, measures).values()) == {"created"}
    changed = []
    for measure in measures:
        if measure.definition.id == "IND-NOSHOW":
            measure = replace(measure, resource={**measure.resource, "version": "1.1.0"})
        changed.append(measure)
    outcomes = store_measures(clean_db, settings, changed)
    assert outcomes["IND-NOSHOW"] == "updated"
    assert {o for key, o in outcomes.items() if key != "IND-NOSHOW"} == {"unchanged"}
    read = client.get("/fhir/Measure/ind-noshow").json()
    assert (read["meta"]["versionId"], read["version"]) == ("2", "1.1.0")
    assert store_measures(clean_db, settings, changed)["IND-NOSHOW"] == "unchanged"


def test_read_and_search_measures(client: httpx.Client, settings: Settings, clean_db: Engine) -> None:
    store_measures(clean_db, settings, load_measures())
    bundle = client.get("/fhir/Measure", params={"_count": 50}).json()
    assert bundle["total"] == 12
    assert client.get("/fhir/Measure/ind-noshow").json()["title"] == "Taux de non-venue"
    for params in (
        {"url": "urn:cpts-gateway:measure:IND-NOSHOW"},
        {"identifier": "urn:cpts-gateway:indicator|IND-NOSHOW"},
        {"title": "taux de non"},
        {"status": "active", "name": "IND_NOSHOW"},
    ):
        found = client.get("/fhir/Measure", params=params).json()
        assert [e["resource"]["id"] for e in found.get("entry", [])] == ["ind-noshow"], params
    assert client.get("/fhir/Measure", params={"status": "retired"}).json()["total"] == 0


def test_a_coordinator_reads_measures_with_a_token(ids: Identities, secure_settings: Settings) -> None:
    store_measures(ids.engine, secure_settings, load_measures())
    coordinator = ids.client("coord-measures", "coordinator")
    bundle = coordinator.get("/fhir/Measure", params={"_count": 50})
    assert bundle.status_code == 200, bundle.text
    assert bundle.json()["total"] == 12
    read = coordinator.get("/fhir/Measure", params={"url": "urn:cpts-gateway:measure:IND-PICKUP"})
    assert [e["resource"]["id"] for e in read.json()["entry"]] == ["ind-pickup"]
    anonymous = httpx.get(f"{ids.base}/fhir/Measure/ind-noshow", timeout=30)
    assert anonymous.status_code == 401


def test_a_centre_may_not_replace_a_cpts_measure(ids: Identities, secure_settings: Settings) -> None:
    store_measures(ids.engine, secure_settings, load_measures())
    centre = ids.centre("750000001")
    current = centre.get("/fhir/Measure/ind-noshow").json()
    changed = {**current, "title": "Autre"}
    refused = centre.put("/fhir/Measure/ind-noshow", json=changed)
    assert refused.status_code == 403, refused.text
    assert centre.get("/fhir/Measure/ind-noshow").json()["meta"]["versionId"] == "1"

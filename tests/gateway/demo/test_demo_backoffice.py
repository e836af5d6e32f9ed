"""The demo's back-office exports (opening hours, calls, acts, claims) go through the real CSV pipeline, match the
agenda the demo stored, and are deterministic."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text

from gateway.demo import DemoOptions, generate_territory
from gateway.demo.backoffice import BACKOFFICE_DAYS
from gateway.demo.exports import ingest_exports, territory_exports, write_exports
from gateway.demo.loader import load_demo
from gateway.settings import Settings
from gateway.storage.store import build_store

OPTIONS = DemoOptions(centres=2, days=BACKOFFICE_DAYS + 2, seed=3, start=dt.date(2026, 3, 30))  # DST on 2026-03-29


def _rows(text_: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text_), delimiter=";"))


def _stored(engine: Engine, resource_type: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT content FROM resource WHERE res_type = :t AND deleted = :d"), {"t": resource_type, "d": False}
        )
        return [orjson.loads(row[0]) for row in rows]


def test_exports_are_deterministic_and_written_per_centre(tmp_path: Path) -> None:
    first = list(territory_exports(OPTIONS))
    assert first == list(territory_exports(OPTIONS))
    assert [kind for _, kind, _ in first[:4]] == ["opening_hours", "calls", "acts", "claims"]
    paths = write_exports(OPTIONS, tmp_path)
    assert len(paths) == 2 * 4
    assert {p.parent.name for p in paths} == {finess for finess, _, _ in first}


def test_acts_follow_the_fulfilled_appointments_of_the_billed_days() -> None:
    first_billed = (OPTIONS.start - dt.timedelta(days=BACKOFFICE_DAYS)).isoformat()
    fulfilled: Counter[str] = Counter()
    for tenant, resource in generate_territory(OPTIONS):
        billed = first_billed <= resource.get("start", "")[:10] < OPTIONS.start.isoformat()
        if resource["resourceType"] == "Appointment" and resource["status"] == "fulfilled" and billed:
            fulfilled[str(tenant)] += 1
    for finess, kind, body in territory_exports(OPTIONS):
        rows = _rows(body)
        if kind == "acts":
            consultations = [r for r in rows if r["code"] in {"G", "CSC", "AMI", "AMK", "C", "AMP"}]
            assert len(consultations) == fulfilled[finess] > 0  # one consultation act per fulfilled appointment
            days = {dt.datetime.strptime(r["date_acte"], "%d/%m/%Y").date().isoformat() for r in rows}
            assert min(days) >= first_billed
        if kind == "claims":
            invoices = Counter(r["id_facture"] for r in rows)
            assert len(invoices) == fulfilled[finess] and set(invoices.values()) == {2}  # AMO + (AMC or PATIENT)
            assert {r["payeur"] for r in rows} == {"AMO", "AMC", "PATIENT"}
            assert "rejete" in {r["statut"] for r in rows}


def test_ingested_exports_reference_the_demo_resources(settings: Settings, clean_db: Engine) -> None:
    load_demo(build_store(clean_db, settings), OPTIONS, validate=False)
    counts = ingest_exports(settings, clean_db, OPTIONS)
    exported = Counter(kind for _, kind, body in territory_exports(OPTIONS) for _ in _rows(body))
    assert counts["rejected"] == 0 and counts["accepted"] == sum(exported.values())

    patients = {f"Patient/{p['id']}" for p in _stored(clean_db, "Patient")}
    practitioners = {f"Practitioner/{p['id']}" for p in _stored(clean_db, "Practitioner")}
    charge_items = _stored(clean_db, "ChargeItem")
    assert len(charge_items) == exported["acts"]
    assert all(item["subject"]["reference"] in patients for item in charge_items)
    assert all(item["performer"][0]["actor"]["reference"] in practitioners for item in charge_items)
    claims = _stored(clean_db, "Claim")
    assert len(claims) == exported["claims"]
    assert all(claim["patient"]["reference"] in patients for claim in claims)
    assert len(_stored(clean_db, "Communication")) == exported["calls"]
    sites = [loc for loc in _stored(clean_db, "Location") if loc.get("hoursOfOperation")]
    assert len(sites) == 2
    assert all({"mon", "fri"} <= {d for h in s["hoursOfOperation"] for d in h["daysOfWeek"]} for s in sites)

    again = ingest_exports(settings, clean_db, OPTIONS)  # the demo ingested twice changes nothing
    assert again["accepted"] + again["duplicate"] == sum(exported.values()) and again["rejected"] == 0
    assert len(_stored(clean_db, "ChargeItem")) == exported["acts"]

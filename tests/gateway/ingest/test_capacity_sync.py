"""Each centre's last successful sync, recorded by real ingest jobs, and the freshness of its capacity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, delete, select, update

from adapters.fhir.slot_types import SLOT_TYPE_SYSTEM
from gateway.capacity.freshness import capacity_freshness
from gateway.capacity.sync import SYNC
from gateway.ingest.pipeline import Pipeline
from gateway.settings import Settings
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.directory_version import bump_sync
from tests.gateway.ingest.conftest import Ingest

DATA = Path(__file__).resolve().parents[2] / "data"
CENTRE_A, CENTRE_B = "350000014", "350000022"


@pytest.fixture
def sync_table(clean_db: Engine) -> Iterator[Engine]:
    """The centre_sync table emptied around the test (the shared clean-up does not know it)."""
    with write_transaction(clean_db) as conn:
        conn.execute(delete(SYNC))
        bump_sync(conn)  # as every writer of sync records: cached freshness is out of date
    yield clean_db
    with write_transaction(clean_db) as conn:
        conn.execute(delete(SYNC))
        bump_sync(conn)  # as every writer of sync records: cached freshness is out of date


def rows(engine: Engine) -> dict[tuple[str, str], dict[str, object]]:
    with read_transaction(engine) as conn:
        found = conn.execute(select(SYNC)).mappings().all()
    return {(row["tenant"], row["source_kind"]): dict(row) for row in found}


def slots_csv() -> bytes:
    return (DATA / "csv" / "reference" / "slots" / "capacity.csv").read_bytes()


def gap_bundle(*, slot_type: str | None = "SNP") -> bytes:
    slot: dict[str, object] = {
        "resourceType": "Slot",
        "id": "c-1",
        "schedule": {"reference": "Schedule/agenda-1"},
        "status": "free",
        "start": "2026-03-02T09:00:00+01:00",
        "end": "2026-03-02T09:15:00+01:00",
    }
    if slot_type is not None:
        slot["meta"] = {"security": [{"system": SLOT_TYPE_SYSTEM, "code": slot_type}]}
    schedule = {"resourceType": "Schedule", "id": "agenda-1", "actor": [{"display": "Dr Martin"}]}
    return orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": [{"resource": schedule},
                                                                              {"resource": slot}]})  # fmt: skip


def test_capacity_csv_slots_job_records_the_sync(ingest: Ingest, sync_table: Engine) -> None:
    report = ingest(slots_csv(), tenant=CENTRE_A, fmt="csv", export="slots", vendor="reference", source="slots.csv")
    assert report["status"] == "done"
    assert report["counts"] == {"accepted": 3, "duplicate": 0, "rejected": 1}
    row = rows(sync_table)[(CENTRE_A, "csv:slots")]
    assert row["job_id"] == report["id"]
    assert (row["accepted"], row["duplicate"], row["rejected"]) == (3, 0, 1)
    assert row["synced_at"].isoformat() + "Z" == report["finished"]  # type: ignore[attr-defined]

    again = ingest(slots_csv(), tenant=CENTRE_A, fmt="csv", export="slots", vendor="reference", source="slots.csv")
    row = rows(sync_table)[(CENTRE_A, "csv:slots")]
    assert row["job_id"] == again["id"] and (row["accepted"], row["duplicate"]) == (0, 3)


def test_capacity_each_source_kind_has_its_row(ingest: Ingest, sync_table: Engine) -> None:
    ingest(gap_bundle(), tenant=CENTRE_A, fmt="fhir")
    siu = (DATA / "hl7v2" / "siu-s12-capacity-walkin.hl7").read_bytes()
    ingest(siu, tenant=CENTRE_B, fmt="hl7v2")
    assert set(rows(sync_table)) == {(CENTRE_A, "fhir"), (CENTRE_B, "hl7v2")}


def test_capacity_a_refused_payload_is_no_sync(ingest: Ingest, sync_table: Engine) -> None:
    report = ingest(b"id_creneau;debut\nX;02/03/2026 08:30\n", tenant=CENTRE_A, fmt="csv", export="slots")
    assert report["status"] == "rejected"
    assert rows(sync_table) == {}


def test_capacity_gap_slot_without_slot_type_is_refused(ingest: Ingest, pipeline: Pipeline) -> None:
    report = ingest(gap_bundle(slot_type=None), tenant=CENTRE_A, fmt="fhir", source="gap.json")
    assert report["counts"] == {"accepted": 1, "duplicate": 0, "rejected": 1}
    issue = report["records"][1]["issues"][0]
    assert issue["details"]["coding"][0]["code"] == "ADP-FHIR-BUNDLE"
    assert "meta.security" in issue["diagnostics"] and issue["expression"] == ["gap.json#Bundle.entry[1]"]
    unknown = ingest(gap_bundle(slot_type="VIP"), tenant=CENTRE_A, fmt="fhir", source="gap.json")
    assert unknown["counts"]["rejected"] == 1
    assert "VIP" in unknown["records"][1]["issues"][0]["diagnostics"]


def test_capacity_freshness_with_a_small_configured_age(ingest: Ingest, sync_table: Engine, settings: Settings) -> None:
    small = settings.model_copy(update={"capacity_stale_after_minutes": 5})
    age = timedelta(minutes=small.capacity_stale_after_minutes)
    ingest(slots_csv(), tenant=CENTRE_A, fmt="csv", export="slots", vendor="reference")
    ingest(b"id_nat_ps;nom;profession\n819990001018;MARTIN;10\n", tenant=CENTRE_B, fmt="csv",
           export="practitioners")  # fmt: skip
    synced = rows(sync_table)[(CENTRE_A, "csv:slots")]["synced_at"]
    assert isinstance(synced, datetime)
    last = synced.replace(tzinfo=UTC)
    with read_transaction(sync_table) as conn:
        fresh = capacity_freshness(conn, [CENTRE_A, CENTRE_B], last + timedelta(minutes=4), age)
        stale = capacity_freshness(conn, [CENTRE_A], last + timedelta(minutes=6), age)
        everyone = capacity_freshness(conn, None, last, age)
    assert fresh == {CENTRE_A: (last, False), CENTRE_B: (None, True)}  # practitioners carry no slots
    assert stale == {CENTRE_A: (last, True)}
    assert everyone == {CENTRE_A: (last, False)}


def test_capacity_an_older_job_never_overwrites_a_newer_sync(ingest: Ingest, sync_table: Engine) -> None:
    first = ingest(slots_csv(), tenant=CENTRE_A, fmt="csv", export="slots", vendor="reference")
    future = datetime(2100, 1, 1)
    with write_transaction(sync_table) as conn:
        conn.execute(update(SYNC).values(synced_at=future))
        bump_sync(conn)  # as every writer of sync records: cached freshness is out of date
    ingest(slots_csv(), tenant=CENTRE_A, fmt="csv", export="slots", vendor="reference")
    row = rows(sync_table)[(CENTRE_A, "csv:slots")]
    assert (row["synced_at"], row["job_id"]) == (future, first["id"])

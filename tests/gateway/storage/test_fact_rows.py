"""The indicator rows: a Slot's extra ``search_slot`` columns and an Appointment's ``fact_appointment`` row, derived
on write, deleted with the resource, rebuilt by ``reindex``; and what the backfill of revision 0006 gives."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, select, text

from gateway.storage import migrate
from gateway.storage.db import make_engine, read_transaction, write_transaction
from gateway.storage.fact_rows import appointment_row, slot_facts
from gateway.storage.store import INDEX, ResourceStore, WriteItem

PARIS = ZoneInfo("Europe/Paris")
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
R66 = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"


def appointment(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": "a1",
        "status": "noshow",
        "start": "2026-03-31T23:30:00+02:00",
        "end": "2026-04-01T00:10:00+02:00",
        "slot": [{"reference": "Slot/s1"}, {"reference": "Slot/s2"}],
        "serviceType": [{"coding": [{"system": ACT, "code": "HH"}]}],
        "specialty": [{"coding": [{"system": "x", "code": "SM54"}]}],
        "appointmentType": {"coding": [{"code": "ROUTINE"}]},
        "participant": [
            {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/pr1"}, "status": "accepted"},
            {"actor": {"reference": "Location/room"}, "status": "accepted"},
            {"actor": {"reference": "Patient/p2"}, "status": "accepted"},
        ],
        **extra,
    }


def test_an_appointment_row_holds_its_instants_in_utc_its_slot_and_participants() -> None:
    assert appointment_row(appointment(), PARIS) == {
        "status": "noshow",
        "low": datetime(2026, 3, 31, 21, 30),
        "end_at": datetime(2026, 3, 31, 22, 10),
        "minutes": 40,  # across local midnight
        "slot_id": "s1",
        "patient_id": "p1",
        "practitioner_id": "pr1",
        "role_id": None,
        "location_id": "room",
        "service_type": "HH",
        "specialty": "SM54",
        "appt_type": "ROUTINE",
    }
    bare = appointment_row({"resourceType": "Appointment", "start": "2026-03-02T09:00:00+01:00"}, PARIS)
    assert bare is not None and bare["minutes"] is None and bare["slot_id"] is None
    assert appointment_row(appointment(end=None, minutesDuration=25), PARIS)["minutes"] == 25  # type: ignore[index]
    assert appointment_row({"resourceType": "Appointment", "status": "proposed"}, PARIS) is None  # no start
    assert appointment_row(appointment(start="2026-13-01"), PARIS) is None


def test_slot_columns_prefer_the_act_code_service_type_and_count_real_minutes() -> None:
    slot = {
        "resourceType": "Slot",
        "id": "s1",
        "start": "2026-03-29T01:30:00+01:00",
        "end": "2026-03-29T03:30:00+02:00",  # the clocks go forward: one hour
        "serviceType": [{"coding": [{"system": R66, "code": "604"}]}, {"coding": [{"system": ACT, "code": "AMB"}]}],
        "appointmentType": {"coding": [{"code": "WALKIN"}]},
    }
    assert slot_facts(slot, PARIS) == {
        "res_id": "s1",
        "end_at": datetime(2026, 3, 29, 1, 30),
        "minutes": 60,
        "service_type": "AMB",
        "specialty": None,
        "appt_type": "WALKIN",
    }
    assert slot_facts({"id": "s", "start": "2026-03-02T09:00:00+01:00", "end": "x"}, PARIS)["minutes"] is None


@pytest.fixture
def store(clean_db: Engine) -> ResourceStore:
    return ResourceStore(clean_db, PARIS)


def facts(engine: Engine) -> list[tuple[Any, ...]]:
    with read_transaction(engine) as conn:
        return [tuple(r)[1:] for r in conn.execute(select(INDEX["appointment"]).order_by(text("rid")))]


def test_fact_rows_follow_writes_deletes_and_reindex(store: ResourceStore) -> None:
    with write_transaction(store.engine) as conn:
        store.write(conn, [WriteItem("Appointment", "a1", appointment(), tenant="350000014")])
    first = facts(store.engine)
    assert len(first) == 1 and first[0][2:4] == ("350000014", "noshow")
    with write_transaction(store.engine) as conn:
        store.write(conn, [WriteItem("Appointment", "a1", appointment(status="fulfilled"), tenant="350000014")])
    assert [row[3] for row in facts(store.engine)] == ["fulfilled"]  # replaced, not added
    with write_transaction(store.engine) as conn:
        assert store.reindex(conn, ["Appointment"]) == 1
    assert [row[3] for row in facts(store.engine)] == ["fulfilled"]
    with write_transaction(store.engine) as conn:
        store.write(conn, [WriteItem("Appointment", "a1", None)])
    assert facts(store.engine) == []


def test_revision_0006_backfills_slots_and_appointments_stored_before_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/f.db")
    config = migrate.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
    slot = {
        "resourceType": "Slot", "id": "s1", "schedule": {"reference": "Schedule/sch"}, "status": "busy",
        "start": "2026-03-02T09:00:00+01:00", "end": "2026-03-02T09:20:00+01:00",
        "serviceType": [{"coding": [{"system": ACT, "code": "VR"}]}],
    }  # fmt: skip
    rows = [(1, slot, False), (2, appointment(), False), (3, appointment(id="gone"), True)]
    with engine.begin() as conn:
        for rid, resource, deleted in rows:
            conn.execute(
                text(
                    "INSERT INTO resource (res_type, res_id, rid, tenant, version_id, last_updated, deleted, "
                    "content_hash, content) VALUES (:type, :id, :rid, '350000014', 1, '2026-01-01 00:00:00.000000', "
                    ":deleted, 'h', :content)"
                ),
                {
                    "type": resource["resourceType"],
                    "id": resource["id"],
                    "rid": rid,
                    "deleted": deleted,
                    "content": json.dumps(resource),
                },
            )
        conn.execute(
            text(
                "INSERT INTO search_slot (res_type, rid, schedule_id, status, low, high, kinds, tenant) VALUES "
                "('Slot', 1, 'sch', 'busy', '2026-03-02 08:00:00.000000', '2026-03-02 08:00:00.999999', '', "
                "'350000014')"
            )
        )  # the row 0005 gave it
    migrate.upgrade(engine)
    with engine.connect() as conn:
        slots = conn.execute(text("SELECT rid, res_id, end_at, minutes, service_type FROM search_slot")).all()
        appointments = conn.execute(text("SELECT rid, tenant, status, low, slot_id, patient_id FROM fact_appointment"))
        found = [tuple(r) for r in appointments]
    assert [tuple(r) for r in slots] == [(1, "s1", "2026-03-02 08:20:00.000000", 20, "VR")]
    assert found == [(2, "350000014", "noshow", "2026-03-31 21:30:00.000000", "s1", "p1")]  # the deleted one: none
    engine.dispose()

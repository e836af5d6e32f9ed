"""``GET /fhir/Slot/$capacity`` says how fresh each centre's capacity is, and lists known centres without slots.

Centre A: one free SNP slot on 2030-03-11, slots synced 10 minutes ago (fresh). Centre B: no slot in the window,
slots synced 3 hours ago (stale with the default 60 minutes). Centre C: an Organization of its own, never synced
(stale, no last sync). The CPTS Organization has no tenant: it is no centre.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.capacity.sync import record_sync
from gateway.fhir.dates import format_instant
from gateway.storage.db import write_transaction
from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import put

CENTRE_C = "350000030"
R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
QUERY = "/fhir/Slot/$capacity?periodStart=2030-03-11&periodEnd=2030-03-12"


def synced(engine: Engine, tenant: str, kind: str, ago: timedelta) -> datetime:
    """Record a successful sync ``ago`` before now (naive UTC, at millisecond precision like the job table)."""
    at = (datetime.now(UTC) - ago).replace(tzinfo=None, microsecond=0)
    with write_transaction(engine) as conn:
        record_sync(conn, tenant=tenant, kind=kind, job_id=f"job-{tenant}-{kind}", at=at, counts={"accepted": 1})
    return at


@pytest.fixture
def territory(ids: Identities, clean_db: Engine) -> dict[str, datetime]:
    slot = {
        "resourceType": "Slot",
        "id": "a1",
        "meta": {"security": [{"system": R314, "code": "SNP"}]},
        "schedule": {"reference": "Schedule/s"},
        "status": "free",
        "start": "2030-03-11T08:00:00+01:00",
        "end": "2030-03-11T08:15:00+01:00",
    }
    put(ids.centre(CENTRE_A), slot)
    put(ids.centre(CENTRE_C), {"resourceType": "Organization", "id": "org-c", "name": "Centre C"})
    ids.seed_shared({"resourceType": "Organization", "id": "cpts", "name": "CPTS"})
    return {
        CENTRE_A: synced(clean_db, CENTRE_A, "csv:slots", timedelta(minutes=10)),
        CENTRE_B: synced(clean_db, CENTRE_B, "hl7v2", timedelta(hours=3)),
    }


def values(parameter: dict[str, Any]) -> dict[str, Any]:
    """{part name: value}; the organization as its FINESS."""
    found = {}
    for part in parameter["part"]:
        value = next(v for k, v in part.items() if k.startswith("value"))
        found[part["name"]] = value["value"] if part["name"] == "organization" else value
    return found


def answer(response: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``capacity`` then the ``centre`` parameters, in the order given; nothing else."""
    assert response.status_code == 200, response.text
    parameters = response.json()["parameter"]
    names = [p["name"] for p in parameters]
    assert names == sorted(names, key=["capacity", "centre"].index)
    capacity = [values(p) for p in parameters if p["name"] == "capacity"]
    return capacity, [values(p) for p in parameters if p["name"] == "centre"]


def test_capacity_rows_carry_the_centres_freshness(ids: Identities, territory: dict[str, datetime]) -> None:
    capacity, _ = answer(ids.client("coord", "coordinator").get(QUERY))
    assert capacity == [
        {
            "organization": CENTRE_A,
            "day": "2030-03-11",
            "offered": 1,
            "free": 1,
            "booked": 0,
            "firstFree": "2030-03-11T08:00:00+01:00",
            "lastSync": format_instant(territory[CENTRE_A]),
            "stale": False,
        }
    ]


def test_known_centres_without_slots_do_not_vanish(ids: Identities, territory: dict[str, datetime]) -> None:
    _, centres = answer(ids.client("coord", "coordinator").get(QUERY))
    assert centres == [
        {"organization": CENTRE_A, "lastSync": format_instant(territory[CENTRE_A]), "stale": False},
        {"organization": CENTRE_B, "lastSync": format_instant(territory[CENTRE_B]), "stale": True},
        {"organization": CENTRE_C, "stale": True},
    ]


def test_freshness_follows_what_the_caller_may_see(ids: Identities, territory: dict[str, datetime]) -> None:
    capacity, centres = answer(ids.centre(CENTRE_B, name="centre-b-reader").get(QUERY))
    assert capacity == [] and [c["organization"] for c in centres] == [CENTRE_B]
    coordinator = ids.client("coord", "coordinator")
    capacity, centres = answer(coordinator.get(f"{QUERY}&organization={CENTRE_C}&organization={CENTRE_B}"))
    assert capacity == [] and [c["organization"] for c in centres] == [CENTRE_B, CENTRE_C]


def test_the_newest_slot_sync_decides(ids: Identities, territory: dict[str, datetime], clean_db: Engine) -> None:
    old = datetime(2020, 1, 1, 8, 30)
    with write_transaction(clean_db) as conn:
        record_sync(conn, tenant=CENTRE_A, kind="fhir", job_id="old-a", at=old, counts={})  # older than csv:slots
        record_sync(conn, tenant="350000048", kind="fhir", job_id="old-d", at=old, counts={})  # only an old one
    synced(clean_db, CENTRE_C, "csv:patients", timedelta(minutes=1))  # known already; patients are no slot sync
    capacity, centres = answer(ids.client("coord", "coordinator").get(QUERY))
    assert capacity[0]["lastSync"] == format_instant(territory[CENTRE_A]) and capacity[0]["stale"] is False
    assert centres[2:] == [
        {"organization": CENTRE_C, "stale": True},
        {"organization": "350000048", "lastSync": "2020-01-01T08:30:00.000Z", "stale": True},
    ]

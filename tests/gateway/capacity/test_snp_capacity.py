"""``GET /fhir/Slot/$capacity``: SNP slots per centre and local day, counted by hand here.

Centre A, Monday 2030-03-11 (UTC+1): 08:00 free, 09:00 busy, 10:00 busy-unavailable, 11:00 entered-in-error (not
offered), 12:00 free but PUBLIC (not SNP), 23:30 free (still Monday in Paris, 22:30 UTC). Tuesday 00:30 local
(23:30 UTC on Monday) free: Tuesday's. Centre B, Monday 14:00 busy.
So A Monday: offered 4 (free, busy, busy-unavailable, 23:30 free), free 2, booked 1, first free 08:00+01:00;
A Tuesday: offered 1, free 1, booked 0, first free 00:30+01:00; B Monday: offered 1, free 0, booked 1, no first free.
Neither centre ever synced: every row says stale, without a last sync (freshness: test_capacity_freshness.py).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import put

R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"


def slot(sid: str, start: str, end: str, status: str, kind: str = "SNP") -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": sid,
        "meta": {"security": [{"system": R314, "code": kind}]},
        "schedule": {"reference": "Schedule/s"},
        "status": status,
        "start": start,
        "end": end,
    }


@pytest.fixture
def week(ids: Identities) -> None:
    a, b = ids.centre(CENTRE_A), ids.centre(CENTRE_B)
    for sid, hour, status, kind in (
        ("a1", "08", "free", "SNP"),
        ("a2", "09", "busy", "SNP"),
        ("a3", "10", "busy-unavailable", "SNP"),
        ("a4", "11", "entered-in-error", "SNP"),
        ("a5", "12", "free", "PUBLIC"),
    ):
        put(a, slot(sid, f"2030-03-11T{hour}:00:00+01:00", f"2030-03-11T{hour}:15:00+01:00", status, kind))
    put(a, slot("a6", "2030-03-11T23:30:00+01:00", "2030-03-11T23:45:00+01:00", "free"))
    put(a, slot("a7", "2030-03-12T00:30:00+01:00", "2030-03-12T00:45:00+01:00", "free"))
    put(b, slot("b1", "2030-03-11T14:00:00+01:00", "2030-03-11T14:15:00+01:00", "busy"))


def rows(parameters: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The ``capacity`` parameters by (FINESS, day), each as {part name: value}."""
    assert parameters["resourceType"] == "Parameters"
    table = {}
    for parameter in parameters.get("parameter", []):
        if parameter["name"] != "capacity":
            continue
        parts = {p["name"]: p for p in parameter["part"]}
        key = (parts["organization"]["valueIdentifier"]["value"], parts["day"]["valueDate"])
        table[key] = {name: next(v for k, v in part.items() if k.startswith("value")) for name, part in parts.items()}
    return table


QUERY = "/fhir/Slot/$capacity?periodStart=2030-03-11&periodEnd=2030-03-12"


def test_counts_per_centre_and_local_day(ids: Identities, week: None) -> None:
    coordinator = ids.client("coord", "coordinator")
    response = coordinator.get(QUERY)
    assert response.status_code == 200, response.text
    table = rows(response.json())
    assert set(table) == {(CENTRE_A, "2030-03-11"), (CENTRE_A, "2030-03-12"), (CENTRE_B, "2030-03-11")}
    monday = table[(CENTRE_A, "2030-03-11")]
    assert (monday["offered"], monday["free"], monday["booked"]) == (4, 2, 1)
    assert monday["firstFree"] == "2030-03-11T08:00:00+01:00"
    tuesday = table[(CENTRE_A, "2030-03-12")]
    assert (tuesday["offered"], tuesday["free"], tuesday["booked"]) == (1, 1, 0)
    assert tuesday["firstFree"] == "2030-03-12T00:30:00+01:00"
    other = table[(CENTRE_B, "2030-03-11")]
    assert (other["offered"], other["free"], other["booked"]) == (1, 0, 1) and "firstFree" not in other
    assert all(row["stale"] is True and "lastSync" not in row for row in table.values())
    centres = [p for p in response.json()["parameter"] if p["name"] == "centre"]
    assert [c["part"][0]["valueIdentifier"]["value"] for c in centres] == [CENTRE_A, CENTRE_B]


def test_a_centre_sees_its_own_capacity_only(ids: Identities, week: None) -> None:
    a = ids.centre(CENTRE_A, name="centre-a-reader")
    assert {centre for centre, _ in rows(a.get(QUERY).json())} == {CENTRE_A}
    assert a.get(f"{QUERY}&organization={CENTRE_B}").status_code == 403
    coordinator = ids.client("coord", "coordinator")
    assert {c for c, _ in rows(coordinator.get(f"{QUERY}&organization={CENTRE_B}").json())} == {CENTRE_B}


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("periodStart=2030-03-12&periodEnd=2030-03-11", 400),
        ("periodStart=2030-03-01&periodEnd=2030-05-01", 400),
        ("periodStart=yesterday", 400),
        ("slotType=VIP", 400),
        ("periodStart=0001-01-01&periodEnd=0001-01-01", 400),  # found by schemathesis: a date that overflows
        ("periodStart=9999-12-31&periodEnd=9999-12-31", 400),
    ],
)
def test_bad_parameters(ids: Identities, query: str, status: int) -> None:
    response = ids.client("coord", "coordinator").get(f"/fhir/Slot/$capacity?{query}")
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_roles_without_the_capacity_operation_are_refused(ids: Identities) -> None:
    assert ids.client("sas", "sas-consumer").get(QUERY).status_code == 403
    assert ids.practitioner("gp", "810000000003", [CENTRE_A]).get(QUERY).status_code == 403
    assert httpx.get(f"{ids.base}{QUERY}").status_code == 401


def test_a_one_day_window(ids: Identities, week: None) -> None:
    """periodStart = periodEnd: one local day, no midnight inside the window."""
    one_day = "/fhir/Slot/$capacity?periodStart=2030-03-12&periodEnd=2030-03-12"
    response = ids.client("coord", "coordinator").get(one_day)
    assert response.status_code == 200, response.text
    table = rows(response.json())
    assert set(table) == {(CENTRE_A, "2030-03-12")}
    assert (table[(CENTRE_A, "2030-03-12")]["offered"], table[(CENTRE_A, "2030-03-12")]["free"]) == (1, 1)

"""INT_R04: every missing or wrong mandatory parameter is a 400 OperationOutcome naming the parameter."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.gateway.sas.sas_support import IDNPS, int_r04
from tests.security.identities import Identities

Pairs = list[tuple[str, str]]
GOOD = int_r04(["810000000001", "810000000002"], "2026-11-22T08:00:00.000", "2026-11-24T23:59:59.000")


def without(name: str, value: str | None = None) -> Callable[[Pairs], Pairs]:
    return lambda pairs: [(k, v) for k, v in pairs if not (k == name and (value is None or v == value))]


def replace(name: str, old: str, new: str) -> Callable[[Pairs], Pairs]:
    return lambda pairs: [(k, new if k == name and v == old else v) for k, v in pairs]


def plus(name: str, value: str) -> Callable[[Pairs], Pairs]:
    return lambda pairs: [*pairs, (name, value)]


IDS = "schedule.actor:Practitioner.identifier"
CASES: dict[str, tuple[Callable[[Pairs], Pairs], str]] = {
    "no start": (without("start"), "start"),
    "no start=ge": (without("start", "ge2026-11-22T08:00:00.000"), "start"),
    "no start=le": (without("start", "le2026-11-24T23:59:59.000"), "start"),
    "start=gt": (replace("start", "ge2026-11-22T08:00:00.000", "gt2026-11-22T08:00:00.000"), "start"),
    "a date, not a dateTime": (replace("start", "ge2026-11-22T08:00:00.000", "ge2026-11-22"), "start"),
    "not a date": (replace("start", "ge2026-11-22T08:00:00.000", "geyesterday"), "start"),
    "month 13": (replace("start", "ge2026-11-22T08:00:00.000", "ge2026-13-22T08:00:00"), "start"),
    "ge after le": (replace("start", "ge2026-11-22T08:00:00.000", "ge2026-11-25T08:00:00"), "start"),
    "a third start": (plus("start", "ge2026-11-23T08:00:00"), "start"),
    "no identifier": (without(IDS), IDS),
    "two identifier parameters": (plus(IDS, f"{IDNPS}|810000000003"), IDS),
    "26 identifiers": (replace(IDS, GOOD[2][1], ",".join(f"{IDNPS}|8{i:011d}" for i in range(26))), IDS),
    "empty identifier": (replace(IDS, GOOD[2][1], ""), IDS),
    "RPPS without the 8": (replace(IDS, GOOD[2][1], f"{IDNPS}|10000000001"), IDS),
    "ADELI system": (replace(IDS, GOOD[2][1], "urn:oid:1.2.250.1.71.4.2.2|810000000001"), IDS),
    "no system": (replace(IDS, GOOD[2][1], "810000000001"), IDS),
    "no status": (without("status"), "status"),
    "status=busy": (replace("status", "free", "busy"), "status"),
    "no _include=Slot:schedule": (without("_include", "Slot:schedule"), "_include"),
    "no _include:iterate=Schedule:actor": (without("_include:iterate", "Schedule:actor"), "_include"),
    "another include": (plus("_include", "Slot:specialty"), "_include"),
    "a revinclude": (plus("_revinclude", "Appointment:slot"), "_revinclude"),
    "a repeated include": (plus("_include", "Slot:schedule"), "_include"),
    "_count": (plus("_count", "10"), "_count"),
    "an unknown parameter": (plus("foo", "bar"), "foo"),
}


@pytest.fixture
def sas(ids: Identities) -> httpx.Client:
    return ids.client("sas-region", "sas-consumer")


def test_sas_each_wrong_or_missing_parameter_is_a_400(sas: httpx.Client) -> None:
    for label, (change, parameter) in CASES.items():
        response = sas.get("/fhir/Slot", params=tuple(change(list(GOOD))))
        assert response.status_code == 400, f"{label}: {response.status_code} {response.text}"
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome", label
        issue = outcome["issue"][0]
        assert issue["severity"] == "error" and issue["expression"] == [f"parameter:{parameter}"], (label, issue)
    assert sas.get("/fhir/Slot", params=tuple(GOOD)).status_code == 200


def test_sas_consumer_slot_searches_must_be_int_r04(sas: httpx.Client) -> None:
    assert sas.get("/fhir/Slot", params={"status": "free"}).status_code == 400
    assert sas.post("/fhir/Slot/_search", data={"status": "free"}, headers={"Content-Type": ""}).status_code == 400
    assert sas.get("/fhir/Schedule").status_code == 403  # the SAS reads the other types only as includes


def test_sas_contract_applies_to_another_caller_only_with_the_include_set(ids: Identities) -> None:
    other = ids.client("coordination", "coordinator")
    assert other.get("/fhir/Slot", params={"status": "free", "_count": "5"}).status_code == 200
    bad = [*GOOD, ("_count", "5")]
    response = other.get("/fhir/Slot", params=tuple(bad))
    assert response.status_code == 400 and response.json()["issue"][0]["expression"] == ["parameter:_count"]
    assert other.get("/fhir/Slot", params=tuple(GOOD)).json()["meta"]["profile"]

"""``specialty`` and ``service-type`` filters on Slots test the row's ``codes`` text (gateway/storage/slot_rows.py)
instead of probing the token index per candidate: same answers as the probes, for every form of token value."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from gateway.storage.slot_rows import CODES_MAX, codes_column, codes_needle

R38 = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
OTHER = "urn:example:specialties"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def slot(ident: str, specialties: list[dict[str, Any]], service: str) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": ident,
        "schedule": {"reference": "Schedule/sch"},
        "status": "free",
        "start": "2030-03-11T08:00:00+01:00",
        "end": "2030-03-11T08:15:00+01:00",
        "specialty": [{"coding": [c]} for c in specialties],
        "serviceType": [{"coding": [{"system": ACT, "code": service}]}],
    }


SLOTS = [
    slot("gp", [{"system": R38, "code": "SM54"}], "AMB"),
    slot("two", [{"system": R38, "code": "SM26"}, {"system": OTHER, "code": "SM54"}], "HH"),
    slot("nosystem", [{"code": "SM54"}], "VR"),
    slot("spaced", [{"system": R38, "code": "SM 54"}], "AMB"),  # no codes text: probed
]


def test_codes_text_and_needles() -> None:
    rows = [
        {"param": "specialty", "system": R38, "code": "SM54"},
        {"param": "identifier", "system": "urn:x", "code": "1"},
        {"param": "service-type", "system": None, "code": "AMB"},
    ]
    assert codes_column(rows) == f" specialty={R38}|SM54 service-type=|AMB "
    assert codes_column([{"param": "specialty", "system": R38, "code": "SM 54"}]) is None
    assert codes_column([]) == " "
    assert codes_needle("specialty", f"{R38}|SM54") == f" specialty={R38}|SM54 "
    assert codes_needle("specialty", f"{R38}|") == f" specialty={R38}|"
    assert codes_needle("specialty", "|SM54") == " specialty=|SM54 "
    assert [codes_needle("specialty", v) for v in ("SM54", "|", "a b|c")] == [None, None, None]


QUERIES: list[tuple[str, str, set[str]]] = [
    ("specialty", f"{R38}|SM54", {"gp"}),
    ("specialty", f"{OTHER}|SM54", {"two"}),
    ("specialty", "SM54", {"gp", "two", "nosystem"}),
    ("specialty", "|SM54", {"nosystem"}),
    ("specialty", f"{R38}|", {"gp", "two", "spaced"}),
    ("specialty", f"{R38}|SM26,{R38}|SM54", {"gp", "two"}),
    ("specialty", f"{R38}|SM 54", {"spaced"}),
    ("specialty", f"{R38}|SM5", set()),  # a prefix is not a code
    ("service-type", f"{ACT}|HH", {"two"}),
    ("service-type", f"{ACT}|AMB", {"gp", "spaced"}),
    ("service-type", f"{R38}|AMB", set()),
]


def found(client: httpx.Client, name: str, value: str) -> set[str]:
    response = client.get("/fhir/Slot", params={name: value, "start": "ge2030-03-11", "_count": "50"})
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


@pytest.fixture
def slots(client: httpx.Client) -> None:
    for resource in SLOTS:
        assert client.put(f"/fhir/Slot/{resource['id']}", json=resource).status_code == 201


@pytest.mark.parametrize(("name", "value", "wanted"), QUERIES)
def test_coded_filters_answer_as_the_token_index(
    client: httpx.Client, engine: Engine, slots: None, name: str, value: str, wanted: set[str]
) -> None:
    with engine.connect() as conn:  # every Slot but the one with a spaced code has its text
        assert conn.execute(text("SELECT count(codes) FROM search_slot")).scalar_one() == len(SLOTS) - 1
    assert found(client, name, value) == wanted
    with engine.begin() as conn:  # the same search with every row probed
        conn.execute(text("UPDATE search_slot SET codes = NULL"))
    assert found(client, name, value) == wanted


def test_a_text_too_long_for_an_index_entry_is_left_out() -> None:
    many = [{"param": "specialty", "system": R38, "code": f"SM{n:02d}"} for n in range(12)]
    assert codes_column(many) is None  # about 1,100 bytes: the row is probed instead
    accented = [{"param": "specialty", "system": "urn:é", "code": "é" * 600}]
    assert len(f" specialty=urn:é|{'é' * 600} ") < CODES_MAX < len(f" specialty=urn:é|{'é' * 600} ".encode())
    assert codes_column(accented) is None  # counted in bytes, as the index holds it

"""The SAS answer holds every matching Slot, read in one query (``SearchEngine.every_match``): in start order, and
refused with a 400 naming ``start`` when more than ``MAX_SLOTS`` match."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.sas import search as sas_search
from tests.gateway.sas.sas_support import IDNPS, int_r04
from tests.security.identities import CENTRE_A, Identities

R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
GP_PS = "810000000088"


def put(http: httpx.Client, resource: dict[str, Any]) -> None:
    response = http.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.text


@pytest.fixture
def sas(ids: Identities) -> httpx.Client:
    centre = ids.centre(CENTRE_A)
    put(centre, {"resourceType": "Practitioner", "id": "gp", "identifier": [{"system": IDNPS, "value": GP_PS}]})
    put(centre, {"resourceType": "Schedule", "id": "s", "actor": [{"reference": "Practitioner/gp"}]})
    for sid, hour in (("late", "11"), ("early", "08"), ("mid", "09")):  # written out of order
        slot = {
            "resourceType": "Slot",
            "id": sid,
            "meta": {"security": [{"system": R314, "code": "SNP"}]},
            "schedule": {"reference": "Schedule/s"},
            "status": "free",
            "start": f"2030-03-11T{hour}:00:00+01:00",
            "end": f"2030-03-11T{hour}:15:00+01:00",
        }
        put(centre, slot)
    return ids.client("sas-region", "sas-consumer")


def ask(sas: httpx.Client) -> httpx.Response:
    query = int_r04([GP_PS], "2030-03-11T00:00:00.000+01:00", "2030-03-11T23:59:59.000+01:00")
    return sas.get("/fhir/Slot", params=tuple(query))


def test_every_match_in_start_order(sas: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sas_search, "MAX_SLOTS", 3)  # exactly as many as match: all of them
    response = ask(sas)
    assert response.status_code == 200, response.text
    bundle = response.json()
    slots = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert [s["id"] for s in slots] == ["early", "mid", "late"] and bundle["total"] == 3
    assert all(s["meta"]["versionId"] == "1" and s["start"].endswith(".000+01:00") for s in slots)


def test_more_matches_than_an_answer_holds_are_refused(sas: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sas_search, "MAX_SLOTS", 2)
    response = ask(sas)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["parameter:start"] and "API-SAS-TOO-MANY" in response.text

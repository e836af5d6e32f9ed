"""Slots rendered for the SAS when stored (gateway/sas/fragments.py): the answer assembled from them is the answer
rendered from the Slots' content, and what cannot be prepared ahead is rendered at request time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text

from gateway.sas import profiles as P
from gateway.sas.checker import problems
from gateway.sas.fragments import SasTimes, link_elements, sas_time, slot_fragments, with_times
from gateway.settings import Settings
from tests.gateway.sas.sas_support import Territory, int_r04, seed, window
from tests.security.identities import Identities

R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
SLOT: dict[str, Any] = {
    "resourceType": "Slot",
    "id": "s1",
    "meta": {"versionId": "2", "lastUpdated": "2030-03-01T10:00:00.000Z", "profile": ["http://gap/slot"],
             "security": [{"system": R314, "code": "SNP"}]},
    "schedule": {"reference": "Schedule/sch"},
    "serviceType": [{"extension": [{"url": P.SLOT_SERVICE_TYPE_URL,
                                    "valueReference": {"reference": "HealthcareService/hs"}}]}],
    "status": "free",
    "start": "2030-03-11T08:00:00+01:00",
    "end": "2030-03-11T08:15:00+01:00",
}  # fmt: skip


def test_a_fragment_is_the_sas_rendering_without_the_times() -> None:
    sas, links = slot_fragments(SLOT)
    assert sas is not None and links is not None
    rendered = orjson.loads(sas)
    assert "start" not in rendered and "end" not in rendered
    assert rendered["meta"] == {
        "versionId": "2",
        "lastUpdated": "2030-03-01T10:00:00.000Z",
        "profile": [P.PROFILES["Slot"]],
        "security": [{"system": R314, "code": "SNP"}],
    }
    assert orjson.loads(links) == {"schedule": SLOT["schedule"], "serviceType": SLOT["serviceType"]}
    assert set(link_elements()) == {"schedule", "serviceType"}


@pytest.mark.parametrize(
    "change",
    [
        {"start": "2030-03-11"},  # a date, not an instant
        {"end": None},
        {"start": "2030-03-11T08:00"},  # no seconds, no zone
        {"schedule": {"reference": "https://other.example/fhir/Schedule/sch"}},  # absolute: made relative per request
    ],
)
def test_what_cannot_be_prepared_ahead_has_no_fragment(change: dict[str, Any]) -> None:
    slot = {k: v for k, v in {**SLOT, **change}.items() if v is not None}
    assert slot_fragments(slot) == (None, None)


def test_times_are_added_in_the_zone_with_milliseconds_and_an_offset() -> None:
    paris = ZoneInfo("Europe/Paris")
    sas, _ = slot_fragments(SLOT)
    assert sas is not None
    times = SasTimes(paris)
    start, end = times["2030-03-11 07:00:00.000000"], times[datetime(2030, 3, 11, 7, 15)]
    done = orjson.loads(with_times(sas.encode(), start, end))
    assert (done["start"], done["end"]) == ("2030-03-11T08:00:00.000+01:00", "2030-03-11T08:15:00.000+01:00")
    assert sas_time("2030-07-01 06:00:00.500000", paris) == "2030-07-01T08:00:00.500+02:00"
    assert sas_time(datetime(2030, 7, 1, 6, 0), ZoneInfo("UTC")) == "2030-07-01T06:00:00.000+00:00"


@pytest.fixture
def territory(ids: Identities, engine: Engine, secure_settings: Settings) -> Territory:
    return seed(engine, secure_settings)


def _ask(sas: httpx.Client, territory: Territory, when: tuple[datetime, datetime] | None = None) -> dict[str, Any]:
    low, high = when or window()
    params = int_r04(territory.practitioners, low.isoformat(), high.isoformat())
    response = sas.get("/fhir/Slot", params=tuple(params))
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    assert problems(bundle) == []
    return bundle


def _comparable(bundle: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in bundle.items() if key not in ("id", "meta")}


def test_the_answer_from_fragments_is_the_answer_from_content(
    ids: Identities, engine: Engine, territory: Territory
) -> None:
    sas = ids.client("sas-region", "sas-consumer")
    when = window()
    prepared = _ask(sas, territory, when)
    assert prepared["total"] > 0
    with engine.begin() as conn:  # as if every Slot had been stored without a fragment
        assert conn.execute(text("UPDATE search_slot SET sas = NULL, links = NULL")).rowcount > 0
    from_content = _ask(sas, territory, when)
    assert _comparable(prepared) == _comparable(from_content)
    with engine.begin() as conn:  # and a mix of both, in start order
        conn.execute(text("UPDATE search_slot SET sas = NULL WHERE rid % 2 = 0"))
    assert _comparable(_ask(sas, territory, when)) == _comparable(from_content)


def test_a_slot_written_again_is_answered_from_its_new_fragment(
    ids: Identities, engine: Engine, territory: Territory, client: httpx.Client
) -> None:
    sas = ids.client("sas-region", "sas-consumer")
    first = next(e["resource"] for e in _ask(sas, territory)["entry"] if e["resource"]["resourceType"] == "Slot")
    stored = client.get(f"/fhir/Slot/{first['id']}").json()
    client.put(f"/fhir/Slot/{first['id']}", json={**stored, "comment": "https://booking.example/new"})
    again = next(e["resource"] for e in _ask(sas, territory)["entry"] if e["resource"]["id"] == first["id"])
    assert again["comment"] == "https://booking.example/new" and again["meta"]["versionId"] == "2"
    client.put(f"/fhir/Slot/{first['id']}", json={**stored, "status": "busy"})
    assert first["id"] not in {e["resource"]["id"] for e in _ask(sas, territory)["entry"]}


def test_a_batch_embeds_the_sas_answer(ids: Identities, territory: Territory, client: httpx.Client) -> None:
    low, high = window()
    query = httpx.QueryParams(int_r04(territory.practitioners, low.isoformat(), high.isoformat()))
    entry = {"request": {"method": "GET", "url": f"Slot?{query}"}}
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [entry]}
    response = client.post("/fhir", json=batch)
    assert response.status_code == 200, response.text
    answer = response.json()["entry"][0]["resource"]
    assert answer["resourceType"] == "Bundle" and answer["total"] > 0
    assert answer["meta"]["profile"] == [P.BUNDLE_PROFILE]

"""Coordinator searches of free SNP slots: by place (commune, postal code, distance), by slot type, in start order.

Centre A has its consultation place in Rennes (48.1173, -1.6778), centre B in Saint-Malo (48.6493, -2.0257), about
65 km apart. Each has one practitioner, with a Schedule whose actors are the Practitioner and the PractitionerRole;
the role contains its Location (the demo and the SAS model).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import put

R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
RENNES = (48.1173, -1.6778)
SAINT_MALO = (48.6493, -2.0257)
WINDOW = {"start": ["ge2030-03-11T00:00:00+01:00", "le2030-03-12T00:00:00+01:00"], "status": "free"}


def role(rid: str, practitioner: str, city: str, postal: str, where: tuple[float, float] | None) -> dict[str, Any]:
    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": "location",
        "address": {"line": ["1 rue de la Santé"], "city": city, "postalCode": postal},
    }
    if where is not None:
        location["position"] = {"latitude": where[0], "longitude": where[1]}
    return {
        "resourceType": "PractitionerRole",
        "id": rid,
        "contained": [location],
        "practitioner": {"reference": f"Practitioner/{practitioner}"},
        "location": [{"reference": "#location"}],
    }


def structure(http: httpx.Client, tag: str, city: str, postal: str, where: tuple[float, float] | None) -> None:
    put(http, {"resourceType": "Practitioner", "id": f"p-{tag}",
               "identifier": [{"system": IDNAT_PS, "value": f"81000000000{tag}"}]})  # fmt: skip
    put(http, role(f"r-{tag}", f"p-{tag}", city, postal, where))
    actors = [{"reference": f"Practitioner/p-{tag}"}, {"reference": f"PractitionerRole/r-{tag}"}]
    put(http, {"resourceType": "Schedule", "id": f"s-{tag}", "actor": actors})


def slot(sid: str, schedule: str, hour: str, status: str = "free", kind: str = "SNP") -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": sid,
        "meta": {"security": [{"system": R314, "code": kind}]},
        "schedule": {"reference": f"Schedule/{schedule}"},
        "status": status,
        "start": f"2030-03-11T{hour}:00+01:00",
        "end": f"2030-03-11T{hour}:15+01:00",
    }


@pytest.fixture
def centres(ids: Identities) -> tuple[httpx.Client, httpx.Client]:
    return ids.centre(CENTRE_A), ids.centre(CENTRE_B)


@pytest.fixture
def territory(centres: tuple[httpx.Client, httpx.Client]) -> None:
    a, b = centres
    structure(a, "1", "Rennes", "35000", RENNES)
    structure(b, "2", "Saint-Malo", "35400", SAINT_MALO)
    for sid, hour, status, kind in (
        ("a-09", "09:00", "free", "SNP"),
        ("a-08", "08:00", "free", "SNP"),
        ("a-10", "10:00", "busy", "SNP"),
        ("a-11", "11:00", "free", "PUBLIC"),
        ("a-12", "12:00", "free", "SNP"),
    ):
        put(a, slot(sid, "s-1", hour, status, kind))
    for sid, hour in (("b-08", "08:00"), ("b-08b", "08:00"), ("b-13", "13:00")):
        put(b, slot(sid, "s-2", hour))


def found(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"]


def search(http: httpx.Client, **extra: Any) -> httpx.Response:
    return http.get("/fhir/Slot", params={**WINDOW, "_security": f"{R314}|SNP", **extra})


def test_free_snp_slots_of_every_centre_in_start_order(ids: Identities, territory: None) -> None:
    coordinator = ids.client("coord", "coordinator")
    assert found(search(coordinator)) == ["a-08", "b-08", "b-08b", "a-09", "a-12", "b-13"]
    assert found(search(coordinator, _sort="-start")) == ["b-13", "a-12", "a-09", "b-08b", "b-08", "a-08"]


def test_by_commune_and_postal_code(ids: Identities, territory: None) -> None:
    coordinator = ids.client("coord", "coordinator")
    assert found(search(coordinator, **{"address-city": "rennes"})) == ["a-08", "a-09", "a-12"]
    assert found(search(coordinator, **{"address-city": "SAINT-mal"})) == ["b-08", "b-08b", "b-13"]
    assert found(search(coordinator, **{"address-city:exact": "Saint-Mal"})) == []
    assert found(search(coordinator, **{"address-postalcode": "354"})) == ["b-08", "b-08b", "b-13"]
    assert found(search(coordinator, **{"address-postalcode": "35000,35400"})) == found(search(coordinator))


def test_by_distance_from_a_point(ids: Identities, territory: None) -> None:
    coordinator = ids.client("coord", "coordinator")
    near_rennes = f"{RENNES[0]}|{RENNES[1]}"
    assert found(search(coordinator, near=f"{near_rennes}|5|km")) == ["a-08", "a-09", "a-12"]
    assert found(search(coordinator, near=f"{near_rennes}|5000|m")) == ["a-08", "a-09", "a-12"]
    # Saint-Malo is 65 km away (haversine): outside 60 km, inside 70 km.
    assert found(search(coordinator, near=f"{near_rennes}|60|km")) == ["a-08", "a-09", "a-12"]
    assert len(found(search(coordinator, near=f"{near_rennes}|70|km"))) == 6
    assert found(search(coordinator, near="48.0|-1.0|1|km")) == []


@pytest.mark.parametrize(
    ("value", "says"),
    [("48.1|abc|5|km", "decimal numbers"), ("48.1", "latitude|longitude"), ("48.1|-1.6|5|parsec", "unit"),
     ("95|-1.6|5|km", "-90..90"), ("48.1|-1.6|9000|km", "between 0 and")],
)  # fmt: skip
def test_a_bad_point_is_refused_with_its_location(ids: Identities, territory: None, value: str, says: str) -> None:
    response = search(ids.client("coord", "coordinator"), near=value)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["parameter:near"]
    assert says in issue["diagnostics"]


def test_pages_in_start_order_cover_every_match_once(ids: Identities, territory: None) -> None:
    coordinator = ids.client("coord", "coordinator")
    seen: list[str] = []
    response = search(coordinator, _count="2")
    while True:
        page = found(response)
        assert len(page) <= 2
        seen.extend(page)
        following = [link["url"] for link in response.json()["link"] if link["relation"] == "next"]
        if not following:
            break
        response = coordinator.get(following[0])
    assert seen == ["a-08", "b-08", "b-08b", "a-09", "a-12", "b-13"]


def test_a_moved_place_is_seen_at_once(ids: Identities, centres: Any, territory: None) -> None:
    """The directory is rebuilt when a PractitionerRole changes: no stale answer after the write commits."""
    coordinator = ids.client("coord", "coordinator")
    assert found(search(coordinator, **{"address-city": "rennes"})) == ["a-08", "a-09", "a-12"]
    put(centres[1], role("r-2", "p-2", "Rennes", "35200", (48.10, -1.65)))
    assert found(search(coordinator, **{"address-city": "rennes"})) == ["a-08", "b-08", "b-08b", "a-09", "a-12", "b-13"]
    assert found(search(coordinator, **{"address-postalcode": "35400"})) == []


def test_missing_place_and_identifier_chain(ids: Identities, centres: Any, territory: None) -> None:
    coordinator = ids.client("coord", "coordinator")
    put(centres[1], role("r-2", "p-2", "Saint-Malo", "35400", None))  # no position any more
    assert found(search(coordinator, **{"near:missing": "true"})) == ["b-08", "b-08b", "b-13"]
    assert found(search(coordinator, **{"near:missing": "false"})) == ["a-08", "a-09", "a-12"]
    chain = "schedule.actor:Practitioner.identifier"
    assert found(search(coordinator, **{chain: f"{IDNAT_PS}|810000000002"})) == ["b-08", "b-08b", "b-13"]
    assert found(search(coordinator, **{chain: f"{IDNAT_PS}|899999999999"})) == []


def test_a_centre_sees_its_own_slots_only(centres: Any, territory: None) -> None:
    centre_a = centres[0]
    assert found(search(centre_a)) == ["a-08", "a-09", "a-12"]
    chain = "schedule.actor:Practitioner.identifier"
    assert found(search(centre_a, **{chain: f"{IDNAT_PS}|810000000002"})) == []  # B's practitioner: not visible
    assert found(search(centre_a, **{"address-city": "saint-malo"})) == []


def test_a_coordinator_is_told_which_centres_shown_are_stale(ids: Identities, centres: Any, territory: None) -> None:
    """Neither centre ever synced its agenda (the slots were written through the API): both are flagged."""
    coordinator = ids.client("coord", "coordinator")
    bundle = search(coordinator, **{"address-city": "rennes"}).json()
    outcomes = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1
    issues = outcomes[0]["issue"]
    assert [i["details"]["coding"][0]["code"] for i in issues] == ["CAPACITY-STALE"]  # A only: B has no slot shown
    assert CENTRE_A in issues[0]["diagnostics"] and "never synced" in issues[0]["diagnostics"]
    assert issues[0]["severity"] == "warning"
    # a centre knows its own sync: no such warning
    assert all(e["search"]["mode"] == "match" for e in search(centres[0]).json()["entry"])


@pytest.mark.parametrize(
    ("params", "where"),
    [({"_sort": "address-city"}, "parameter:_sort"),
     ({"address-city:contains": "enn"}, "parameter:address-city:contains")],
)  # fmt: skip
def test_place_parameters_are_plain_filters(ids: Identities, params: dict[str, str], where: str) -> None:
    response = ids.client("coord", "coordinator").get("/fhir/Slot", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == [where]


def test_a_place_parameter_cannot_be_reached_through_a_chain(ids: Identities) -> None:
    response = ids.centre(CENTRE_A).get("/fhir/Appointment", params={"slot.address-city": "Rennes"})
    assert response.status_code == 400, response.text
    assert "not through a chain" in response.json()["issue"][0]["diagnostics"]


def test_the_place_parameters_are_defined_and_declared(ids: Identities) -> None:
    from fhir.resources.R4B.searchparameter import SearchParameter

    coordinator = ids.client("coord", "coordinator")
    slot = next(r for r in coordinator.get("/fhir/metadata").json()["rest"][0]["resource"] if r["type"] == "Slot")
    declared = {p["name"]: p for p in slot["searchParam"]}
    for code, kind in (("address-city", "string"), ("address-postalcode", "string"), ("near", "special")):
        assert declared[code]["type"] == kind
        ident = f"slot-{code}"
        assert declared[code]["definition"] == f"urn:cpts-gateway:SearchParameter:{ident}"
        response = coordinator.get(f"/fhir/SearchParameter/{ident}")
        assert response.status_code == 200, response.text
        parameter = SearchParameter.model_validate(response.json())
        assert (parameter.code, parameter.type, parameter.base) == (code, kind, ["Slot"])

"""Coordinates of the demo territory: every commune has its centroid, every generated place a position near it."""

from __future__ import annotations

import datetime as dt
import math
import re
from importlib import resources
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.demo import DemoOptions, generate_territory
from gateway.demo.gazetteer import (
    PLACE_RADIUS_M,
    Address,
    GazetteerError,
    load_gazetteer,
    parse_gazetteer,
    place_position,
)
from gateway.demo.structures import CONTAINED_LOCATION

Resource = dict[str, Any]
START = dt.date(2026, 11, 20)
INSEE_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
EARTH_RADIUS_M = 6_371_000.0


def places(seed: int, centres: int = 30) -> list[Resource]:
    """Every Location of the territory: the rooms' and the one each PractitionerRole contains."""
    found: list[Resource] = []
    for _, resource in generate_territory(DemoOptions(centres=centres, days=0, seed=seed, start=START)):
        if resource["resourceType"] == "Location":
            found.append(resource)
        elif resource["resourceType"] == "PractitionerRole":
            found.extend(c for c in resource["contained"] if c["id"] == CONTAINED_LOCATION)
    return found


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def insee(location: Resource) -> str:
    extension = location["address"]["extension"]
    return str(next(e for e in extension if e["url"] == INSEE_URL)["valueCoding"]["code"])


def test_every_commune_has_a_centroid_in_the_departement() -> None:
    gazetteer = load_gazetteer()
    assert len(gazetteer.communes) >= 30
    for commune in gazetteer.communes:
        assert 47.0 <= commune.latitude <= 49.0 and -2.5 <= commune.longitude <= -0.9, commune
    rennes = gazetteer.communes[0]
    assert rennes.name == "Rennes" and distance_m(rennes.latitude, rennes.longitude, 48.1115, -1.6800) < 2000


@pytest.fixture(scope="module")
def territory_places() -> list[Resource]:
    return places(seed=1)


def test_every_demo_place_has_a_position_near_its_commune(territory_places: list[Resource]) -> None:
    communes = {c.insee: c for c in load_gazetteer().communes}
    assert territory_places
    for location in territory_places:
        position = location["position"]
        assert set(position) == {"longitude", "latitude"}
        commune = communes[insee(location)]
        gap = distance_m(commune.latitude, commune.longitude, position["latitude"], position["longitude"])
        assert gap <= PLACE_RADIUS_M + 1, (location["name"], gap)
        keys = list(location)  # FHIR element order: ..., physicalType, position, managingOrganization
        assert keys.index("physicalType") + 1 == keys.index("position") == keys.index("managingOrganization") - 1


def test_a_role_consults_where_its_room_is(territory_places: list[Resource]) -> None:
    rooms = {(r["name"], r["address"]["line"][0]): r["position"] for r in territory_places if r["id"] != "location"}
    contained = [r for r in territory_places if r["id"] == CONTAINED_LOCATION]
    assert contained
    for location in contained:
        assert location["position"] == rooms[(location["name"], location["address"]["line"][0])]


def test_centres_of_one_commune_are_apart(territory_places: list[Resource]) -> None:
    by_centre = {r["managingOrganization"]["reference"]: r for r in territory_places}
    by_commune: dict[str, set[tuple[float, float]]] = {}
    for location in by_centre.values():
        point = (location["position"]["latitude"], location["position"]["longitude"])
        by_commune.setdefault(insee(location), set()).add(point)
    crowded = max(by_commune.values(), key=len)
    assert len(crowded) >= 3  # Rennes holds a large share of the centres
    for a, b in pairwise(sorted(crowded)):
        assert distance_m(*a, *b) > 1


def test_positions_are_deterministic_for_a_seed(territory_places: list[Resource]) -> None:
    assert places(seed=1) == territory_places
    other = places(seed=2)
    assert [p["position"] for p in other] != [p["position"] for p in territory_places]


@given(line=st.text(min_size=1, max_size=40), index=st.integers(0, 30), which=st.integers(0, 2))
def test_place_position_stays_within_its_radius(line: str, index: int, which: int) -> None:
    commune = load_gazetteer().communes[index]
    postal_code = commune.postal_codes[which % len(commune.postal_codes)]
    address = Address(line, commune, postal_code)
    position = place_position(address)
    assert place_position(address) == position
    assert distance_m(commune.latitude, commune.longitude, position.latitude, position.longitude) <= PLACE_RADIUS_M + 1


def packaged_text() -> str:
    return resources.files("gateway.demo").joinpath("gazetteer.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((r", latitude: 48\.6463, longitude: -2\.0071", ""), r"'Saint-Malo' \(35288\): latitude must be a number"),
        ((r"longitude: -1\.1953", "longitude: lots"), r"'Fougères' \(35115\): longitude must be a number"),
        ((r"latitude: 48\.1105", "latitude: 49.5"), r"'Vitré' \(35360\): 49\.5, -1\.1972 is outside latitude 47"),
        ((r"longitude: -4\.4996", "longitude: 14.4996"), r"'Brest' \(29019\): .* outside latitude 41"),
    ],
)
def test_a_commune_without_valid_coordinates_is_refused(change: tuple[str, str], message: str) -> None:
    text, count = re.subn(change[0], change[1], packaged_text())
    assert count == 1
    with pytest.raises(GazetteerError, match=message):
        parse_gazetteer(text)

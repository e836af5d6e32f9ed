"""``near``: the latitude band that spares the great-circle computation never drops a place within the distance.

The answer is compared with the plain test of every place (``Place.distance_km``), on random points and on places
lying exactly on the band's edge (same longitude, the distance away along the meridian)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.capacity.directory import EARTH_RADIUS_KM, Directory, Place, ScheduleEntry
from gateway.capacity.slot_plan import _near


class Everyone:
    def allows(self, tenant: str | None) -> bool:
        return True


def directory_of(places: list[tuple[float, float]]) -> Directory:
    directory = Directory(stamp=(0,))
    for n, (latitude, longitude) in enumerate(places):
        place = Place(latitude=latitude, longitude=longitude)
        directory.schedules[f"s{n}"] = ScheduleEntry(f"s{n}", "350000014", (), place)
    return directory


def plainly(point: tuple[float, float, float], directory: Directory) -> set[str]:
    latitude, longitude, km = point
    return {
        entry.id
        for entry in directory.schedules.values()
        if entry.place is not None and (d := entry.place.distance_km(latitude, longitude)) is not None and d <= km
    }


latitudes = st.floats(min_value=-89.0, max_value=89.0)
longitudes = st.floats(min_value=-180.0, max_value=180.0)
distances = st.floats(min_value=0.0, max_value=500.0)


@settings(max_examples=200, deadline=None)
@given(
    point=st.tuples(latitudes, longitudes, distances),
    places=st.lists(st.tuples(latitudes, longitudes), max_size=30),
)
def test_near_matches_the_plain_distance_test(
    point: tuple[float, float, float], places: list[tuple[float, float]]
) -> None:
    directory = directory_of(places)
    assert _near(point, directory, Everyone()) == plainly(point, directory)


@settings(max_examples=200, deadline=None)
@given(latitude=st.floats(min_value=-80.0, max_value=80.0), longitude=longitudes, km=st.floats(0.001, 500.0))
def test_a_place_on_the_edge_of_the_band_is_kept(latitude: float, longitude: float, km: float) -> None:
    """Due north and due south, just inside the distance: found, as the plain test finds it."""
    step = math.degrees(km / EARTH_RADIUS_KM) * (1 - 1e-7)
    directory = directory_of([(latitude + step, longitude), (latitude - step, longitude)])
    point = (latitude, longitude, km)
    assert _near(point, directory, Everyone()) == plainly(point, directory) == {"s0", "s1"}


def test_places_beyond_the_band_or_unplaced_are_left_out() -> None:
    directory = directory_of([(48.1173, -1.6778), (48.6493, -2.0257)])  # Rennes, Saint-Malo: ~65 km apart
    directory.schedules["nowhere"] = ScheduleEntry("nowhere", None, (), Place(city="rennes"))
    assert _near((48.1173, -1.6778, 10.0), directory, Everyone()) == {"s0"}
    assert _near((48.1173, -1.6778, 70.0), directory, Everyone()) == {"s0", "s1"}

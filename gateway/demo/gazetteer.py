"""Word lists of the demo territory (names, streets, communes with their centroids), read from ``gazetteer.yaml``
next to this module.

Every commune carries its centroid (WGS84); a demo place gets the centroid of its commune moved by a small offset drawn
from its address (:func:`place_position`), so centres of one commune do not sit on top of each other and the same
address always lands on the same spot.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Commune:
    """A real commune: name, INSEE (COG) code, its postal codes and its centroid (WGS84 decimal degrees)."""

    name: str
    insee: str
    postal_codes: tuple[str, ...]
    weight: int
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Position:
    """A point, WGS84 decimal degrees (``Location.position``)."""

    latitude: float
    longitude: float

    def json(self) -> dict[str, float]:
        return {"longitude": self.longitude, "latitude": self.latitude}


@dataclass(frozen=True, slots=True)
class Bounds:
    """The rectangle a set of communes' centroids must lie in."""

    latitude: tuple[float, float]
    longitude: tuple[float, float]

    def holds(self, latitude: float, longitude: float) -> bool:
        return self.latitude[0] <= latitude <= self.latitude[1] and self.longitude[0] <= longitude <= self.longitude[1]


class GazetteerError(ValueError):
    """The gazetteer file is not usable (a commune without valid coordinates, ...)."""


PLACE_RADIUS_M = 1500.0  # how far a place may lie from its commune's centroid
_METRES_PER_DEGREE = 111_320.0  # of latitude; of longitude times cos(latitude)


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address in the territory (one street line)."""

    line: str
    commune: Commune
    postal_code: str


@dataclass(frozen=True)
class Gazetteer:
    """Everything the generator draws names and places from."""

    department_code: str
    department_name: str
    communes: tuple[Commune, ...]
    birth_communes: tuple[Commune, ...]
    female_given_names: tuple[str, ...]
    male_given_names: tuple[str, ...]
    family_names: tuple[str, ...]
    streets: tuple[str, ...]
    eponyms: tuple[str, ...]
    quarters: dict[str, tuple[str, ...]]
    commune_weights: tuple[int, ...]  # cumulative weights of ``communes``
    birth_weights: tuple[int, ...]  # cumulative weights of ``birth_communes``

    def commune(self, rng: random.Random) -> Commune:
        """A commune of the département, weighted by population."""
        return rng.choices(self.communes, cum_weights=self.commune_weights)[0]

    def birth_commune(self, rng: random.Random) -> Commune:
        """A birth place: mostly in the département, sometimes elsewhere in western France."""
        if rng.random() < 0.7:
            return self.commune(rng)
        return rng.choices(self.birth_communes, cum_weights=self.birth_weights)[0]

    def given_name(self, rng: random.Random, gender: str) -> str:
        return rng.choice(self.female_given_names if gender == "female" else self.male_given_names)

    def family_name(self, rng: random.Random) -> str:
        return rng.choice(self.family_names)

    def address(self, rng: random.Random, commune: Commune | None = None) -> Address:
        """A street address in ``commune`` (or a weighted random commune)."""
        where = commune if commune is not None else self.commune(rng)
        number = rng.randint(1, 120)
        suffix = " bis" if rng.random() < 0.04 else ""
        return Address(f"{number}{suffix} {rng.choice(self.streets)}", where, rng.choice(where.postal_codes))

    def quarters_of(self, commune: Commune) -> tuple[str, ...]:
        return self.quarters.get(commune.name, self.quarters["default"])


def place_position(address: Address) -> Position:
    """The position of a place at ``address``: its commune's centroid plus an offset of at most
    :data:`PLACE_RADIUS_M`, uniform over the disc and drawn from the address alone (same address, same spot)."""
    commune = address.commune
    rng = random.Random(f"position/{commune.insee}/{address.postal_code}/{address.line}")
    distance = PLACE_RADIUS_M * math.sqrt(rng.random())
    bearing = rng.uniform(0.0, 2.0 * math.pi)
    north = distance * math.cos(bearing) / _METRES_PER_DEGREE
    east = distance * math.sin(bearing) / (_METRES_PER_DEGREE * math.cos(math.radians(commune.latitude)))
    return Position(round(commune.latitude + north, 6), round(commune.longitude + east, 6))


def _coordinate(row: dict[str, Any], key: str) -> float:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GazetteerError(f"commune {row.get('name')!r} ({row.get('insee')}): {key} must be a number, not {value!r}")
    return float(value)


def _bounds(data: dict[str, Any]) -> Bounds:
    low_lat, high_lat = (float(v) for v in data["latitude"])
    low_lon, high_lon = (float(v) for v in data["longitude"])
    return Bounds((low_lat, high_lat), (low_lon, high_lon))


def _communes(rows: list[dict[str, Any]], bounds: Bounds) -> tuple[Commune, ...]:
    communes = []
    for r in rows:
        latitude, longitude = _coordinate(r, "latitude"), _coordinate(r, "longitude")
        if not bounds.holds(latitude, longitude):
            raise GazetteerError(
                f"commune {r['name']!r} ({r['insee']}): {latitude}, {longitude} is outside latitude "
                f"{bounds.latitude[0]}..{bounds.latitude[1]}, longitude {bounds.longitude[0]}..{bounds.longitude[1]}"
            )
        postal_codes = tuple(str(p) for p in r["postal_codes"])
        communes.append(Commune(str(r["name"]), str(r["insee"]), postal_codes, int(r["weight"]), latitude, longitude))
    return tuple(communes)


def _strings(values: list[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The packaged gazetteer (read once per process)."""
    return parse_gazetteer(resources.files(__package__).joinpath("gazetteer.yaml").read_text(encoding="utf-8"))


def parse_gazetteer(text: str) -> Gazetteer:
    """A gazetteer from its YAML text; :class:`GazetteerError` when a commune lacks valid coordinates."""
    data: dict[str, Any] = yaml.safe_load(text)
    communes = _communes(data["communes"], _bounds(data["department"]["bounds"]))
    birth_communes = _communes(data["birth_communes"], _bounds(data["birth_bounds"]))
    return Gazetteer(
        department_code=str(data["department"]["code"]),
        department_name=str(data["department"]["name"]),
        communes=communes,
        birth_communes=birth_communes,
        female_given_names=_strings(data["female_given_names"]),
        male_given_names=_strings(data["male_given_names"]),
        family_names=_strings(data["family_names"]),
        streets=_strings(data["streets"]),
        eponyms=_strings(data["eponyms"]),
        quarters={str(k): _strings(v) for k, v in data["quarters"].items()},
        commune_weights=tuple(accumulate(c.weight for c in communes)),
        birth_weights=tuple(accumulate(c.weight for c in birth_communes)),
    )


__all__ = [
    "PLACE_RADIUS_M",
    "Address",
    "Bounds",
    "Commune",
    "Gazetteer",
    "GazetteerError",
    "Position",
    "load_gazetteer",
    "parse_gazetteer",
    "place_position",
]

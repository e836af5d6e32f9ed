"""Word lists of the demo territory (names, streets, communes), read from ``gazetteer.yaml`` next to this module."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Commune:
    """A real commune: name, INSEE (COG) code and its postal codes."""

    name: str
    insee: str
    postal_codes: tuple[str, ...]
    weight: int


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


def _communes(rows: list[dict[str, Any]]) -> tuple[Commune, ...]:
    return tuple(
        Commune(str(r["name"]), str(r["insee"]), tuple(str(p) for p in r["postal_codes"]), int(r["weight"]))
        for r in rows
    )


def _strings(values: list[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The packaged gazetteer (read once per process)."""
    text = resources.files(__package__).joinpath("gazetteer.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    communes = _communes(data["communes"])
    birth_communes = _communes(data["birth_communes"])
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


__all__ = ["Address", "Commune", "Gazetteer", "load_gazetteer"]

"""The requirement catalog: ``conformance/requirements/*.csv``, one file per area.

Columns: ``id``, ``source`` (label area, IG and profile, the gateway's export format, the architecture contract),
``conformance`` (SHALL / SHOULD / MAY), ``actor``, ``text`` (our own words) and ``not_tested_reason`` (why no check
verifies it, when none does). A malformed file raises :class:`CatalogError` naming the file and line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).parent / "requirements"
COLUMNS = ("id", "source", "conformance", "actor", "text", "not_tested_reason")
LEVELS = ("SHALL", "SHOULD", "MAY")


class CatalogError(ValueError):
    """A requirement file that cannot be read."""


@dataclass(frozen=True)
class Requirement:
    id: str
    source: str
    conformance: str  # SHALL | SHOULD | MAY
    actor: str
    text: str
    not_tested_reason: str
    area: str  # the file's stem

    @property
    def mandatory(self) -> bool:
        return self.conformance == "SHALL"


def read_catalog(root: Path = ROOT) -> dict[str, Requirement]:
    found: dict[str, Requirement] = {}
    for path in sorted(root.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise CatalogError(f"{path.name}:1: the columns must be {', '.join(COLUMNS)}")
            for row in reader:
                where = f"{path.name}:{reader.line_num}"
                values = {k: (v or "").strip() for k, v in row.items() if k is not None}
                if values["conformance"] not in LEVELS:
                    raise CatalogError(f"{where}: conformance must be one of {', '.join(LEVELS)}")
                if not values["id"] or not values["text"]:
                    raise CatalogError(f"{where}: id and text are required")
                if values["id"] in found:
                    raise CatalogError(f"{where}: the requirement {values['id']} is defined twice")
                found[values["id"]] = Requirement(**values, area=path.stem)
    return found


@lru_cache(maxsize=1)
def catalog() -> dict[str, Requirement]:
    """The shipped catalog (read once)."""
    return read_catalog()


__all__ = ["COLUMNS", "LEVELS", "ROOT", "CatalogError", "Requirement", "catalog", "read_catalog"]

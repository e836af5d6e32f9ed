"""The indicators' Measures at application start: read and checked when the app is built (a bad file stops it),
then written to the store as CPTS-level resources (tenant None) once the database is migrated.

Writes are upserts by deterministic id: an unchanged definition writes no new version, a changed one writes the next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gateway.indicators.definitions import ROOT, MeasureDefinition, display_name, read_definition
from gateway.indicators.measure import validated_measure
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import Outcome, WriteItem, build_store

log = logging.getLogger("cpts.indicators")


@dataclass(frozen=True)
class LoadedMeasure:
    definition: MeasureDefinition
    file: str
    resource: dict[str, Any]


def load_measures(root: Path = ROOT) -> list[LoadedMeasure]:
    """Every definition under ``root`` as a validated Measure, sorted by indicator id."""
    loaded = []
    for path in sorted(root.glob("*.yaml")):
        name = display_name(path)
        definition = read_definition(path, name)
        loaded.append(LoadedMeasure(definition, name, validated_measure(definition, name)))
    return sorted(loaded, key=lambda measure: measure.definition.id)


def store_measures(engine: Engine, settings: Settings, measures: list[LoadedMeasure]) -> dict[str, Outcome]:
    """Upsert the Measures (tenant None) in one transaction; the outcome of each by indicator id."""
    store = build_store(engine, settings)
    items = [WriteItem("Measure", m.definition.resource_id, m.resource, tenant=None) for m in measures]
    with write_transaction(engine) as conn:
        outcomes = store.write(conn, items) if items else []
    result = {m.definition.id: o.outcome for m, o in zip(measures, outcomes, strict=True)}
    changed = sorted(key for key, outcome in result.items() if outcome != "unchanged")
    log.info("indicator measures loaded", extra={"count": len(result), "changed": ",".join(changed) or "none"})
    return result


__all__ = ["LoadedMeasure", "load_measures", "store_measures"]

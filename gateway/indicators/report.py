"""A tally rendered as a FHIR R4 summary ``MeasureReport``: populations, score and strata of each Measure group.

Scores (documented in docs/indicators.md, "How the engine counts"):

- proportion: numerator - numerator-exclusion over denominator - denominator-exclusion - denominator-exception;
- ratio: the second measure-observation's sum over the first's (booked minutes / offered minutes);
- continuous-variable: the measure-observation's aggregate (sum, count, median, min, max; mean = the weekly mean:
  the sum over the period's weeks, its days / 7).

A score in ``%`` is multiplied by 100. No score when its denominator (or measure population, or sample) is empty.
Values are rounded to 4 decimals so two runs on the same data give the same JSON.
"""

from __future__ import annotations

import copy
import statistics
from typing import Any

from gateway.fhir.dates import format_instant
from gateway.fhir.ids import deterministic_id
from gateway.indicators.definitions import Group, MeasureDefinition
from gateway.indicators.measure import GROUP_SYSTEM, POPULATION_SYSTEM, STRATIFIER_SYSTEM, UCUM
from gateway.indicators.period import Period
from gateway.indicators.tally import Cell, Tally

AUDIENCE_TAG = "urn:cpts-gateway:indicator-audience"
SCOPE_SYSTEM = "urn:cpts-gateway:scope"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
_UCUM = {"%": "%", "minutes": "min", "hours": "h", "days": "d"}
Json = dict[str, Any]


def population_keys(group: Group) -> list[tuple[str, str]]:
    """(key, code) of a group's populations in order; a repeated code's key gets ``-2`` (as the Measure's ids)."""
    seen: dict[str, int] = {}
    keys = []
    for population in group.populations:
        seen[population.code] = seen.get(population.code, 0) + 1
        count = seen[population.code]
        keys.append((population.code if count == 1 else f"{population.code}-{count}", population.code))
    return keys


def _aggregate(group: Group) -> str:
    return next((p.aggregate for p in group.populations if p.aggregate is not None), "sum")


def score(definition: MeasureDefinition, group: Group, cell: Cell, weeks: float) -> float | None:
    counts, sums, samples = cell.counts, cell.sums, cell.samples
    factor = 100.0 if definition.unit == "%" else 1.0
    if definition.scoring == "proportion":
        excluded = counts.get("denominator-exclusion", 0) + counts.get("denominator-exception", 0)
        denominator = counts.get("denominator", 0) - excluded
        numerator = counts.get("numerator", 0) - counts.get("numerator-exclusion", 0)
        return factor * numerator / denominator if denominator > 0 else None
    if definition.scoring == "ratio":
        below = sums.get("measure-observation", 0.0)
        return factor * sums.get("measure-observation-2", 0.0) / below if below > 0 else None
    if counts.get("measure-population", 0) <= 0:
        return None
    aggregate = _aggregate(group)
    values = samples.get("measure-observation", [])
    if aggregate in ("sum", "count"):
        return factor * sums.get("measure-observation", 0.0)
    if aggregate == "mean":
        return factor * sums.get("measure-observation", 0.0) / weeks if weeks > 0 else None
    if not values:
        return None
    if aggregate == "median":
        return factor * float(statistics.median(values))
    return factor * float(min(values) if aggregate == "min" else max(values))


def _quantity(definition: MeasureDefinition, value: float) -> Json:
    quantity: Json = {"value": round(value, 4)}
    if definition.unit is not None:
        quantity.update({"unit": definition.unit, "system": UCUM, "code": _UCUM[definition.unit]})
    return quantity


def _populations(group: Group, cell: Cell) -> list[Json]:
    return [
        {"id": key, "code": {"coding": [{"system": POPULATION_SYSTEM, "code": code}]}, "count": cell.counts.get(key, 0)}
        for key, code in population_keys(group)
    ]


def _scored(definition: MeasureDefinition, group: Group, cell: Cell, weeks: float, into: Json) -> Json:
    into["population"] = _populations(group, cell)
    value = score(definition, group, cell, weeks)
    if value is not None:
        into["measureScore"] = _quantity(definition, value)
    return into


def _group(
    definition: MeasureDefinition, group: Group, tally: Tally, labels: dict[tuple[str, str], Json], weeks: float
) -> Json:
    found = tally[group.key]
    rendered: Json = {
        "id": group.key,
        "code": {"coding": [{"system": GROUP_SYSTEM, "code": f"{definition.id}.{group.key}"}]},
    }
    _scored(definition, group, found.total, weeks, rendered)
    stratifiers = []
    for spec in group.stratifiers:
        cells = found.strata.get(spec.key, {})
        strata = [
            _scored(definition, group, cells[value], weeks, {"value": labels[(spec.key, value)]})
            for value in sorted(cells)
        ]
        entry: Json = {"code": [{"coding": [{"system": STRATIFIER_SYSTEM, "code": spec.key}]}]}
        if strata:
            entry["stratum"] = strata
        stratifiers.append(entry)
    if stratifiers:
        rendered["stratifier"] = stratifiers
    return rendered


def centre_subject(organization_id: str, finess: str) -> Json:
    return {"reference": f"Organization/{organization_id}", "identifier": {"system": FINESS_SYSTEM, "value": finess}}


CPTS_SUBJECT: Json = {"identifier": {"system": SCOPE_SYSTEM, "value": "cpts"}, "display": "CPTS"}


def render(
    definition: MeasureDefinition,
    period: Period,
    subject: Json,
    subject_key: str,
    tally: Tally,
    labels: dict[tuple[str, str], Json],
    generated: Any,
) -> Json:
    """The summary MeasureReport of one subject (a centre's FINESS, or ``cpts``)."""
    weeks = period.days / 7
    audience = "shared" if "coordinator" in definition.audience else "centre-only"
    report = {
        "resourceType": "MeasureReport",
        "id": deterministic_id(
            "MeasureReport", definition.id, subject_key, period.start.isoformat(), period.end.isoformat()
        ),
        "meta": {"tag": [{"system": AUDIENCE_TAG, "code": audience}]},
        "status": "complete",
        "type": "summary",
        "measure": definition.url,
        "subject": subject,
        "date": format_instant(generated),
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "group": [_group(definition, group, tally, labels, weeks) for group in definition.groups],
    }
    return copy.deepcopy(report)  # no part shared with another report (the reports team masks them in place)


__all__ = ["AUDIENCE_TAG", "CPTS_SUBJECT", "SCOPE_SYSTEM", "centre_subject", "population_keys", "render", "score"]

"""An indicator's definition as a FHIR R4 ``Measure``, validated like any resource the gateway stores.

The description is French, with its English in the translation extension; each population and stratifier carries
a ``criteria`` expression in the gateway's own language: the stable key (``IND-NOSHOW.numerator``,
``stratifier.profession``) that the indicator engine implements. Audience, unit, masking and aggregation are
gateway extensions (R4 Measure has no element for them).
"""

from __future__ import annotations

from typing import Any

from gateway.errors import ValidationFailed
from gateway.fhir.validation import validate_resource
from gateway.indicators.definitions import Group, MeasureDefinition, MeasureFileError, Text

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
CRITERIA_LANGUAGE = "urn:cpts-gateway:indicator-criteria"
IDENTIFIER_SYSTEM = "urn:cpts-gateway:indicator"
AUDIENCE = "urn:cpts-gateway:measure-audience"
UNIT = "urn:cpts-gateway:measure-unit"
MASKING = "urn:cpts-gateway:measure-small-count-masking"
AGGREGATE = "urn:cpts-gateway:measure-aggregate-method"
STRATIFIER_SYSTEM = "urn:cpts-gateway:measure-stratifier"
GROUP_SYSTEM = "urn:cpts-gateway:measure-group"
SCORING_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-scoring"
IMPROVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
UCUM = "http://unitsofmeasure.org"
_UCUM_CODES = {"%": "%", "minutes": "min", "hours": "h", "days": "d"}
_SCORING_DISPLAY = {"proportion": "Proportion", "ratio": "Ratio", "continuous-variable": "Continuous Variable"}


def _translated(text: Text) -> dict[str, Any]:
    """The ``_element`` companion carrying the English translation of a French text."""
    parts = [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": text.en}]
    return {"extension": [{"url": TRANSLATION, "extension": parts}]}


def _described(text: Text) -> dict[str, Any]:
    return {"description": text.fr, "_description": _translated(text)}


def _criteria(key: str, text: Text) -> dict[str, Any]:
    return {"language": CRITERIA_LANGUAGE, "expression": key, "description": text.en}


def _group(definition: MeasureDefinition, group: Group) -> dict[str, Any]:
    populations = []
    seen: dict[str, int] = {}
    for population in group.populations:
        seen[population.code] = seen.get(population.code, 0) + 1  # a ratio's second observation: "-2"
        key = population.code if seen[population.code] == 1 else f"{population.code}-{seen[population.code]}"
        entry: dict[str, Any] = {
            "id": key,
            "code": {"coding": [{"system": POPULATION_SYSTEM, "code": population.code}]},
            **_described(population.description),
            "criteria": _criteria(f"{definition.id}.{group.key}.{key}", population.description),
        }
        if population.aggregate is not None:
            entry["extension"] = [{"url": AGGREGATE, "valueCode": population.aggregate}]
        populations.append(entry)
    rendered: dict[str, Any] = {
        "id": group.key,
        "code": {"coding": [{"system": GROUP_SYSTEM, "code": f"{definition.id}.{group.key}"}]},
        **_described(group.description),
        "population": populations,
    }
    stratifiers = [
        {
            "code": {"coding": [{"system": STRATIFIER_SYSTEM, "code": spec.key}]},
            **_described(spec.description),
            "criteria": _criteria(f"stratifier.{spec.key}", spec.description),
        }
        for spec in group.stratifiers
    ]
    if stratifiers:
        rendered["stratifier"] = stratifiers
    return rendered


def _extensions(definition: MeasureDefinition) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = [{"url": AUDIENCE, "valueCode": audience} for audience in definition.audience]
    if definition.unit is not None:
        code = _UCUM_CODES[definition.unit]
        extensions.append({"url": UNIT, "valueCoding": {"system": UCUM, "code": code, "display": definition.unit}})
    if definition.masking is not None:
        parts = [
            {"url": "setting", "valueString": definition.masking.setting},
            {"url": "defaultMax", "valueInteger": definition.masking.default_max},
        ]
        extensions.append({"url": MASKING, "extension": parts})
    return extensions


def to_measure(definition: MeasureDefinition) -> dict[str, Any]:
    """The FHIR R4 Measure of one definition: the same definition always gives the same JSON."""
    return {
        "resourceType": "Measure",
        "id": definition.resource_id,
        "extension": _extensions(definition),
        "url": definition.url,
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": definition.id}],
        "version": definition.version,
        "name": definition.id.replace("-", "_"),
        "title": definition.title.fr,
        "_title": _translated(definition.title),
        "status": "active",
        "experimental": False,
        "publisher": "cpts-gateway",
        **_described(definition.description),
        "scoring": {
            "coding": [
                {
                    "system": SCORING_SYSTEM,
                    "code": definition.scoring,
                    "display": _SCORING_DISPLAY[definition.scoring],
                }
            ]
        },
        "improvementNotation": {"coding": [{"system": IMPROVEMENT_SYSTEM, "code": definition.improvement}]},
        "group": [_group(definition, group) for group in definition.groups],
    }


def validated_measure(definition: MeasureDefinition, file: str) -> dict[str, Any]:
    """The Measure, checked by the gateway's strict FHIR R4 validation; a failure names the file and the path."""
    measure = to_measure(definition)
    try:
        return validate_resource(measure, expected_type="Measure")
    except ValidationFailed as exc:
        first = exc.issues[0]
        raise MeasureFileError(file, ",".join(first.expression), first.diagnostics) from None


__all__ = ["AUDIENCE", "CRITERIA_LANGUAGE", "IDENTIFIER_SYSTEM", "MASKING", "to_measure", "validated_measure"]

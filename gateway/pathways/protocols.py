"""A CPTS care-pathway protocol: the strict model of its YAML file and its FHIR R4 PlanDefinition.

A protocol (``mappings/protocols/<id>.yaml``) lists the steps of a pathway: who performs each one (a TRE_G15
profession) and when, counted from the patient's enrolment. There is no national FHIR guide for CPTS pathways; the
gateway's usage is documented in docs/pathways.md.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

import mappings

URL_PREFIX = "https://cpts-gateway.fr/fhir/PlanDefinition/"  # as the CSV pathways export mapping writes it
STEP_SYSTEM = "urn:cpts-gateway:pathway-step"
PROTOCOL_SYSTEM = "urn:cpts-gateway:protocol"
FIRST_OCCURRENCE_URL = "urn:cpts-gateway:extension:first-occurrence"
TRANSLATION_URL = "http://hl7.org/fhir/StructureDefinition/translation"
PLAN_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
PROFESSIONS_FILE = Path(mappings.__file__).parent / "codes" / "csv-profession.yaml"

# UCUM units of time with their length in hours (to compare durations; months and years are averages)
_UNITS: dict[str, tuple[str, float]] = {
    "hour": ("h", 1),
    "day": ("d", 24),
    "week": ("wk", 168),
    "month": ("mo", 730.5),
    "year": ("a", 8766),
}
_DURATION = re.compile(r"([1-9][0-9]{0,3}|0) (hour|day|week|month|year)s?")


@lru_cache(maxsize=1)
def professions() -> dict[str, dict[str, Any]]:
    """TRE_G15 profession code -> its CodeableConcept (the gateway's profession code table)."""
    table: dict[str, Any] = yaml.safe_load(PROFESSIONS_FILE.read_text(encoding="utf-8"))
    return {str(code): concept for code, concept in table["map"].items()}


def _check_duration(text: str) -> str:
    if not _DURATION.fullmatch(text):
        raise ValueError("a duration is '<number> <unit>', unit hour(s), day(s), week(s), month(s) or year(s)")
    return text


def _check_profession(code: str) -> str:
    if code not in professions():
        raise ValueError(f"unknown TRE_G15 profession code; known: {', '.join(sorted(professions()))}")
    return code


Duration = Annotated[str, AfterValidator(_check_duration)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Profession = Annotated[str, AfterValidator(_check_profession)]


def duration_parts(text: str) -> tuple[int, str]:
    """``"3 months"`` -> ``(3, "mo")`` (UCUM)."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return int(match[1]), _UNITS[match[2]][0]


def hours(text: str) -> float:
    value, unit = duration_parts(text)
    return value * next(length for code, length in _UNITS.values() if code == unit)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StepTiming(_Strict):
    """When a step is due, from the enrolment: a window for the (first) occurrence and, optionally, a period."""

    start: Duration | None = None  # the earliest, from enrolment (default: at enrolment)
    within: Duration | None = None  # the deadline, from enrolment
    every: Duration | None = None  # the repetition period
    count: Annotated[int, Field(ge=1, le=100)] | None = None  # how many occurrences (with every)
    during: Duration | None = None  # how long the repetitions go on (with every)

    @model_validator(mode="after")
    def _coherent(self) -> StepTiming:
        if self.start is None and self.within is None and self.every is None:
            raise ValueError("a timing needs at least one of start, within, every")
        if self.start is not None and self.within is not None and hours(self.within) <= hours(self.start):
            raise ValueError("within must come after start")
        if self.every is None and (self.count is not None or self.during is not None):
            raise ValueError("count and during apply to a repeated step: give every")
        if self.every is not None and hours(self.every) == 0:
            raise ValueError("every must be longer than 0")
        return self


class Step(_Strict):
    code: Code
    title: Text
    title_en: Text | None = None
    description: Text | None = None
    profession: Profession
    timing: StepTiming
    after: list[Code] = Field(default_factory=list)  # steps this one follows


class Protocol(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^cpts-[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
    version: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
    name: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9_]{0,254}$")]
    title: Text
    title_en: Text | None = None
    description: Text
    description_en: Text | None = None
    steps: Annotated[list[Step], Field(min_length=1)]

    def link_problems(self) -> list[tuple[str, str]]:
        """What is wrong between the steps (duplicate codes, unknown or circular ``after``), each at its path."""
        codes = [step.code for step in self.steps]
        problems = [(f"steps[{i}].code", "step codes must be unique") for i, c in enumerate(codes) if c in codes[:i]]
        for index, step in enumerate(self.steps):
            for position, other in enumerate(step.after):
                where = f"steps[{index}].after[{position}]"
                if other not in codes:
                    problems.append((where, f"no step {other!r} in this protocol"))
                elif other == step.code:
                    problems.append((where, "a step cannot follow itself"))
        if not problems:
            cycle = _cycle({step.code: step.after for step in self.steps})
            if cycle:
                index = codes.index(cycle[0])
                problems.append((f"steps[{index}].after", f"steps follow each other in a cycle: {' -> '.join(cycle)}"))
        return problems


def _cycle(after: dict[str, list[str]]) -> tuple[str, ...]:
    """A cycle of ``after`` links (its codes, the first repeated at the end), or ``()``."""
    done: set[str] = set()

    def visit(code: str, path: tuple[str, ...]) -> tuple[str, ...]:
        if code in path:
            return (*path[path.index(code) :], code)
        if code in done:
            return ()
        for other in after[code]:
            found = visit(other, (*path, code))
            if found:
                return found
        done.add(code)
        return ()

    for code in after:
        found = visit(code, ())
        if found:
            return found
    return ()


def _quantity(text: str) -> dict[str, Any]:
    value, unit = duration_parts(text)
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def _english(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    parts = [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": text}]
    return {"extension": [{"url": TRANSLATION_URL, "extension": parts}]}


def _window(timing: StepTiming) -> dict[str, Any]:
    """From ``start`` (else 0, in the unit of ``within``) to ``within`` (if given)."""
    zero = {**_quantity(timing.within or "0 days"), "value": 0}
    low = _quantity(timing.start) if timing.start is not None else zero
    return {"low": low, **({"high": _quantity(timing.within)} if timing.within else {})}


def _timing(timing: StepTiming) -> dict[str, Any]:
    """``timingTiming`` for a repeated step, else ``timingRange`` (a window) or ``timingDuration`` (a time)."""
    if timing.every is not None:
        period, unit = duration_parts(timing.every)
        repeat: dict[str, Any] = {"frequency": 1, "period": period, "periodUnit": unit}
        if timing.count is not None:
            repeat["count"] = timing.count
        if timing.during is not None:
            repeat["boundsDuration"] = _quantity(timing.during)
        return {"timingTiming": {"repeat": repeat}}
    if timing.within is not None:
        return {"timingRange": _window(timing)}
    return {"timingDuration": _quantity(timing.start or "0 days")}


def _action(step: Step) -> dict[str, Any]:
    action: dict[str, Any] = {"id": step.code}
    if step.timing.every is not None and (step.timing.start or step.timing.within):
        action["extension"] = [{"url": FIRST_OCCURRENCE_URL, "valueRange": _window(step.timing)}]
    action["title"] = step.title
    if (title := _english(step.title_en)) is not None:
        action["_title"] = title
    if step.description is not None:
        action["description"] = step.description
    action["code"] = [{"coding": [{"system": STEP_SYSTEM, "code": step.code, "display": step.title}]}]
    action["participant"] = [{"type": "practitioner", "role": professions()[step.profession]}]
    action.update(_timing(step.timing))
    if step.after:
        action["relatedAction"] = [{"actionId": other, "relationship": "after"} for other in step.after]
    return action


def plan_definition(protocol: Protocol) -> dict[str, Any]:
    """The protocol as a FHIR R4 PlanDefinition (deterministic: the same file gives the same resource)."""
    resource: dict[str, Any] = {
        "resourceType": "PlanDefinition",
        "id": protocol.id,
        "language": "fr-FR",
        "url": URL_PREFIX + protocol.id,
        "identifier": [{"system": PROTOCOL_SYSTEM, "value": protocol.id}],
        "version": protocol.version,
        "name": protocol.name,
        "title": protocol.title,
    }
    if (title := _english(protocol.title_en)) is not None:
        resource["_title"] = title
    resource["type"] = {
        "coding": [{"system": PLAN_TYPE_SYSTEM, "code": "clinical-protocol", "display": "Clinical Protocol"}]
    }
    resource["status"] = "active"
    resource["description"] = protocol.description
    if (description := _english(protocol.description_en)) is not None:
        resource["_description"] = description
    resource["action"] = [_action(step) for step in protocol.steps]
    return resource


__all__ = [
    "FIRST_OCCURRENCE_URL",
    "PROTOCOL_SYSTEM",
    "STEP_SYSTEM",
    "URL_PREFIX",
    "Protocol",
    "Step",
    "StepTiming",
    "duration_parts",
    "hours",
    "plan_definition",
    "professions",
]

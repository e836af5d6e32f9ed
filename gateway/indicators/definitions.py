"""The activity indicators' definitions: one YAML file per indicator under ``mappings/measures/``, checked strictly.

Each file names the indicator (``IND-NOSHOW``), its titles and descriptions in French and English, its FHIR scoring,
one or more groups of populations (each population's meaning in words and the stable key of the engine's criteria)
and stratifiers, the improvement notation, the unit, the audiences (``centre``, ``coordinator``) and, when
coordinators see it, the small-count masking setting. A bad file raises :class:`MeasureFileError` naming the file and
the field path, so the application refuses to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mappings.issues import MappingFileError

ROOT = Path(__file__).resolve().parents[2] / "mappings" / "measures"

Scoring = Literal["proportion", "ratio", "continuous-variable"]
Audience = Literal["centre", "coordinator"]
Unit = Literal["%", "minutes", "hours", "days"]
Aggregate = Literal["sum", "median", "mean", "count", "min", "max"]
Stratifier = Literal[
    "profession", "specialty", "centre", "service-type", "practitioner-role", "room", "protocol", "task-status", "payer"
]

POPULATION_CODES = (
    "initial-population",
    "numerator",
    "numerator-exclusion",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "measure-population",
    "measure-population-exclusion",
    "measure-observation",
)
# Which populations a group may hold, and which it must hold, for each scoring (FHIR R4 measure-population notes).
ALLOWED: dict[str, frozenset[str]] = {
    "proportion": frozenset(POPULATION_CODES[:6]),
    "ratio": frozenset((*POPULATION_CODES[:5], "measure-observation")),
    "continuous-variable": frozenset(("initial-population", *POPULATION_CODES[6:])),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "proportion": ("initial-population", "denominator", "numerator"),
    "ratio": ("initial-population", "denominator", "numerator"),
    "continuous-variable": ("initial-population", "measure-population", "measure-observation"),
}
# A ratio may have two initial populations and an observation for each of its numerator and denominator.
_REPEATABLE: dict[str, frozenset[str]] = {
    "proportion": frozenset(),
    "ratio": frozenset({"initial-population", "measure-observation"}),
    "continuous-variable": frozenset(),
}
MASK_SETTING = "indicator_small_count_max"


class MeasureFileError(MappingFileError):
    """A measure definition file breaks the schema: start-up stops, naming the file and the field path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(_Strict):
    """A text in French (the reference) and English."""

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Population(_Strict):
    code: str
    description: Text
    aggregate: Aggregate | None = None  # how a measure-observation's values are combined (median delay, sum...)

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in POPULATION_CODES:
            raise ValueError(f"'{value}' is not a measure-population code")
        return value

    @model_validator(mode="after")
    def _aggregate(self) -> Population:
        if (self.code == "measure-observation") != (self.aggregate is not None):
            raise ValueError("aggregate is given for a measure-observation population, and only for it")
        return self


class StratifierSpec(_Strict):
    key: Stratifier
    description: Text


class Group(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    description: Text
    populations: list[Population] = Field(min_length=1)
    stratifiers: list[StratifierSpec] = Field(default_factory=list)

    @field_validator("stratifiers")
    @classmethod
    def _distinct(cls, value: list[StratifierSpec]) -> list[StratifierSpec]:
        keys = [s.key for s in value]
        if len(set(keys)) != len(keys):
            raise ValueError(f"a stratifier is listed twice: {keys}")
        return value


class Masking(_Strict):
    """Coordinator-level counts from 1 to ``default_max`` are masked; the setting overrides the bound."""

    setting: Literal["indicator_small_count_max"]
    default_max: int = Field(ge=1, le=100)


class MeasureDefinition(_Strict):
    id: str = Field(pattern=r"^IND-[A-Z0-9]+(-[A-Z0-9]+)*$", max_length=60)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    title: Text
    description: Text
    scoring: Scoring
    improvement: Literal["increase", "decrease"]
    unit: Unit | None = None
    audience: list[Audience] = Field(min_length=1)
    masking: Masking | None = None
    groups: list[Group] = Field(min_length=1)

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: list[Audience]) -> list[Audience]:
        if len(set(value)) != len(value):
            raise ValueError(f"an audience is listed twice: {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MeasureDefinition:
        if ("coordinator" in self.audience) != (self.masking is not None):
            raise ValueError("masking is given when coordinators see the indicator, and only then")
        keys = [group.key for group in self.groups]
        if len(set(keys)) != len(keys):
            raise ValueError(f"a group key is used twice: {keys}")
        return self

    @property
    def resource_id(self) -> str:
        """The Measure's FHIR id: the indicator id in lower case (``IND-NOSHOW`` → ``ind-noshow``)."""
        return self.id.lower()

    @property
    def url(self) -> str:
        return f"urn:cpts-gateway:measure:{self.id}"


def _population_problems(definition: MeasureDefinition) -> tuple[str, str] | None:
    """The first population that does not fit the scoring, as (field path, message)."""
    allowed, required = ALLOWED[definition.scoring], REQUIRED[definition.scoring]
    for g, group in enumerate(definition.groups):
        codes = [population.code for population in group.populations]
        for p, code in enumerate(codes):
            if code not in allowed:
                return (
                    f"groups[{g}].populations[{p}].code",
                    f"'{code}' is not allowed in a {definition.scoring} measure",
                )
            if codes.count(code) > 1 and code not in _REPEATABLE[definition.scoring]:
                return f"groups[{g}].populations[{p}].code", f"'{code}' is listed twice"
        missing = [code for code in required if code not in codes]
        if missing:
            return f"groups[{g}].populations", f"a {definition.scoring} measure needs {', '.join(missing)}"
    return None


def _location(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def read_definition(path: Path, name: str | None = None) -> MeasureDefinition:
    """One definition file, checked; ``name`` is how errors name the file (default: its path)."""
    name = name or str(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MeasureFileError(name, "", f"not readable YAML: {exc}") from None
    if not isinstance(data, dict):
        raise MeasureFileError(name, "", "a measure file holds a mapping (key: value) at the top")
    try:
        definition = MeasureDefinition.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        raise MeasureFileError(name, _location(error["loc"]), message) from None
    if path.stem != definition.resource_id:
        raise MeasureFileError(
            name, "id", f"'{definition.id}' must match the file name ({definition.resource_id}.yaml)"
        )
    problem = _population_problems(definition)
    if problem is not None:
        raise MeasureFileError(name, *problem)
    return definition


def load_definitions(root: Path = ROOT) -> list[MeasureDefinition]:
    """Every definition under ``root`` (``*.yaml``; the file name is the id, so no id is used twice), by id."""
    found = [read_definition(path, display_name(path)) for path in sorted(root.glob("*.yaml"))]
    return sorted(found, key=lambda definition: definition.id)


def display_name(path: Path) -> str:
    """``mappings/measures/ind-noshow.yaml`` for the gateway's own files, the full path for others."""
    try:
        return str(path.relative_to(ROOT.parents[1]))
    except ValueError:
        return str(path)


__all__ = [
    "MASK_SETTING",
    "ROOT",
    "Group",
    "MeasureDefinition",
    "MeasureFileError",
    "Population",
    "StratifierSpec",
    "Text",
    "display_name",
    "load_definitions",
    "read_definition",
]

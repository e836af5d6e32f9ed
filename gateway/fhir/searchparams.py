"""The search parameter registry, loaded from ``searchparams.yaml`` and checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from gateway.fhir.paths import compile_path
from gateway.fhir.resources import SUPPORTED_TYPES

ParamType = Literal["token", "date", "reference", "string", "uri", "number", "quantity", "special"]
# ``via``: the parameter is not read from the resource but from a related one (never indexed on the resource itself).
# ``place``: a Slot's place, the Location of its Schedule's actor (gateway/capacity/directory.py).
Via = Literal["place"]
REGISTRY_FILE = Path(__file__).with_name("searchparams.yaml")

# Served from the resource table rather than an index.
SPECIAL = {"_id": "token", "_lastUpdated": "date"}
# Result parameters: they shape the answer, never filter it.
RESULT_PARAMS = frozenset(
    {"_count", "_sort", "_include", "_revinclude", "_summary", "_total", "_elements", "_format", "_cursor", "_pretty"}
)


class _ParamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ParamType
    paths: list[str]
    targets: list[str] = []
    instant: bool = False
    via: Via | None = None

    @field_validator("paths")
    @classmethod
    def _paths_compile(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one path is needed")
        for path in value:
            compile_path(path)
        return value


@dataclass(frozen=True)
class SearchParam:
    resource_type: str
    name: str
    type: ParamType
    paths: tuple[str, ...]
    targets: tuple[str, ...]
    instant: bool = False
    via: Via | None = None
    index_kind: str = field(init=False)  # the index table that holds this parameter's values

    def __post_init__(self) -> None:
        object.__setattr__(self, "index_kind", {"uri": "reference", "quantity": "number"}.get(self.type, self.type))


class RegistryError(ValueError):
    """The registry file is malformed; the message names the file and the key."""


def _load(path: Path) -> dict[str, dict[str, SearchParam]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: expected a mapping of resource types")
    common = raw.pop("common", {}) or {}
    unknown = sorted(set(raw) - set(SUPPORTED_TYPES))
    if unknown:
        raise RegistryError(f"{path}: unsupported resource type(s) {unknown}")
    registry: dict[str, dict[str, SearchParam]] = {}
    for resource_type in SUPPORTED_TYPES:
        entries = {**common, **(raw.get(resource_type) or {})}
        params: dict[str, SearchParam] = {}
        for name, spec in entries.items():
            try:
                parsed = _ParamSpec.model_validate(spec)
            except ValidationError as exc:
                raise RegistryError(f"{path}: {resource_type}.{name}: {exc.errors()[0]['msg']}") from exc
            if parsed.type == "reference" and not parsed.targets:
                raise RegistryError(f"{path}: {resource_type}.{name}: a reference parameter needs targets")
            if parsed.instant and parsed.type != "date":
                raise RegistryError(f"{path}: {resource_type}.{name}: only date parameters can be instant")
            if parsed.type == "special" and parsed.via is None:
                raise RegistryError(f"{path}: {resource_type}.{name}: a special parameter needs 'via'")
            if parsed.via == "place" and resource_type != "Slot":
                raise RegistryError(f"{path}: {resource_type}.{name}: 'via: place' applies to Slot parameters")
            params[name] = SearchParam(
                resource_type,
                name,
                parsed.type,
                tuple(parsed.paths),
                tuple(parsed.targets),
                parsed.instant,
                parsed.via,
            )
        registry[resource_type] = params
    return registry


@lru_cache(maxsize=1)
def registry() -> dict[str, dict[str, SearchParam]]:
    """Resource type -> parameter name -> definition."""
    return _load(REGISTRY_FILE)


def param(resource_type: str, name: str) -> SearchParam | None:
    return registry().get(resource_type, {}).get(name)


__all__ = ["RESULT_PARAMS", "SPECIAL", "ParamType", "RegistryError", "SearchParam", "Via", "param", "registry"]

"""The roles table (``security/roles.yaml``), validated at start: what each kind of caller may do."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.fhir.resources import SUPPORTED

ROLES_FILE = Path(__file__).with_name("roles.yaml")
DEVELOPER = "developer"  # the open-access principal of development mode; never in roles.yaml

Tenancy = Literal["own", "all", "sandbox", "none"]
Operation = Literal[
    "ingest",
    "indicators",
    "indicators-financial",
    "capacity",
    "conformance",
    "clients",
    "keys",
    "audit",
    "metrics",
    "pathways",
]


class RolesFileError(ValueError):
    """roles.yaml is not valid: start-up stops with the file, key and reason."""


def _types(values: list[str], where: str) -> frozenset[str]:
    unknown = sorted(set(values) - SUPPORTED - {"*"})
    if unknown:
        raise ValueError(f"{where}: unknown resource types {unknown}")
    return frozenset(SUPPORTED if "*" in values else values)


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    title: str
    tenancy: Tenancy
    read: frozenset[str]
    write: frozenset[str]
    search_only: frozenset[str] | None = None
    aggregates: frozenset[str] = frozenset()  # patient-data types it reads aggregated and masked only (indicators)
    history: bool
    clinical: bool
    consent: bool
    operations: frozenset[Operation] = Field(default_factory=frozenset)
    patient_data: frozenset[str] = Field(default_factory=frozenset)

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("read", "write", "search_only", "aggregates"):
                if isinstance(data.get(key), list):
                    data[key] = _types(data[key], key)
        return data

    def may_read(self, resource_type: str) -> bool:
        """Read, vread, instance history, and receiving it as an ``_include``."""
        if resource_type in self.patient_data and not self.clinical and resource_type not in self.aggregates:
            return False
        return resource_type in self.read

    def may_search(self, resource_type: str) -> bool:
        if self.search_only is not None and resource_type not in self.search_only:
            return False
        return self.may_read(resource_type)

    def may_write(self, resource_type: str) -> bool:
        if resource_type in self.patient_data and not self.clinical:
            return False
        return resource_type in self.write


class RolesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_data: list[str]
    capacity: list[str] = Field(default_factory=list)
    roles: dict[str, dict[str, object]]


def load_roles(path: Path = ROLES_FILE) -> dict[str, Role]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = RolesFile.model_validate(raw)
        patient_data = _types(parsed.patient_data, "patient_data")
        roles: dict[str, Role] = {}
        for name, body in parsed.roles.items():
            if name == DEVELOPER:
                raise ValueError(f"roles: '{DEVELOPER}' is reserved for development open access")
            roles[name] = Role.model_validate({**body, "name": name, "patient_data": patient_data})
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise RolesFileError(f"{path}: {exc}") from exc
    return roles


@lru_cache(maxsize=1)
def default_roles() -> dict[str, Role]:
    return load_roles()


def developer_role() -> Role:
    """Everything, everywhere: the principal of development open access (refused in production)."""
    any_role = next(iter(default_roles().values()))
    return Role(
        name=DEVELOPER,
        title="development open access",
        tenancy="all",
        read=SUPPORTED,
        write=SUPPORTED,
        history=True,
        clinical=True,
        consent=False,
        operations=frozenset(Operation.__args__),  # type: ignore[attr-defined]
        patient_data=any_role.patient_data,
    )


def role_named(name: str) -> Role:
    if name == DEVELOPER:
        return developer_role()
    try:
        return default_roles()[name]
    except KeyError as exc:
        raise KeyError(f"unknown role '{name}' (roles: {', '.join(sorted(default_roles()))})") from exc


__all__ = [
    "DEVELOPER",
    "ROLES_FILE",
    "Role",
    "RolesFileError",
    "default_roles",
    "developer_role",
    "load_roles",
    "role_named",
]

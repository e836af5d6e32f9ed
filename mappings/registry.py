"""The registry of named functions that mapping files may call: transforms, conditions and actions.

Mapping files hold no code. A rule's ``transform: hl7_date`` or ``when: {fn: equals, ...}`` names a function
registered here with :func:`transform` or :func:`condition`; the functions live in :mod:`mappings.functions` and are
unit-tested there. A transform returns the FHIR value, ``None`` for "nothing to map", or raises
:class:`MappingProblem` (the record is then rejected with an issue at the value's source location).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from adapters.source import Value


class MappingProblem(ValueError):
    """A value cannot be mapped: raised by transforms, reported at the value's source location (for a transform of
    named sources, at the one named ``part`` when given, e.g. the ``longitude`` of ``{latitude, longitude}``)."""

    def __init__(self, message: str, code: str = "MAP-VALUE", part: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.part = part


@dataclass
class MapContext:
    """What a mapping run knows besides the source: the tenant (FINESS of the centre) and its time zone."""

    tenant: str
    zone: ZoneInfo
    values: dict[str, Any] = field(default_factory=dict)  # scratch space for actions (e.g. the merge target)


Transform = Callable[..., Any]  # (value or {name: value}, ctx, **args) -> FHIR value | None
Condition = Callable[..., bool]  # (Value | None or {name: Value | None}, ctx, **args) -> bool

TRANSFORMS: dict[str, Transform] = {}
CONDITIONS: dict[str, Condition] = {}
ACTIONS: dict[str, str] = {
    "merge_patient": "A40: the patient named in MRG becomes inactive, replaced-by the surviving patient; "
    "references to it follow",
    "change_identifier": "A47: the identifier in MRG-1 is replaced by the one in PID-3 on the same patient",
}

F = TypeVar("F", bound=Callable[..., Any])


def transform(name: str) -> Callable[[F], F]:
    def register(fn: F) -> F:
        if name in TRANSFORMS:
            raise RuntimeError(f"transform '{name}' is registered twice")
        TRANSFORMS[name] = fn
        return fn

    return register


def condition(name: str) -> Callable[[F], F]:
    def register(fn: F) -> F:
        if name in CONDITIONS:
            raise RuntimeError(f"condition '{name}' is registered twice")
        CONDITIONS[name] = fn
        return fn

    return register


def text_of(value: Value | None) -> str | None:
    """The stripped text of a source value, or None when absent or blank."""
    if value is None or value.value is None:
        return None
    text = str(value.value).strip()
    return text or None


def load_functions() -> None:
    """Import the function modules so that their registrations run (idempotent)."""
    from mappings.functions import agenda, capacity, conditions, french, hl7, pathways, values  # noqa: F401


__all__ = [
    "ACTIONS",
    "CONDITIONS",
    "TRANSFORMS",
    "Condition",
    "MapContext",
    "MappingProblem",
    "Transform",
    "condition",
    "load_functions",
    "text_of",
    "transform",
]

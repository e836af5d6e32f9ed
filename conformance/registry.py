"""The check registry: each check is a small function with a stable id, declared with :func:`check`.

Kinds of check, by what the runner hands them:

* ``file``     ``fn(export_file)``: one export file (encoding, delimiter, header), for the formats in ``applies``;
* ``record``   ``fn(record)``: one record (CSV row, HL7 message, bundle entry) whose kind starts with one of
  ``applies`` (``csv:slots``, ``hl7v2``, ``fhir``); every record when ``applies`` is empty;
* ``resource`` ``fn(record, resource)``: one FHIR resource of a type in ``applies``, as the SI sent it (bundles) or
  as the gateway derives it from a row or message (CSV, HL7 v2);
* ``endpoint`` ``fn(session)``: a live FHIR endpoint (:mod:`conformance.endpoint`).

A check yields :class:`~conformance.model.Message` objects for what is wrong (none: it passes), or raises
:class:`~conformance.model.Skip` / :class:`~conformance.model.Omit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from conformance.model import Message

Kind = Literal["file", "record", "resource", "endpoint"]
CheckFn = Callable[..., Iterable[Message]]


@dataclass(frozen=True)
class Group:
    """An area of the suite (Inferno's group): its checks run together and are summarised together."""

    id: str
    title: str
    description: str


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    description: str  # what is checked, in the integrator's words
    source: str  # where the rule comes from (label area, IG and profile, the gateway's export format)
    verifies: tuple[str, ...]  # requirement ids (conformance/requirements/*.csv)
    fix: str  # how to fix a failure
    group: str
    kind: Kind
    applies: tuple[str, ...]
    fn: CheckFn
    inputs: tuple[str, ...] = ()  # inputs the check reads (documented in conformance/inputs.yaml)

    def run(self, *args: Any) -> Iterable[Message]:
        return self.fn(*args)


GROUP_ORDER = ("format", "identity", "agenda", "timezones", "terminology", "pathways", "sas", "gap")
GROUPS: dict[str, Group] = {}
CHECKS: dict[str, Check] = {}


def group(id: str, title: str, description: str) -> Group:
    """Declare an area (idempotent: a module may be imported twice)."""
    found = GROUPS.setdefault(id, Group(id, title, description))
    return found


def check(
    id: str,
    *,
    title: str,
    description: str,
    source: str,
    verifies: Iterable[str],
    fix: str,
    group: Group,
    kind: Kind,
    applies: Iterable[str] = (),
    inputs: Iterable[str] = (),
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as check ``id``."""

    def register(fn: CheckFn) -> CheckFn:
        existing = CHECKS.get(id)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"two checks have the id {id!r}")
        CHECKS[id] = Check(
            id, title, description, source, tuple(verifies), fix, group.id, kind, tuple(applies), fn, tuple(inputs)
        )
        return fn

    return register


@lru_cache(maxsize=1)
def short_ids() -> dict[str, str]:
    """The locked short ids (``conformance/short_ids.yaml``): check id -> ``area.number`` (``3.04``)."""
    data = yaml.safe_load((Path(__file__).parent / "short_ids.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data["short_ids"].items()}


def load_checks() -> dict[str, Check]:
    """Every check of the suite, in group order (importing the check modules registers them)."""
    import conformance.checks  # noqa: F401 - registers the checks

    order = [g for g in GROUP_ORDER if g in GROUPS] + [g for g in GROUPS if g not in GROUP_ORDER]
    return dict(sorted(CHECKS.items(), key=lambda item: order.index(item[1].group)))


__all__ = [
    "CHECKS",
    "GROUPS",
    "GROUP_ORDER",
    "Check",
    "CheckFn",
    "Group",
    "Kind",
    "check",
    "group",
    "load_checks",
    "short_ids",
]

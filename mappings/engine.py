"""Applies compiled mappings to source records: a message mapping routes, resource mappings build resources.

``CompiledMessage.map(record_scope, ctx)`` returns a :class:`MappedRecord`: the resources (each with its write
mode), the issues located in the source, and the registry action to run (A40 merge, A47 identifier change).
Resource ids are deterministic: from the first identifier (``uuid5(type, system, value)``, the same id a
conditional reference ``Type?identifier=system|value`` falls back to) or from the mapping's ``id.keys``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from adapters.source import Scope
from gateway.fhir.ids import deterministic_id
from mappings.compiler import Build, Compiler, Issues, Test, json_copier, json_copy
from mappings.issues import MapIssue, MappingFileError
from mappings.registry import ACTIONS, MapContext
from mappings.schema import Call, MessageMapping, Produce, ResourceMapping, Rule

Mode = Literal["upsert", "ensure"]
_SEGMENT = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[\d+\])?(?:-(\d+))?")
_IDS_KEPT = 512  # per resource mapping: the ids made last (the same few practitioners and rooms, row after row)
_MENTIONS_KEPT = 256  # per resource mapping: the ensure-mode resources made last, by the values they were made of


@dataclass
class Produced:
    resource: dict[str, Any]
    mode: Mode
    mapping: str


@dataclass
class MappedRecord:
    resources: list[Produced] = field(default_factory=list)
    issues: list[MapIssue] = field(default_factory=list)
    action: Call | None = None

    @property
    def rejected(self) -> bool:
        return any(issue.severity == "error" for issue in self.issues)


class CompiledResource:
    """One resource mapping, ready to run on a scope."""

    def __init__(self, name: str, spec: ResourceMapping, compiler: Compiler, file: str) -> None:
        self.name, self.resource_type, self.profile = name, spec.resource, list(spec.profile)
        self.build: Build = compiler.build(spec.rules, file, "rules")
        self.keys = list(spec.id.keys) if spec.id.keys else None
        self.rules: Sequence[Rule] = spec.rules
        # deterministic_id hashes (uuid5) every time: a small memory of this mapping's own, bounded, saves most of
        # them where an export names the same resources over and over (ensure-mode practitioners, rooms)
        self._make_id = lru_cache(maxsize=_IDS_KEPT)(deterministic_id)  # str keys only
        reads = _plain_reads(spec.rules, compiler.datatype_rules)
        self._reads = tuple(sorted(reads | set(self.keys or ()))) if reads is not None else None
        self._mentioned: dict[tuple[Any, ...], Callable[[], Any]] = {}

    def produce(self, scope: Scope, ctx: MapContext, issues: Issues) -> dict[str, Any] | None:
        before = len(issues)
        body = self.build(scope, ctx, issues)
        if body is None or (len(issues) > before and any(i.severity == "error" for i in issues[before:])):
            return None
        resource: dict[str, Any] = {"resourceType": self.resource_type}
        resource["id"] = self._id(scope, ctx, body, issues)
        if resource["id"] is None:
            return None
        meta = body.pop("meta", None)  # rules may add to meta (a second profile, tags): merged, never replacing
        if self.profile or meta:
            merged: dict[str, Any] = dict(meta) if isinstance(meta, dict) else {}
            extra = [p for p in merged.get("profile", []) if p not in self.profile]
            if self.profile or extra:
                merged["profile"] = [*self.profile, *extra]
            resource["meta"] = merged
        resource.update(body)
        return resource

    def mention(self, scope: Scope, ctx: MapContext, issues: Issues) -> dict[str, Any] | None:
        """:meth:`produce` for a resource the record only mentions (``mode: ensure``): the same practitioner or
        room, row after row.

        When the mapping's rules read nothing but plain text values of the scope (no ``each``, no ``datatype`` of
        another element),
        the resource depends on those values and the context alone (transforms, conditions and code tables are
        pure functions of them), so the resources made without any issue are remembered by those values (the last
        ``_MENTIONS_KEPT``) and a copy is handed out the next time.
        """
        if self._reads is None:
            return self.produce(scope, ctx, issues)
        key: list[Any] = [ctx.tenant, ctx.zone]
        for path in self._reads:
            found = scope.get(path)
            value = None if found is None else found.value
            if value is not None and type(value) is not str:  # only text compares exactly as it maps
                return self.produce(scope, ctx, issues)
            key.append(value)
        known = tuple(key)
        copy = self._mentioned.get(known)
        if copy is not None:
            made: dict[str, Any] = copy()
            return made
        before = len(issues)
        resource = self.produce(scope, ctx, issues)
        if resource is not None and len(issues) == before:
            if len(self._mentioned) >= _MENTIONS_KEPT:
                self._mentioned.clear()
            self._mentioned[known] = json_copier(json_copy(resource))
        return resource

    def _id(self, scope: Scope, ctx: MapContext, body: dict[str, Any], issues: Issues) -> str | None:
        if self.keys is not None:
            values = []
            for path in self.keys:
                found = scope.get(path)
                if found is None:
                    issues.append(
                        MapIssue(
                            "MAP-ID", f"{path} is needed to identify the {self.resource_type}", scope.location(path)
                        )
                    )
                    return None
                values.append(str(found.value))
            return self._make_id(self.resource_type, ctx.tenant, *values)
        for identifier in body.get("identifier", []):
            if isinstance(identifier, dict) and identifier.get("system") and identifier.get("value"):
                system, value = str(identifier["system"]), str(identifier["value"])  # as deterministic_id reads them
                return self._make_id(self.resource_type, system, value)
        where = self._identifier_source(scope)
        issues.append(MapIssue("MAP-ID", f"the {self.resource_type} has no identifier to key it on", where))
        return None

    def _identifier_source(self, scope: Scope) -> str | None:
        """Where the identifier the id is keyed on should have come from: the first ``identifier`` rule's source."""
        for rule in self.rules:
            if rule.to.split(".")[0].removesuffix("[]") != "identifier":
                continue
            source = rule.each or rule.source
            if isinstance(source, list | dict):
                source = next(iter(source.values() if isinstance(source, dict) else source), None)
            if isinstance(source, str):
                return scope.location(source)
        return None


@dataclass
class _Step:
    resource: CompiledResource
    each: str | None
    when: Test | None
    mode: Mode
    required: bool

    def __post_init__(self) -> None:
        resource = self.resource
        self.produce = resource.mention if self.mode == "ensure" else resource.produce


class CompiledMessage:
    """A message (or CSV export) mapping: the resources each record produces."""

    def __init__(
        self, name: str, spec: MessageMapping, resources: dict[str, CompiledResource], compiler: Compiler, file: str
    ) -> None:
        self.name, self.file, self.spec = name, file, spec
        self.requires = list(spec.requires)
        self.steps: list[_Step] = []
        for n, produce in enumerate(spec.produce):
            resource = resources.get(produce.mapping)
            if resource is None:
                raise MappingFileError(file, f"produce[{n}].mapping", f"unknown resource mapping '{produce.mapping}'")
            when = compiler.condition(produce.when, file, f"produce[{n}].when")
            self.steps.append(_Step(resource, produce.each, when, produce.mode, produce.required))
        if spec.action is not None and spec.action.fn not in ACTIONS:
            known = ", ".join(ACTIONS)
            raise MappingFileError(file, "action.fn", f"unknown action '{spec.action.fn}' (known: {known})")
        self.produce_specs: Sequence[Produce] = spec.produce
        self._used: frozenset[str] | None = None

    def map(self, scope: Scope, ctx: MapContext) -> MappedRecord:
        mapped = MappedRecord(action=self.spec.action)
        for path in self.requires:
            if scope.get(path) is None:
                mapped.issues.append(
                    MapIssue("MAP-REQUIRED", f"{path} is required for {self.name}", scope.location(path))
                )
        if mapped.issues:
            return mapped
        seen: set[tuple[str, str]] = set()
        for step in self.steps:
            scopes = scope.each(step.each) if step.each is not None else [scope]
            made = 0
            for element in scopes:
                if step.when is not None and not step.when(element, ctx):
                    continue
                resource = step.produce(element, ctx, mapped.issues)
                if resource is None:
                    continue
                made += 1
                key = (resource["resourceType"], resource["id"])
                if key in seen:  # the same practitioner named twice in one message
                    continue
                seen.add(key)
                mapped.resources.append(Produced(resource, step.mode, step.resource.name))
            if step.required and made == 0 and not mapped.rejected:
                mapped.issues.append(
                    MapIssue(
                        "MAP-REQUIRED",
                        f"{step.resource.name}: no {step.resource.resource_type} could be made",
                        scope.location(step.each) if step.each else None,
                    )
                )
        if len(mapped.issues) > 1:  # two resources reading the same bad value report it once
            mapped.issues = list(dict.fromkeys(mapped.issues))
        return mapped

    def used_fields(self) -> frozenset[str]:
        """The source fields (``PID-3``, or CSV field names) any rule of this mapping reads."""
        if self._used is None:
            self._used = frozenset(self._collect_used())
        return self._used

    def _collect_used(self) -> set[str]:
        used: set[str] = set()
        for path in self.requires:
            used.add(_anchored(None, path))
        for step in self.steps:
            anchor = _anchored(None, step.each) if step.each else None
            if step.each:
                used.add(anchor or step.each)
            _walk(step.resource.rules, anchor, used)
        for produce in self.produce_specs:
            if produce.when is not None:
                _walk_source(produce.when.source, None, used)
        return used


def _source_paths(source: Any) -> list[str]:
    if source is None:
        return []
    paths = source.values() if isinstance(source, dict) else source if isinstance(source, list) else [source]
    return [str(path) for path in paths]


def _plain_reads(
    rules: Sequence[Rule], datatypes: dict[str, Sequence[Rule]], expanding: frozenset[str] = frozenset()
) -> set[str] | None:
    """The paths rules read when they only read values of the scope they are given (``get``, and datatypes mapped
    on that same scope), else None (a rule goes through ``each``, or a datatype through ``from``)."""
    paths: set[str] = set()
    for rule in rules:
        if rule.each is not None:
            return None
        if rule.datatype is not None:
            inner_rules = datatypes.get(rule.datatype)
            if rule.source is not None or inner_rules is None or rule.datatype in expanding:
                return None
            inner = _plain_reads(inner_rules, datatypes, expanding | {rule.datatype})
        elif rule.rules:
            inner = _plain_reads(rule.rules, datatypes, expanding)
        else:
            inner = set()
        if inner is None:
            return None
        paths |= inner
        paths.update(_source_paths(rule.source))
        if rule.when is not None:
            paths.update(_source_paths(rule.when.source))
    return paths


def _anchored(anchor: str | None, path: str) -> str:
    """The field a path reads, at field level: ``PID-3`` for ``PID-3[2].4``, ``ROL-4`` for ``4.1`` under ``ROL``."""
    match = _SEGMENT.match(path)
    if match:
        return f"{match[1]}-{match[2]}" if match[2] else match[1]
    if anchor is None:
        return path.split(".")[0]
    if "-" in anchor:  # inside a field: relative paths stay in it
        return anchor
    field_no = re.match(r"^(\d+)", path)
    return f"{anchor}-{field_no[1]}" if field_no else anchor


def _walk_source(source: Any, anchor: str | None, used: set[str]) -> None:
    if source is None:
        return
    paths = source.values() if isinstance(source, dict) else source if isinstance(source, list) else [source]
    for path in paths:
        used.add(_anchored(anchor, str(path)))


def _walk(rules: Sequence[Rule], anchor: str | None, used: set[str]) -> None:
    for rule in rules:
        inner = anchor
        if rule.each:
            inner = _anchored(anchor, rule.each)
            used.add(inner)
        _walk_source(rule.source, inner, used)
        if rule.when is not None:
            _walk_source(rule.when.source, inner, used)
        if rule.rules:
            _walk(rule.rules, inner, used)


__all__ = ["CompiledMessage", "CompiledResource", "MappedRecord", "Mode", "Produced"]

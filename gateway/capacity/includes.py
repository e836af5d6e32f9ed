"""``_include`` of directory resources (Schedules, their actors, HealthcareServices, Organizations) from memory.

The SAS INT_R04 query includes, for a few hundred Slots, the same few dozen Schedules, practitioners, roles, the CPTS
service and its Organization: the directory holds them all, so they are taken from there instead of being read
again, with the same meaning as the search engine's includes (targets of the include's reference parameter, iterating
from what the previous round added, at most ``MAX_INCLUDE_DEPTH`` rounds).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from gateway.capacity.directory import Directory, Key
from gateway.fhir.paths import compile_path, evaluate
from gateway.fhir.query import Include
from gateway.fhir.search import MAX_INCLUDE_DEPTH, Visibility
from gateway.storage.directory_version import DIRECTORY_TYPES
from gateway.storage.references import parse_reference
from gateway.storage.store import StoredResource


def servable(includes: Sequence[Include]) -> bool:
    """Whether every include is a forward include whose targets are all directory types."""
    return all(not i.reverse and set(i.param.targets) <= set(DIRECTORY_TYPES) for i in includes)


def _values(resource: dict[str, Any], path: str) -> list[Any]:
    """``evaluate``, with a shortcut for a path of one plain element (``schedule``): a few hundred Slots each time."""
    steps = compile_path(path)
    if len(steps) == 1 and not steps[0].choice and steps[0].extension_url is None:
        value = resource.get(steps[0].name)
        return [] if value is None else value if isinstance(value, list) else [value]
    return evaluate(resource, path)


def _targets(resource: dict[str, Any], include: Include) -> list[Key]:
    found: list[Key] = []
    for path in include.param.paths:
        for value in _values(resource, path):
            reference = value.get("reference") if isinstance(value, dict) else None
            kind, ident = parse_reference(reference) if isinstance(reference, str) else (None, None)
            if kind is None or ident is None or kind not in include.param.targets:
                continue
            if include.target_type is None or kind == include.target_type:
                found.append((kind, ident))
    return found


TARGETS_MEMO_MAX = 50_000  # (resource, include) answers a directory keeps, beyond which they are recomputed


def _kept_targets(
    directory: Directory, memo_key: Hashable | None, resource: dict[str, Any], include: Include
) -> list[Key]:
    """``_targets``, kept by the directory for a resource that has a stable key (a directory resource, the shared
    links of a Slot's prepared row): every SAS answer follows the same few hundred of them."""
    if memo_key is None:
        return _targets(resource, include)
    key = ("targets", memo_key, include.source_type, include.param.name, include.target_type)
    found: list[Key] | None = directory.memo.get(key)
    if found is None:
        found = _targets(resource, include)
        kept = directory.memo.setdefault("targets-kept", [0])
        if kept[0] < TARGETS_MEMO_MAX:
            kept[0] += 1
            directory.memo[key] = found
    return found


def directory_includes(
    directory: Directory,
    matches: Sequence[tuple[str, dict[str, Any], Hashable | None]],
    includes: Sequence[Include],
    visibility: Visibility,
) -> list[StoredResource]:
    """What ``includes`` add to ``matches`` ((resource type, parsed JSON, a key naming that content for as long as
    the directory lasts, or None) triples), in the engine's order."""
    if not includes or not matches:
        return []
    seen: set[Key] = set()
    included: list[StoredResource] = []
    frontier: list[tuple[str, dict[str, Any], Hashable | None]] = list(matches)
    for depth in range(MAX_INCLUDE_DEPTH):
        active = [i for i in includes if i.iterate or depth == 0]
        if not active or not frontier:
            break
        wanted: list[Key] = []
        kinds = {kind for kind, _, _ in frontier}
        for include in active:
            if include.source_type not in kinds:
                continue
            for kind, resource, memo_key in frontier:
                if kind == include.source_type:
                    wanted.extend(_kept_targets(directory, memo_key, resource, include))
        fresh: list[StoredResource] = []
        for key in dict.fromkeys(wanted):
            stored = directory.resources.get(key)
            if key in seen or stored is None or not visibility.allows(stored.tenant):
                continue
            seen.add(key)
            fresh.append(stored)
        included.extend(fresh)
        frontier = [(s.resource_type, directory.parsed(s), (s.resource_type, s.id)) for s in fresh]
    return included


__all__ = ["directory_includes", "servable"]

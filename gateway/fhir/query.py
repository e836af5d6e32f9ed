"""Parse FHIR search parameters (a list of name/value pairs) into a typed search request.

Filters are AND-ed across repeated parameters and OR-ed across comma-separated values, as FHIR R4 §3.1.1.2 says.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from gateway.errors import InvalidRequest
from gateway.fhir.resources import SUPPORTED
from gateway.fhir.searchparams import RESULT_PARAMS, SPECIAL, SearchParam, param, registry

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
SummaryMode = Literal["true", "false", "text", "data", "count"]
SORTABLE_TYPES = frozenset({"date", "string", "token"})


@dataclass(frozen=True)
class ChainLink:
    """One hop of a chain: the reference parameter and the resource type(s) it leads to."""

    param: SearchParam
    target_types: tuple[str, ...]


@dataclass(frozen=True)
class Filter:
    """A search criterion: ``values`` are OR-ed; ``chain`` hops lead to the type that ``param`` belongs to."""

    name: str  # as written, e.g. "schedule.actor:Practitioner.identifier"
    param: SearchParam | None  # None for _id and _lastUpdated
    special: str | None
    modifier: str | None
    values: tuple[str, ...]
    chain: tuple[ChainLink, ...] = ()

    @property
    def kind(self) -> str:
        if self.special:
            return SPECIAL[self.special]
        assert self.param is not None
        return self.param.type


@dataclass(frozen=True)
class Include:
    source_type: str
    param: SearchParam
    target_type: str | None
    iterate: bool
    reverse: bool

    def render(self) -> str:
        target = f":{self.target_type}" if self.target_type else ""
        name = "_revinclude" if self.reverse else "_include"
        return f"{name}{':iterate' if self.iterate else ''}={self.source_type}:{self.param.name}{target}"


@dataclass(frozen=True)
class SortKey:
    name: str
    param: SearchParam | None  # None for _id / _lastUpdated
    descending: bool


@dataclass
class SearchRequest:
    resource_type: str
    filters: list[Filter] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    count: int = 50
    sort: list[SortKey] = field(default_factory=list)
    summary: SummaryMode | None = None
    total: Literal["none", "estimate", "accurate"] | None = None  # None: counted up to the configured limit
    elements: tuple[str, ...] = ()
    cursor: dict[str, Any] | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (parameter, message)
    echo: list[tuple[str, str]] = field(default_factory=list)  # parameters as applied, for self/next links


def _bad(message: str, name: str) -> InvalidRequest:
    return InvalidRequest(message, expression=f"parameter:{name}", code="API-SEARCH-PARAM")


def _split_values(raw: str) -> tuple[str, ...]:
    """Comma-separated OR values; ``\\,`` is a literal comma."""
    values, current, escaped = [], "", False
    for char in raw:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            values.append(current)
            current = ""
        else:
            current += char
    values.append(current)
    return tuple(values)


def _resolve_chain(resource_type: str, name: str) -> tuple[tuple[ChainLink, ...], str, SearchParam, str | None]:
    """Resolve ``a:Type.b.c:modifier`` into chain hops, the final type, its parameter and modifier."""
    parts = name.split(".")
    hops: list[ChainLink] = []
    current_types: tuple[str, ...] = (resource_type,)
    for part in parts[:-1]:
        pname, _, type_modifier = part.partition(":")
        candidates = [param(t, pname) for t in current_types]
        specs = [s for s in candidates if s is not None]
        if not specs or any(s.type != "reference" for s in specs):
            where = "/".join(current_types)
            raise _bad(f"'{pname}' is not a reference search parameter of {where}: cannot chain", name)
        targets = tuple(dict.fromkeys(t for s in specs for t in s.targets if t in SUPPORTED))
        if type_modifier:
            if type_modifier not in targets:
                raise _bad(f"'{pname}' cannot refer to {type_modifier}", name)
            targets = (type_modifier,)
        hops.append(ChainLink(specs[0], targets))
        current_types = targets
    last, _, modifier = parts[-1].partition(":")
    finals = [param(t, last) for t in current_types]
    matching = [(t, s) for t, s in zip(current_types, finals, strict=True) if s is not None]
    if not matching:
        raise _bad(f"unknown search parameter '{last}' for {'/'.join(current_types)}", name)
    if len(matching) > 1 and hops:
        # Keep only the types that have the parameter; the filter repeats per type when it is built.
        hops[-1] = ChainLink(hops[-1].param, tuple(t for t, _ in matching))
    final_type, spec = matching[0]
    if spec.via is not None:
        raise _bad(f"'{last}' is searched on {final_type} itself, not through a chain", name)
    return tuple(hops), final_type, spec, modifier or None


def _parse_filter(resource_type: str, name: str, raw: str) -> Filter:
    base, _, modifier = name.partition(":")
    if base in SPECIAL and "." not in name:
        if modifier and modifier != "missing":
            raise _bad(f"modifier ':{modifier}' is not supported on {base}", name)
        return Filter(name, None, base, modifier or None, _split_values(raw))
    if "." in name:
        chain, _final_type, spec, modifier_ = _resolve_chain(resource_type, name)
        return Filter(name, spec, None, modifier_, _split_values(raw), chain)
    found = param(resource_type, base)
    if found is None:
        raise LookupError(base)
    return Filter(name, found, None, modifier or None, _split_values(raw))


def _parse_include(resource_type: str, name: str, raw: str) -> Include:
    reverse = name.startswith("_revinclude")
    iterate = name.endswith((":iterate", ":recurse"))
    pieces = raw.split(":")
    if len(pieces) not in (2, 3):
        raise _bad(f"{name}={raw}: expected SourceType:parameter[:TargetType]", name)
    source, pname = pieces[0], pieces[1]
    target = pieces[2] if len(pieces) == 3 else None
    if source not in SUPPORTED:
        raise _bad(f"{name}={raw}: unknown resource type {source}", name)
    spec = param(source, pname)
    if spec is None or spec.type != "reference":
        raise _bad(f"{name}={raw}: {source} has no reference search parameter '{pname}'", name)
    if target is not None and target not in spec.targets:
        raise _bad(f"{name}={raw}: {source}.{pname} cannot refer to {target}", name)
    if not reverse and not iterate and source != resource_type:
        raise _bad(f"{name}={raw}: _include applies to {resource_type} (use _include:iterate for included types)", name)
    return Include(source, spec, target, iterate, reverse)


def _parse_sort(resource_type: str, raw: str) -> list[SortKey]:
    keys = []
    for item in raw.split(","):
        descending = item.startswith("-")
        name = item.removeprefix("-")
        if name in ("_id", "_lastUpdated"):
            keys.append(SortKey(name, None, descending))
            continue
        spec = param(resource_type, name)
        if spec is None or spec.type not in SORTABLE_TYPES or spec.via is not None:
            raise _bad(f"cannot sort {resource_type} by '{name}'", "_sort")
        keys.append(SortKey(name, spec, descending))
    if len(keys) > 1:
        raise _bad("sorting by more than one parameter is not supported", "_sort")
    return keys


def decode_cursor(raw: str) -> dict[str, Any]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError) as exc:
        raise _bad("_cursor is not a paging position this server issued", "_cursor") from exc
    if not isinstance(data, dict) or "id" not in data:
        raise _bad("_cursor is not a paging position this server issued", "_cursor")
    return data


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def parse_search(
    resource_type: str,
    pairs: Sequence[tuple[str, str]],
    *,
    strict: bool,
    default_count: int,
    max_count: int,
) -> SearchRequest:
    """Parse query pairs; unknown parameters are a warning, or an error under ``Prefer: handling=strict``."""
    request = SearchRequest(resource_type, count=default_count)
    for name, raw in pairs:
        if name.startswith("_include") or name.startswith("_revinclude"):
            request.includes.append(_parse_include(resource_type, name, raw))
        elif name == "_count":
            if not (raw.isascii() and raw.isdigit()):
                raise _bad(f"_count must be a non-negative integer, not {raw!r}", name)
            request.count = min(int(raw), max_count)
        elif name == "_sort":
            request.sort = _parse_sort(resource_type, raw)
        elif name == "_summary":
            if raw not in ("true", "false", "text", "data", "count"):
                raise _bad(f"_summary must be true, false, text, data or count, not {raw!r}", name)
            request.summary = raw  # type: ignore[assignment]
        elif name == "_total":
            if raw not in ("none", "estimate", "accurate"):
                raise _bad(f"_total must be none, estimate or accurate, not {raw!r}", name)
            request.total = raw  # type: ignore[assignment]
        elif name == "_elements":
            request.elements = tuple(e.strip() for e in raw.split(",") if e.strip())
        elif name == "_cursor":
            request.cursor = decode_cursor(raw)
            continue
        elif name in RESULT_PARAMS:
            pass  # _format, _pretty: accepted, the answer is JSON
        else:
            try:
                request.filters.append(_parse_filter(resource_type, name, raw))
            except LookupError:
                message = f"unknown search parameter '{name}' for {resource_type}"
                if strict:
                    raise _bad(message, name) from None
                request.warnings.append((name, message + " (ignored)"))
                continue
        request.echo.append((name, raw))
    if not registry().get(resource_type):
        raise _bad(f"resource type {resource_type} cannot be searched", resource_type)
    return request


__all__ = [
    "DATE_PREFIXES",
    "ChainLink",
    "Filter",
    "Include",
    "SearchRequest",
    "SortKey",
    "decode_cursor",
    "encode_cursor",
    "parse_search",
]

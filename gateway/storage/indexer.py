"""Derive search index rows from a resource's JSON, following the search parameter registry."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from gateway.fhir.dates import DateFormatError, parse_range
from gateway.fhir.paths import evaluate
from gateway.fhir.resources import SUPPORTED
from gateway.fhir.searchparams import SearchParam, registry
from gateway.sas.fragments import slot_fragments
from gateway.storage.fact_rows import appointment_row, slot_facts
from gateway.storage.references import parse_reference
from gateway.storage.slot_rows import codes_column, slot_row

STRING_MAX = 512


def normalise(text: str) -> str:
    """Case- and accent-insensitive form used for string search."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()[:STRING_MAX]


@dataclass
class IndexRows:
    """Index rows of one resource, per index table (column dicts without the owner columns)."""

    token: list[dict[str, Any]] = field(default_factory=list)
    date: list[dict[str, Any]] = field(default_factory=list)
    reference: list[dict[str, Any]] = field(default_factory=list)
    string: list[dict[str, Any]] = field(default_factory=list)
    number: list[dict[str, Any]] = field(default_factory=list)
    slot: list[dict[str, Any]] = field(default_factory=list)  # one row per Slot (gateway/storage/slot_rows.py)
    appointment: list[dict[str, Any]] = field(default_factory=list)  # one per Appointment (storage/fact_rows.py)


CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})


def _tokens(value: Any) -> list[tuple[str | None, str]]:
    """Token (system, code) pairs of a code, boolean, Coding, CodeableConcept, Identifier or ContactPoint."""
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, str | int | float):
        return [(None, str(value))]
    if not isinstance(value, dict):
        return []
    if "coding" in value:  # CodeableConcept
        return [t for coding in value["coding"] for t in _tokens(coding)]
    if isinstance(value.get("code"), str):  # Coding
        return [(value.get("system"), value["code"])]
    if isinstance(value.get("value"), str):  # Identifier; a ContactPoint's system is a channel, not a namespace
        system = value.get("system")
        return [(None if system in CONTACT_SYSTEMS else system, value["value"])]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    out: list[str] = []
    for key in ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode"):
        item = value.get(key)
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list):
            out.extend(i for i in item if isinstance(i, str))
    if isinstance(value.get("country"), str):
        out.append(value["country"])
    return out


def _references(value: Any, spec: SearchParam) -> list[dict[str, Any]]:
    if isinstance(value, str):  # canonical or uri
        return [{"target_type": None, "target_id": None, "url": value.split("|", 1)[0][:512]}]
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return []
    ref = value["reference"]
    target_type, target_id = parse_reference(ref)
    if target_type is None:
        return [{"target_type": None, "target_id": None, "url": ref[:512]}] if ref.startswith("urn:") else []
    if target_type not in spec.targets and target_type in SUPPORTED:
        return []
    url = ref[:512] if "://" in ref else None
    return [{"target_type": target_type, "target_id": target_id, "url": url}]


def _dates(value: Any, zone: tzinfo) -> list[tuple[Any, Any]]:
    try:
        if isinstance(value, str):
            return [parse_range(value, zone)]
        if isinstance(value, dict) and ("start" in value or "end" in value):  # Period: open ends are unbounded
            low = parse_range(value["start"], zone)[0] if "start" in value else datetime(1, 1, 1)
            high = parse_range(value["end"], zone)[1] if "end" in value else datetime(9999, 12, 31)
            return [(low, high)]
    except DateFormatError:
        return []
    return []


def _numbers(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [{"value": float(value), "system": None, "code": None}]
    if isinstance(value, dict) and isinstance(value.get("value"), int | float):
        return [{"value": float(value["value"]), "system": value.get("system"), "code": value.get("code")}]
    return []


def index_resource(resource: dict[str, Any], zone: tzinfo) -> IndexRows:
    """All index rows for a resource of a supported type."""
    rows = IndexRows()
    status = resource.get("status")
    own_status = status[:64] if isinstance(status, str) else None
    for spec in registry().get(resource["resourceType"], {}).values():
        if spec.via is not None:
            continue
        target: list[dict[str, Any]] = getattr(rows, spec.index_kind)
        seen: set[tuple[Any, ...]] = set()
        for path in spec.paths:
            for value in evaluate(resource, path):
                for row in _rows_for(spec, value, zone, own_status):
                    key = tuple(row.values())
                    if key not in seen:
                        seen.add(key)
                        row["param"] = spec.name
                        target.append(row)
    if resource["resourceType"] == "Slot":
        capacity = slot_row(resource, zone)
        if capacity is not None:
            sas, links = slot_fragments(resource)
            codes = codes_column(rows.token)
            rows.slot.append({**capacity, **slot_facts(resource, zone), "sas": sas, "links": links, "codes": codes})
    elif resource["resourceType"] == "Appointment":
        fact = appointment_row(resource, zone)
        if fact is not None:
            rows.appointment.append(fact)
    return rows


def _rows_for(spec: SearchParam, value: Any, zone: tzinfo, status: str | None) -> list[dict[str, Any]]:
    if spec.type == "token":
        return [{"system": s[:255] if s else None, "code": c[:255]} for s, c in _tokens(value)]
    if spec.type == "date":
        return [{"low": low, "high": high, "status": status} for low, high in _dates(value, zone)]
    if spec.type in ("reference", "uri"):
        return _references(value, spec)
    if spec.type == "string":
        return [{"value": normalise(s), "exact": s[:STRING_MAX]} for s in _strings(value) if s.strip()]
    return _numbers(value)


__all__ = ["IndexRows", "index_resource", "normalise", "parse_reference"]

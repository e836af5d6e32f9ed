"""Reads a FHIR Bundle sent by a centre's SI into source records, with ids made safe to share a store.

An SI's ids are its own: ``Slot/123`` of centre A is not ``Slot/123`` of centre B. Each resource therefore gets
the gateway's deterministic id: from its first identifier (``uuid5(type, system, value)``, the id the HL7 v2 and
CSV mappings give the same practitioner or patient) or else from ``(type, tenant, the SI's id)``. References are
rewritten to match, inside the bundle (``Type/id`` and ``urn:uuid:`` full URLs) and to earlier bundles of the
same SI. A ``transaction`` is one record (all or nothing); each entry of a ``batch`` or ``collection`` is a record.
A Slot without its SAS slot type (TRE_R314 in ``meta.security``) is refused (adapters/fhir/slot_types.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import orjson

from adapters.errors import AdapterError
from adapters.fhir.slot_types import slot_type_problem
from adapters.source import SourceRecord
from gateway.fhir.ids import deterministic_id

ACCEPTED_TYPES = frozenset(
    {
        "Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "HealthcareService",
        "Schedule", "Slot", "Appointment", "CareTeam", "CarePlan", "Consent", "Task", "ServiceRequest",
    }
)  # fmt: skip
BUNDLE_TYPES = ("batch", "transaction", "collection")


class BundleError(AdapterError):
    default_code: ClassVar[str] = "ADP-FHIR-BUNDLE"


def _local_id(resource: dict[str, Any], tenant: str, original: str) -> str:
    kind = resource["resourceType"]
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") and identifier.get("value"):
            return deterministic_id(kind, identifier["system"], identifier["value"])
    return deterministic_id(kind, tenant, original)


def _rewrite(node: Any, ids: dict[str, str], tenant: str) -> Any:
    if isinstance(node, dict):
        out = {key: _rewrite(value, ids, tenant) for key, value in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str):
            if ref in ids:
                out["reference"] = ids[ref]
            elif ref.count("/") == 1 and ref.split("/")[0] in ACCEPTED_TYPES and "?" not in ref:
                kind, original = ref.split("/")
                out["reference"] = f"{kind}/{deterministic_id(kind, tenant, original)}"
        return out
    if isinstance(node, list):
        return [_rewrite(item, ids, tenant) for item in node]
    return node


def read_bundle(payload: bytes, source: str, tenant: str) -> Iterator[SourceRecord]:
    """The records of a Bundle; ``BundleError`` for a body that is not a readable batch/transaction/collection."""
    try:
        bundle = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BundleError(f"the body is not JSON: {exc}", location=source) from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleError("the body is not a FHIR Bundle", location="Bundle.resourceType")
    kind = bundle.get("type")
    if kind not in BUNDLE_TYPES:
        raise BundleError(f"Bundle.type '{kind}' is not one of {', '.join(BUNDLE_TYPES)}", location="Bundle.type")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise BundleError("Bundle.entry is not a list", location="Bundle.entry")
    return _records(payload, source, tenant, kind, entries)


def _records(payload: bytes, source: str, tenant: str, kind: str, entries: list[Any]) -> Iterator[SourceRecord]:
    ids: dict[str, str] = {}
    found: list[tuple[int, dict[str, Any] | None, str | None]] = []
    for n, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            found.append((n, None, "the entry has no resource"))
            continue
        rtype = resource["resourceType"]
        if rtype not in ACCEPTED_TYPES:
            found.append((n, None, f"{rtype} is not an agenda or care resource the gateway takes from an SI"))
            continue
        slot_problem = slot_type_problem(resource)
        if slot_problem is not None:
            found.append((n, None, slot_problem))
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        original = str(resource.get("id") or full_url or n)
        new = _local_id(resource, tenant, original)
        if resource.get("id"):
            ids[f"{rtype}/{resource['id']}"] = f"{rtype}/{new}"
        if full_url:
            ids[full_url] = f"{rtype}/{new}"
        found.append((n, {**resource, "id": new}, None))
    prepared: list[tuple[int, dict[str, Any] | None, str | None]] = [
        (n, _rewrite(resource, ids, tenant) if resource else None, problem) for n, resource, problem in found
    ]
    if kind == "transaction":
        problems = [(n, p) for n, _r, p in prepared if p]
        text = payload.decode("utf-8", "replace")
        if problems:
            n, why = problems[0]
            error = BundleError(why, location=f"Bundle.entry[{n}].resource")
            yield SourceRecord("fhir:transaction", f"{source}#Bundle", text, problem=error)
            return
        resources = [r for _n, r, _p in prepared if r is not None]
        yield SourceRecord("fhir:transaction", f"{source}#Bundle", text, resources=resources)
        return
    for n, resource, problem in prepared:
        location = f"{source}#Bundle.entry[{n}]"
        text = orjson.dumps(entries[n]).decode()
        if problem:
            yield SourceRecord(f"fhir:{kind}", location, text, problem=BundleError(problem, location=location))
        else:
            yield SourceRecord(f"fhir:{kind}", location, text, resources=[resource] if resource else [])


__all__ = ["ACCEPTED_TYPES", "BUNDLE_TYPES", "BundleError", "read_bundle"]

"""How stored resources leave the server: single resources, searchset and history Bundles, ``_summary``/``_elements``.

Resources are embedded in Bundles as the stored JSON bytes (``orjson.Fragment``), without re-parsing, unless a
``_summary`` or ``_elements`` view asks for a subset.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import orjson

from gateway.errors import Issue
from gateway.fhir.dates import format_instant, utc_now
from gateway.fhir.ids import new_id
from gateway.storage.store import StoredResource

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
ALWAYS_KEPT = ("resourceType", "id", "meta")


@lru_cache(maxsize=64)
def summary_elements(resource_type: str) -> frozenset[str]:
    """Top-level elements marked 'summary' in the FHIR definition of the type."""
    from fhir.resources.R4B import get_fhir_model_class

    fields = get_fhir_model_class(resource_type).model_fields
    return frozenset(
        info.alias or name
        for name, info in fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("summary_element_property")
    )


def _subset(data: dict[str, Any], keep: frozenset[str] | set[str]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in keep or k in ALWAYS_KEPT}
    meta = dict(out.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out


def view(stored: StoredResource, summary: str | None = None, elements: Sequence[str] = ()) -> Any:
    """The resource as it should be sent: the stored bytes, or a subset for ``_summary``/``_elements``."""
    if summary in (None, "false") and not elements:
        return orjson.Fragment(stored.content)
    data = stored.json()
    if elements:
        return _subset(data, set(elements))
    if summary == "true":
        return _subset(data, set(summary_elements(stored.resource_type)))
    if summary == "text":
        return _subset(data, {"text"} | {"status"})
    if summary == "data":
        data.pop("text", None)
        return _subset(data, set(data))
    return orjson.Fragment(stored.content)


def full_url(base: str, stored: StoredResource) -> str:
    return f"{base}/{stored.resource_type}/{stored.id}"


def link_url(base: str, resource_type: str | None, pairs: Sequence[tuple[str, str]], suffix: str = "") -> str:
    path = f"{base}/{resource_type}" if resource_type else base
    query = urlencode(list(pairs), safe=":|/,")
    return f"{path}{suffix}" + (f"?{query}" if query else "")


def _paged_bundle(kind: str, total: int | None, self_link: str, next_link: str | None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": new_id(),
        "meta": {"lastUpdated": format_instant(utc_now())},
        "type": kind,
    }
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": "self", "url": self_link}]
    if next_link:
        bundle["link"].append({"relation": "next", "url": next_link})
    return bundle


def searchset(
    *,
    base: str,
    self_link: str,
    next_link: str | None,
    matches: Sequence[StoredResource],
    included: Sequence[StoredResource],
    total: int | None,
    summary: str | None,
    elements: Sequence[str],
    warnings: Sequence[Issue] = (),
) -> dict[str, Any]:
    bundle = _paged_bundle("searchset", total, self_link, next_link)
    entries: list[dict[str, Any]] = [
        {"fullUrl": full_url(base, s), "resource": view(s, summary, elements), "search": {"mode": "match"}}
        for s in matches
    ]
    entries.extend(
        {"fullUrl": full_url(base, s), "resource": view(s, summary, elements), "search": {"mode": "include"}}
        for s in included
    )
    if warnings:
        outcome = {"resourceType": "OperationOutcome", "issue": [w.to_fhir() for w in warnings]}
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    if entries:
        bundle["entry"] = entries
    return bundle


def history_bundle(
    *, base: str, self_link: str, next_link: str | None, versions: Sequence[StoredResource], total: int | None
) -> dict[str, Any]:
    bundle = _paged_bundle("history", total, self_link, next_link)
    entries = []
    for version in versions:
        url = f"{version.resource_type}/{version.id}"
        entry: dict[str, Any] = {"fullUrl": f"{base}/{url}"}
        if version.deleted:
            entry["request"] = {"method": "DELETE", "url": url}
            entry["response"] = {"status": "204 No Content", "lastModified": format_instant(version.last_updated)}
        else:
            method = version.method if version.method in ("POST", "PUT") else "PUT"
            entry["resource"] = orjson.Fragment(version.content)
            entry["request"] = {"method": method, "url": url if method == "PUT" else version.resource_type}
            entry["response"] = {
                "status": "201 Created" if version.version_id == 1 else "200 OK",
                "etag": version.etag,
                "lastModified": format_instant(version.last_updated),
            }
        entries.append(entry)
    if entries:
        bundle["entry"] = entries
    return bundle


__all__ = ["full_url", "history_bundle", "link_url", "searchset", "summary_elements", "view"]

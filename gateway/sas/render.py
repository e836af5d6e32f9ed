"""The SAS rendering of a Slot searchset: the CPTS aggregator bundle (ans.fhir.fr.sas 1.2.0).

Stored resources may carry FR Core or GAP profiles; on the way out each gets exactly one aggregator profile, Slot
times get milliseconds and a numeric offset in the gateway's time zone, identifiers are reduced to what the
aggregator profiles allow, and a PractitionerRole always contains the Location it points to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from gateway.fhir.dates import format_instant, utc_now
from gateway.fhir.ids import new_id
from gateway.sas import profiles as P
from gateway.sas.fragments import with_meta
from gateway.storage.store import StoredResource

if TYPE_CHECKING:
    from gateway.capacity.directory import Directory

Resource = dict[str, Any]


@lru_cache(maxsize=65536)  # slot times repeat (the same hours every day, the same days in every query)
def sas_instant(value: str, zone: tzinfo) -> str:
    """``2026-11-22T08:00:00Z`` -> ``2026-11-22T09:00:00.000+01:00`` (milliseconds, numeric offset, never Z)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    local = moment.astimezone(zone)
    return local.isoformat(timespec="milliseconds")


def _relative(node: Any, base: str) -> Any:
    """References made relative (``Type/id``) where they were written against this server's base."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value.startswith(base + "/"):
                value = value[len(base) + 1 :]
            out[key] = _relative(value, base)
        return out
    if isinstance(node, list):
        return [_relative(item, base) for item in node]
    return node


def _typed_identifier(identifier: Resource, type_system: str, code: str) -> Resource:
    out = {k: v for k, v in identifier.items() if k not in ("type", "assigner")}
    out["type"] = {"coding": [{"system": type_system, "code": code}]}
    return out


def _slot(slot: Resource, zone: tzinfo) -> None:
    for key in ("start", "end"):
        if isinstance(slot.get(key), str):
            slot[key] = sas_instant(slot[key], zone)


def _practitioner(practitioner: Resource) -> None:
    ids = [i for i in practitioner.get("identifier", []) if i.get("system") == P.IDNPS_SYSTEM]
    practitioner["identifier"] = [_typed_identifier(i, P.V1_IDENTIFIER_TYPE, "IDNPS") for i in ids]


def _phone(value: str) -> str:
    return "".join(c for c in value if "0" <= c <= "9" or c == "+")


def _practitioner_role(role: Resource, locations: dict[str, Resource]) -> None:
    organization = role.get("organization")
    if isinstance(organization, dict) and isinstance(organization.get("identifier"), dict):
        organization["identifier"] = _typed_identifier(organization["identifier"], P.V1_IDENTIFIER_TYPE, "IDNST")
    for telecom in role.get("telecom", []):
        if telecom.get("system") == "phone" and isinstance(telecom.get("value"), str):
            telecom["value"] = _phone(telecom["value"])
    contained = {c.get("id"): c for c in role.get("contained", []) if c.get("resourceType") == "Location"}
    chosen = None
    for ref in [r.get("reference", "") for r in role.get("location", []) if isinstance(r, dict)]:
        if ref.startswith("#") and ref[1:] in contained:
            chosen = ref
            break
        if ref in locations:  # a referenced Location is contained for the SAS
            location = {k: v for k, v in locations[ref].items() if k not in ("meta", "text", "contained")}
            location["id"] = "location"
            role["contained"] = [*role.get("contained", []), location]
            chosen = "#location"
            break
    if chosen is not None:
        role["location"] = [{"reference": chosen}]
    for location in role.get("contained", []):
        if location.get("resourceType") == "Location":
            location["meta"] = {"profile": [P.LOCATION_PROFILE]}
            for address in [location["address"]] if isinstance(location.get("address"), dict) else []:
                address["line"] = address.get("line", [])[:1]


def _organization(organization: Resource) -> None:
    ids = organization.get("identifier", [])
    idnst = [i for i in ids if i.get("system") == P.IDNST_SYSTEM]
    if not idnst:
        finess = [i for i in ids if i.get("system") == "https://finess.esante.gouv.fr" and i.get("value")]
        idnst = [{"system": P.IDNST_SYSTEM, "value": "1" + finess[0]["value"]}] if finess else []
    organization["identifier"] = [_typed_identifier(i, P.FR_CORE_IDENTIFIER_TYPE, "IDNST") for i in idnst[:1]]


def sas_rendering(
    resource: Resource, content: str, base: str, zone: tzinfo, locations: dict[str, Resource]
) -> Resource:
    """One resource as the SAS receives it (``resource``, the parsed ``content``, may be changed in place)."""
    if base + "/" in content:  # absolute references to this server are rare: skip the walk otherwise
        resource = _relative(resource, base)
    kind = resource["resourceType"]
    resource = with_meta(resource, P.PROFILES[kind], keep_security=kind == "Slot")
    if kind == "Slot":
        _slot(resource, zone)
    elif kind == "Practitioner":
        _practitioner(resource)
    elif kind == "PractitionerRole":
        _practitioner_role(resource, locations)
    elif kind == "Organization":
        _organization(resource)
    return resource


def sas_resource(stored: StoredResource, base: str, zone: tzinfo, locations: dict[str, Resource]) -> Resource:
    """One stored resource as the SAS receives it."""
    return sas_rendering(stored.json(), stored.content, base, zone, locations)


def _directory_locations(directory: Directory) -> dict[str, Resource]:
    """The stored Locations, by reference (PractitionerRoles pointing to one get it contained for the SAS)."""
    found: dict[str, Resource] | None = directory.memo.get("sas-locations")
    if found is None:
        found = {
            f"Location/{ident}": directory.parsed(stored)
            for (kind, ident), stored in directory.resources.items()
            if kind == "Location"
        }
        directory.memo["sas-locations"] = found
    return found


def _included_entry(stored: StoredResource, base: str, zone: tzinfo, directory: Directory) -> bytes:
    """A directory resource's entry, encoded once per directory (it does not depend on the request but its base)."""
    key = ("sas-entry", stored.resource_type, stored.id, base, str(zone))
    found: bytes | None = directory.memo.get(key)
    if found is None:
        resource = sas_resource(stored, base, zone, _directory_locations(directory))
        entry = {"fullUrl": f"{base}/{stored.reference}", "resource": resource, "search": {"mode": "include"}}
        found = orjson.dumps(entry)
        directory.memo[key] = found
    return found


class SlotMatch(NamedTuple):
    """A matching Slot of the answer: its id and its SAS rendering as UTF-8 JSON (a tuple: hundreds per answer)."""

    id: str
    text: bytes


def sas_bundle(
    *,
    base: str,
    self_link: str,
    slots: Sequence[SlotMatch],
    included: Sequence[StoredResource],
    zone: tzinfo,
    directory: Directory,
) -> bytes:
    """The searchset, encoded: ``total`` = number of Slots, one self link, a ``fullUrl`` on every entry; included
    resources of types outside the aggregator profiles are left out. Slots come rendered (prepared fragments,
    gateway/sas/fragments.py), included resources from the directory's memo: the answer is assembled, not encoded."""
    head: Resource = {
        "resourceType": "Bundle",
        "id": new_id(),
        "meta": {"lastUpdated": format_instant(utc_now()), "profile": [P.BUNDLE_PROFILE]},
        "type": "searchset",
        "total": len(slots),
        "link": [{"relation": "self", "url": self_link}],
    }
    prefix = orjson.dumps(f"{base}/Slot/")[:-1]  # the opening quote and the escaped text, no closing one
    match = b'{"fullUrl":%b%b","resource":%b,"search":{"mode":"match"}}'
    entries = [match % (prefix, slot.id.encode(), slot.text) for slot in slots]
    entries += (_included_entry(s, base, zone, directory) for s in included if s.resource_type in P.PROFILES)
    if not entries:
        return orjson.dumps(head)
    # the head's closing brace replaced by the entries: the answer (most of it the entries) is copied once
    return b"".join((orjson.dumps(head)[:-1], b',"entry":[', b",".join(entries), b"]}"))


__all__ = ["SlotMatch", "sas_bundle", "sas_instant", "sas_rendering", "sas_resource"]

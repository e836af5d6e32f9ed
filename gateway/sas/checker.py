"""Structural checks of a SAS CPTS aggregator bundle, derived from the StructureDefinitions of ans.fhir.fr.sas 1.2.0
(``sas-cpts-bundle-aggregator`` and the profiles of its entries) and the assertions of the national test kit.

The gateway's validator checks FHIR R4 rules but does not load profiles; this is what the aggregator profiles add.
``problems(bundle)`` returns every rule broken, as ``where: what`` strings (empty: conformant).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gateway.sas import profiles as P

Resource = dict[str, Any]
SAS_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")
ID_NAT_PS = re.compile(r"^8\d{11}$")
ID_NAT_STRUCT_FINESS = re.compile(r"^1\d{9}$")  # FINESS-invariant of sas-cpts-organization-aggregator
POSTAL_CODE = re.compile(r"^\d{5}$")
RELATIVE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def _codings(concept: Any) -> list[Resource]:
    return [c for c in (concept or {}).get("coding", []) if isinstance(c, dict)]


def _references(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield path, value
            elif key != "contained":
                yield from _references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, f"{path}[{index}]")


def _slot(slot: Resource, where: str) -> Iterator[str]:
    for coding in slot.get("meta", {}).get("security", []):
        if coding.get("system") != P.SLOT_TYPE_SYSTEM or coding.get("code") not in P.SLOT_TYPES:
            yield f"{where}.meta.security: {coding} is not in sas-cpts-valueset-typecreneau"
    for index, concept in enumerate(slot.get("serviceType", [])):
        codings = _codings(concept)
        extensions = concept.get("extension", [])
        if any(c.get("system") == P.CATEGORY_SYSTEM for c in codings):
            if [c.get("code") for c in codings] != [P.CATEGORY_CPTS]:
                yield f"{where}.serviceType[{index}]: the CPTS category must be TRE_R66 604 alone"
            refs = [e for e in extensions if e.get("url") == P.SLOT_SERVICE_TYPE_URL]
            value = refs[0].get("valueReference", {}).get("reference", "") if len(refs) == 1 else ""
            if not value.startswith("HealthcareService/"):
                yield f"{where}.serviceType[{index}]: 604 needs one extension-Slot.serviceType → HealthcareService"
        elif all(c.get("system") == P.ACT_CODE_SYSTEM and c.get("code") in P.CONSULTATION_TYPES for c in codings):
            if extensions:
                yield f"{where}.serviceType[{index}]: a consultation type carries no extension"
        else:
            yield f"{where}.serviceType[{index}]: neither v3-ActCode AMB/HH/VR nor TRE_R66 604"
    for coding in _codings(slot.get("appointmentType")):
        if coding.get("system") != P.APPOINTMENT_TYPE_SYSTEM or coding.get("code") not in P.APPOINTMENT_TYPES:
            yield f"{where}.appointmentType: {coding} is not v2-0276 ROUTINE/WALKIN"
    if not str(slot.get("schedule", {}).get("reference", "")).startswith("Schedule/"):
        yield f"{where}.schedule: a Schedule reference is required"
    if slot.get("status") != "free":
        yield f"{where}.status: must be free"
    for key in ("start", "end"):
        if not SAS_INSTANT.match(str(slot.get(key, ""))):
            yield f"{where}.{key}: {slot.get(key)!r} is not YYYY-MM-DDThh:mm:ss.SSS+hh:mm"
    if not str(slot.get("comment", "")).strip():
        yield f"{where}.comment: the booking URL is required"


def _typed(identifier: Resource, system: str, code: str) -> bool:
    """The identifier's type is one coding ``system#code`` (the profiles' pattern, with ``type.coding`` max 1)."""
    return [(c.get("system"), c.get("code")) for c in _codings(identifier.get("type"))] == [(system, code)]


def _practitioner(practitioner: Resource, where: str) -> Iterator[str]:
    identifiers = practitioner.get("identifier", [])
    if not identifiers:
        yield f"{where}.identifier: at least one (idNat_PS) is required"
    for index, identifier in enumerate(identifiers):
        if identifier.get("system") != P.IDNPS_SYSTEM or not ID_NAT_PS.match(str(identifier.get("value", ""))):
            yield f"{where}.identifier[{index}]: must be {P.IDNPS_SYSTEM} with value 8+RPPS"
        if not _typed(identifier, P.V1_IDENTIFIER_TYPE, "IDNPS"):
            yield f"{where}.identifier[{index}].type: must be one coding fr-v2-0203#IDNPS"


def _location(location: Resource, where: str) -> Iterator[str]:
    addresses = location.get("address")
    address = addresses if isinstance(addresses, dict) else {}
    if len(address.get("line", [])) != 1:
        yield f"{where}.address.line: exactly one line is required"
    if not address.get("city"):
        yield f"{where}.address.city: required"
    if not POSTAL_CODE.match(str(address.get("postalCode", ""))):
        yield f"{where}.address.postalCode: five digits required"


def _practitioner_role(role: Resource, where: str) -> Iterator[str]:
    contained = {c.get("id"): c for c in role.get("contained", []) if c.get("resourceType") == "Location"}
    if not contained:
        yield f"{where}.contained: a Location is required"
    locations = role.get("location", [])
    target = str(locations[0].get("reference", "")) if len(locations) == 1 else ""
    if not target.startswith("#") or target[1:] not in contained:
        yield f"{where}.location: exactly one reference to a contained Location is required"
    else:
        yield from _location(contained[target[1:]], f"{where}.contained[{target}]")
    if not str(role.get("practitioner", {}).get("reference", "")).startswith("Practitioner/"):
        yield f"{where}.practitioner: a Practitioner reference is required"
    identifier = role.get("organization", {}).get("identifier")
    if identifier is not None and (
        identifier.get("system") != P.IDNST_SYSTEM or not _typed(identifier, P.V1_IDENTIFIER_TYPE, "IDNST")
    ):
        yield f"{where}.organization.identifier: must be fr-v2-0203#IDNST in {P.IDNST_SYSTEM}"


def _organization(organization: Resource, where: str) -> Iterator[str]:
    identifiers = organization.get("identifier", [])
    if len(identifiers) != 1:
        yield f"{where}.identifier: exactly one (idNat_Struct) is required"
        return
    identifier = identifiers[0]
    if identifier.get("system") != P.IDNST_SYSTEM or not _typed(identifier, P.FR_CORE_IDENTIFIER_TYPE, "IDNST"):
        yield f"{where}.identifier: must be fr-core-cs-v2-0203#IDNST in {P.IDNST_SYSTEM}"
    if not ID_NAT_STRUCT_FINESS.match(str(identifier.get("value", ""))):
        yield f"{where}.identifier.value: must be 1 followed by the 9-character FINESS"


def _healthcare_service(service: Resource, where: str) -> Iterator[str]:
    if not service.get("id"):
        yield f"{where}.id: required"
    if not str(service.get("providedBy", {}).get("reference", "")).startswith("Organization/"):
        yield f"{where}.providedBy: an Organization reference is required"


def _schedule(schedule: Resource, where: str) -> Iterator[str]:
    kinds = {str(a.get("reference", "")).partition("/")[0] for a in schedule.get("actor", [])}
    if not {"Practitioner", "PractitionerRole"} <= kinds:
        yield f"{where}.actor: must list the Practitioner and the PractitionerRole"


# The references the INT_R04 includes follow, and so must find their target in the bundle.
RESOLVED = {
    "Slot": (".schedule", ".serviceType"),
    "Schedule": (".actor",),
    "PractitionerRole": (".practitioner",),
    "HealthcareService": (".providedBy",),
}


def _must_resolve(kind: str, path: str) -> bool:
    return any(f"){step}" in path for step in RESOLVED.get(kind, ()))


CHECKS = {
    "Slot": _slot,
    "Schedule": _schedule,
    "Practitioner": _practitioner,
    "PractitionerRole": _practitioner_role,
    "HealthcareService": _healthcare_service,
    "Organization": _organization,
}


def problems(bundle: Resource) -> list[str]:
    """Every aggregator-profile rule ``bundle`` breaks."""
    found: list[str] = []
    if bundle.get("type") != "searchset":
        found.append("Bundle.type: must be searchset")
    if not isinstance(bundle.get("total"), int):
        found.append("Bundle.total: required")
    if len(bundle.get("link", [])) != 1:
        found.append("Bundle.link: exactly one link is required")
    entries = bundle.get("entry", [])
    if len(entries) < 4:
        found.append("Bundle.entry: at least four entries are required")
    present = {
        str(e.get("resource", {}).get("resourceType")) + "/" + str(e.get("resource", {}).get("id")) for e in entries
    }
    slots = 0
    for index, entry in enumerate(entries):
        resource = entry.get("resource", {})
        kind = resource.get("resourceType")
        where = f"Bundle.entry[{index}].resource({kind})"
        if not entry.get("fullUrl"):
            found.append(f"Bundle.entry[{index}].fullUrl: required")
        if kind not in CHECKS:
            continue
        slots += kind == "Slot"
        if resource.get("meta", {}).get("profile") != [P.PROFILES[kind]]:
            found.append(f"{where}.meta.profile: exactly [{P.PROFILES[kind]}] is required")
        found.extend(CHECKS[kind](resource, where))
        for path, reference in _references(resource, where):
            if reference.startswith("#"):
                continue
            if not RELATIVE.match(reference):
                found.append(f"{path}: {reference!r} is not a relative Type/id reference")
            elif reference not in present and _must_resolve(kind, path):
                found.append(f"{path}: {reference} is not in the bundle")
    kinds = {e.get("resource", {}).get("resourceType") for e in entries}
    found.extend(f"Bundle.entry: a {kind} entry is required" for kind in P.REQUIRED_TYPES if kind not in kinds)
    if isinstance(bundle.get("total"), int) and bundle["total"] != slots:
        found.append(f"Bundle.total: {bundle['total']} but {slots} Slot entries")
    return found


__all__ = ["SAS_INSTANT", "problems"]

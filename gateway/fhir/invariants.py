"""FHIR R4 core invariants (and a few gateway business rules), one small check per key.

Each check receives one JSON object of the type it applies to (a resource, a backbone element or a
datatype, named as in ``fhir.resources``: ``Patient``, ``PatientContact``, ``Period``...) and yields the
FHIRPath suffixes, relative to that object, where the rule fails: ``""`` for the object itself,
``".end"``, ``".entry[2].request"``... The validator calls them for every object of that type, wherever
it appears. They must never raise on malformed input: the structural walker reports that separately.

ele-1 (every element has a value or children) is enforced by the walker's empty-element check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.fhir.primitives import compare_temporal

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    """Where the checked object sits: ``root`` is the resource whose ``contained`` local references use."""

    root: JSON
    in_contained: bool = False


Check = Callable[[JSON, Context], Iterator[str]]


@dataclass(frozen=True, slots=True)
class Invariant:
    key: str
    applies_to: str
    human: str
    check: Check


_REGISTRY: dict[str, list[Invariant]] = {}


def invariant(key: str, applies_to: str, human: str) -> Callable[[Check], Check]:
    """Register ``check`` as invariant ``key`` for objects of type ``applies_to``."""

    def register(check: Check) -> Check:
        _REGISTRY.setdefault(applies_to, []).append(Invariant(key, applies_to, human, check))
        return check

    return register


def invariants_for(type_name: str) -> tuple[Invariant, ...]:
    """The invariants registered for one resource, backbone element or datatype name."""
    return tuple(_REGISTRY.get(type_name, ()))


def all_invariants() -> tuple[Invariant, ...]:
    return tuple(inv for group in _REGISTRY.values() for inv in group)


# --- helpers --------------------------------------------------------------------------------------


def _has(obj: JSON, key: str) -> bool:
    """FHIRPath ``exists()``: the element is present (a primitive may carry only extensions)."""
    return key in obj or f"_{key}" in obj


def _text(obj: object, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def _items(obj: JSON, key: str) -> Iterator[tuple[int, JSON]]:
    value = obj.get(key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _child(obj: JSON, key: str) -> JSON:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _after(obj: JSON, first: str, second: str) -> bool:
    """True when both date/times are present and ``first`` is strictly later than ``second``."""
    left, right = _text(obj, first), _text(obj, second)
    return left is not None and right is not None and compare_temporal(left, right) == 1


def _hash_refs(node: object, found: set[str]) -> set[str]:
    """Every string starting with ``#`` anywhere below ``node`` (local references)."""
    if isinstance(node, str):
        if node.startswith("#"):
            found.add(node)
    elif isinstance(node, dict):
        for value in node.values():
            _hash_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _hash_refs(value, found)
    return found


# --- datatypes ------------------------------------------------------------------------------------


@invariant("per-1", "Period", "If present, the start of a period SHALL NOT be after its end")
def _per_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if _after(obj, "start", "end"):
        yield ""


@invariant("ext-1", "Extension", "An extension SHALL have either nested extensions or a value[x], not both")
def _ext_1(obj: JSON, ctx: Context) -> Iterator[str]:
    has_value = any(key.startswith(("value", "_value")) for key in obj)
    if has_value == ("extension" in obj):
        yield ""


@invariant("qty-3", "Quantity", "If a quantity has a code, it SHALL have a system")
def _qty_3(obj: JSON, ctx: Context) -> Iterator[str]:
    if _has(obj, "code") and not _has(obj, "system"):
        yield ".system"


_UCUM = "http://unitsofmeasure.org"


def _ucum_coded(obj: JSON) -> bool:
    """A code whenever there is a value, and UCUM as the system when one is given."""
    system = _text(obj, "system")
    return (_has(obj, "code") or not _has(obj, "value")) and (system is None or system == _UCUM)


@invariant("age-1", "Age", "An age with a value SHALL have a UCUM code and a positive value")
def _age_1(obj: JSON, ctx: Context) -> Iterator[str]:
    value = obj.get("value")
    positive = not isinstance(value, int | float | Decimal) or isinstance(value, bool) or value > 0
    if not (_ucum_coded(obj) and positive):
        yield ""


@invariant("drt-1", "Duration", "A duration with a code SHALL have a value and the UCUM system")
def _drt_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if _has(obj, "code") and not (_text(obj, "system") == _UCUM and _has(obj, "value")):
        yield ""


@invariant("dis-1", "Distance", "A distance with a value SHALL have a code, and any system SHALL be UCUM")
def _dis_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if not _ucum_coded(obj):
        yield ""


@invariant("cpt-2", "ContactPoint", "A contact point with a value SHALL have a system")
def _cpt_2(obj: JSON, ctx: Context) -> Iterator[str]:
    if _has(obj, "value") and not _has(obj, "system"):
        yield ".system"


@invariant("att-1", "Attachment", "An attachment carrying data SHALL have a contentType")
def _att_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if _has(obj, "data") and not _has(obj, "contentType"):
        yield ".contentType"


@invariant("ref-1", "Reference", "A local reference '#id' SHALL point to a resource contained in this resource")
def _ref_1(obj: JSON, ctx: Context) -> Iterator[str]:
    reference = _text(obj, "reference")
    if reference is None or not reference.startswith("#"):
        return
    if reference == "#":
        if not ctx.in_contained:
            yield ".reference"
        return
    contained_ids = {_text(res, "id") for _, res in _items(ctx.root, "contained")}
    if reference[1:] not in contained_ids:
        yield ".reference"


_XHTML_ROOT = re.compile(r"""\s*<div\b[^>]*\bxmlns\s*=\s*["']http://www\.w3\.org/1999/xhtml["']""")
_ACTIVE_CONTENT = re.compile(
    r"<\s*(script|style|iframe|frame|object|embed|applet|form|input|button|base|link|meta)\b"
    r"|<[^>]*\son[a-z]+\s*="
    r"|javascript:",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")


@invariant("txt-1", "Narrative", "The narrative SHALL be an XHTML div using only basic formatting (no active content)")
def _txt_1(obj: JSON, ctx: Context) -> Iterator[str]:
    div = _text(obj, "div")
    if div is not None and (not _XHTML_ROOT.match(div) or _ACTIVE_CONTENT.search(div)):
        yield ".div"


@invariant("txt-2", "Narrative", "The narrative SHALL have some non-whitespace content")
def _txt_2(obj: JSON, ctx: Context) -> Iterator[str]:
    div = _text(obj, "div")
    if div is not None and "<img" not in div and not _TAG.sub("", div).strip():
        yield ".div"


# --- DomainResource -------------------------------------------------------------------------------


@invariant("dom-2", "DomainResource", "A contained resource SHALL NOT itself contain resources")
def _dom_2(obj: JSON, ctx: Context) -> Iterator[str]:
    for index, res in _items(obj, "contained"):
        if "contained" in res:
            yield f".contained[{index}].contained"


@invariant("dom-3", "DomainResource", "A contained resource SHALL be referenced from the resource or refer to it")
def _dom_3(obj: JSON, ctx: Context) -> Iterator[str]:
    if "contained" not in obj:
        return
    references = _hash_refs(obj, set())
    for index, res in _items(obj, "contained"):
        if f"#{_text(res, 'id')}" not in references and "#" not in _hash_refs(res, set()):
            yield f".contained[{index}]"


@invariant("dom-4", "DomainResource", "A contained resource SHALL NOT have meta.versionId or meta.lastUpdated")
def _dom_4(obj: JSON, ctx: Context) -> Iterator[str]:
    for index, res in _items(obj, "contained"):
        meta = _child(res, "meta")
        if _has(meta, "versionId") or _has(meta, "lastUpdated"):
            yield f".contained[{index}].meta"


@invariant("dom-5", "DomainResource", "A contained resource SHALL NOT have a security label")
def _dom_5(obj: JSON, ctx: Context) -> Iterator[str]:
    for index, res in _items(obj, "contained"):
        if "security" in _child(res, "meta"):
            yield f".contained[{index}].meta.security"


# --- administrative resources ---------------------------------------------------------------------


@invariant("pat-1", "PatientContact", "A patient contact SHALL have a name, a telecom, an address or an organization")
def _pat_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if not any(key in obj for key in ("name", "telecom", "address", "organization")):
        yield ""


@invariant("org-1", "Organization", "An organization SHALL have at least a name or an identifier")
def _org_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if "identifier" not in obj and not _has(obj, "name"):
        yield ""


@invariant("org-2", "Organization", "An address of an organization can never be of use 'home'")
def _org_2(obj: JSON, ctx: Context) -> Iterator[str]:
    for index, address in _items(obj, "address"):
        if address.get("use") == "home":
            yield f".address[{index}].use"


@invariant("org-3", "Organization", "The telecom of an organization can never be of use 'home'")
def _org_3(obj: JSON, ctx: Context) -> Iterator[str]:
    for index, telecom in _items(obj, "telecom"):
        if telecom.get("use") == "home":
            yield f".telecom[{index}].use"


# --- scheduling -----------------------------------------------------------------------------------


@invariant("app-1", "AppointmentParticipant", "An appointment participant SHALL have a type or an actor")
def _app_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if "type" not in obj and "actor" not in obj:
        yield ""


@invariant("app-2", "Appointment", "An appointment SHALL have both a start and an end, or neither")
def _app_2(obj: JSON, ctx: Context) -> Iterator[str]:
    if _has(obj, "start") != _has(obj, "end"):
        yield ".end" if _has(obj, "start") else ".start"


@invariant("app-3", "Appointment", "Only proposed, cancelled or waitlisted appointments may lack a start and end")
def _app_3(obj: JSON, ctx: Context) -> Iterator[str]:
    timed = _has(obj, "start") and _has(obj, "end")
    if not timed and obj.get("status") not in ("proposed", "cancelled", "waitlist"):
        yield ".status"


@invariant("app-4", "Appointment", "A cancellation reason is only allowed on cancelled or no-show appointments")
def _app_4(obj: JSON, ctx: Context) -> Iterator[str]:
    if "cancelationReason" in obj and obj.get("status") not in ("noshow", "cancelled"):
        yield ".cancelationReason"


@invariant("gw-slot-1", "Slot", "A slot SHALL NOT end before it starts")
def _gw_slot_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if _after(obj, "start", "end"):
        yield ".end"


# --- clinical workflow ----------------------------------------------------------------------------


def _reference_type(reference: JSON) -> str | None:
    """The resource type a Reference points to, from ``type`` or a literal ``Type/id`` reference."""
    declared = _text(reference, "type")
    if declared is not None:
        return declared.rsplit("/", 1)[-1]
    literal = _text(reference, "reference")
    if literal is None or literal.startswith("#"):
        return None
    parts = literal.split("/_history/")[0].rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else None


@invariant("ctm-1", "CareTeamParticipant", "onBehalfOf is only allowed when the member is a Practitioner")
def _ctm_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if "onBehalfOf" in obj and _reference_type(_child(obj, "member")) not in (None, "Practitioner"):
        yield ".onBehalfOf"


@invariant("cpl-3", "CarePlanActivity", "A care plan activity SHALL have either a detail or a reference, not both")
def _cpl_3(obj: JSON, ctx: Context) -> Iterator[str]:
    if "detail" in obj and "reference" in obj:
        yield ""


@invariant(
    "gw-cpl-1",
    "CarePlanActivityDetail",
    "A pathway activity's due date (urn:cpts-gateway:extension:activity-due) is kept only while it is pending",
)
def _gw_cpl_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if obj.get("status") in ("not-started", "scheduled", "in-progress", "on-hold"):
        return
    for index, extension in _items(obj, "extension"):
        if extension.get("url") == "urn:cpts-gateway:extension:activity-due":
            yield f".extension[{index}]"


_TASK_STATUSES = frozenset(
    {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold",
     "failed", "completed", "entered-in-error"}
)  # fmt: skip


@invariant("gw-task-1", "Task", "A task's status SHALL be a code of the R4 task-status value set (required binding)")
def _gw_task_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if isinstance(obj.get("status"), str) and obj["status"] not in _TASK_STATUSES:
        yield ".status"


@invariant("inv-1", "Task", "A task's lastModified SHALL NOT be before its authoredOn")
def _inv_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if _after(obj, "authoredOn", "lastModified"):
        yield ".lastModified"


@invariant("prr-1", "ServiceRequest", "orderDetail SHALL only be present if a code is present")
def _prr_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if "orderDetail" in obj and "code" not in obj:
        yield ".orderDetail"


@invariant("ppc-1", "Consent", "A consent SHALL have either a policy or a policyRule")
def _ppc_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if "policy" not in obj and "policyRule" not in obj:
        yield ""


_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"


def _scope_needs_patient(code: str) -> Check:
    def check(obj: JSON, ctx: Context) -> Iterator[str]:
        scoped = any(
            coding.get("system") == _CONSENT_SCOPE and coding.get("code") == code
            for _, coding in _items(_child(obj, "scope"), "coding")
        )
        if scoped and "patient" not in obj:
            yield ".patient"

    return check


for _key, _scope in (("ppc-2", "patient-privacy"), ("ppc-3", "research"), ("ppc-4", "adr"), ("ppc-5", "treatment")):
    invariant(_key, "Consent", f"A consent of scope '{_scope}' SHALL name the patient")(_scope_needs_patient(_scope))


# --- quality measures -----------------------------------------------------------------------------

_MACHINE_NAME = re.compile(r"[A-Z]([A-Za-z0-9_]){0,254}")


@invariant("mea-0", "Measure", "A measure name SHALL be machine friendly: a capital then letters, digits or _")
def _mea_0(obj: JSON, ctx: Context) -> Iterator[str]:
    name = _text(obj, "name")
    if name is not None and not _MACHINE_NAME.fullmatch(name):
        yield ".name"


@invariant("mea-1", "MeasureGroupStratifier", "A stratifier SHALL be a single criteria or a set of components")
def _mea_1(obj: JSON, ctx: Context) -> Iterator[str]:
    single = any(_has(obj, key) for key in ("code", "description", "criteria"))
    if single == ("component" in obj):
        yield ""


@invariant("mrp-1", "MeasureReport", "A data-collection measure report SHALL NOT carry group and score information")
def _mrp_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if obj.get("type") == "data-collection" and "group" in obj:
        yield ".group"


@invariant("mrp-2", "MeasureReportGroupStratifierStratum", "A stratum SHALL have either a value or components")
def _mrp_2(obj: JSON, ctx: Context) -> Iterator[str]:
    if ("value" in obj) == ("component" in obj):
        yield ""


# --- security -------------------------------------------------------------------------------------


@invariant("sev-1", "AuditEventEntity", "An audit event entity SHALL have a name or a query, not both")
def _sev_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if _has(obj, "name") and _has(obj, "query"):
        yield ""


# --- Bundle ---------------------------------------------------------------------------------------


@invariant("bdl-1", "Bundle", "total is only allowed in searchset and history bundles")
def _bdl_1(obj: JSON, ctx: Context) -> Iterator[str]:
    if _has(obj, "total") and obj.get("type") not in ("searchset", "history"):
        yield ".total"


@invariant("bdl-2", "Bundle", "entry.search is only allowed in searchset bundles")
def _bdl_2(obj: JSON, ctx: Context) -> Iterator[str]:
    if obj.get("type") != "searchset":
        yield from (f".entry[{i}].search" for i, entry in _items(obj, "entry") if "search" in entry)


def _entry_rule(element: str, types: tuple[str, ...]) -> Check:
    """``element`` is mandatory in every entry of a bundle of one of ``types`` and forbidden otherwise."""

    def check(obj: JSON, ctx: Context) -> Iterator[str]:
        wanted = obj.get("type") in types
        yield from (f".entry[{i}].{element}" for i, entry in _items(obj, "entry") if (element in entry) != wanted)

    return check


invariant("bdl-3", "Bundle", "entry.request is mandatory for batch/transaction/history bundles, otherwise forbidden")(
    _entry_rule("request", ("batch", "transaction", "history"))
)
invariant("bdl-4", "Bundle", "entry.response is mandatory for batch/transaction responses and history, else forbidden")(
    _entry_rule("response", ("batch-response", "transaction-response", "history"))
)


@invariant("bdl-5", "BundleEntry", "A bundle entry SHALL contain a resource, a request or a response")
def _bdl_5(obj: JSON, ctx: Context) -> Iterator[str]:
    if not any(key in obj for key in ("resource", "request", "response")):
        yield ""


@invariant("bdl-7", "Bundle", "fullUrl SHALL be unique in a bundle unless the versionIds differ (except history)")
def _bdl_7(obj: JSON, ctx: Context) -> Iterator[str]:
    if obj.get("type") == "history":
        return
    seen: set[tuple[str, object]] = set()
    for index, entry in _items(obj, "entry"):
        full_url = _text(entry, "fullUrl")
        if full_url is None:
            continue
        key = (full_url, _text(_child(_child(entry, "resource"), "meta"), "versionId"))
        if key in seen:
            yield f".entry[{index}].fullUrl"
        seen.add(key)


@invariant("bdl-8", "BundleEntry", "fullUrl cannot be a version specific reference")
def _bdl_8(obj: JSON, ctx: Context) -> Iterator[str]:
    if "/_history/" in (_text(obj, "fullUrl") or ""):
        yield ".fullUrl"


@invariant("bdl-9", "Bundle", "A document bundle SHALL have an identifier with a system and a value")
def _bdl_9(obj: JSON, ctx: Context) -> Iterator[str]:
    identifier = _child(obj, "identifier")
    if obj.get("type") == "document" and not (_has(identifier, "system") and _has(identifier, "value")):
        yield ".identifier"


@invariant("bdl-10", "Bundle", "A document bundle SHALL have a timestamp")
def _bdl_10(obj: JSON, ctx: Context) -> Iterator[str]:
    if obj.get("type") == "document" and "timestamp" not in obj:
        yield ".timestamp"


def _first_entry_is(bundle_type: str, resource_type: str) -> Check:
    def check(obj: JSON, ctx: Context) -> Iterator[str]:
        if obj.get("type") != bundle_type:
            return
        first = next(_items(obj, "entry"), (0, {}))[1]
        if _child(first, "resource").get("resourceType") != resource_type:
            yield ".entry[0].resource"

    return check


invariant("bdl-11", "Bundle", "A document bundle SHALL start with a Composition")(
    _first_entry_is("document", "Composition")
)
invariant("bdl-12", "Bundle", "A message bundle SHALL start with a MessageHeader")(
    _first_entry_is("message", "MessageHeader")
)


__all__ = ["Check", "Context", "Invariant", "all_invariants", "invariant", "invariants_for"]

"""The GAP agenda server of an SI (GAP 3.0.0, GestionnaireAgenda): metadata and the searches the CPTS sends (GAP-*)."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.checks.fhir import parse_instant, terms
from conformance.endpoint import Answer, Session, entries, outcome_issue
from conformance.model import Message, Omit
from conformance.registry import check, group
from gateway.errors import ValidationFailed
from gateway.fhir.validation import validate_resource

GAP = group("gap", "GAP agenda server", "An SI's agenda server as the CPTS queries it (GAP 3.0.0).")
IG = "GAP 3.0.0 (CapabilityStatement GAP-GestionnaireAgenda)"
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
INPUTS = ["contract", "practitioners", "start", "window_hours", "token", "client_cert", "client_key", "ca_file"]


def _gap(session: Session) -> None:
    if session.inputs.get("contract", "gap") != "gap":
        raise Omit("the contract input is not gap")


def _searchset(answer: Answer, what: str) -> Iterator[Message]:
    if answer.status != 200:
        yield Message(f"{what} answered {answer.status}, not 200", answer.url)
    elif not isinstance(answer.body, dict) or answer.body.get("resourceType") != "Bundle":
        yield Message(f"{what} did not answer a Bundle", answer.url)
    elif answer.body.get("type") != "searchset":
        yield Message(f"{what} answered a {answer.body.get('type')} Bundle, not a searchset", answer.url)


def _ids(session: Session) -> str:
    return ",".join(f"{IDNPS}|{p}" for p in session.practitioners())


def slot_search(session: Session) -> Answer:
    low, high = session.window()
    params = [
        ("schedule.actor:Practitioner.identifier", _ids(session)), ("status", "free"),
        ("start", f"ge{low.isoformat()}"), ("start", f"le{high.isoformat()}"),
    ]  # fmt: skip
    return session.get("gap-slots", "Slot", params)


@check(
    "gap-metadata",
    title="The server publishes its CapabilityStatement",
    description="GET [base]/metadata answers a CapabilityStatement for FHIR 4.0.1 whose server REST lists Slot with "
    "search-type.",
    source=IG, verifies=["GAP-01"], group=GAP, kind="endpoint", inputs=INPUTS,
    fix="Serve /metadata generated from the routes, with fhirVersion 4.0.1 and Slot search-type.",
)  # fmt: skip
def gap_metadata(session: Session) -> Iterator[Message]:
    _gap(session)
    answer = session.get("gap-metadata", "metadata")
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 200 or body.get("resourceType") != "CapabilityStatement":
        yield Message(f"metadata answered {answer.status} without a CapabilityStatement", answer.url)
        return
    if not str(body.get("fhirVersion", "")).startswith("4.0"):
        yield Message(f"fhirVersion is {body.get('fhirVersion')!r}, not 4.0.1", f"{answer.url} fhirVersion")
    servers = [r for r in body.get("rest") or [] if isinstance(r, dict) and r.get("mode") == "server"]
    slot = [r for s in servers for r in s.get("resource") or [] if isinstance(r, dict) and r.get("type") == "Slot"]
    codes = {i.get("code") for r in slot for i in r.get("interaction") or [] if isinstance(i, dict)}
    if "search-type" not in codes:
        yield Message("the CapabilityStatement does not list Slot search-type", f"{answer.url} rest.resource")


@check(
    "gap-slot-search",
    title="Slots are searched by professional, status and window",
    description="Slot?schedule.actor:Practitioner.identifier=<idNat_PS>&status=free&start=ge..&start=le.. answers a "
    "searchset Bundle whose Slots are free and start in the window.",
    source=f"{IG}; Slot search parameters Schedule-actor, status, start", verifies=["GAP-02"], group=GAP,
    kind="endpoint", inputs=INPUTS, fix="Support the chained Schedule-actor search with status and start prefixes.",
)  # fmt: skip
def gap_slot_search(session: Session) -> Iterator[Message]:
    _gap(session)
    answer = slot_search(session)
    problems = list(_searchset(answer, "the Slot search"))
    yield from problems
    if problems:
        return
    low, high = session.window()
    for index, slot in enumerate(entries(answer.body, "Slot")):
        start = parse_instant(slot.get("start"))
        if slot.get("status") != "free":
            yield Message(f"Slot {slot.get('id')} is {slot.get('status')}, not free", f"Bundle.entry[{index}]")
        if start is None or start.tzinfo is None or not low <= start <= high:
            yield Message(f"Slot {slot.get('id')} starts at {slot.get('start')}, outside the window", f"entry {index}")


@check(
    "gap-slot-content",
    title="Slots found are valid and typed",
    description="Every Slot the search returns is valid FHIR R4 and carries a TRE_R314 slot type in meta.security.",
    source="GAP 3.0.0 gap-fr-slot; SAS 1.2.0 slot types", verifies=["GAP-06"], group=GAP, kind="endpoint",
    inputs=INPUTS, fix="Return valid Slots with their TRE_R314 type (PUBLIC, PRO, SNP, CPTS) in meta.security.",
)  # fmt: skip
def gap_slot_content(session: Session) -> Iterator[Message]:
    _gap(session)
    answer = slot_search(session)
    slots = entries(answer.body, "Slot")
    if not slots:
        raise Omit("the search found no Slot to look at")
    system = terms()["slot_types"]["system"]
    for index, slot in enumerate(slots):
        where = f"Slot/{slot.get('id')} (result {index})"
        try:
            validate_resource(slot)
        except ValidationFailed as failed:
            for issue in failed.issues:
                yield Message(issue.diagnostics, f"{where} {', '.join(issue.expression)}")
        security = (slot.get("meta") or {}).get("security") or []
        if not any(isinstance(c, dict) and c.get("system") == system for c in security):
            yield Message("no TRE_R314 slot type in meta.security", f"{where} meta.security")


@check(
    "gap-schedule-search",
    title="Agendas are searched by professional",
    description="Schedule?actor:Practitioner.identifier=<idNat_PS> answers a searchset Bundle with the agendas.",
    source="GAP 3.0.0 gap-fr-schedule; Schedule-actor", verifies=["GAP-03"], group=GAP, kind="endpoint",
    inputs=INPUTS, fix="Support Schedule search by actor chained to Practitioner.identifier.",
)  # fmt: skip
def gap_schedule_search(session: Session) -> Iterator[Message]:
    _gap(session)
    answer = session.get("gap-schedules", "Schedule", [("actor:Practitioner.identifier", _ids(session))])
    problems = list(_searchset(answer, "the Schedule search"))
    yield from problems
    if not problems and not entries(answer.body, "Schedule"):
        yield Message("no Schedule found for the practitioners input", answer.url)


@check(
    "gap-role-search",
    title="Roles are searched by professional",
    description="PractitionerRole?practitioner.identifier=<idNat_PS> answers a searchset Bundle of the roles.",
    source="GAP 3.0.0; FR Core fr-core-practitioner-role", verifies=["GAP-04"], group=GAP, kind="endpoint",
    inputs=INPUTS, fix="Support PractitionerRole search chained to practitioner.identifier.",
)  # fmt: skip
def gap_role_search(session: Session) -> Iterator[Message]:
    _gap(session)
    answer = session.get("gap-roles", "PractitionerRole", [("practitioner.identifier", _ids(session))])
    problems = list(_searchset(answer, "the PractitionerRole search"))
    yield from problems
    if not problems and not entries(answer.body, "PractitionerRole"):
        yield Message("no PractitionerRole found for the practitioners input", answer.url)


@check(
    "gap-errors",
    title="Unanswerable requests get an OperationOutcome",
    description="A search of an unknown resource type answers 4xx with an OperationOutcome.",
    source="FHIR R4 RESTful API (errors)", verifies=["GAP-05"], group=GAP, kind="endpoint", inputs=INPUTS,
    fix="Answer every error with a 4xx/5xx status and an OperationOutcome.",
)  # fmt: skip
def gap_errors(session: Session) -> Iterator[Message]:
    _gap(session)
    answer = session.get("gap-bad", "NoSuchType", [("_count", "1")])
    if not 400 <= answer.status < 500:
        yield Message(f"answered {answer.status}, not 4xx", answer.url)
    if not outcome_issue(answer.body):
        yield Message("the answer is not an OperationOutcome with issues", answer.url)


__all__ = ["GAP", "slot_search"]

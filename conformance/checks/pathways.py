"""Pathways export: protocols the CPTS publishes, coherent dates, the referent in the team (PTW-*)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from conformance.checks.fhir import Resource
from conformance.exports import Record
from conformance.model import Message, Omit
from conformance.registry import check, group
from gateway.pathways.loader import read_protocols
from mappings.catalog import default_catalog

PATHWAYS = group("pathways", "Pathways", "Enrolments of patients in the CPTS's care pathway protocols.")
README = "mappings/csv/README.md (pathways); docs/pathways.md"
CANONICAL = "/PlanDefinition/"


@lru_cache(maxsize=1)
def shipped_protocols() -> frozenset[str]:
    return frozenset(str(p["id"]) for p in read_protocols())


@lru_cache(maxsize=1)
def export_codes() -> frozenset[str]:
    """The protocol codes of the pathways export the gateway knows (mappings/codes/csv-pathway-protocol.yaml)."""
    return frozenset(code.upper() for code in default_catalog().tables["csv-pathway-protocol"].map)


def _careplans(record: Record) -> list[Resource]:
    found = [r for r in record.resources if r.get("resourceType") == "CarePlan"]
    if not found:
        raise Omit("no CarePlan")
    return found


@check(
    "pathway-protocol",
    title="Enrolments name a protocol the CPTS publishes",
    description="The protocol of each enrolment (CarePlan.instantiatesCanonical) is one the CPTS publishes "
    "(the protocols input, by default the gateway's mappings/protocols).",
    source=README, verifies=["PTW-01"], group=PATHWAYS, kind="record", applies=["csv:pathways", "fhir"],
    inputs=["protocols"], fix="Use the protocol codes agreed in the CPTS (protocole column), spelled as published.",
)  # fmt: skip
def pathway_protocol(record: Record) -> Iterator[Message]:
    code = record.value("protocol") if record.kind == "csv:pathways" else None
    if isinstance(code, str) and code.strip() and code.strip().upper() not in export_codes():
        where = record.cell("protocol") or record.location  # the row was refused: no CarePlan to look into
        table = "mappings/codes/csv-pathway-protocol.yaml"
        yield Message(f"protocol code {code!r} is not one of the CPTS's protocols ({table})", where)
        return
    given = record.file.inputs.get("protocols")
    known = frozenset(p.strip() for p in given.split(",") if p.strip()) if given else shipped_protocols()
    for plan in _careplans(record):
        for index, canonical in enumerate(plan.get("instantiatesCanonical") or []):
            code = str(canonical).rsplit(CANONICAL, 1)[-1]
            if code not in known:
                where = record.where(plan, f"instantiatesCanonical[{index}]", "protocol")
                yield Message(f"protocol {code!r} is not published by the CPTS ({', '.join(sorted(known))})", where)


@check(
    "pathway-dates",
    title="Enrolments do not end before they start",
    description="CarePlan.period.end is not before period.start.",
    source=README, verifies=["PTW-02"], group=PATHWAYS, kind="record", applies=["csv:pathways", "fhir"],
    fix="Leave date_fin empty while the enrolment runs; never earlier than date_debut.",
)  # fmt: skip
def pathway_dates(record: Record) -> Iterator[Message]:
    for plan in _careplans(record):
        period = plan.get("period") or {}
        start, end = str(period.get("start", "")), str(period.get("end", ""))
        if start and end and end[:10] < start[:10]:
            yield Message(
                f"the enrolment ends on {end} before it starts on {start}", record.where(plan, "period.end", "end")
            )


@check(
    "pathway-referent",
    title="The referent belongs to the enrolment's team",
    description="When an enrolment names its referent and its members, the referent is one of the members.",
    source=README, verifies=["PTW-03"], group=PATHWAYS, kind="record", applies=["csv:pathways"],
    fix="List the referent in membres too.",
)  # fmt: skip
def pathway_referent(record: Record) -> Iterator[Message]:
    referent, members = record.value("referent"), record.value("members")
    if not referent or not members:
        raise Omit("no referent or no members")
    team = {m for m in str(members).replace(",", " ").replace("|", " ").replace(";", " ").split()}
    if str(referent).strip() not in team:
        yield Message(f"the referent {referent} is not among the members", record.cell("referent"))


__all__ = ["PATHWAYS"]

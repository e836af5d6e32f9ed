"""The SAS CPTS contract (INT_R04) of a live endpoint, usually the CPTS gateway itself (SAS-*, TZ-04).

The bundle rules are those of :func:`gateway.sas.checker.problems` (the aggregator profiles of ans.fhir.fr.sas 1.2.0
and the national test kit's assertions); each check here keeps the problems of its requirement, so every rule of the
checker is reported once, under one requirement (what no classifier claims falls to ``sas-bundle``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from conformance.endpoint import Answer, Session, outcome_issue
from conformance.model import Message, Omit, Skip
from conformance.registry import check, group
from gateway.sas.checker import problems

SAS = group("sas", "SAS endpoint (INT_R04)", "The SAS CPTS slot search, as the regional SAS platform sends it.")
IG = "SAS 1.2.0 INT_R04 (ans.fhir.fr.sas); gateway/sas/checker.py"
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
_KIT = "%Y-%m-%dT%H:%M:%S.000"  # the national test kit sends times with milliseconds and no offset
INCLUDES = [
    ("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor"),
    ("_include", "Slot:service-type-reference"), ("_include:iterate", "HealthcareService:organization"),
]  # fmt: skip
INPUTS = ["contract", "practitioners", "start", "window_hours", "token", "client_cert", "client_key", "ca_file"]


def int_r04(session: Session) -> Answer:
    if session.inputs.get("contract", "gap") != "sas":
        raise Omit("the contract input is not sas")
    low, high = session.window()
    ids = ",".join(f"{IDNPS}|{p}" for p in session.practitioners())
    params = [
        ("start", f"ge{low.strftime(_KIT)}"), ("start", f"le{high.strftime(_KIT)}"),
        ("schedule.actor:Practitioner.identifier", ids), ("status", "free"), *INCLUDES,
    ]  # fmt: skip
    answer = session.get("sas-int-r04", "Slot", params)
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise Skip(f"the INT_R04 search answered {answer.status}, not a 200 Bundle")
    return answer


def _split(problem: str) -> tuple[str, str]:
    where, _, what = problem.partition(": ")
    return where, what


def _is_time(p: str) -> bool:
    return "(Slot).start" in p or "(Slot).end" in p


CLASSIFIERS: dict[str, Callable[[str], bool]] = {
    "sas-profiles": lambda p: ".meta.profile" in p,
    "sas-slots": lambda p: "(Slot)." in p and not _is_time(p) and "not in the bundle" not in p and "relative" not in p,
    "sas-instants": _is_time,
    "sas-practitioners": lambda p: "(Practitioner)." in p and ".meta.profile" not in p,
    "sas-roles": lambda p: (
        "(PractitionerRole)." in p and ".meta.profile" not in p and "relative" not in p and "not in the bundle" not in p
    ),
    "sas-organization": lambda p: (
        ("(Organization)." in p or "(HealthcareService)." in p)
        and ".meta.profile" not in p
        and "relative" not in p
        and "not in the bundle" not in p
    ),
    "sas-references": lambda p: (
        "not in the bundle" in p or "relative Type/id" in p or "entry is required" in p or "(Schedule)." in p
    ),
}


def _claimed(problem: str) -> str:
    return next((cid for cid, claims in CLASSIFIERS.items() if claims(problem)), "sas-bundle")


def _problems_of(session: Session, check_id: str) -> Iterator[Message]:
    answer = int_r04(session)
    for problem in problems(answer.body):
        if _claimed(problem) == check_id:
            where, what = _split(problem)
            yield Message(what or problem, where)


def _sas_check(check_id: str, title: str, description: str, verifies: list[str], fix: str) -> None:
    def run(session: Session) -> Iterator[Message]:
        yield from _problems_of(session, check_id)

    run.__qualname__ = f"sas_{check_id.replace('-', '_')}"
    check(
        check_id, title=title, description=description, source=IG, verifies=verifies, fix=fix, group=SAS,
        kind="endpoint", inputs=INPUTS,
    )(run)  # fmt: skip


_sas_check(
    "sas-bundle",
    "The INT_R04 answer is the aggregator searchset Bundle",
    "searchset Bundle, total = the number of Slots, exactly one (self) link, a fullUrl on every entry.",
    ["SAS-01"],
    "Answer a searchset Bundle with total, one self link and fullUrl on every entry.",
)
_sas_check(
    "sas-profiles",
    "Resources declare their aggregator profile",
    "Each Slot, Schedule, Practitioner, PractitionerRole, HealthcareService, Organization has exactly its aggregator "
    "profile in meta.profile.",
    ["SAS-02"],
    "Set meta.profile to the aggregator profile of the resource's type.",
)
_sas_check(
    "sas-slots",
    "Slots carry what the SAS shows",
    "Free, with a Schedule, TRE_R314 types, AMB/HH/VR or TRE_R66 604 service types, v2-0276 type, booking URL.",
    ["SAS-03"],
    "Fill the Slot elements the sas-cpts-slot-aggregator profile requires.",
)
_sas_check(
    "sas-instants",
    "Slot times have milliseconds and an offset",
    "Slot.start and Slot.end are written YYYY-MM-DDThh:mm:ss.SSS+hh:mm.",
    ["TZ-04"],
    "Write instants with milliseconds and the numeric offset (2026-11-23T09:00:00.000+01:00).",
)
_sas_check(
    "sas-practitioners",
    "Practitioners are identified by idNat_PS",
    "Each Practitioner has identifiers in urn:oid:1.2.250.1.71.4.2.1 valued 8 + RPPS and typed IDNPS.",
    ["SAS-04"],
    "Identify each Practitioner by its idNat_PS typed fr-v2-0203#IDNPS.",
)
_sas_check(
    "sas-roles",
    "PractitionerRoles contain the place of consultation",
    "Each PractitionerRole contains its Location (one address line, city, 5-digit postal code) and names its "
    "Practitioner.",
    ["SAS-05"],
    "Contain the consultation Location in the PractitionerRole and reference it.",
)
_sas_check(
    "sas-organization",
    "The CPTS is identified by its idNat_Struct",
    "The Organization has one identifier, 1 + FINESS typed IDNST; the HealthcareService is provided by it.",
    ["SAS-06"],
    "Identify the CPTS Organization by 1 + its FINESS and point HealthcareService.providedBy at it.",
)
_sas_check(
    "sas-references",
    "References resolve inside the bundle",
    "References are relative Type/id; those the includes follow resolve to entries; Slot and Schedule entries exist.",
    ["SAS-07"],
    "Include every Schedule, actor, HealthcareService and Organization the Slots reference.",
)


@check(
    "sas-response-time",
    title="The INT_R04 search answers in under a second",
    description="The search over the window (up to 72 h) answers in under one second, measured by this tool.",
    source=IG, verifies=["SAS-08"], group=SAS, kind="endpoint", inputs=INPUTS,
    fix="Index slots by start and status; answer the SAS search from the index (docs/capacity.md).",
)  # fmt: skip
def sas_response_time(session: Session) -> Iterator[Message]:
    answer = int_r04(session)
    if answer.seconds >= 1.0:
        yield Message(f"the search took {answer.seconds:.2f} s", answer.url)


@check(
    "sas-errors",
    title="A search without its window is refused with an OperationOutcome",
    description="The INT_R04 search without its start bounds is refused with a 4xx status and an OperationOutcome.",
    source=IG, verifies=["SAS-09"], group=SAS, kind="endpoint", inputs=INPUTS,
    fix="Refuse an INT_R04 search missing a parameter with 400 and an OperationOutcome naming it.",
)  # fmt: skip
def sas_errors(session: Session) -> Iterator[Message]:
    if session.inputs.get("contract", "gap") != "sas":
        raise Omit("the contract input is not sas")
    ids = ",".join(f"{IDNPS}|{p}" for p in session.practitioners())
    params = [("schedule.actor:Practitioner.identifier", ids), ("status", "free"), *INCLUDES]
    answer = session.get("sas-bad", "Slot", params)
    if not 400 <= answer.status < 500:
        yield Message(f"answered {answer.status}, not 4xx", answer.url)
    if not outcome_issue(answer.body):
        yield Message("the answer is not an OperationOutcome with issues", answer.url)


__all__ = ["CLASSIFIERS", "SAS", "int_r04"]

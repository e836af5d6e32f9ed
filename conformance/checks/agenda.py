"""Agenda: opening hours, slots (SNP flag, service type, booking URL, agenda), appointment outcomes (AGD-*)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from conformance.checks.fhir import Resource, codings, parse_instant, terms
from conformance.exports import Record
from conformance.model import Message, Omit
from conformance.registry import check, group

AGENDA = group("agenda", "Agenda", "Opening hours, slots and appointments as the CPTS and the SAS read them.")
SAS = "SAS 1.2.0 (sas-cpts-slot-aggregator)"
README = "mappings/csv/README.md"


def _of(record: Record, kind: str) -> list[Resource]:
    found = [r for r in record.resources if r.get("resourceType") == kind]
    if not found:
        raise Omit(f"no {kind}")
    return found


def _slot_types(slot: Resource) -> set[str]:
    system = terms()["slot_types"]["system"]
    security = (slot.get("meta") or {}).get("security") or []
    return {str(c.get("code")) for c in security if isinstance(c, dict) and c.get("system") == system}


@check(
    "opening-hours",
    title="Each site has weekly opening hours",
    description="Each row of the opening_hours export gives its site at least one opening range in the week.",
    source=f"{README} (opening_hours); indicator IND-OPENING", verifies=["AGD-01"], group=AGENDA, kind="record",
    applies=["csv:opening_hours"], fix="Fill the weekday columns with the site's ranges (08:00-12:00 14:00-19:00).",
)  # fmt: skip
def opening_hours(record: Record) -> Iterator[Message]:
    for site in _of(record, "Location"):
        if not site.get("hoursOfOperation"):
            yield Message("the site is closed every day of the week", record.where(site, "hoursOfOperation"))


@check(
    "slot-snp-flag",
    title="Each slot says whom it is open to (SNP or not)",
    description="Every Slot carries at least one TRE_R314 type (SNP, CPTS, PUBLIC, PRO) in meta.security; from CSV "
    "the snp flag gives SNP, public/cpts the others.",
    source=f"{SAS}; {README} (slots: snp)", verifies=["AGD-02"], group=AGENDA, kind="record",
    applies=["csv:slots", "fhir", "hl7v2"],
    fix="Give every slot its snp flag (CSV), or its TRE_R314 codes in Slot.meta.security (FHIR).",
)  # fmt: skip
def slot_snp_flag(record: Record) -> Iterator[Message]:
    refused = [i for i in record.issues if i.details_code == "ADP-FHIR-BUNDLE" and "TRE_R314" in i.diagnostics]
    for issue in refused:
        yield Message(issue.diagnostics, record.location)
    if refused:
        return
    for slot in _of(record, "Slot"):
        if not _slot_types(slot):
            yield Message("the slot has no TRE_R314 type in meta.security", record.where(slot, "meta.security", "snp"))


@check(
    "slot-service-type",
    title="Each slot has a consultation type",
    description="Every Slot has a serviceType coded v3-ActCode AMB (office), HH (home) or VR (teleconsultation).",
    source=f"{SAS} (serviceType); {README} (slots: modalite)", verifies=["AGD-03"], group=AGENDA, kind="resource",
    applies=["Slot"], fix="Fill modalite (cabinet, domicile, teleconsultation) or Slot.serviceType with AMB/HH/VR.",
)  # fmt: skip
def slot_service_type(record: Record, slot: Resource) -> Iterator[Message]:
    kinds = {c.get("code") for s in slot.get("serviceType") or [] for c in codings(s)}
    if not kinds & {"AMB", "HH", "VR"}:
        yield Message("the slot has no service type AMB, HH or VR", record.where(slot, "serviceType", "service"))


@check(
    "slot-booking-url",
    title="Free SNP and CPTS slots carry their booking URL",
    description="A free Slot of type SNP or CPTS has in comment the https URL where the patient books it.",
    source=f"{SAS} (comment); {README} (slots: url_reservation)", verifies=["AGD-04"], group=AGENDA,
    kind="resource", applies=["Slot"],
    fix="Fill url_reservation (Slot.comment) with the https link of the centre's online agenda.",
)  # fmt: skip
def slot_booking_url(record: Record, slot: Resource) -> Iterator[Message]:
    if slot.get("status") != "free" or not _slot_types(slot) & {"SNP", "CPTS"}:
        raise Omit("not a free SNP or CPTS slot")
    url = str(slot.get("comment") or "").strip()
    if not url.startswith(("https://", "http://")):
        what = f"{url!r} is not a URL" if url else "no booking URL"
        yield Message(f"{what} on a free SNP/CPTS slot", record.where(slot, "comment", "booking_url"))


_OPEN = ("proposed", "pending", "booked", "arrived", "checked-in", "waitlist")


@check(
    "appointment-outcome",
    title="Past appointments carry their outcome",
    description="An appointment that ended before the export (reference_time) is fulfilled, noshow, cancelled or "
    "entered-in-error, so the no-show rate (noshow / (fulfilled + noshow)) can be computed.",
    source="architecture §8 IND-NOSHOW; FHIR R4 Appointment.status", verifies=["AGD-05"], group=AGENDA,
    kind="resource", applies=["Appointment"], inputs=["reference_time"],
    fix="Export each appointment's outcome (honore, absent, excuse, annule_*) once it is over.",
)  # fmt: skip
def appointment_outcome(record: Record, appointment: Resource) -> Iterator[Message]:
    end = parse_instant(appointment.get("end") or appointment.get("start"))
    now = parse_instant(record.file.inputs.get("reference_time")) or datetime.now().astimezone()
    if end is None or end.tzinfo is None or end >= now:
        raise Omit("not over yet")
    status = appointment.get("status")
    if status in _OPEN:
        ended = appointment.get("end") or appointment.get("start")
        yield Message(
            f"the appointment ended at {ended} but is {status}", record.where(appointment, "status", "status")
        )


@check(
    "time-order",
    title="Slots and appointments end after they start",
    description="Slot.end and Appointment.end come after their start.",
    source="FHIR R4 Slot, Appointment; mappings/csv/README.md", verifies=["AGD-06"], group=AGENDA, kind="resource",
    applies=["Slot", "Appointment"], fix="Export the end (fin) or a positive duration (duree).",
)  # fmt: skip
def time_order(record: Record, resource: Resource) -> Iterator[Message]:
    start, end = parse_instant(resource.get("start")), parse_instant(resource.get("end"))
    if start is None or end is None:
        raise Omit("no start and end")
    if start.tzinfo is not None and end.tzinfo is not None and end <= start:
        yield Message(f"ends at {resource.get('end')}, not after its start {resource.get('start')}", record.where(
            resource, "end", "end"))  # fmt: skip


@check(
    "slot-agenda",
    title="Each slot belongs to a professional's agenda",
    description="Every Slot references its Schedule, and every Schedule names the Practitioner among its actors.",
    source="SAS 1.2.0 (Schedule.actor); FR Core fr-core-schedule", verifies=["AGD-07"], group=AGENDA,
    kind="resource", applies=["Slot", "Schedule"], fix="Reference the Schedule from each Slot; list the Practitioner "
    "(and the PractitionerRole) in Schedule.actor.",
)  # fmt: skip
def slot_agenda(record: Record, resource: Resource) -> Iterator[Message]:
    if resource.get("resourceType") == "Slot":
        if not str((resource.get("schedule") or {}).get("reference", "")):
            yield Message("the slot references no Schedule", record.where(resource, "schedule"))
        return
    actors = [str(a.get("reference", "")) for a in resource.get("actor") or [] if isinstance(a, dict)]
    if not any(a.startswith("Practitioner/") or a.startswith("Practitioner?") for a in actors):
        yield Message("the Schedule names no Practitioner among its actors", record.where(resource, "actor"))


__all__ = ["AGENDA"]

"""Compact rows the activity indicators aggregate in SQL, derived from Slots and Appointments when they are written.

A Slot's ``search_slot`` row (gateway/storage/slot_rows.py) gets the columns the indicators group by: the Slot's own
id (an Appointment names it), its end and length, service type, specialty and appointment type. An Appointment gets
one ``fact_appointment`` row: status, start, end, length, its first Slot and its participants (patient, practitioner,
practitioner role, room). Like every index row they are derived from the stored JSON, written and deleted with the
resource in the same transaction, and rebuilt by ``reindex``; the indicator engine never parses a Slot or an
Appointment at computation time.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from gateway.fhir.dates import DateFormatError, parse_range
from gateway.storage.references import parse_reference

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CODE_MAX = 64
MINUTES_MAX = 10_000_000  # about 19 years: anything longer is a data error, not a slot


def _text(value: Any) -> str | None:
    return value[:CODE_MAX] if isinstance(value, str) and value else None


def first_code(concepts: Any, prefer: str | None = None) -> str | None:
    """The first coding's code of a CodeableConcept or list of them (one of system ``prefer`` first, if any)."""
    items = concepts if isinstance(concepts, list) else [concepts]
    codings = [
        coding
        for concept in items
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if isinstance(coding, dict) and isinstance(coding.get("code"), str) and coding["code"]
    ]
    preferred = [coding for coding in codings if coding.get("system") == prefer] if prefer else []
    chosen = (preferred or codings)[:1]
    return _text(chosen[0]["code"]) if chosen else None


def _instant(value: Any, zone: tzinfo) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_range(value, zone)[0]
    except DateFormatError:
        return None


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return min(int((end - start).total_seconds() // 60), MINUTES_MAX)


def slot_facts(slot: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """The indicator columns of a Slot's ``search_slot`` row (added to :func:`slot_row`'s)."""
    start, end = _instant(slot.get("start"), zone), _instant(slot.get("end"), zone)
    return {
        "res_id": _text(slot.get("id")),
        "end_at": end,
        "minutes": _minutes(start, end),
        "service_type": first_code(slot.get("serviceType"), ACT_CODE),
        "specialty": first_code(slot.get("specialty")),
        "appt_type": first_code(slot.get("appointmentType")),
    }


def _target(value: Any, wanted: str) -> str | None:
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        return None
    kind, ident = parse_reference(reference)
    return _text(ident) if kind == wanted else None


def _participants(appointment: dict[str, Any]) -> dict[str, str | None]:
    found: dict[str, str | None] = {"Patient": None, "Practitioner": None, "PractitionerRole": None, "Location": None}
    for participant in appointment.get("participant") or []:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        reference = actor.get("reference") if isinstance(actor, dict) else None
        kind, ident = parse_reference(reference) if isinstance(reference, str) else (None, None)
        if kind in found and found[kind] is None and ident:
            found[kind] = ident[:CODE_MAX]
    return found


def appointment_row(appointment: dict[str, Any], zone: tzinfo) -> dict[str, Any] | None:
    """The ``fact_appointment`` columns (without ``res_type``, ``rid``, ``tenant``); None without a readable start."""
    start = _instant(appointment.get("start"), zone)
    if start is None:
        return None
    end = _instant(appointment.get("end"), zone)
    duration = appointment.get("minutesDuration")
    minutes = _minutes(start, end)
    if minutes is None and isinstance(duration, int) and not isinstance(duration, bool) and duration >= 0:
        minutes = min(duration, MINUTES_MAX)
    slots = appointment.get("slot")
    actors = _participants(appointment)
    return {
        "status": _text(appointment.get("status")),
        "low": start,
        "end_at": end,
        "minutes": minutes,
        "slot_id": _target(slots[0], "Slot") if isinstance(slots, list) and slots else None,
        "patient_id": actors["Patient"],
        "practitioner_id": actors["Practitioner"],
        "role_id": actors["PractitionerRole"],
        "location_id": actors["Location"],
        "service_type": first_code(appointment.get("serviceType"), ACT_CODE),
        "specialty": first_code(appointment.get("specialty")),
        "appt_type": first_code(appointment.get("appointmentType")),
    }


SLOT_FACT_COLUMNS = ("res_id", "end_at", "minutes", "service_type", "specialty", "appt_type")
APPOINTMENT_COLUMNS = (
    "status",
    "low",
    "end_at",
    "minutes",
    "slot_id",
    "patient_id",
    "practitioner_id",
    "role_id",
    "location_id",
    "service_type",
    "specialty",
    "appt_type",
)

__all__ = ["ACT_CODE", "APPOINTMENT_COLUMNS", "SLOT_FACT_COLUMNS", "appointment_row", "first_code", "slot_facts"]

"""Agendas: Slots from ``start - days`` to ``start + days`` and the Appointments booked in them.

Before ``start`` (the demo's today) booked appointments have final statuses (fulfilled / noshow / cancelled; a
cancelled appointment gives its slot back, which stays free); from ``start`` on they are ``booked``. Free SNP + CPTS
slots are guaranteed on ``start`` and the three following days: the last such slot of every practitioner-day is
kept free. On Sundays and public holidays centres are closed except the CPTS duty roster (garde).

Resources are built as fresh dicts from precomputed strings (no copying), one slot at a time.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.demo import codes
from gateway.demo.holidays import is_closed
from gateway.demo.localtime import LocalClock, LocalDay
from gateway.demo.patients import PatientSpec
from gateway.demo.professions import (
    CPTS_KINDS,
    PUBLIC,
    SECURITY,
    SNP_CPTS,
    SNP_KINDS,
    WALK_IN_KINDS,
    SlotTemplate,
    duty_pattern,
    saturday_pattern,
)
from gateway.demo.territory import CentreSpec, PractitionerSpec, Territory
from gateway.fhir.ids import deterministic_id

GUARANTEED_FREE_DAYS = 3  # free SNP + CPTS slots on start .. start + 3 (the next 72 hours)
DUTY_ROTATION = 8  # on Sundays and holidays, one centre in eight is on duty
OUTCOMES = (("fulfilled", 0.80), ("noshow", 0.87), ("cancelled", 1.0))  # cumulative shares of past bookings
OWN_PATIENT_SHARE = 0.6  # share of a GP's bookings taken by patients who declared them médecin traitant


def booking_probability(kind: str, delta: int) -> float:
    """Chance that a slot ``delta`` days after the demo's today is booked."""
    snp = kind in SNP_KINDS
    if delta < 0:
        return 0.8 if snp else 0.88 if kind == PUBLIC else 0.7
    if delta == 0:
        return 0.5 if snp else 0.92 if kind == PUBLIC else 0.6
    if snp:
        return 0.15 if delta <= 2 else 0.05
    if kind == PUBLIC:
        return max(0.25, 0.9 - 0.03 * delta)
    return 0.5 if delta <= 2 else 0.3


def on_duty(centre_index: int, day: dt.date, centres: int) -> bool:
    """Whether a centre holds the CPTS duty roster on a closed day (at least one centre always does)."""
    return (centre_index - day.toordinal()) % min(centres, DUTY_ROTATION) == 0


def _coding_list(system: str, labels: dict[str, str], keys: Sequence[str]) -> list[dict[str, str]]:
    return [{"system": system, "code": key, "display": labels[key]} for key in keys]


@dataclass(slots=True)
class _Practitioner:
    """Strings of one practitioner reused for each of their slots and appointments."""

    spec: PractitionerSpec
    schedule_ref: str
    practitioner_ref: str
    location_ref: str
    specialty: tuple[str, str] | None
    own_patients: list[str]


class CentreAgenda:
    """Lays out the agenda of one centre, day by day (``resources()`` draws from its own random generator: call it
    once per instance)."""

    def __init__(
        self, territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
    ) -> None:
        self.territory = territory
        self.centre = centre
        self.clock = clock
        options = territory.options
        self.rng = random.Random(f"{options.seed}/agenda/{centre.finess}")
        self.patients = [f"Patient/{p.id}" for p in patients]
        self.cpts_service_ref = f"HealthcareService/{territory.cpts.service_id}"
        self.practitioners = {
            spec.rpps: _Practitioner(
                spec,
                f"Schedule/{spec.schedule_id}",
                f"Practitioner/{spec.practitioner_id}",
                f"Location/{spec.room.id}",
                spec.profession.specialty,
                [f"Patient/{p.id}" for p in patients if p.general_practitioner is spec],
            )
            for spec in centre.practitioners
        }

    def working(self, day: dt.date) -> list[tuple[_Practitioner, tuple[SlotTemplate, ...]]]:
        """Who works on ``day`` and their slot templates."""
        centre = self.centre
        if is_closed(day):
            if not centre.gps or not on_duty(centre.index, day, self.territory.options.centres):
                return []
            gp = centre.gps[(day.toordinal() // 7) % len(centre.gps)]
            return [(self.practitioners[gp.rpps], duty_pattern(gp.duration))]
        weekday = day.weekday()
        if weekday == 5:
            if not centre.gps or not centre.opens_saturday:
                return []
            gp = centre.gps[day.isocalendar().week % len(centre.gps)]
            return [(self.practitioners[gp.rpps], saturday_pattern(gp.duration))]
        return [(self.practitioners[p.rpps], p.week[weekday]) for p in centre.practitioners if p.week[weekday]]

    def resources(self) -> Iterator[dict[str, Any]]:
        """Every Slot of the period, each followed by its Appointment when one was booked."""
        options = self.territory.options
        day = options.first_day
        while day <= options.last_day:
            local = self.clock.day(day)
            delta = (day - options.start).days
            for practitioner, templates in self.working(day):
                keep_free = -1
                if 0 <= delta <= GUARANTEED_FREE_DAYS:
                    keep_free = max((i for i, t in enumerate(templates) if t.kind == SNP_CPTS), default=-1)
                for i, template in enumerate(templates):
                    yield from self._slot(practitioner, local, delta, template, i == keep_free)
            day += dt.timedelta(days=1)

    def _slot(
        self, who: _Practitioner, local: LocalDay, delta: int, template: SlotTemplate, keep_free: bool
    ) -> Iterator[dict[str, Any]]:
        rng = self.rng
        kind = template.kind
        booked = not keep_free and rng.random() < booking_probability(kind, delta)
        status = "free"
        outcome = "booked"
        if booked:
            if delta < 0:
                draw = rng.random()
                outcome = next(name for name, share in OUTCOMES if draw < share)
            status = "free" if outcome == "cancelled" else "busy"
        start, end = local.instant(template.start), local.instant(template.end)
        slot_id = deterministic_id("Slot", self.centre.finess, who.spec.id_nat_ps, local.local(template.start))
        service = template.service
        walk_in = kind in WALK_IN_KINDS
        service_types: list[dict[str, Any]] = [
            {"coding": [{"system": codes.ACT_CODE_SYSTEM, "code": service, "display": codes.ACT_CODES[service]}]}
        ]
        if kind in CPTS_KINDS:
            service_types.append(
                {
                    "extension": [
                        {"url": codes.SLOT_SERVICE_TYPE_URL, "valueReference": {"reference": self.cpts_service_ref}}
                    ],
                    "coding": [
                        {
                            "system": codes.ESTABLISHMENT_CATEGORY_SYSTEM,
                            "code": codes.CATEGORY_CPTS[0],
                            "display": codes.CATEGORY_CPTS[1],
                        }
                    ],
                }
            )
        appointment_type = "WALKIN" if walk_in else "ROUTINE"
        slot: dict[str, Any] = {
            "resourceType": "Slot",
            "id": slot_id,
            "meta": {"security": _coding_list(codes.SLOT_TYPE_SYSTEM, codes.SLOT_TYPES, SECURITY[kind])},
            "serviceType": service_types,
        }
        if who.specialty:
            slot["specialty"] = [
                {"coding": [{"system": codes.SPECIALTY_SYSTEM, "code": who.specialty[0], "display": who.specialty[1]}]}
            ]
        slot["appointmentType"] = {
            "coding": [
                {
                    "system": codes.APPOINTMENT_TYPE_SYSTEM,
                    "code": appointment_type,
                    "display": codes.APPOINTMENT_TYPES[appointment_type],
                }
            ]
        }
        slot["schedule"] = {"reference": who.schedule_ref}
        slot["status"] = status
        slot["start"] = start
        slot["end"] = end
        slot["comment"] = self.centre.booking_url
        yield slot
        if booked:
            yield self._appointment(who, local, delta, template, slot_id, outcome, appointment_type, start, end)

    def _patient(self, who: _Practitioner) -> str:
        if who.own_patients and self.rng.random() < OWN_PATIENT_SHARE:
            return self.rng.choice(who.own_patients)
        return self.rng.choice(self.patients)

    def _created(self, local: LocalDay, delta: int, template: SlotTemplate) -> str:
        """When the appointment was taken: the same day for walk-in slots, days before otherwise; never after the
        demo's today."""
        rng = self.rng
        if template.kind in WALK_IN_KINDS and delta < 0:
            return local.instant(max(0, template.start - rng.randint(15, 180)))
        lead = rng.randint(1, 30) if template.kind not in WALK_IN_KINDS else rng.randint(0, 1)
        day = local.date - dt.timedelta(days=lead)
        latest = self.territory.options.start - dt.timedelta(days=1)
        if day > latest:
            day = latest - dt.timedelta(days=rng.randint(0, 2))
        minute = rng.randint(8 * 60, 19 * 60)
        if day == local.date:
            minute = min(minute, max(0, template.start - 15))
        return self.clock.instant(day, minute)

    def _appointment(
        self,
        who: _Practitioner,
        local: LocalDay,
        delta: int,
        template: SlotTemplate,
        slot_id: str,
        status: str,
        appointment_type: str,
        start: str,
        end: str,
    ) -> dict[str, Any]:
        service = template.service
        appointment: dict[str, Any] = {
            "resourceType": "Appointment",
            "id": deterministic_id("Appointment", self.centre.finess, slot_id),
            "status": status,
        }
        if status == "cancelled":
            reason = self.rng.choice(tuple(codes.CANCELLATION_REASONS))
            appointment["cancelationReason"] = {
                "coding": [
                    {
                        "system": codes.CANCELLATION_REASON_SYSTEM,
                        "code": reason,
                        "display": codes.CANCELLATION_REASONS[reason],
                    }
                ]
            }
        appointment["serviceType"] = [
            {"coding": [{"system": codes.ACT_CODE_SYSTEM, "code": service, "display": codes.ACT_CODES[service]}]}
        ]
        if who.specialty:
            appointment["specialty"] = [
                {"coding": [{"system": codes.SPECIALTY_SYSTEM, "code": who.specialty[0], "display": who.specialty[1]}]}
            ]
        appointment["appointmentType"] = {
            "coding": [
                {
                    "system": codes.APPOINTMENT_TYPE_SYSTEM,
                    "code": appointment_type,
                    "display": codes.APPOINTMENT_TYPES[appointment_type],
                }
            ]
        }
        appointment["start"] = start
        appointment["end"] = end
        appointment["minutesDuration"] = template.end - template.start
        appointment["slot"] = [{"reference": f"Slot/{slot_id}"}]
        appointment["created"] = self._created(local, delta, template)
        participants: list[dict[str, Any]] = [
            {"actor": {"reference": self._patient(who)}, "required": "required", "status": "accepted"},
            {"actor": {"reference": who.practitioner_ref}, "required": "required", "status": "accepted"},
        ]
        if service == "AMB":
            participants.append(
                {"actor": {"reference": who.location_ref}, "required": "required", "status": "accepted"}
            )
        appointment["participant"] = participants
        return appointment


def centre_agenda(
    territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
) -> Iterator[dict[str, Any]]:
    """Slots (each followed by its Appointment when one was booked) of one centre over the whole period."""
    return CentreAgenda(territory, centre, patients, clock).resources()


__all__ = ["GUARANTEED_FREE_DAYS", "OUTCOMES", "CentreAgenda", "booking_probability", "centre_agenda", "on_duty"]

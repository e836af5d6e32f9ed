"""The professions of a centre de santé and their weekly agenda patterns (sessions cut into typed slots).

A practitioner's week is precomputed once as slot templates (start, end, service type, slot kind) per weekday, so
that laying out weeks of agenda is only a loop over templates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from gateway.demo import codes

# Slot kinds: which audiences may book the slot (TRE_R314 codes in meta.security) and how.
PUBLIC = "PUBLIC"  # online booking by anyone
PRO = "PRO"  # reserved for health professionals (referrals)
SNP = "SNP"  # same-day slots for SNP regulators (SAS)
SNP_CPTS = "SNP_CPTS"  # same-day slots offered to the SAS through the CPTS
CPTS = "CPTS"  # slots reserved for CPTS pathways, bookable by professionals

SECURITY: dict[str, tuple[str, ...]] = {
    PUBLIC: ("PUBLIC",),
    PRO: ("PRO",),
    SNP: ("SNP",),
    SNP_CPTS: ("SNP", "CPTS"),
    CPTS: ("PRO", "CPTS"),
}
WALK_IN_KINDS = frozenset({SNP, SNP_CPTS})
CPTS_KINDS = frozenset({SNP_CPTS, CPTS})
SNP_KINDS = frozenset({SNP, SNP_CPTS})


@dataclass(frozen=True, slots=True)
class Profession:
    """A profession (TRE_G15) with its usual working pattern in a centre de santé."""

    key: str
    code: str
    display: str
    specialty: tuple[str, str] | None  # TRE_R38 (code, display), only where the code is certain
    title: str  # what patients read on the agenda
    prefix: str | None
    female_share: float
    durations: tuple[int, ...]  # consultation lengths in minutes (one is drawn per practitioner)
    workdays: int  # days worked per week, Monday to Friday
    morning: tuple[int, int]  # minutes after midnight
    afternoon: tuple[int, int]

    def profession_concept(self) -> dict[str, Any]:
        return codes.concept(codes.PROFESSION_SYSTEM, self.code, self.display)

    def specialty_concept(self) -> dict[str, Any] | None:
        if self.specialty is None:
            return None
        return codes.concept(codes.SPECIALTY_SYSTEM, *self.specialty)


def _h(hour: float) -> int:
    return int(hour * 60)


GP = Profession(
    "gp", "10", "Médecin", ("SM54", "Médecine générale (SM)"), "Médecin généraliste", "Dr", 0.55, (15, 20), 4,
    (_h(8.5), _h(12.5)), (_h(14), _h(19)),
)  # fmt: skip
CARDIOLOGIST = Profession(
    "cardiologist", "10", "Médecin", ("SM04", "Cardiologie et maladies vasculaires (SM)"), "Cardiologue", "Dr",
    0.35, (30,), 1, (_h(9), _h(12.5)), (_h(14), _h(17)),
)  # fmt: skip
NURSE = Profession(
    "nurse", "60", "Infirmier", None, "Infirmier", None, 0.85, (15,), 5, (_h(7.5), _h(12.5)), (_h(16), _h(19)),
)  # fmt: skip
PHYSIO = Profession(
    "physio", "70", "Masseur-Kinésithérapeute", None, "Masseur-kinésithérapeute", None, 0.5, (30,), 4,
    (_h(8), _h(12)), (_h(13.5), _h(19)),
)  # fmt: skip
DENTIST = Profession(
    "dentist", "40", "Chirurgien-Dentiste", None, "Chirurgien-dentiste", "Dr", 0.5, (30,), 4,
    (_h(9), _h(12.5)), (_h(14), _h(18.5)),
)  # fmt: skip
MIDWIFE = Profession(
    "midwife", "50", "Sage-Femme", None, "Sage-femme", None, 0.95, (30,), 3, (_h(9), _h(12.5)), (_h(14), _h(17.5)),
)  # fmt: skip
PODIATRIST = Profession(
    "podiatrist", "80", "Pédicure-Podologue", None, "Pédicure-podologue", None, 0.6, (30,), 2,
    (_h(9), _h(12)), (_h(14), _h(18)),
)  # fmt: skip

PROFESSIONS: tuple[Profession, ...] = (GP, NURSE, PHYSIO, DENTIST, MIDWIFE, PODIATRIST, CARDIOLOGIST)


@dataclass(frozen=True, slots=True)
class SlotTemplate:
    """One slot of a weekly pattern."""

    start: int  # minutes after local midnight
    end: int
    service: str  # v3-ActCode AMB | HH | VR
    kind: str


Week = tuple[tuple[SlotTemplate, ...], ...]  # Monday .. Sunday


def _cut(
    start: int, end: int, minutes: int, service: str, kinds: dict[int, str], default: str = PUBLIC
) -> list[SlotTemplate]:
    """Slots of ``minutes`` between ``start`` and ``end``; ``kinds`` maps a position (negative: from the end, and
    winning over a positive one) to a slot kind, ``default`` for the others."""
    count = (end - start) // minutes
    slots = []
    for n in range(count):
        kind = kinds.get(n - count) or kinds.get(n) or default
        slots.append(SlotTemplate(start + n * minutes, start + (n + 1) * minutes, service, kind))
    return slots


def _day(
    profession: Profession, duration: int, morning: tuple[int, int], afternoon: tuple[int, int], tele: bool
) -> list[SlotTemplate]:
    key = profession.key
    if key == "gp":
        am = _cut(*morning, duration, "AMB", {1: PRO, -2: SNP, -1: SNP_CPTS})
        pm_start = afternoon[0]
        tele_slots: list[SlotTemplate] = []
        if tele:  # the first hour of one afternoon a week is teleconsultation
            tele_slots = _cut(pm_start, pm_start + 60, duration, "VR", {})
            pm_start += 60
        pm = _cut(pm_start, afternoon[1], duration, "AMB", {1: PRO, -3: SNP_CPTS, -2: SNP, -1: SNP_CPTS})
        return am + tele_slots + pm
    if key == "nurse":  # home visits in the morning, then care at the centre
        home_end = morning[1] - 60
        return (
            _cut(morning[0], home_end, 30, "HH", {0: CPTS, 1: PRO, 2: PRO, 3: PRO})
            + _cut(home_end, morning[1], duration, "AMB", {})
            + _cut(*afternoon, duration, "AMB", {-1: CPTS})
        )
    if key == "cardiologist":
        return _cut(*morning, duration, "AMB", {}, PRO) + _cut(*afternoon, duration, "AMB", {-2: CPTS, -1: CPTS}, PRO)
    am_kinds = {-1: SNP} if key == "dentist" else {}
    pm_kinds = {0: PRO, -1: CPTS} if key == "physio" else {0: PRO}
    return _cut(*morning, duration, "AMB", am_kinds) + _cut(*afternoon, duration, "AMB", pm_kinds)


def weekly_pattern(profession: Profession, rng: random.Random, duration: int, day_off_seed: int) -> Week:
    """A practitioner's week: ``profession.workdays`` of Monday-Friday (rotated by ``day_off_seed``), varied hours."""
    shift = rng.choice((-30, 0, 0, 30))
    morning = (profession.morning[0] + shift, profession.morning[1])
    late = profession.key == "gp" and rng.random() < 0.3  # open until 20:00
    afternoon = (profession.afternoon[0], _h(20) if late else profession.afternoon[1] + rng.choice((-30, 0, 0)))
    worked = sorted((day_off_seed + n) % 5 for n in range(profession.workdays))
    tele_day = worked[0] if profession.key == "gp" else -1
    week: list[tuple[SlotTemplate, ...]] = []
    for weekday in range(7):
        if weekday in worked:
            week.append(tuple(_day(profession, duration, morning, afternoon, weekday == tele_day)))
        else:
            week.append(())
    return tuple(week)


def saturday_pattern(duration: int) -> tuple[SlotTemplate, ...]:
    """A GP's Saturday morning at a centre that opens on Saturdays (rota among its GPs)."""
    return tuple(_cut(_h(9), _h(12.5), duration, "AMB", {-3: SNP_CPTS, -2: SNP, -1: SNP_CPTS}))


def duty_pattern(duration: int) -> tuple[SlotTemplate, ...]:
    """The CPTS duty roster (garde) on Sundays and public holidays: unscheduled care only."""
    return tuple(_cut(_h(9), _h(13), duration, "AMB", {}, SNP_CPTS))


__all__ = [
    "CARDIOLOGIST",
    "CPTS",
    "CPTS_KINDS",
    "DENTIST",
    "GP",
    "MIDWIFE",
    "NURSE",
    "PHYSIO",
    "PODIATRIST",
    "PRO",
    "PROFESSIONS",
    "PUBLIC",
    "SECURITY",
    "SNP",
    "SNP_CPTS",
    "SNP_KINDS",
    "WALK_IN_KINDS",
    "Profession",
    "SlotTemplate",
    "Week",
    "duty_pattern",
    "saturday_pattern",
    "weekly_pattern",
]

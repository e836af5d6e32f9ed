"""The plan of the territory: the CPTS, its centres, their rooms and practitioners (small specs, no FHIR yet).

The plan is cheap (a few hundred bytes per practitioner) and is built up front, so that every later stage can
refer to any practitioner of any centre; patients, agendas and care teams are streamed from it centre by centre.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gateway.demo import codes, identifiers
from gateway.demo.gazetteer import Address, Gazetteer, load_gazetteer
from gateway.demo.options import DemoOptions
from gateway.demo.professions import (
    CARDIOLOGIST,
    DENTIST,
    GP,
    MIDWIFE,
    NURSE,
    PHYSIO,
    PODIATRIST,
    Profession,
    Week,
    weekly_pattern,
)
from gateway.fhir.ids import deterministic_id

PRACTITIONERS_PER_CENTRE = (6, 10)
SERIALS_PER_CENTRE = 16  # RPPS serial block of a centre (more than the 10 practitioners it may have)


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    name: str
    kind: str  # fr-core-cs-location-type code


@dataclass(frozen=True, slots=True)
class PractitionerSpec:
    rpps: str
    id_nat_ps: str
    practitioner_id: str
    role_id: str
    schedule_id: str
    profession: Profession
    gender: str
    given: str
    family: str
    phone: str
    email: str
    duration: int  # minutes per consultation
    room: Room
    week: Week

    @property
    def display(self) -> str:
        prefix = f"{self.profession.prefix} " if self.profession.prefix else ""
        return f"{prefix}{self.given} {self.family.upper()}"


@dataclass(frozen=True, slots=True)
class CentreSpec:
    index: int
    finess: str
    organization_id: str
    service_id: str
    name: str
    address: Address
    phone: str
    email: str
    booking_url: str
    opens_saturday: bool
    rooms: tuple[Room, ...]
    practitioners: tuple[PractitionerSpec, ...]

    @property
    def gps(self) -> tuple[PractitionerSpec, ...]:
        return tuple(p for p in self.practitioners if p.profession is GP)


@dataclass(frozen=True, slots=True)
class CptsSpec:
    finess: str
    organization_id: str
    service_id: str
    name: str
    address: Address
    phone: str
    email: str


@dataclass(frozen=True)
class Territory:
    options: DemoOptions
    gazetteer: Gazetteer
    cpts: CptsSpec
    centres: tuple[CentreSpec, ...]


def phone_number(rng: random.Random, mobile: bool = False) -> str:
    """A number in the ranges ARCEP keeps for fiction (02 61 91 .. .., 06 39 98 .. ..)."""
    block = "6 39 98" if mobile else "2 61 91"
    return f"+33 {block} {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and dashes (for e-mail addresses)."""
    table = str.maketrans("àâäçéèêëîïôöùûüÿ' ", "aaaceeeeiioouuuy--")
    return "".join(c for c in text.lower().translate(table) if c.isalnum() or c == "-").strip("-")


def _staff(rng: random.Random, scale: float = 1.0) -> list[Profession]:
    """The professions of one centre's staff; ``scale`` > 1 adds that share of GPs, nurses and physiotherapists
    (bigger centres for benchmarks; 1 draws exactly the default territory)."""
    staff = [GP] * rng.randint(2, 4) + [NURSE] * rng.randint(1, 3) + [PHYSIO] * rng.randint(0, 2)
    staff += [DENTIST] * rng.randint(0, 2)
    staff += [p for p, share in ((MIDWIFE, 0.5), (PODIATRIST, 0.35), (CARDIOLOGIST, 0.35)) if rng.random() < share]
    low, high = PRACTITIONERS_PER_CENTRE
    while len(staff) < low:
        staff.append(rng.choice((GP, NURSE, PHYSIO)))
    staff = staff[:high]
    extra = round(len(staff) * (scale - 1))
    return staff + [rng.choice((GP, NURSE, PHYSIO)) for _ in range(max(extra, 0))]


def _rooms(rng: random.Random, finess: str) -> tuple[Room, ...]:
    names = [
        ("Cabinet de consultation 1", "SL_EXM"),
        ("Salle de soins", "SL_EXM"),
        ("Cabinet de consultation 2", "SL_EXM"),
    ]
    count = rng.randint(1, 3)
    return tuple(
        Room(deterministic_id("Location", finess, n), name, kind) for n, (name, kind) in enumerate(names[:count])
    )


def _practitioner(
    rng: random.Random, gazetteer: Gazetteer, centre: int, finess: str, n: int, profession: Profession, room: Room
) -> PractitionerSpec:
    rpps = identifiers.rpps((centre + 1) * SERIALS_PER_CENTRE + n)
    id_nat = identifiers.id_nat_ps(rpps)
    gender = "female" if rng.random() < profession.female_share else "male"
    given, family = gazetteer.given_name(rng, gender), gazetteer.family_name(rng)
    duration = rng.choice(profession.durations)
    week = weekly_pattern(profession, rng, duration, day_off_seed=centre + n)
    return PractitionerSpec(
        rpps=rpps,
        id_nat_ps=id_nat,
        practitioner_id=deterministic_id("Practitioner", codes.IDNPS_SYSTEM, id_nat),
        role_id=deterministic_id("PractitionerRole", finess, id_nat),
        schedule_id=deterministic_id("Schedule", finess, id_nat),
        profession=profession,
        gender=gender,
        given=given,
        family=family,
        phone=phone_number(rng),
        email=f"{slug(given)}.{slug(family)}@cds-{finess}.sante-demo.example",
        duration=duration,
        room=room,
        week=week,
    )


def _centre_name(rng: random.Random, gazetteer: Gazetteer, address: Address, taken: set[str]) -> str:
    commune = address.commune.name
    candidates = [f"Centre de santé {rng.choice(gazetteer.eponyms)}", f"Centre de santé municipal de {commune}"]
    candidates += [f"Centre de santé de {commune} {quarter}" for quarter in gazetteer.quarters_of(address.commune)]
    candidates += [f"Centre de santé de {commune} (site {n})" for n in range(2, 400)]
    name = candidates[0] if rng.random() < 0.4 else candidates[1]
    for candidate in [name, *candidates]:
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise RuntimeError("no free centre name")  # pragma: no cover - 400 sites per commune


def _centre(options: DemoOptions, gazetteer: Gazetteer, index: int, taken: set[str]) -> CentreSpec:
    finess = identifiers.finess(gazetteer.department_code, index + 1)
    rng = random.Random(f"{options.seed}/centre/{finess}")
    address = gazetteer.address(rng)
    rooms = _rooms(rng, finess)
    staff = _staff(rng, options.staff_scale)
    practitioners = []
    for n, profession in enumerate(staff):
        room = rooms[1] if profession is NURSE and len(rooms) > 1 else rooms[n % len(rooms)]
        practitioners.append(_practitioner(rng, gazetteer, index, finess, n, profession, room))
    return CentreSpec(
        index=index,
        finess=finess,
        organization_id=deterministic_id("Organization", codes.FINESS_SYSTEM, finess),
        service_id=deterministic_id("HealthcareService", finess, "centre"),
        name=_centre_name(rng, gazetteer, address, taken),
        address=address,
        phone=phone_number(rng),
        email=f"accueil@cds-{finess}.sante-demo.example",
        booking_url=f"https://rdv.sante-demo.example/centres/{finess}",
        opens_saturday=index == 0 or rng.random() < 0.5,
        rooms=rooms,
        practitioners=tuple(practitioners),
    )


def _cpts(options: DemoOptions, gazetteer: Gazetteer) -> CptsSpec:
    finess = identifiers.finess(gazetteer.department_code, 0)
    rng = random.Random(f"{options.seed}/cpts/{finess}")
    rennes = gazetteer.communes[0]
    return CptsSpec(
        finess=finess,
        organization_id=deterministic_id("Organization", codes.FINESS_SYSTEM, finess),
        service_id=deterministic_id("HealthcareService", finess, "SNP"),
        name=f"CPTS du Pays de {rennes.name}",
        address=gazetteer.address(rng, rennes),
        phone=phone_number(rng),
        email=f"coordination@cpts-{finess}.sante-demo.example",
    )


def plan_territory(options: DemoOptions) -> Territory:
    """The CPTS and every centre with its rooms and practitioners."""
    gazetteer = load_gazetteer()
    taken: set[str] = set()
    centres = tuple(_centre(options, gazetteer, i, taken) for i in range(options.centres))
    return Territory(options, gazetteer, _cpts(options, gazetteer), centres)


__all__ = [
    "CentreSpec",
    "CptsSpec",
    "PractitionerSpec",
    "Room",
    "Territory",
    "phone_number",
    "plan_territory",
    "slug",
]

"""FHIR resources of the territory's structure: Organizations, Locations, HealthcareServices, Practitioners,
PractitionerRoles and Schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.demo import codes
from gateway.demo.codes import coding, concept, reference
from gateway.demo.gazetteer import Address, place_position
from gateway.demo.localtime import LocalClock
from gateway.demo.options import DemoOptions
from gateway.demo.professions import GP, SlotTemplate
from gateway.demo.territory import CentreSpec, CptsSpec, PractitionerSpec, Room

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _community_care() -> dict[str, Any]:
    return concept("http://terminology.hl7.org/CodeSystem/service-category", "8", "Community Health Care")


def address_json(address: Address, use: str = "work") -> dict[str, Any]:
    commune = address.commune
    return {
        "extension": [{"url": codes.INSEE_CODE_URL, "valueCoding": coding(codes.COMMUNE_SYSTEM, commune.insee)}],
        "use": use,
        "line": [address.line],
        "city": commune.name,
        "postalCode": address.postal_code,
        "country": "FRA",
    }


def _telecom(phone: str, email: str) -> list[dict[str, Any]]:
    return [{"system": "phone", "value": phone, "use": "work"}, {"system": "email", "value": email, "use": "work"}]


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}:00"


def available_times(hours: dict[int, tuple[int, int]]) -> list[dict[str, Any]]:
    """``availableTime`` entries from {weekday: (start, end)}, weekdays with the same hours grouped."""
    grouped: dict[tuple[int, int], list[str]] = {}
    for weekday in sorted(hours):
        grouped.setdefault(hours[weekday], []).append(_DAYS[weekday])
    return [
        {"daysOfWeek": days, "availableStartTime": _hhmm(start), "availableEndTime": _hhmm(end)}
        for (start, end), days in grouped.items()
    ]


def _span(slots: tuple[SlotTemplate, ...]) -> tuple[int, int]:
    return slots[0].start, slots[-1].end


def practitioner_hours(practitioner: PractitionerSpec) -> dict[int, tuple[int, int]]:
    return {weekday: _span(day) for weekday, day in enumerate(practitioner.week) if day}


def centre_hours(centre: CentreSpec) -> dict[int, tuple[int, int]]:
    hours: dict[int, tuple[int, int]] = {}
    for practitioner in centre.practitioners:
        for weekday, (start, end) in practitioner_hours(practitioner).items():
            known = hours.get(weekday)
            hours[weekday] = (min(start, known[0]), max(end, known[1])) if known else (start, end)
    if centre.opens_saturday:
        hours[5] = (9 * 60, 12 * 60 + 30)
    return hours


def cpts_organization(cpts: CptsSpec) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": cpts.organization_id,
        "identifier": [
            {
                "use": "official",
                "type": concept(codes.FR_IDENTIFIER_TYPE, "IDNST"),
                "system": codes.IDNST_SYSTEM,
                "value": "1" + cpts.finess,
            },
            {
                "use": "official",
                "type": concept(codes.FR_IDENTIFIER_TYPE, "FINEG"),
                "system": codes.FINESS_SYSTEM,
                "value": cpts.finess,
            },
        ],
        "active": True,
        "type": [concept(codes.ESTABLISHMENT_CATEGORY_SYSTEM, *codes.CATEGORY_CPTS)],
        "name": cpts.name,
        "alias": ["CPTS"],
        "telecom": _telecom(cpts.phone, cpts.email),
        "address": [address_json(cpts.address)],
    }


def centre_organization(centre: CentreSpec, cpts: CptsSpec) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": centre.organization_id,
        "identifier": [
            {
                "use": "official",
                "type": concept(codes.FR_IDENTIFIER_TYPE, "IDNST"),
                "system": codes.IDNST_SYSTEM,
                "value": "1" + centre.finess,
            },
            {
                "use": "official",
                "type": concept(codes.FR_IDENTIFIER_TYPE, "FINEG"),
                "system": codes.FINESS_SYSTEM,
                "value": centre.finess,
            },
        ],
        "active": True,
        "type": [concept(codes.ESTABLISHMENT_CATEGORY_SYSTEM, *codes.CATEGORY_CENTRE)],
        "name": centre.name,
        "telecom": [*_telecom(centre.phone, centre.email), {"system": "url", "value": centre.booking_url}],
        "address": [address_json(centre.address)],
        "partOf": reference("Organization", cpts.organization_id, cpts.name),
    }


def room_location(room: Room, centre: CentreSpec) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": room.id,
        "status": "active",
        "name": f"{room.name} - {centre.name}",
        "mode": "instance",
        "type": [concept(codes.LOCATION_TYPE_SYSTEM, room.kind, "Salle examen")],
        "telecom": [{"system": "phone", "value": centre.phone, "use": "work"}],
        "address": address_json(centre.address),
        "physicalType": concept(codes.LOCATION_PHYSICAL_TYPE_SYSTEM, "ro", "Room"),
        "position": place_position(centre.address).json(),
        "managingOrganization": reference("Organization", centre.organization_id),
    }


CPTS_SERVICE_SYSTEM = "urn:cpts-gateway:cpts-service"


def cpts_service(cpts: CptsSpec) -> dict[str, Any]:
    return {
        "resourceType": "HealthcareService",
        "id": cpts.service_id,
        # what centres' exports name it by (mappings/csv/resources/slot.yaml: a conditional reference)
        "identifier": [{"system": CPTS_SERVICE_SYSTEM, "value": "SNP"}],
        "active": True,
        "providedBy": reference("Organization", cpts.organization_id, cpts.name),
        "category": [_community_care()],
        "type": [concept(codes.SERVICE_TYPE_SYSTEM, "SNP", "Soins non programmés")],
        "specialty": [GP.specialty_concept()],
        "name": f"Soins non programmés - {cpts.name}",
        "comment": "Créneaux de soins non programmés des centres de la CPTS, ouverts au SAS.",
        "telecom": _telecom(cpts.phone, cpts.email),
        "availableTime": available_times(
            {d: (8 * 60, 20 * 60) for d in range(5)} | {5: (9 * 60, 13 * 60), 6: (9 * 60, 13 * 60)}
        ),
    }


def centre_service(centre: CentreSpec) -> dict[str, Any]:
    return {
        "resourceType": "HealthcareService",
        "id": centre.service_id,
        "active": True,
        "providedBy": reference("Organization", centre.organization_id, centre.name),
        "category": [_community_care()],
        "type": [concept(codes.SERVICE_TYPE_SYSTEM, "CDS", "Consultations et soins de premier recours")],
        "location": [reference("Location", room.id) for room in centre.rooms],
        "name": f"Consultations - {centre.name}",
        "telecom": [
            {"system": "phone", "value": centre.phone, "use": "work"},
            {"system": "url", "value": centre.booking_url},
        ],
        "availableTime": available_times(centre_hours(centre)),
    }


def practitioner(spec: PractitionerSpec) -> dict[str, Any]:
    name: dict[str, Any] = {"use": "official", "family": spec.family, "given": [spec.given]}
    if spec.profession.prefix:
        name["prefix"] = [spec.profession.prefix]
    return {
        "resourceType": "Practitioner",
        "id": spec.practitioner_id,
        "identifier": [
            {
                "use": "official",
                "type": concept(codes.FR_IDENTIFIER_TYPE, "IDNPS"),
                "system": codes.IDNPS_SYSTEM,
                "value": spec.id_nat_ps,
            },
            {
                "use": "official",
                "type": concept(codes.FR_IDENTIFIER_TYPE, "RPPS"),
                "system": codes.RPPS_SYSTEM,
                "value": spec.rpps,
            },
        ],
        "active": True,
        "name": [name],
        "telecom": _telecom(spec.phone, spec.email),
        "gender": spec.gender,
        "qualification": [{"code": spec.profession.profession_concept()}],
    }


CONTAINED_LOCATION = "location"  # id of the Location a PractitionerRole contains (the SAS reads the place there)


def contained_location(room: Room, centre: CentreSpec) -> dict[str, Any]:
    """The consultation place of a role, contained in it: the room's Location, with the centre's ``position``."""
    location = room_location(room, centre)
    location["id"] = CONTAINED_LOCATION
    return location


def practitioner_role(spec: PractitionerSpec, centre: CentreSpec) -> dict[str, Any]:
    organization = reference("Organization", centre.organization_id, centre.name)
    organization["identifier"] = {
        "type": concept(codes.FR_IDENTIFIER_TYPE, "IDNST"),
        "system": codes.IDNST_SYSTEM,
        "value": "1" + centre.finess,
    }
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": spec.role_id,
        "contained": [contained_location(spec.room, centre)],
        "active": True,
        "practitioner": reference("Practitioner", spec.practitioner_id, spec.display),
        "organization": organization,
        "code": [spec.profession.profession_concept()],
    }
    specialty = spec.profession.specialty_concept()
    if specialty:
        role["specialty"] = [specialty]
    role["location"] = [{"reference": f"#{CONTAINED_LOCATION}"}]
    role["healthcareService"] = [reference("HealthcareService", centre.service_id)]
    role["telecom"] = _telecom(spec.phone, spec.email)
    role["availableTime"] = available_times(practitioner_hours(spec))
    return role


def service_types(spec: PractitionerSpec) -> list[str]:
    found = {slot.service for day in spec.week for slot in day}
    return [code for code in codes.ACT_CODES if code in found]


def schedule(spec: PractitionerSpec, options: DemoOptions, clock: LocalClock) -> dict[str, Any]:
    value: dict[str, Any] = {
        "resourceType": "Schedule",
        "id": spec.schedule_id,
        "active": True,
        "serviceType": [concept(codes.ACT_CODE_SYSTEM, code, codes.ACT_CODES[code]) for code in service_types(spec)],
    }
    specialty = spec.profession.specialty_concept()
    if specialty:
        value["specialty"] = [specialty]
    value["actor"] = [
        reference("Practitioner", spec.practitioner_id, spec.display),
        reference("PractitionerRole", spec.role_id),
    ]
    value["planningHorizon"] = {
        "start": clock.midnight(options.first_day),
        "end": clock.midnight(options.last_day + dt.timedelta(days=1)),
    }
    value["comment"] = f"Agenda de {spec.display} ({spec.profession.title})"
    return value


__all__ = [
    "CONTAINED_LOCATION",
    "address_json",
    "available_times",
    "centre_hours",
    "centre_organization",
    "centre_service",
    "contained_location",
    "cpts_organization",
    "cpts_service",
    "practitioner",
    "practitioner_hours",
    "practitioner_role",
    "room_location",
    "schedule",
    "service_types",
]

"""``generate_territory``: the whole demo territory as a stream of (tenant, resource) pairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway.demo import structures
from gateway.demo.agenda import centre_agenda
from gateway.demo.careteams import centre_care_teams
from gateway.demo.consents import centre_consents
from gateway.demo.localtime import LocalClock
from gateway.demo.options import DemoOptions
from gateway.demo.pathways import centre_pathways
from gateway.demo.patients import centre_patients
from gateway.demo.territory import Territory, plan_territory

Tenant = str | None
Item = tuple[Tenant, dict[str, Any]]


def structure_items(territory: Territory, clock: LocalClock) -> Iterator[Item]:
    """The CPTS, then each centre's Organization, rooms, service, practitioners, roles and schedules."""
    cpts = territory.cpts
    yield None, structures.cpts_organization(cpts)
    yield None, structures.cpts_service(cpts)
    for centre in territory.centres:
        tenant = centre.finess
        yield tenant, structures.centre_organization(centre, cpts)
        for room in centre.rooms:
            yield tenant, structures.room_location(room, centre)
        yield tenant, structures.centre_service(centre)
        for spec in centre.practitioners:
            yield tenant, structures.practitioner(spec)
        for spec in centre.practitioners:
            yield tenant, structures.practitioner_role(spec, centre)
        for spec in centre.practitioners:
            yield tenant, structures.schedule(spec, territory.options, clock)


def _activity(territory: Territory, clock: LocalClock) -> Iterator[Item]:
    """Per centre: patients, their care teams, sharing choices and pathways, then the agenda (each Slot, then its
    Appointment)."""
    for centre in territory.centres:
        tenant = centre.finess
        patients = centre_patients(territory, centre)
        for _, resource in patients:
            yield tenant, resource
        specs = [spec for spec, _ in patients]
        del patients  # keep only the small specs while the agenda streams
        for care_team in centre_care_teams(territory, centre, specs, clock):
            yield tenant, care_team
        for consent in centre_consents(territory, centre, specs, clock):
            yield tenant, consent
        for resource in centre_pathways(territory, centre, specs, clock):
            yield tenant, resource
        for resource in centre_agenda(territory, centre, specs, clock):
            yield tenant, resource


def generate_territory(options: DemoOptions) -> Iterator[Item]:
    """Yield (tenant, resource_json) pairs of a synthetic CPTS territory.

    ``tenant`` is the FINESS (9 characters) of the owning centre, or None for CPTS-level resources (the CPTS
    Organization and its SNP HealthcareService). Resources are yielded before any resource that references them.
    Generation streams (memory stays flat whatever the number of centres and days) and is deterministic: the same
    options give byte-identical output; it never reads the clock nor the global random generator.
    """
    territory = plan_territory(options)
    clock = LocalClock(options.timezone)
    yield from structure_items(territory, clock)
    yield from _activity(territory, clock)


__all__ = ["Item", "Tenant", "generate_territory", "structure_items"]

"""Cercles de soins (CDS ``cds-ihe-careteam`` style): one active CareTeam per followed patient, with the médecin
traitant (role PCP) and professionals of the patient's centre and of neighbouring centres."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

from gateway.demo import codes
from gateway.demo.codes import concept, reference
from gateway.demo.localtime import LocalClock
from gateway.demo.patients import PatientSpec
from gateway.demo.professions import GP
from gateway.demo.territory import CentreSpec, PractitionerSpec, Territory
from gateway.fhir.ids import deterministic_id

CDS_CARETEAM_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"
CARE_TEAM_SHARE = 0.3  # share of patients with a médecin traitant who have a care team
NEIGHBOURS = (1, -1, 2, -2)  # centres (by index offset) whose professionals join care teams


def _candidates(territory: Territory, centre: CentreSpec) -> list[tuple[CentreSpec, PractitionerSpec]]:
    """Non-GP professionals of the centre and of its neighbours."""
    centres = territory.centres
    nearby = [centre] + [centres[(centre.index + k) % len(centres)] for k in NEIGHBOURS if len(centres) > abs(k)]
    seen: set[str] = set()
    found = []
    for other in nearby:
        if other.finess in seen:
            continue
        seen.add(other.finess)
        found += [(other, p) for p in other.practitioners if p.profession is not GP]
    return found


def _participant(spec: PractitionerSpec, start: str, pcp: bool) -> dict[str, Any]:
    participant: dict[str, Any] = {}
    if pcp:
        participant["role"] = [concept(codes.PARTICIPATION_FUNCTION_SYSTEM, "PCP", "Médecin traitant")]
    participant["member"] = reference("PractitionerRole", spec.role_id, spec.display)
    participant["period"] = {"start": start}
    return participant


def centre_care_teams(
    territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
) -> Iterator[dict[str, Any]]:
    """Care teams of the centre's patients (each references PractitionerRoles of up to three centres)."""
    rng = random.Random(f"{territory.options.seed}/careteams/{centre.finess}")
    today = territory.options.start
    candidates = _candidates(territory, centre)
    foreign = [c for c in candidates if c[0] is not centre]
    for patient in patients:
        gp = patient.general_practitioner
        if gp is None or rng.random() >= CARE_TEAM_SHARE:
            continue
        team_start = today - dt.timedelta(days=rng.randint(30, 3 * 365))
        members: list[PractitionerSpec] = []
        if foreign:
            members.append(rng.choice(foreign)[1])  # at least one professional from another centre
        for _ in range(rng.randint(0, 2)):
            if candidates:
                members.append(rng.choice(candidates)[1])
        participants = [_participant(gp, clock.instant(team_start, rng.randint(8 * 60, 19 * 60)), pcp=True)]
        for member in dict.fromkeys(members):  # once each, in drawing order
            joined = team_start + dt.timedelta(days=rng.randint(1, (today - team_start).days - 1))
            participants.append(_participant(member, clock.instant(joined, rng.randint(8 * 60, 19 * 60)), pcp=False))
        yield {
            "resourceType": "CareTeam",
            "id": deterministic_id("CareTeam", centre.finess, patient.id),
            "meta": {"profile": [CDS_CARETEAM_PROFILE]},
            "identifier": [
                {"use": "official", "system": codes.CARE_TEAM_SYSTEM_PREFIX + centre.finess, "value": patient.ipp}
            ],
            "status": "active",
            "name": f"Cercle de soins du patient {patient.ipp}",
            "subject": reference("Patient", patient.id),
            "period": {"start": participants[0]["period"]["start"]},
            "participant": participants,
            "managingOrganization": [reference("Organization", centre.organization_id, centre.name)],
        }


__all__ = ["CARE_TEAM_SHARE", "CDS_CARETEAM_PROFILE", "centre_care_teams"]

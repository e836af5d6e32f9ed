"""The patient's cercle de soins: one CareTeam per patient (ANS profile cds-ihe-careteam), kept by the gateway.

Its id is deterministic from the patient (``urn:cpts-gateway:cercle-de-soins`` | ``Patient/<id>``), so enrolling or
accepting a referral twice finds the same team. A member joins with ``period.start`` the day they join; a member
already current is not added again; a member who left and comes back is a new participant entry (as the profile
says). A member who is one of the patient's ``generalPractitioner`` takes the role PCP (médecin traitant).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.fhir.ids import deterministic_id

CDS_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"
TEAM_SYSTEM = "urn:cpts-gateway:cercle-de-soins"
ROLE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R259-HL7ParticipationFunction/FHIR/TRE-R259-HL7ParticipationFunction"
PCP = {"coding": [{"system": ROLE_SYSTEM, "code": "PCP", "display": "Médecin traitant"}]}


def team_id(patient_id: str) -> str:
    return deterministic_id("CareTeam", None, TEAM_SYSTEM, f"Patient/{patient_id}")


def new_team(patient_id: str, start: date, display: str | None = None) -> dict[str, Any]:
    subject: dict[str, Any] = {"reference": f"Patient/{patient_id}"}
    if display:
        subject["display"] = display
    return {
        "resourceType": "CareTeam",
        "id": team_id(patient_id),
        "meta": {"profile": [CDS_PROFILE]},
        "identifier": [{"system": TEAM_SYSTEM, "value": f"Patient/{patient_id}"}],
        "status": "active",
        "name": "Cercle de soins",
        "subject": subject,
        "period": {"start": start.isoformat()},
    }


def _current(participant: dict[str, Any], today: str) -> bool:
    period = participant.get("period")
    end = period.get("end") if isinstance(period, dict) else None
    return not isinstance(end, str) or end[:10] >= today


def with_member(
    team: dict[str, Any], member: str, joined: date, general_practitioners: set[str] | None = None
) -> dict[str, Any]:
    """The team with ``member`` (``PractitionerRole/id``, ``Organization/id``...) as a current participant."""
    today = joined.isoformat()
    participants = [p for p in team.get("participant", []) if isinstance(p, dict)]
    for participant in participants:
        reference = (
            participant.get("member", {}).get("reference") if isinstance(participant.get("member"), dict) else None
        )
        if reference == member and _current(participant, today):
            return team
    entry: dict[str, Any] = {}
    if member in (general_practitioners or set()):
        entry["role"] = [PCP]
    entry["member"] = {"reference": member}
    entry["period"] = {"start": today}
    changed = {**team, "participant": [*participants, entry]}
    if changed.get("status") != "active":
        changed["status"] = "active"
    return changed


__all__ = ["CDS_PROFILE", "PCP", "ROLE_SYSTEM", "TEAM_SYSTEM", "new_team", "team_id", "with_member"]

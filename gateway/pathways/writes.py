"""The pathway rules of API writes, applied in the write transaction before anything is stored (like slot booking).

- **Referrals** (Task): the status follows the state machine of ``mappings/pathways/task-transitions.yaml``
  (gateway/pathways/transitions.py), judged against the *stored* Task's owner and requester so a caller cannot
  name itself owner and accept; moving to ``in-progress`` sets ``executionPeriod.start``, to ``completed`` or
  ``failed`` its ``end`` (the completion delay of IND-PATHWAY). Accepting adds the owner to the patient's cercle de
  soins (gateway/pathways/careteam.py) in the same transaction.
- **Enrolments** (CarePlan of category pathway, active): the patient's cercle de soins exists and lists the plan's
  author and the patient's médecin traitant (PCP); the plan references it in ``careTeam``.
- A Task, ServiceRequest, CarePlan or CareTeam created by a caller that belongs to no centre (a practitioner of the
  CPTS) is held by the patient's centre, never left CPTS-wide (which every centre's system would read).

The ingest pipeline (a centre's export of its own records) does not come here: a centre's system states facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from gateway.fhir.booking import lock_rows
from gateway.fhir.dates import format_instant
from gateway.pathways.careteam import CDS_PROFILE, new_team, team_id, with_member
from gateway.pathways.transitions import check_transition, transition_table
from gateway.storage.indexer import parse_reference
from gateway.storage.store import ResourceStore, StoredResource, WriteItem
from security.access import AccessPolicy
from security.consent import FINESS, IDNAT_STRUCT
from security.principal import Principal

PATHWAY_CATEGORY = ("urn:cpts-gateway:careplan-category", "pathway")
HELD_BY_PATIENT_CENTRE = frozenset({"Task", "ServiceRequest", "CarePlan", "CareTeam"})
PATIENT_ELEMENT = {"Task": "for", "ServiceRequest": "subject", "CarePlan": "subject", "CareTeam": "subject"}


def _literal(reference: Any) -> str | None:
    """``Type/id`` of a literal reference, else None."""
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    target_type, target_id = parse_reference(reference["reference"])
    return f"{target_type}/{target_id}" if target_type and target_id else None


def patient_of(resource_type: str, resource: dict[str, Any]) -> str | None:
    literal = _literal(resource.get(PATIENT_ELEMENT.get(resource_type, "subject")))
    return literal.split("/", 1)[1] if literal and literal.startswith("Patient/") else None


def is_pathway_plan(resource: dict[str, Any]) -> bool:
    for concept in resource.get("category", []):
        for coding in concept.get("coding", []) if isinstance(concept, dict) else []:
            if (coding.get("system"), coding.get("code")) == PATHWAY_CATEGORY:
                return True
    return False


class PathwayWrites:
    """Turns the pathway writes of one request into the CareTeam writes that go with them (module docstring)."""

    def __init__(self, store: ResourceStore, access: AccessPolicy, zone: ZoneInfo) -> None:
        self.store = store
        self.access = access
        self.zone = zone
        transition_table()  # read and checked when the application is built: a bad table stops start-up

    def plan(self, conn: Connection, principal: Principal, items: Sequence[WriteItem]) -> list[WriteItem]:
        mine = [i for i in items if i.resource_type in HELD_BY_PATIENT_CENTRE and i.resource is not None]
        if not mine:
            return []
        lock_rows(conn, [(i.resource_type, i.id) for i in mine if i.resource_type in ("Task", "CarePlan")])
        today = datetime.now(UTC).astimezone(self.zone).date()
        teams: dict[str, tuple[dict[str, Any], str | None]] = {}  # patient id -> (team, its holding centre)
        written = {i.id for i in items if i.resource_type == "CareTeam"}
        for item in mine:
            before = self.store.read(conn, item.resource_type, item.id)
            live = before if before is not None and not before.deleted else None
            patient = patient_of(item.resource_type, item.resource or {})
            holder = self._patient(conn, patient)
            if live is None and item.tenant is None and holder is not None:
                item.tenant = holder.tenant  # a CPTS practitioner's write is held by the patient's centre
            if item.resource_type == "Task":
                self._task(conn, principal, item, live, today, teams, holder)
            elif item.resource_type == "CarePlan" and is_pathway_plan(item.resource or {}):
                self._enrolment(conn, item, today, teams, holder)
        return [
            WriteItem("CareTeam", team["id"], team, tenant=tenant, method="PUT")
            for team, tenant in teams.values()
            if team["id"] not in written
        ]

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _patient(self, conn: Connection, patient: str | None) -> StoredResource | None:
        if patient is None:
            return None
        found = self.store.read(conn, "Patient", patient)
        return found if found is not None and not found.deleted else None

    def _team(
        self,
        conn: Connection,
        holder: StoredResource,
        today: date,
        teams: dict[str, tuple[dict[str, Any], str | None]],
    ) -> dict[str, Any]:
        if holder.id in teams:
            return teams[holder.id][0]
        stored = self._cercle(conn, holder.id)
        team = stored.json() if stored is not None else new_team(holder.id, today)
        teams[holder.id] = (team, holder.tenant)
        return team

    def _join(
        self,
        conn: Connection,
        holder: StoredResource | None,
        members: list[str],
        today: date,
        teams: dict[str, tuple[dict[str, Any], str | None]],
    ) -> str | None:
        if holder is None:
            return None
        team = self._team(conn, holder, today, teams)
        doctors = {ref for ref in (_literal(g) for g in holder.json().get("generalPractitioner", [])) if ref}
        for member in members:
            team = with_member(team, member, today, doctors)
        teams[holder.id] = (team, holder.tenant)
        return str(team["id"])

    def _cercle(self, conn: Connection, patient: str) -> StoredResource | None:
        """The patient's cercle de soins: the gateway's own (deterministic id), else an active CareTeam of the
        patient with the cds-ihe-careteam profile (one a centre sent), else None."""
        own = self.store.read(conn, "CareTeam", team_id(patient))
        if own is not None and not own.deleted:
            return own
        teams = self.store.referring(conn, "CareTeam", "patient", f"Patient/{patient}")
        found = self.store.read_many(conn, [("CareTeam", ident) for ident in teams])
        for key in sorted(found):
            stored = found[key]
            body = stored.json()
            if body.get("status") == "active" and CDS_PROFILE in body.get("meta", {}).get("profile", []):
                return stored
        return None

    def centres(self, conn: Connection, reference: Any, depth: int = 0) -> set[str]:
        """The FINESS of the centre(s) a reference designates: its FINESS identifier, the centre holding the
        resource, an Organization's FINESS, a PractitionerRole's organization."""
        if not isinstance(reference, dict):
            return set()
        found: set[str] = set()
        identifier = reference.get("identifier")
        if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
            if identifier.get("system") == FINESS:
                found.add(identifier["value"])
            elif identifier.get("system") == IDNAT_STRUCT and identifier["value"].startswith("1"):
                found.add(identifier["value"][1:])
        literal = _literal(reference)
        if literal is None or depth > 1:
            return found
        target_type, target_id = literal.split("/", 1)
        stored = self.store.read(conn, target_type, target_id)
        if stored is None or stored.deleted:
            return found
        if stored.tenant:
            found.add(stored.tenant)
        body = stored.json()
        if target_type == "Organization":
            found |= {i["value"] for i in body.get("identifier", []) if i.get("system") == FINESS and "value" in i}
        elif target_type == "PractitionerRole":
            found |= self.centres(conn, body.get("organization"), depth + 1)
        return found

    # -- referrals -------------------------------------------------------------------------------------------------
    def _task(
        self,
        conn: Connection,
        principal: Principal,
        item: WriteItem,
        before: StoredResource | None,
        today: date,
        teams: dict[str, tuple[dict[str, Any], str | None]],
        holder: StoredResource | None,
    ) -> None:
        resource = item.resource or {}
        was = before.json() if before is not None else None
        status = str(resource.get("status"))
        previous = str(was.get("status")) if was is not None else None
        if previous == status:
            return
        basis = was if was is not None else resource  # the stored owner and requester decide, not the new body
        if principal.is_developer:
            owner = requester = True
        else:
            mine = set(principal.structures) | ({principal.write_tenant} if principal.write_tenant else set())
            actor = self.access.consent.actor(
                conn, principal.practitioner_id, principal.structures, principal.profession
            )
            owner_ref = _literal(basis.get("owner"))
            owner = bool(mine & self.centres(conn, basis.get("owner"))) or owner_ref in actor.references
            requester_ref = _literal(basis.get("requester"))
            holding = {before.tenant} if before is not None and before.tenant else set()
            requester = bool(mine & (self.centres(conn, basis.get("requester")) | holding))
            requester = requester or requester_ref in actor.references
            if basis.get("owner") is None:  # a Task addressed to no one: the centre holding it runs it
                owner = bool(mine & holding)
        check_transition(previous, status, owner=owner, requester=requester)
        now = format_instant(datetime.now(UTC))
        execution = dict(resource.get("executionPeriod") or {})
        if status == "in-progress" and "start" not in execution:
            execution["start"] = now
        if status in ("completed", "failed") and "end" not in execution:
            execution.setdefault("start", now)
            execution["end"] = now
        if execution:
            resource = {**resource, "executionPeriod": execution}
        member = _literal(basis.get("owner"))
        if status == "accepted" and member is not None:
            self._join(conn, holder, [member], today, teams)
        item.resource = resource

    # -- enrolments ------------------------------------------------------------------------------------------------
    def _enrolment(
        self,
        conn: Connection,
        item: WriteItem,
        today: date,
        teams: dict[str, tuple[dict[str, Any], str | None]],
        holder: StoredResource | None,
    ) -> None:
        resource = item.resource or {}
        if resource.get("status") != "active" or holder is None:
            return
        members = [m for m in (_literal(resource.get("author")),) if m and not m.startswith("Patient/")]
        doctors = [ref for ref in (_literal(g) for g in holder.json().get("generalPractitioner", [])) if ref]
        team = self._join(conn, holder, [*members, *doctors], min(_plan_start(resource, today), today), teams)
        refs = [c for c in resource.get("careTeam", []) if isinstance(c, dict)]
        if team is not None and not any(_literal(c) == f"CareTeam/{team}" for c in refs):
            item.resource = {**resource, "careTeam": [*refs, {"reference": f"CareTeam/{team}"}]}


def _plan_start(resource: dict[str, Any], today: date) -> date:
    period = resource.get("period")
    start = period.get("start") if isinstance(period, dict) else None
    try:
        return date.fromisoformat(start[:10]) if isinstance(start, str) else today
    except ValueError:
        return today


__all__ = ["PathwayWrites", "is_pathway_plan", "patient_of"]

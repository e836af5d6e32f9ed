"""What every indicator family needs for one computation: the connection, the period's UTC bounds, the centres in
scope, and the stratum values (profession, specialty, centre names...) read once from the directory resources.

Stratum values are keys (a code, an id, ``""`` when unknown); :attr:`Context.labels` gives each its CodeableConcept
(a ``text`` and, where one exists, a coding), filled as the families use them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

import orjson
from sqlalchemy import Connection, Table, and_, select, text

from gateway.capacity.directory import DIRECTORY
from gateway.fhir.ids import deterministic_id
from gateway.indicators.period import Period
from gateway.storage.models import DateIndexRow
from gateway.storage.references import parse_reference
from gateway.storage.store import RESOURCE

FINESS_SYSTEM = "https://finess.esante.gouv.fr"
PROFESSION_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
SPECIALTY_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
TASK_STATUS = "http://hl7.org/fhir/task-status"
PAYER_SYSTEM = "urn:cpts-gateway:claim-payer"
ROLE_SYSTEM = "urn:cpts-gateway:practitioner-role"
ROOM_SYSTEM = "urn:cpts-gateway:room"
PROTOCOL_SYSTEM = "urn:cpts-gateway:pathway-protocol"
UNKNOWN = {"text": "non renseigné"}
NO_ROOM = {"text": "sans salle"}
SERVICE_DISPLAY = {"AMB": "ambulatory", "HH": "home health", "VR": "virtual"}
DATE_INDEX: Table = DateIndexRow.__table__  # type: ignore[attr-defined]
Json = dict[str, Any]


def _codings(concepts: Any) -> list[Json]:
    items = concepts if isinstance(concepts, list) else [concepts]
    return [
        c
        for concept in items
        if isinstance(concept, dict)
        for c in concept.get("coding") or []
        if isinstance(c, dict) and isinstance(c.get("code"), str)
    ]


def _coding(concepts: Any, system: str) -> Json | None:
    found = [c for c in _codings(concepts) if c.get("system") == system]
    return found[0] if found else None


def _person_name(practitioner: Json) -> str | None:
    for name in practitioner.get("name") or []:
        if isinstance(name, dict):
            given = [g for g in name.get("given") or [] if isinstance(g, str)]
            family = name.get("family")
            parts = [*given, *([family] if isinstance(family, str) else [])]
            if parts:
                return " ".join(parts)
    return None


@dataclass(frozen=True)
class Role:
    id: str
    tenant: str | None
    practitioner: str | None
    profession: Json | None  # the TRE_G15 coding
    specialty: Json | None  # the TRE_R38 coding
    display: str


@dataclass
class Context:
    conn: Connection
    zone: tzinfo
    period: Period
    today: date  # the computation's local day (THIRD-NEXT's reference day when earlier than the period's end)
    tenants: list[str]  # centres in scope, sorted
    everyone: bool = False  # the centres are all those holding data: no tenant filter in the queries
    low: datetime = field(init=False)
    high: datetime = field(init=False)
    roles: dict[str, Role] = field(default_factory=dict)
    role_by_practitioner: dict[tuple[str | None, str], str] = field(default_factory=dict)
    schedules: dict[str, tuple[str | None, str | None, bool]] = field(default_factory=dict)  # tenant, role, active
    locations: dict[str, tuple[str | None, Json]] = field(default_factory=dict)  # id -> tenant, resource
    organizations: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # FINESS -> id, name
    labels: dict[tuple[str, str], Json] = field(default_factory=dict)
    names: dict[str, str | None] = field(default_factory=dict)  # Practitioner id -> "Claire MARTIN"
    specialty_names: dict[str, str] = field(default_factory=dict)  # TRE_R38 code -> display, from the roles

    def __post_init__(self) -> None:
        self.low, self.high = self.period.bounds(self.zone)

    # -- reading ------------------------------------------------------------------------------------------------
    def in_scope(self, column: Any) -> Any:
        """The tenant condition of a query: none when every centre is in scope (a long IN list slows every row)."""
        return column.is_not(None) if self.everyone else column.in_(self.tenants)

    def load_directory(self) -> None:
        directory = DIRECTORY.current(self.conn)
        for (kind, ident), stored in sorted(directory.resources.items()):
            if kind == "Practitioner":
                self.names[ident] = _person_name(directory.parsed(stored))
        for (kind, ident), stored in sorted(directory.resources.items()):
            resource = directory.parsed(stored)
            if kind == "PractitionerRole":
                self._role(ident, stored.tenant, resource)
            elif kind == "Location":
                self.locations[ident] = (stored.tenant, resource)
            elif kind == "Organization":
                for identifier in resource.get("identifier") or []:
                    if isinstance(identifier, dict) and identifier.get("system") == FINESS_SYSTEM:
                        name = resource.get("name")
                        value = str(identifier.get("value"))
                        if value not in self.organizations or stored.tenant in (value, None):
                            self.organizations[value] = (ident, name if isinstance(name, str) else None)
        for ident, entry in sorted(directory.schedules.items()):
            resource = directory.parsed(directory.resources[("Schedule", ident)])
            role = next((i for kind, i in entry.actors if kind == "PractitionerRole" and i in self.roles), None)
            if role is None:
                practitioner = next((i for kind, i in entry.actors if kind == "Practitioner"), None)
                role = self.role_by_practitioner.get((entry.tenant, practitioner)) if practitioner else None
            has_role = any(kind == "PractitionerRole" for kind, _ in entry.actors)
            active = resource.get("active") is True and has_role  # as the definition says: active = true
            self.schedules[ident] = (entry.tenant, role, active)

    def _role(self, ident: str, tenant: str | None, resource: Json) -> None:
        practitioner = resource.get("practitioner")
        kind, target = (
            parse_reference(practitioner.get("reference", "")) if isinstance(practitioner, dict) else ("", "")
        )
        practitioner_id = target if kind == "Practitioner" else None
        profession = _coding(resource.get("code"), PROFESSION_SYSTEM) or next(
            iter(_codings(resource.get("code"))), None
        )
        specialty = _coding(resource.get("specialty"), SPECIALTY_SYSTEM)
        if specialty is not None and isinstance(specialty.get("display"), str):
            self.specialty_names.setdefault(str(specialty["code"]), specialty["display"])
        display = practitioner.get("display") if isinstance(practitioner, dict) else None
        name = self.names.get(practitioner_id or "") or (display if isinstance(display, str) else None)
        self.roles[ident] = Role(ident, tenant, practitioner_id, profession, specialty, name or ident)
        if practitioner_id is not None:
            self.role_by_practitioner.setdefault((tenant, practitioner_id), ident)

    def resources(
        self, kind: str, param: str | None, *, overlap: bool = False, open_end: bool = False
    ) -> Iterator[tuple[str, Json]]:
        """(tenant, JSON) of the current resources of ``kind`` held by the centres in scope, streamed in id order; with
        ``param``, only those whose date parameter falls in the period (starts in it; overlaps it when ``overlap``;
        starts in it or later when ``open_end``), found through the date index. For the low-volume types (calls, acts,
        claims, care plans, referrals, patients): each is parsed once and dropped, never kept."""
        query = select(RESOURCE.c.tenant, RESOURCE.c.content).where(
            RESOURCE.c.res_type == kind, RESOURCE.c.deleted.is_(False), self.in_scope(RESOURCE.c.tenant)
        )
        if param is not None:
            d = DATE_INDEX
            if overlap:
                when = and_(d.c.low < self.high, d.c.high >= self.low)
            else:
                when = d.c.low >= self.low if open_end else and_(d.c.low >= self.low, d.c.low < self.high)
            rids = select(d.c.rid).where(d.c.res_type == kind, d.c.param == param, when)
            query = query.where(RESOURCE.c.rid.in_(rids))
        rows = self.conn.execute(query.order_by(RESOURCE.c.res_id).execution_options(yield_per=2000))
        # Never opened: the indicators read only elements security/protected.yaml leaves in clear (a Patient's active,
        # deceased, link, generalPractitioner), so computing them needs no data key and decrypts no identity.
        for tenant, content in rows:
            yield tenant, orjson.loads(content)

    # -- stratum values --------------------------------------------------------------------------------------------
    def _label(self, stratifier: str, key: str, concept: Json) -> str:
        self.labels.setdefault((stratifier, key), concept)
        return key

    def centre(self, tenant: str) -> str:
        _, name = self.organization(tenant)
        coding = {"system": FINESS_SYSTEM, "code": tenant, **({"display": name} if name else {})}
        return self._label("centre", tenant, {"coding": [coding], "text": name or tenant})

    def organization(self, tenant: str) -> tuple[str, str | None]:
        """The centre's Organization id (stored, else the id a conditional reference by FINESS resolves to)."""
        found = self.organizations.get(tenant)
        if found is None:
            found = self.organizations[tenant] = (deterministic_id("Organization", FINESS_SYSTEM, tenant), None)
        return found

    def _coded(self, stratifier: str, coding: Json | None, system: str) -> str:
        if coding is None:
            return self._label(stratifier, "", UNKNOWN)
        code = str(coding["code"])
        display = coding.get("display")
        rendered = {"system": system, "code": code, **({"display": display} if isinstance(display, str) else {})}
        return self._label(stratifier, code, {"coding": [rendered], "text": display or code})

    def profession(self, role_id: str | None) -> str:
        role = self.roles.get(role_id) if role_id else None
        return self._coded("profession", role.profession if role else None, PROFESSION_SYSTEM)

    def role_specialty(self, role_id: str | None) -> str:
        role = self.roles.get(role_id) if role_id else None
        return self.specialty(str(role.specialty["code"]) if role and role.specialty else None)

    def specialty(self, code: str | None) -> str:
        """A TRE_R38 code's stratum, with the display the directory's roles give it (the same whichever indicators
        are computed)."""
        display = self.specialty_names.get(code) if code else None
        coding = {"code": code, **({"display": display} if display else {})} if code else None
        return self._coded("specialty", coding, SPECIALTY_SYSTEM)

    def service_type(self, code: str | None) -> str:
        coding = {"code": code, "display": SERVICE_DISPLAY[code]} if code in SERVICE_DISPLAY else None
        return self._coded("service-type", coding or ({"code": code} if code else None), ACT_CODE)

    def role(self, role_id: str | None) -> str:
        role = self.roles.get(role_id) if role_id else None
        if role is None:
            return self._label("practitioner-role", "", UNKNOWN)
        coding = {"system": ROLE_SYSTEM, "code": role.id}
        return self._label("practitioner-role", role.id, {"coding": [coding], "text": role.display})

    def room(self, location_id: str | None) -> str:
        if not location_id:
            return self._label("room", "", NO_ROOM)
        _, resource = self.locations.get(location_id, (None, {}))
        name = resource.get("name")
        text = name if isinstance(name, str) else location_id
        return self._label(
            "room", location_id, {"coding": [{"system": ROOM_SYSTEM, "code": location_id}], "text": text}
        )

    def code(self, stratifier: str, system: str, code: str | None, text: str | None = None) -> str:
        if not code:
            return self._label(stratifier, "", UNKNOWN)
        return self._label(stratifier, code, {"coding": [{"system": system, "code": code}], "text": text or code})

    def role_of(self, tenant: str | None, reference: Any) -> str | None:
        """The PractitionerRole a reference means: itself, or the Practitioner's role at this centre."""
        kind, ident = parse_reference(reference) if isinstance(reference, str) else (None, None)
        if kind == "PractitionerRole":
            return ident
        if kind == "Practitioner" and ident:
            return self.role_by_practitioner.get((tenant, ident))
        return None


_TENANTS = text(
    "WITH RECURSIVE t(x) AS (SELECT MIN(tenant) FROM resource UNION ALL "
    "SELECT (SELECT MIN(tenant) FROM resource WHERE tenant > t.x) FROM t WHERE t.x IS NOT NULL) "
    "SELECT x FROM t WHERE x IS NOT NULL"
)  # the distinct centres by skipping through ix_resource_tenant: one index probe per centre, not a scan


def tenants_in_scope(conn: Connection, tenants: Sequence[str] | None) -> list[str]:
    """The centres asked for, else every centre holding resources (distinct resource tenants), sorted."""
    if tenants is not None:
        return sorted(set(tenants))
    return sorted(str(t) for t in conn.execute(_TENANTS).scalars())


__all__ = ["Context", "Role", "tenants_in_scope"]

"""The consent engine: may this practitioner receive this patient's data? (architecture §7, French law L1110-4/12)

The decision for one patient and one practitioner, in this order:

1. The practitioner works at the centre that holds the record (one of their structures is the Patient's tenant):
   permitted, ``CONSENT-HOLDING-CENTRE``. An objection to *sharing* does not hide a record from its own centre.
2. Otherwise the newest *applicable* sharing Consent decides: ``deny`` → refused, ``CONSENT-OBJECTION``; ``permit``
   → permitted, ``CONSENT-EXPLICIT``. So an objection wins over the care-team presumption and over any older
   consent, and a consent given after an objection lifts it.
3. No applicable Consent: an active member of the patient's care team (équipe de soins: an active CareTeam of the
   patient listing the practitioner, or one of their PractitionerRoles, among its current participants) is
   presumed permitted, ``CONSENT-PRESUMED-CARE-TEAM``; anyone else is refused, ``CONSENT-REQUIRED``.
4. A referral addressed to the practitioner (a Task whose ``owner``, a ServiceRequest whose ``performer``
   designates them or their centre) is theirs to read and answer even before they join the care team:
   ``CONSENT-REFERRAL-RECIPIENT`` where rule 3 would refuse; an objection (rule 2) still wins.

A sharing Consent is a Consent of the patient with status ``active``, scope ``patient-privacy``, in force now
(``provision.period``), and not one of the DMP consents mapped from the HL7 ZFA segment (categories
``urn:cpts-gateway:consent-category|dmp-feed`` / ``dmp-access``: they govern the national DMP, not sharing inside
the CPTS). It applies to the practitioner when it names no actor (everyone), or one of its ``provision.actor``
designates them: their Practitioner or PractitionerRole (by reference, or by an identifier reference with their
idNat_PS), one of their structures (an Organization reference, or a FINESS / idNat_Struct identifier), or their
profession (an actor whose ``role`` is a TRE_G15 profession code). Its time is ``dateTime`` (else the time it was
stored).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, String, any_, bindparam, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from gateway.fhir.dates import DateFormatError, parse_range
from gateway.fhir.paths import evaluate
from gateway.fhir.searchparams import param
from gateway.settings import get_settings
from gateway.storage.indexer import parse_reference
from gateway.storage.store import INDEX, RESOURCE

IDNAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
IDNAT_STRUCT = "urn:oid:1.2.250.1.71.4.2.2"
FINESS = "https://finess.esante.gouv.fr"
TRE_G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
CATEGORY_SYSTEM = "urn:cpts-gateway:consent-category"
NOT_SHARING = frozenset({"dmp-feed", "dmp-access"})

HOLDING_CENTRE = "CONSENT-HOLDING-CENTRE"
OBJECTION = "CONSENT-OBJECTION"
EXPLICIT = "CONSENT-EXPLICIT"
CARE_TEAM = "CONSENT-PRESUMED-CARE-TEAM"
REQUIRED = "CONSENT-REQUIRED"
NO_PATIENT = "CONSENT-NOT-PATIENT-DATA"
UNKNOWN_PATIENT = "CONSENT-UNKNOWN-PATIENT"
REFERRAL = "CONSENT-REFERRAL-RECIPIENT"
RECIPIENT_ELEMENT = {"Task": "owner", "ServiceRequest": "performer"}


@dataclass(frozen=True)
class Decision:
    permit: bool
    reason: str  # one of the CONSENT-* codes above
    consent: str | None = None  # "Consent/id" that decided, when one did


@dataclass(frozen=True)
class Actor:
    """The practitioner asking, as the consent rules see them."""

    practitioner_id: str | None  # idNat_PS
    structures: frozenset[str]  # FINESS of the sites where they work
    profession: str | None = None  # TRE_G15 code
    references: frozenset[str] = frozenset()  # "Practitioner/id", "PractitionerRole/id", "Organization/id" of them


@dataclass(frozen=True)
class SharingConsent:
    reference: str  # "Consent/id"
    permit: bool
    when: datetime  # naive UTC
    applies: bool  # to the actor in question


@dataclass
class PatientFacts:
    patient: str  # Patient id
    tenant: str | None  # the holding centre
    in_care_team: bool = False
    consents: list[SharingConsent] = field(default_factory=list)


def decide(actor: Actor, facts: PatientFacts) -> Decision:
    """The rules above, as a pure function of what is known (the decision table test drives this)."""
    if facts.tenant is not None and facts.tenant in actor.structures:
        return Decision(True, HOLDING_CENTRE)
    applicable = [c for c in facts.consents if c.applies]
    if applicable:
        newest = max(applicable, key=lambda c: (c.when, not c.permit))  # same instant: the objection wins
        return Decision(newest.permit, EXPLICIT if newest.permit else OBJECTION, newest.reference)
    if facts.in_care_team:
        return Decision(True, CARE_TEAM)
    return Decision(False, REQUIRED)


# -- reading the facts out of FHIR resources -------------------------------------------------------------------------
def patient_ids(resource_type: str, resource: dict[str, Any]) -> set[str]:
    """The patients a resource is about: itself for a Patient, else what its ``patient`` search parameter names."""
    if resource_type == "Patient":
        return {str(resource.get("id"))}
    spec = param(resource_type, "patient")
    if spec is None:
        return set()
    found: set[str] = set()
    for path in spec.paths:
        for value in evaluate(resource, path):
            if isinstance(value, dict) and isinstance(value.get("reference"), str):
                target_type, target_id = parse_reference(value["reference"])
                if target_type == "Patient" and target_id:
                    found.add(target_id)
    return found


def _in_force(period: Any, now: str) -> bool:
    """Whether ``now`` (naive UTC, ISO) falls in a FHIR Period. Its bounds are instants or local dates and times (in
    ``CPTS_TIMEZONE``): a member who joined "2026-11-23" is in force from local midnight, which is 23:00 UTC the day
    before, and an end date counts to its last instant."""
    if not isinstance(period, dict):
        return True
    start, end = period.get("start"), period.get("end")
    instant = datetime.fromisoformat(now)
    zone = get_settings().tz
    try:
        started = not isinstance(start, str) or parse_range(start, zone)[0] <= instant
        ended = isinstance(end, str) and parse_range(end, zone)[1] <= instant
    except DateFormatError:  # stored resources are validated; text that is no date is read as it is written
        return (not isinstance(start, str) or start[:19] <= now) and (not isinstance(end, str) or now <= end[:19] + "~")
    return started and not ended


def _codings(concepts: Any) -> Iterable[dict[str, Any]]:
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        if isinstance(concept, dict):
            yield from (c for c in concept.get("coding", []) if isinstance(c, dict))


def _designates(actor: Actor, entry: dict[str, Any]) -> bool:
    reference = entry.get("reference")
    if isinstance(reference, dict):
        literal = reference.get("reference")
        if isinstance(literal, str):
            target_type, target_id = parse_reference(literal)
            if target_type and f"{target_type}/{target_id}" in actor.references:
                return True
        identifier = reference.get("identifier")
        if isinstance(identifier, dict):
            system, value = identifier.get("system"), identifier.get("value")
            if system == IDNAT_PS and value and value == actor.practitioner_id:
                return True
            if system == FINESS and value in actor.structures:
                return True
            if system == IDNAT_STRUCT and isinstance(value, str) and value[1:] in actor.structures:
                return True
    return actor.profession is not None and any(
        c.get("system") == TRE_G15 and c.get("code") == actor.profession for c in _codings(entry.get("role"))
    )


def sharing_consent(actor: Actor, consent: dict[str, Any], stored_at: datetime, now: str) -> SharingConsent | None:
    """The Consent as the rules read it, or None when it is not an active sharing choice in force now."""
    if consent.get("status") != "active":
        return None
    if not any(c.get("code") == "patient-privacy" for c in _codings(consent.get("scope"))):
        return None
    categories = {c.get("code") for c in _codings(consent.get("category")) if c.get("system") == CATEGORY_SYSTEM}
    if categories & NOT_SHARING:
        return None
    provision = consent.get("provision")
    if not isinstance(provision, dict) or provision.get("type") not in ("permit", "deny"):
        return None
    if not _in_force(provision.get("period"), now):
        return None
    actors = [a for a in provision.get("actor", []) if isinstance(a, dict)]
    applies = not actors or any(_designates(actor, a) for a in actors)
    when = stored_at
    raw = consent.get("dateTime")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            when = parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
        except ValueError:
            pass
    return SharingConsent(f"Consent/{consent.get('id')}", provision["type"] == "permit", when, applies)


def in_care_team(actor: Actor, care_team: dict[str, Any], now: str) -> bool:
    if care_team.get("status") not in (None, "active"):
        return False
    if not _in_force(care_team.get("period"), now):
        return False
    for participant in care_team.get("participant", []):
        if not isinstance(participant, dict) or not _in_force(participant.get("period"), now):
            continue
        member = participant.get("member")
        if isinstance(member, dict) and _designates(actor, {"reference": member}):
            return True
    return False


def addressed_to(actor: Actor, resource_type: str, resource: dict[str, Any]) -> bool:
    """The resource is a referral whose recipient designates the actor (rule 4)."""
    element = RECIPIENT_ELEMENT.get(resource_type)
    value = resource.get(element) if element else None
    recipients = value if isinstance(value, list) else [value]
    return any(isinstance(r, dict) and _designates(actor, {"reference": r}) for r in recipients)


# -- the engine over the store ---------------------------------------------------------------------------------------
class ConsentEngine:
    """Loads the facts for a batch of resources in a few queries and decides per patient."""

    def __init__(self, actor_ttl: float = 60.0) -> None:
        self.actor_ttl = actor_ttl
        self._actors: dict[tuple[str | None, frozenset[str], str | None], tuple[float, Actor]] = {}

    def actor(
        self, conn: Connection, practitioner_id: str | None, structures: frozenset[str], profession: str | None
    ) -> Actor:
        """The practitioner with the references that designate them (cached briefly: safe to lose)."""
        key = (practitioner_id, structures, profession)
        cached = self._actors.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        refs: set[str] = set()
        token = INDEX["token"]
        if practitioner_id:
            rows = conn.execute(
                select(RESOURCE.c.res_type, RESOURCE.c.res_id)
                .select_from(token.join(RESOURCE, RESOURCE.c.rid == token.c.rid))
                .where(
                    token.c.res_type == "Practitioner",
                    token.c.param == "identifier",
                    token.c.system == IDNAT_PS,
                    token.c.code == practitioner_id,
                )
            )
            practitioners = [row.res_id for row in rows]
            refs.update(f"Practitioner/{i}" for i in practitioners)
            if practitioners:
                ref = INDEX["reference"]
                rows = conn.execute(
                    select(RESOURCE.c.res_id)
                    .select_from(ref.join(RESOURCE, RESOURCE.c.rid == ref.c.rid))
                    .where(
                        ref.c.res_type == "PractitionerRole",
                        ref.c.param == "practitioner",
                        ref.c.target_type == "Practitioner",
                        ref.c.target_id.in_(practitioners),
                    )
                )
                refs.update(f"PractitionerRole/{row.res_id}" for row in rows)
        if structures:
            codes = sorted(structures)
            rows = conn.execute(
                select(RESOURCE.c.res_id)
                .select_from(token.join(RESOURCE, RESOURCE.c.rid == token.c.rid))
                .where(
                    token.c.res_type == "Organization",
                    token.c.param == "identifier",
                    ((token.c.system == FINESS) & token.c.code.in_(codes))
                    | ((token.c.system == IDNAT_STRUCT) & token.c.code.in_([f"1{c}" for c in codes])),
                )
            )
            refs.update(f"Organization/{row.res_id}" for row in rows)
        actor = Actor(practitioner_id, structures, profession, frozenset(refs))
        if len(self._actors) > 10_000:
            self._actors.clear()
        self._actors[key] = (time.monotonic() + self.actor_ttl, actor)
        return actor

    def facts(self, conn: Connection, actor: Actor, patients: Sequence[str]) -> dict[str, PatientFacts]:
        """What the rules need about these patients, in one round trip: the patients' holding centres, and the
        CareTeams and Consents naming them (each an indexed lookup: ``res_type, param, target_type, target_id`` is
        the reference index's key)."""
        if not patients:
            return {}
        wanted = sorted(set(patients))
        ref = INDEX["reference"]
        holders = select(
            literal("Patient").label("kind"),
            RESOURCE.c.res_id,
            RESOURCE.c.tenant,
            RESOURCE.c.last_updated,
            null().label("content"),
            RESOURCE.c.res_id.label("about"),
        ).where(
            RESOURCE.c.res_type == "Patient", _one_of(conn, RESOURCE.c.res_id, wanted), RESOURCE.c.deleted.is_(False)
        )
        parts = [holders]
        for kind in ("CareTeam", "Consent"):
            parts.append(
                select(
                    literal(kind).label("kind"),
                    RESOURCE.c.res_id,
                    RESOURCE.c.tenant,
                    RESOURCE.c.last_updated,
                    RESOURCE.c.content,
                    ref.c.target_id.label("about"),
                )
                .select_from(ref.join(RESOURCE, RESOURCE.c.rid == ref.c.rid))
                .where(
                    ref.c.res_type == kind,
                    ref.c.param == "patient",
                    ref.c.target_type == "Patient",
                    _one_of(conn, ref.c.target_id, wanted),
                    RESOURCE.c.deleted.is_(False),
                )
            )
        rows = conn.execute(union_all(*parts)).all()
        facts = {row.res_id: PatientFacts(row.res_id, row.tenant) for row in rows if row.kind == "Patient"}
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        parsed: dict[tuple[str, str], Any] = {}
        for row in rows:
            if row.kind == "Patient" or row.about not in facts:
                continue
            key = (row.kind, row.res_id)
            if key not in parsed:  # a resource naming several patients comes once per patient: judge it once
                body = orjson.loads(row.content)
                if row.kind == "CareTeam":
                    parsed[key] = in_care_team(actor, body, now)
                else:
                    parsed[key] = sharing_consent(actor, body, row.last_updated, now)
            verdict = parsed[key]
            if row.kind == "CareTeam":
                facts[row.about].in_care_team |= bool(verdict)
            elif verdict is not None:
                facts[row.about].consents.append(verdict)
        return facts


def _one_of(conn: Connection, column: Any, values: list[str]) -> Any:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``, one statement text whatever the number of values, so
    the server plans it once per connection (psycopg prepares repeated statements) instead of once per request."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


__all__ = [
    "CARE_TEAM",
    "EXPLICIT",
    "HOLDING_CENTRE",
    "NO_PATIENT",
    "OBJECTION",
    "REFERRAL",
    "REQUIRED",
    "UNKNOWN_PATIENT",
    "Actor",
    "ConsentEngine",
    "Decision",
    "PatientFacts",
    "SharingConsent",
    "addressed_to",
    "decide",
    "in_care_team",
    "patient_ids",
    "sharing_consent",
]

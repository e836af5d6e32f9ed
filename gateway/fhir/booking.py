"""Booking a slot: an Appointment that holds a Slot marks it busy, atomically (GAP flow 6a, « CreationRDV »).

How the GAP IG 3.0.0 (ans.fhir.fr.gap) reads, and what this module does with it:

- Flow 6a is a plain FHIR ``create`` (POST) of an Appointment (profile ``gap-fr-appointment`` = FR Core
  ``fr-core-appointment`` with no further constraint) sent by the « déclarant de RDV » to the « gestionnaire
  d'agenda »; flow 6b is an update (a conditional PUT on ``Appointment.identifier``). Either may also come as an
  entry of a transaction or batch Bundle: the rules below are the same.
- The booking references the slot it takes in ``Appointment.slot`` (Reference(fr-core-slot), ``Slot/id`` or an
  absolute URL ending so) when it follows a consultation of availabilities; ``status`` is ``proposed`` for a request
  awaiting confirmation and ``booked`` for a declared appointment (``participant.status`` then ``needs-action`` or
  ``accepted``). The participants (1..*) are the patient, the Practitioner and/or PractitionerRole, a Location, ...;
  the FR Core extension ``appointmentOperator`` names who created, changed or cancelled it.

The rules, applied in the write transaction before anything is stored:

- An Appointment *holds* its slots while its status is proposed, pending, booked, arrived, checked-in, fulfilled or
  noshow; ``cancelled``, ``entered-in-error``, ``waitlist`` and a deletion hold none.
- A slot an Appointment starts to hold is locked (PostgreSQL ``SELECT ... FOR UPDATE`` on its row; SQLite write
  transactions are ``BEGIN IMMEDIATE``, one writer at a time), must exist and be ``free`` (else 409
  ``BOOK-SLOT-UNKNOWN`` / ``BOOK-SLOT-BUSY`` at ``Appointment.slot[i]``, nothing written), must be visible to the
  caller (else 403 ``SEC-TENANT``), and becomes ``busy`` in a new Slot version. When the caller does not own the
  slot's centre (a practitioner of the CPTS), the slot must be open to the CPTS: TRE_R314 ``SNP`` or ``CPTS`` in
  ``Slot.meta.security`` (else 403 ``BOOK-SLOT-RESERVED``).
- A ``busy`` slot an Appointment stops holding (cancelled, entered-in-error, deleted, or another slot chosen) goes
  back to ``free`` unless another Appointment still holds it; within one request a slot given back may be taken.
- The Appointment belongs to the centre of the slots it books (all of one centre, else 409 ``BOOK-SLOT-CENTRES``),
  so the centre's system reads it and finds it by ``_lastUpdated``.
- A Slot written in the same request is the writer's own statement about that slot and is left alone; the ingest
  pipeline (a centre's export of its own agenda) never comes here.
- A consent-bound caller (a practitioner) books for a patient designated by a literal reference ``Patient/id``, so
  that the consent rules (security/access.py) judge it; it may also carry the INS in ``identifier`` and a
  ``display`` for the centre. A patient only contained or only identified is refused (403 ``BOOK-PATIENT``), and
  changing or deleting an Appointment needs consent for the patient of its current version as well.
- A booking without ``appointmentOperator`` gets one naming the caller: its Practitioner (idNat_PS) or its centre's
  Organization (FINESS).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, tuple_

from gateway.errors import Conflict, Forbidden
from gateway.storage.indexer import parse_reference
from gateway.storage.slot_rows import slot_kinds
from gateway.storage.store import RESOURCE, ResourceStore, StoredResource, WriteItem
from security.access import AccessPolicy
from security.consent import FINESS, IDNAT_PS
from security.principal import Principal

HOLDING = frozenset({"proposed", "pending", "booked", "arrived", "checked-in", "fulfilled", "noshow"})
OPEN_TO_CPTS = frozenset({"SNP", "CPTS"})
OPERATOR_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-appointment-operator"

Key = tuple[str, str]


def held_slots(resource: dict[str, Any] | None) -> list[tuple[int, str]]:
    """(position in ``Appointment.slot``, Slot id) of the slots the Appointment holds; none unless its status holds."""
    if resource is None or resource.get("status") not in HOLDING:
        return []
    found: list[tuple[int, str]] = []
    for index, ref in enumerate(resource.get("slot") or []):
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            target_type, target_id = parse_reference(ref["reference"])
            if target_type == "Slot" and target_id and target_id not in {s for _, s in found}:
                found.append((index, target_id))
    return found


def slot_types(slot: dict[str, Any]) -> set[str]:
    """TRE_R314 slot types in ``meta.security``."""
    return set(slot_kinds(slot))


def lock_rows(conn: Connection, keys: Iterable[Key]) -> None:
    """Lock the current rows of these resources until the transaction ends, in one order (type, id) so two
    bookings never wait on each other; SQLite needs nothing: its write transactions already exclude each other."""
    wanted = sorted(set(keys))
    if not wanted or conn.dialect.name != "postgresql":
        return
    query = (
        select(RESOURCE.c.rid)
        .where(tuple_(RESOURCE.c.res_type, RESOURCE.c.res_id).in_(wanted))
        .order_by(RESOURCE.c.res_type, RESOURCE.c.res_id)
        .with_for_update()
    )
    conn.execute(query).all()


@dataclass
class _Slots:
    """The slots a write touches: as locked at the start, and their status as the write goes on."""

    stored: dict[str, StoredResource] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


class SlotBooking:
    """Turns the Appointment writes of one request into the Slot writes that go with them (see module docstring)."""

    def __init__(self, store: ResourceStore, access: AccessPolicy) -> None:
        self.store = store
        self.access = access

    def plan(self, conn: Connection, principal: Principal, items: Sequence[WriteItem]) -> list[WriteItem]:
        """Check the bookings of ``items`` and return the Slot writes to add to them (in the same transaction);
        sets each booking's tenant to its slots' centre. Raises before anything is written."""
        bookings = [i for i in items if i.resource_type == "Appointment"]
        if not bookings:
            return []
        written_slots = {i.id for i in items if i.resource_type == "Slot"}
        new_slots = {sid for i in bookings for _, sid in held_slots(i.resource)} - written_slots
        lock_rows(conn, [*((i.resource_type, i.id) for i in bookings), *(("Slot", s) for s in new_slots)])
        before = {k[1]: v for k, v in self.store.read_many(conn, [("Appointment", i.id) for i in bookings]).items()}
        old_slots = {sid for stored in before.values() for _, sid in held_slots(stored.json())} - written_slots
        lock_rows(conn, [("Slot", s) for s in old_slots - new_slots])
        slots = _Slots()
        for (_, sid), stored in self.store.read_many(conn, [("Slot", s) for s in new_slots | old_slots]).items():
            slots.stored[sid] = stored
            slots.status[sid] = str(stored.json().get("status"))
        changes: list[tuple[WriteItem, set[str], list[tuple[int, str]]]] = []
        for item in bookings:
            current = before.get(item.id)
            was = current.json() if current is not None else None
            self._check_patient(conn, principal, item, was)
            was_held = {sid for _, sid in held_slots(was)} - written_slots
            now_held = [(n, sid) for n, sid in held_slots(item.resource) if sid not in written_slots]
            changes.append((item, was_held, now_held))
        kept = {sid for _, was_held, now_held in changes for _, sid in now_held if sid in was_held}
        released = {sid for _, was_held, now_held in changes for sid in was_held - {s for _, s in now_held}}
        for sid in sorted(released - kept):
            if slots.status.get(sid) == "busy" and not self._held_elsewhere(conn, sid, {i.id for i in bookings}):
                slots.status[sid] = "free"
        for item, was_held, now_held in changes:
            tenants = {self._take(principal, item, n, sid, slots) for n, sid in now_held if sid not in was_held}
            if len(tenants) > 1:
                raise Conflict(
                    f"Appointment/{item.id} books slots of several centres; an appointment is kept by one centre",
                    expression="Appointment.slot",
                    code="BOOK-SLOT-CENTRES",
                )
            if tenants:
                item.tenant = next(iter(tenants)) or item.tenant  # a slot shared by the CPTS leaves it as it was
                if item.resource is not None:
                    item.resource = with_operator(item.resource, principal)
        return self._slot_writes(slots)

    # -- one slot --------------------------------------------------------------------------------------------------
    def _take(self, principal: Principal, item: WriteItem, index: int, sid: str, slots: _Slots) -> str | None:
        """Take ``Slot/sid`` for the Appointment (its ``slot[index]``); returns the slot's centre."""
        where = f"Appointment.slot[{index}]"
        stored = slots.stored.get(sid)
        if stored is None:
            raise Conflict(
                f"Appointment/{item.id}: Slot/{sid} is not known (or was deleted): it cannot be booked",
                expression=where,
                code="BOOK-SLOT-UNKNOWN",
            )
        if not principal.visibility.allows(stored.tenant):
            raise Forbidden(
                f"Slot/{sid} belongs to another centre: {principal.subject} ({principal.role.name}) may not book it",
                expression=where,
                code="SEC-TENANT",
            )
        own = principal.is_developer or (principal.write_tenant is not None and stored.tenant == principal.write_tenant)
        kinds = slot_types(stored.json())
        if not own and not kinds & OPEN_TO_CPTS:
            shown = ", ".join(sorted(kinds)) or "none"
            raise Forbidden(
                f"Slot/{sid} is not open to CPTS booking (slot types {shown}; SNP or CPTS needed): only its centre "
                "books it",
                expression=where,
                code="BOOK-SLOT-RESERVED",
            )
        if slots.status.get(sid) != "free":
            raise Conflict(
                f"Slot/{sid} is {slots.status.get(sid)}, not free: Appointment/{item.id} cannot book it",
                expression=where,
                code="BOOK-SLOT-BUSY",
            )
        slots.status[sid] = "busy"
        return stored.tenant

    def _held_elsewhere(self, conn: Connection, sid: str, request: set[str]) -> bool:
        """An Appointment other than those of this request holds ``Slot/sid``."""
        holders = self.store.referring(conn, "Appointment", "slot", f"Slot/{sid}")
        others = [("Appointment", ident) for ident in holders if ident not in request]
        found = self.store.read_many(conn, others)
        return any(sid in {s for _, s in held_slots(stored.json())} for stored in found.values())

    def _slot_writes(self, slots: _Slots) -> list[WriteItem]:
        writes = []
        for sid, status in sorted(slots.status.items()):
            stored = slots.stored.get(sid)
            if stored is None or stored.json().get("status") == status:
                continue
            writes.append(WriteItem("Slot", sid, {**stored.json(), "status": status}, method="PUT"))
        return writes

    # -- the patient ------------------------------------------------------------------------------------------------
    def _check_patient(
        self, conn: Connection, principal: Principal, item: WriteItem, was: dict[str, Any] | None
    ) -> None:
        """For a consent-bound caller: a booking names its patient by reference, and the current version's patient
        must be one it may see (the new version's was checked with every write)."""
        if not principal.role.consent:
            return
        if was is not None:
            self.access.check_write(conn, principal, "Appointment", was)
        if item.resource is None or not held_slots(item.resource):
            return
        references, others = _patients(item.resource)
        if others or not references:
            raise Forbidden(
                f"Appointment/{item.id}: a practitioner books for a patient designated by a reference Patient/id "
                "(which the consent rules judge), not only contained or identified",
                expression="Appointment.participant.actor",
                code="BOOK-PATIENT",
            )


def _patients(resource: dict[str, Any]) -> tuple[list[str], int]:
    """Patient participants designated by a literal ``Patient/id``, and how many are designated otherwise."""
    contained = {
        f"#{c.get('id')}"
        for c in resource.get("contained", [])
        if isinstance(c, dict) and c.get("resourceType") == "Patient"
    }
    references: list[str] = []
    others = 0
    for participant in resource.get("participant", []):
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if not isinstance(actor, dict):
            continue
        literal = actor.get("reference")
        target_type = parse_reference(literal)[0] if isinstance(literal, str) else None
        if target_type == "Patient":
            references.append(str(literal))
        elif literal in contained or (literal is None and actor.get("type") == "Patient"):
            others += 1
    return references, others


def with_operator(resource: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """The Appointment with an ``appointmentOperator`` naming the caller, unless it names one already."""
    extensions = [e for e in resource.get("extension", []) if isinstance(e, dict)]
    if any(e.get("url") == OPERATOR_URL for e in extensions):
        return resource
    if principal.practitioner_id:
        who = {"type": "Practitioner", "identifier": {"system": IDNAT_PS, "value": principal.practitioner_id}}
    elif principal.tenant:
        who = {"type": "Organization", "identifier": {"system": FINESS, "value": principal.tenant}}
    else:
        return resource
    return {**resource, "extension": [*resource.get("extension", []), {"url": OPERATOR_URL, "valueReference": who}]}


__all__ = ["HOLDING", "OPEN_TO_CPTS", "SlotBooking", "held_slots", "lock_rows", "slot_types", "with_operator"]

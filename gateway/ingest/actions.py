"""Registry actions that change more than the resources a message maps: A40 merge and A47 identifier change.

Both read the prior patient identifiers from ``MRG-1`` (CX repetitions; the IPP of the tenant) and work inside the
batch's transaction, so a merge is all-or-nothing with the message that asks for it.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select

from adapters.source import Scope
from gateway.fhir.searchparams import registry
from gateway.ingest.identity import IdentityResolver, Key, rewrite_references
from gateway.storage.models import ReferenceIndexRow, ResourceRow
from mappings.schema import Call

REFERENCE = ReferenceIndexRow.__table__  # type: ignore[attr-defined]
RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
_PATIENT_ID_TYPES = {"PI", "MR", "PT", "PN", ""}


def prior_identifiers(action: Call, scope: Scope, tenant: str) -> list[Key]:
    """The patient identifiers named by the action's ``identifier`` path (MRG-1)."""
    path = str(action.args.get("identifier", "MRG-1"))
    keys: list[Key] = []
    for repetition in scope.each(path):
        value = repetition.get("1")
        kind = repetition.get("5")
        if value is not None and (kind is None or str(kind.value).upper() in _PATIENT_ID_TYPES):
            keys.append(("Patient", f"urn:cpts-gateway:ipp:{tenant}", str(value.value)))
    return keys


def referencing(conn: Connection, tenant: str, patient_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The tenant's resources that reference ``Patient/patient_id`` through any indexed reference parameter."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource_type, params in registry().items():
        names = [p.name for p in params.values() if p.type == "reference" and "Patient" in p.targets]
        if not names:
            continue
        rows = conn.execute(
            select(RESOURCE.c.res_type, RESOURCE.c.res_id, RESOURCE.c.content)
            .join(REFERENCE, REFERENCE.c.rid == RESOURCE.c.rid)
            .where(
                REFERENCE.c.res_type == resource_type,
                REFERENCE.c.param.in_(names),
                REFERENCE.c.target_type == "Patient",
                REFERENCE.c.target_id == patient_id,
                RESOURCE.c.deleted.is_(False),
                RESOURCE.c.tenant == tenant,
            )
        )
        for row in rows:
            found[(row.res_type, row.res_id)] = orjson.loads(row.content)
    return [(kind, rid, content) for (kind, rid), content in found.items()]


def merged_writes(
    conn: Connection, tenant: str, old_id: str, survivor_id: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """The rewrites an A40 needs: the old patient inactive and replaced-by, references moved to the survivor."""
    writes: list[tuple[str, str, dict[str, Any]]] = []
    old_ref, new_ref = f"Patient/{old_id}", f"Patient/{survivor_id}"
    for kind, rid, content in referencing(conn, tenant, old_id):
        if (kind, rid) == ("Patient", survivor_id):
            continue
        writes.append((kind, rid, rewrite_references(content, {old_ref: new_ref})))
    row = conn.execute(
        select(RESOURCE.c.content).where(RESOURCE.c.res_type == "Patient", RESOURCE.c.res_id == old_id)
    ).first()
    if row is not None:
        old = orjson.loads(row.content)
        old.pop("meta", None)
        links = [link for link in old.get("link") or [] if link.get("type") != "replaced-by"]
        old["active"] = False
        old["link"] = [*links, {"other": {"reference": new_ref}, "type": "replaced-by"}]
        writes.append(("Patient", old_id, old))
    return writes


def old_patient(resolver: IdentityResolver, keys: list[Key], *, as_stored: bool = False) -> str | None:
    """The patient holding one of these identifiers: its survivor if it was merged (or itself, ``as_stored``)."""
    known = resolver.lookup(keys)
    for key in keys:
        if key in known:
            return resolver.stored.get(key, known[key]) if as_stored else known[key]
    return None


__all__ = ["merged_writes", "old_patient", "prior_identifiers", "referencing"]

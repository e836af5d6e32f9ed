"""Identity resolution at store time: which stored resource a produced resource or a conditional reference means.

Mappings give resources deterministic ids and point at each other with conditional references
(``Patient?identifier=system|value``). Before writing, the pipeline looks the identifiers up in the token index:

- a produced resource whose first identifier already belongs to a stored resource takes that resource's id (so a
  patient created through the REST API, renamed by an A47 or merged, is updated rather than duplicated);
- a conditional reference becomes ``Type/id`` of the stored resource, of the resource produced in the same batch,
  or else of the deterministic id that resource will get when it arrives (so order of arrival does not matter);
- a merged patient (``active = false`` with a ``replaced-by`` link) stands for its survivor.

Only resources of the ingesting tenant or shared ones (no tenant) are candidates. Protected identifiers (INS) are
looked up through their blind index, as the store indexed them (``security/protect.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, literal, select

from gateway.fhir.ids import deterministic_id
from gateway.storage.models import ResourceRow, TokenIndexRow
from security.protect import POLICY, Protector, installed

TOKEN = TokenIndexRow.__table__  # type: ignore[attr-defined]
RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
CONDITIONAL = re.compile(r"^([A-Z][A-Za-z]+)\?identifier=([^|]*)\|(.+)$")
Key = tuple[str, str, str]  # resource type, identifier system, identifier value


cached_id = lru_cache(maxsize=65536)(deterministic_id)  # ingest asks for the same few ids over and over


def conditional_key(reference: str) -> Key | None:
    match = CONDITIONAL.match(reference)
    return (match[1], match[2], match[3]) if match else None


def first_identifier(resource: dict[str, Any]) -> Key | None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") and identifier.get("value"):
            return resource["resourceType"], identifier["system"], identifier["value"]
    return None


def references_in(node: Any, found: set[Key]) -> None:
    """Collect the conditional references anywhere in a resource."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and "?identifier=" in ref:
            key = conditional_key(ref)
            if key:
                found.add(key)
        for value in node.values():
            if isinstance(value, dict | list):
                references_in(value, found)
    elif isinstance(node, list):
        for item in node:
            references_in(item, found)


def rewrite_references(node: Any, resolve: dict[str, str]) -> Any:
    """A copy of ``node`` with references replaced through ``resolve`` (reference text → ``Type/id``)."""
    if isinstance(node, dict):
        out = {k: rewrite_references(v, resolve) if isinstance(v, dict | list) else v for k, v in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in resolve:
            out["reference"] = resolve[ref]
        return out
    if isinstance(node, list):
        return [rewrite_references(item, resolve) for item in node]
    return node


class IdentityResolver:
    """Looks identifiers up for one tenant, within the caller's transaction."""

    def __init__(self, conn: Connection, tenant: str, protector: Protector | None = None) -> None:
        self.conn, self.tenant = conn, tenant
        self.protector = protector if protector is not None else installed()
        self.known: dict[Key, str] = {}
        self.stored: dict[Key, str] = {}  # the resource holding the identifier, before following a merge

    def lookup(self, keys: Iterable[Key]) -> dict[Key, str]:
        """Stored ids for the keys that have one (merged patients stand for their survivor)."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for kind, system, value in keys:
            if (kind, system, value) not in self.known:
                wanted.setdefault((kind, system), set()).add(value)
        for (kind, system), values in wanted.items():
            stored_as = self._stored_codes(kind, system, values)
            codes = sorted(stored_as)
            for start in range(0, len(codes), 500):
                content = RESOURCE.c.content if kind == "Patient" else literal("")  # only patients are merged
                query = (
                    select(TOKEN.c.code, RESOURCE.c.res_id, RESOURCE.c.tenant, content.label("content"))
                    .join(RESOURCE, RESOURCE.c.rid == TOKEN.c.rid)
                    .where(
                        TOKEN.c.res_type == kind,
                        TOKEN.c.param == "identifier",
                        TOKEN.c.system == system,
                        TOKEN.c.code.in_(codes[start : start + 500]),
                        RESOURCE.c.deleted.is_(False),
                    )
                )
                for row in self.conn.execute(query):
                    if row.tenant not in (self.tenant, None):
                        continue
                    key = (kind, system, stored_as[row.code])
                    target = _survivor(kind, row.res_id, row.content)
                    if key not in self.known or row.tenant == self.tenant:
                        self.known[key] = target
                        self.stored[key] = row.res_id
        return {key: self.known[key] for key in keys if key in self.known}

    def _stored_codes(self, kind: str, system: str, values: set[str]) -> dict[str, str]:
        """Index code → identifier value: the value itself, and its blind form for protected types (INS systems are
        always blind; an identifier protected by its type code may be under another system)."""
        codes = {value: value for value in values}
        protector = self.protector
        if protector is not None and protector.blind_kind(kind, "identifier") is not None:
            blind = {protector.blind_token(kind, "identifier", value): value for value in values}
            codes = blind if system in POLICY.systems else {**codes, **blind}
        return codes

    def resolve(self, key: Key) -> str:
        """The id a conditional reference means: stored, else the deterministic id by identifier."""
        found = self.known.get(key)
        return found if found is not None else cached_id(*key)


def _survivor(kind: str, res_id: str, content: str) -> str:
    if kind != "Patient" or '"replaced-by"' not in content:
        return res_id
    data = orjson.loads(content)
    for link in data.get("link") or []:
        other = (link.get("other") or {}).get("reference", "")
        if link.get("type") == "replaced-by" and other.startswith("Patient/"):
            return str(other.split("/", 1)[1])
    return res_id


__all__ = [
    "IdentityResolver",
    "Key",
    "cached_id",
    "conditional_key",
    "first_identifier",
    "references_in",
    "rewrite_references",
]

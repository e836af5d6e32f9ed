"""Run an INT_R04 request and answer the SAS CPTS aggregator bundle: the Slots from ``search_slot`` (one range scan
per practitioner's Schedule), each already rendered for the SAS when it was stored (gateway/sas/fragments.py), the
included resources from the capacity directory.

All Slot matches come in one page (the aggregator bundle has one link, ``self``): a request matching more than
``MAX_SLOTS`` Slots is refused with a 400 asking for a narrower window or fewer practitioners.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import tzinfo
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection, select, type_coerce
from sqlalchemy.types import NullType

from gateway.capacity.directory import DIRECTORY, Directory
from gateway.capacity.includes import directory_includes
from gateway.capacity.slot_plan import SLOT
from gateway.errors import InvalidRequest
from gateway.fhir.query import Include, SearchRequest, parse_search
from gateway.fhir.search import SearchEngine
from gateway.sas.fragments import SasTimes, with_times
from gateway.sas.render import SlotMatch, sas_bundle, sas_rendering
from gateway.sas.request import check
from gateway.storage.db import read_transaction
from gateway.storage.store import RESOURCE, StoredResource
from gateway.storage.text_bytes import utf8_bytes
from security.access import disclosed, disclosed_by_count
from security.principal import Principal
from security.protect import open_content

if TYPE_CHECKING:
    from gateway.fhir.service import FhirResponse, FhirService

MAX_SLOTS = 5000
Parsed = dict[str, Any]


def self_link(base: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The request as applied, every reserved character percent-encoded but ``:``, ``/`` and ``,`` (a ``|`` left
    bare breaks strict RFC 3986 parsers, such as the test kit's)."""
    return f"{base}/Slot?{urlencode(list(pairs), safe=':/,')}"


def _too_many() -> InvalidRequest:
    return InvalidRequest(
        f"INT_R04: more than {MAX_SLOTS} free slots match; narrow the start window or ask for fewer practitioners",
        expression="parameter:start",
        code="API-SAS-TOO-MANY",
    )


class _Answer:
    """The matching Slots, rendered, and what their ``_include``s follow (one parsed value per distinct one)."""

    def __init__(self, *, general: bool = False) -> None:
        self.general = general  # every Slot read as a resource (and disclosed with what it says of patients)
        self.slots: list[SlotMatch] = []
        # a Slot's own key -> its parsed content; a prepared row's links JSON text -> None (parsed by _includes)
        self.links: dict[str, Parsed | None] = {}
        self.stored: list[StoredResource] = []  # Slots rendered from their content

    def rendered(self, stored: StoredResource, base: str, zone: tzinfo) -> None:
        parsed = stored.json()  # the rendering builds new dicts over it: it is left as it was, for the includes
        self.links[f"Slot/{stored.id}"] = parsed
        text = orjson.dumps(sas_rendering(parsed, stored.content, base, zone, {}))
        self.slots.append(SlotMatch(stored.id, text))
        self.stored.append(stored)


def _prepared(
    conn: Connection, engine: SearchEngine, request: SearchRequest, principal: Principal, base: str, zone: tzinfo
) -> _Answer | None:
    """Every match from ``search_slot`` alone, from the prepared fragments; None when the search needs more than
    that table (a filter on the resource row, an order other than by start) — the caller then takes the general way.
    Slots stored without a fragment are rendered from their content."""
    plan = engine.plan(request, principal.visibility, conn)
    if plan.count_source is not SLOT or plan.key is not SLOT.c.low or plan.tiebreak is not SLOT.c.rid:
        return None
    # The row's instants as stored (SQLite: ISO text, PostgreSQL: datetimes), the fragments as UTF-8 bytes (copied
    # into the answer as they are), and no ORDER BY: sorting a few hundred rows here costs far less than SQLite's
    # sorter copying every fragment.
    low, end = type_coerce(SLOT.c.low, NullType()), type_coerce(SLOT.c.end_at, NullType())
    columns = (SLOT.c.rid, SLOT.c.res_id, low.label("low"), end.label("end_at"), utf8_bytes(SLOT.c.sas), SLOT.c.links)
    query = select(*columns).where(*(plan.count_conditions or [])).limit(MAX_SLOTS + 1)
    result = conn.execute(query)
    try:  # the driver's rows as they come (plain tuples: no column is converted), a few hundred of them
        rows: list[Any] = list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()
    if len(rows) > MAX_SLOTS:
        raise _too_many()
    rows.sort(key=itemgetter(2, 0), reverse=plan.descending)  # (start, row key)
    unprepared = {rid for rid, _, _, end_at, sas, links in rows if sas is None or links is None or end_at is None}
    contents = _contents(conn, engine, sorted(unprepared)) if unprepared else {}
    answer = _Answer()
    slots, seen = answer.slots, answer.links
    times = SasTimes(zone)
    for rid, res_id, start, end_at, sas, links in rows:
        if rid not in unprepared:
            slots.append(SlotMatch(res_id, with_times(sas, times[start], times[end_at])))
            seen[links] = None
        elif rid in contents:  # (a row always has its resource in the same snapshot)
            answer.rendered(contents[rid], base, zone)
    return answer


def _contents(conn: Connection, engine: SearchEngine, rids: list[int]) -> dict[int, StoredResource]:
    """The current Slots of these row keys (a Slot deleted meanwhile has no ``search_slot`` row: the snapshot holds)."""
    r = RESOURCE.c
    query = select(r.res_type, r.res_id, r.version_id, r.last_updated, r.deleted, r.tenant, r.content, r.rid)
    found = {}
    for kind, ident, version, updated, deleted, tenant, text, rid in conn.execute(query.where(r.rid.in_(rids))):
        content = open_content(kind, ident, text, engine.store.protector)
        found[rid] = StoredResource(kind, ident, version, updated, deleted, tenant, content, rid=rid)
    return found


def _general(
    conn: Connection, service: FhirService, request: SearchRequest, principal: Principal, base: str, zone: tzinfo
) -> _Answer:
    """Every match through the search engine (consent-filtered callers, searches ``search_slot`` cannot answer)."""
    keep = service.access.keep(principal)
    if keep is None and request.cursor is None:
        found = service.search_engine.every_match(conn, request, principal.visibility, MAX_SLOTS)
        if found is None:
            raise _too_many()
        matches = found
    else:
        result = service.search_engine.search(conn, request, principal.visibility, keep)
        if result.next_cursor is not None:
            raise _too_many()
        matches = result.matches
    answer = _Answer(general=True)
    for stored in matches:
        answer.rendered(stored, base, zone)
    return answer


def _includes(
    directory: Directory, answer: _Answer, includes: list[Include], principal: Principal
) -> list[StoredResource]:
    # the same targets as every Slot's, once: a prepared row's links text names its content, so the directory keeps
    # it parsed and its targets (gateway/capacity/includes.py)
    frontier: list[tuple[str, Parsed, Hashable | None]] = []
    for key, parsed in answer.links.items():
        if parsed is None:
            memo_key = ("links", key)
            found = directory.memo.get(memo_key)
            if found is None:
                found = directory.memo.setdefault(memo_key, orjson.loads(key))
            frontier.append(("Slot", found, memo_key))
        else:
            frontier.append(("Slot", parsed, None))
    return directory_includes(directory, frontier, includes, principal.visibility)


def sas_search(service: FhirService, principal: Principal, pairs: Sequence[tuple[str, str]], base: str) -> FhirResponse:
    from gateway.fhir.service import FhirResponse

    zone = service.settings.tz
    query = check(pairs, zone)
    request = parse_search("Slot", query.pairs, strict=True, default_count=MAX_SLOTS, max_count=MAX_SLOTS)
    request.count = MAX_SLOTS
    request.total = "none"
    service.access.check_search(principal, request)
    includes, request.includes = request.includes, []  # the directory answers them (gateway/capacity/includes.py)
    fast = service.access.keep(principal) is None and request.cursor is None
    fast = fast and "Slot" not in principal.role.patient_data
    with read_transaction(service.engine) as conn:
        answer = _prepared(conn, service.search_engine, request, principal, base, zone) if fast else None
        if answer is None:
            answer = _general(conn, service, request, principal, base, zone)
        directory = DIRECTORY.current(conn)
        included = _includes(directory, answer, includes, principal)
        included = service.access.include_keep(principal)(conn, included)
    if answer.general:
        disclosed(principal, [*answer.stored, *included])
    else:  # Slots are no patient's data for this caller (checked above): the answer is recorded by counts
        disclosed_by_count(principal, len(answer.slots), included)
    body = sas_bundle(
        base=base,
        self_link=self_link(base, request.echo),
        slots=answer.slots,
        included=included,
        zone=zone,
        directory=directory,
    )
    return FhirResponse(200, body)


__all__ = ["MAX_SLOTS", "sas_search"]

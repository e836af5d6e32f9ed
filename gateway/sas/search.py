"""Run an INT_R04 request and answer the SAS CPTS aggregator bundle: the Slots from the search engine (one range scan
of ``search_slot`` per practitioner's Schedule), the included resources from the capacity directory.

All Slot matches come in one page (the aggregator bundle has one link, ``self``): a request matching more than
``MAX_SLOTS`` Slots is refused with a 400 asking for a narrower window or fewer practitioners.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from gateway.capacity.directory import DIRECTORY
from gateway.capacity.includes import directory_includes
from gateway.errors import InvalidRequest
from gateway.fhir.query import parse_search
from gateway.fhir.search import SearchResult
from gateway.sas.render import sas_bundle
from gateway.sas.request import check
from gateway.storage.db import read_transaction
from security.access import disclosed
from security.principal import Principal

if TYPE_CHECKING:
    from gateway.fhir.service import FhirResponse, FhirService

MAX_SLOTS = 5000


def self_link(base: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The request as applied, every reserved character percent-encoded but ``:``, ``/`` and ``,`` (a ``|`` left
    bare breaks strict RFC 3986 parsers, such as the test kit's)."""
    return f"{base}/Slot?{urlencode(list(pairs), safe=':/,')}"


def sas_search(service: FhirService, principal: Principal, pairs: Sequence[tuple[str, str]], base: str) -> FhirResponse:
    from gateway.fhir.service import FhirResponse

    zone = service.settings.tz
    query = check(pairs, zone)
    request = parse_search("Slot", query.pairs, strict=True, default_count=MAX_SLOTS, max_count=MAX_SLOTS)
    request.count = MAX_SLOTS
    request.total = "none"
    service.access.check_search(principal, request)
    includes, request.includes = request.includes, []  # the directory answers them (gateway/capacity/includes.py)
    keep = service.access.keep(principal)
    with read_transaction(service.engine) as conn:
        if keep is None and request.cursor is None:  # the SAS: every match in one query, without a count
            found = service.search_engine.every_match(conn, request, principal.visibility, MAX_SLOTS)
            result = SearchResult(found or [], next_cursor=None if found is not None else {})
        else:
            result = service.search_engine.search(conn, request, principal.visibility, keep)
        if result.next_cursor is not None:
            raise InvalidRequest(
                f"INT_R04: more than {MAX_SLOTS} free slots match; narrow the start window or ask for fewer "
                "practitioners",
                expression="parameter:start",
                code="API-SAS-TOO-MANY",
            )
        directory = DIRECTORY.current(conn)
        slots = [(stored, stored.json()) for stored in result.matches]
        included = directory_includes(directory, [("Slot", s) for _, s in slots], includes, principal.visibility)
        included = service.access.include_keep(principal)(conn, included)
    disclosed(principal, [*result.matches, *included])
    body = sas_bundle(
        base=base,
        self_link=self_link(base, request.echo),
        slots=slots,
        included=included,
        zone=zone,
        directory=directory,
    )
    return FhirResponse(200, body)


__all__ = ["MAX_SLOTS", "sas_search"]

"""Run an INT_R04 request on the ordinary search engine and answer the SAS CPTS aggregator bundle.

All Slot matches come in one page (the aggregator bundle has one link, ``self``): a request matching more than
``MAX_SLOTS`` Slots is refused with a 400 asking for a narrower window or fewer practitioners.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from gateway.errors import InvalidRequest
from gateway.fhir.query import parse_search
from gateway.sas.render import sas_bundle
from gateway.sas.request import check
from gateway.storage.db import read_transaction
from gateway.storage.store import StoredResource
from security.access import disclosed
from security.principal import Principal

if TYPE_CHECKING:
    from gateway.fhir.service import FhirResponse, FhirService

MAX_SLOTS = 5000


def _location_refs(included: Sequence[StoredResource]) -> list[tuple[str, str]]:
    """Locations that PractitionerRoles reference without containing them (sources other than the demo)."""
    wanted: list[tuple[str, str]] = []
    for stored in included:
        if stored.resource_type != "PractitionerRole":
            continue
        role = stored.json()
        if any(c.get("resourceType") == "Location" for c in role.get("contained", [])):
            continue
        for ref in role.get("location", []):
            kind, _, ident = str(ref.get("reference", "")).partition("/")
            if kind == "Location" and ident:
                wanted.append((kind, ident))
                break
    return wanted


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
    with read_transaction(service.engine) as conn:
        result = service.search_engine.search(
            conn, request, principal.visibility, service.access.keep(principal), service.access.include_keep(principal)
        )
        if result.next_cursor is not None:
            raise InvalidRequest(
                f"INT_R04: more than {MAX_SLOTS} free slots match; narrow the start window or ask for fewer "
                "practitioners",
                expression="parameter:start",
                code="API-SAS-TOO-MANY",
            )
        found = service.store.read_many(conn, _location_refs(result.included))
    visible = [stored for stored in found.values() if principal.visibility.allows(stored.tenant)]
    locations: dict[str, Any] = {stored.reference: stored.json() for stored in visible}
    disclosed(principal, [*result.matches, *result.included, *visible])
    body = sas_bundle(
        base=base,
        self_link=self_link(base, request.echo),
        matches=result.matches,
        included=result.included,
        zone=zone,
        locations=locations,
    )
    return FhirResponse(200, body)


__all__ = ["MAX_SLOTS", "sas_search"]

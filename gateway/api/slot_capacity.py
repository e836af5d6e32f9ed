"""``GET /fhir/Slot/$capacity``: the SNP capacity summary per centre and day, with each centre's freshness (last
successful slot sync, stale flag); the answer's shape is documented in gateway/capacity/snp_summary.py.

Registered before the generic ``/fhir/{type}/{id}`` routes so ``$capacity`` is not read as a Slot id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.requests import Request

from gateway.api.deps import PrincipalDep, ServiceDep, SettingsDep
from gateway.api.threads import in_thread
from gateway.api.wire import FhirJSONResponse
from gateway.capacity.directory import DIRECTORY
from gateway.capacity.freshness import capacity_freshness
from gateway.capacity.snp_summary import local_window, snp_capacity, summary_centres
from gateway.capacity.summary_cache import SUMMARIES, rendered
from gateway.errors import Forbidden, InvalidRequest
from gateway.storage.db import read_transaction
from security.ledger import current

router = APIRouter(prefix="/fhir", tags=["capacity"], default_response_class=FhirJSONResponse)
MAX_DAYS = 31
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)  # agendas live within these; beyond, dates overflow
SLOT_TYPES = ("SNP", "CPTS", "PUBLIC", "PRO")


@router.get("/Slot/$capacity", summary="SNP capacity per centre and day (Parameters)")
async def capacity(
    request: Request,
    principal: PrincipalDep,
    service: ServiceDep,
    settings: SettingsDep,
    period_start: Annotated[date | None, Query(alias="periodStart")] = None,
    period_end: Annotated[date | None, Query(alias="periodEnd")] = None,
    organization: Annotated[list[str] | None, Query(description="FINESS of the centres (all when absent)")] = None,
    slot_type: Annotated[str, Query(alias="slotType")] = "SNP",
) -> Response:
    """Offered, free and booked slots of one TRE_R314 type (SNP by default) per centre and local day, the first free
    one still ahead and how fresh the centre's slots are; then every centre the caller may see, with its freshness,
    even one without a slot in the window. The window defaults to today and the next two days (72 hours)."""
    current().note("operation", "Slot")
    principal.require_operation("capacity")
    zone = settings.tz
    today = datetime.now(UTC).astimezone(zone).date()
    first = period_start or today
    last = period_end or first + timedelta(days=2)
    for name, value in (("periodStart", first), ("periodEnd", last)):
        if not EARLIEST <= value <= LATEST:
            raise InvalidRequest(f"{name} must be between {EARLIEST} and {LATEST}", expression=f"parameter:{name}")
    if last < first:
        raise InvalidRequest("periodEnd is before periodStart", expression="parameter:periodEnd")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequest(f"the period spans more than {MAX_DAYS} days", expression="parameter:periodEnd")
    if slot_type not in SLOT_TYPES:
        raise InvalidRequest(f"slotType must be one of {', '.join(SLOT_TYPES)}", expression="parameter:slotType")
    tenants = principal.visibility.tenants
    if organization:
        asked = frozenset(organization)
        if tenants is not None and not asked <= tenants:
            raise Forbidden(
                "a centre sees its own capacity only", expression="parameter:organization", code="SEC-TENANT"
            )
        tenants = asked
    start, end = local_window(first, last, zone)
    now = datetime.now(UTC).replace(tzinfo=None)
    stale_after = timedelta(minutes=settings.capacity_stale_after_minutes)

    def summarise() -> bytes:
        with read_transaction(service.engine) as conn:
            summary = SUMMARIES.summary(
                conn,
                (start, end, str(zone), tenants, slot_type),
                now,
                lambda: snp_capacity(
                    conn, start=start, end=end, zone=zone, now=now, tenants=tenants, slot_type=slot_type
                ),
            )
            centres = summary_centres(conn, summary, tenants, DIRECTORY.current(conn))
            freshness = capacity_freshness(conn, centres, now, stale_after)
        return rendered(summary, zone, freshness)

    return Response(await in_thread(request, summarise), media_type=FhirJSONResponse.media_type)


__all__ = ["router"]

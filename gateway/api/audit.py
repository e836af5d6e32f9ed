"""The audit trail's read API (``admin`` role): ``GET /audit/events`` and ``GET /audit/events/{seq}``; logic in
security/audit_search.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import PrincipalDep, SettingsDep
from gateway.api.wire import FhirJSONResponse, check_acceptable, query_pairs
from security.audit_search import parse_query, read_event, search_events, searchset
from security.audit_store import audit_engine

router = APIRouter(
    prefix="/audit", tags=["audit"], default_response_class=FhirJSONResponse, dependencies=[Depends(check_acceptable)]
)


def _base(request: Request, configured: str | None) -> str:
    return (configured or str(request.base_url)).rstrip("/")


@router.get("/events", summary="AuditEvents, newest first")
async def events(request: Request, principal: PrincipalDep, settings: SettingsDep) -> Response:
    principal.require_operation("audit")
    pairs = query_pairs(request)
    query = parse_query(pairs, settings.tz, settings.default_page_size, settings.max_page_size)
    engine = audit_engine(settings, request.app.state.engine)
    rows, cursor = await run_in_threadpool(search_events, engine, query)
    return FhirJSONResponse(searchset(_base(request, settings.base_url), pairs, rows, cursor))


@router.get("/events/{seq}", summary="one AuditEvent")
async def event(seq: int, request: Request, principal: PrincipalDep, settings: SettingsDep) -> Response:
    principal.require_operation("audit")
    body = await run_in_threadpool(read_event, audit_engine(settings, request.app.state.engine), seq)
    return Response(body.encode(), media_type=FhirJSONResponse.media_type)


__all__ = ["router"]

"""Indicator routes: ``POST /fhir/Measure/{id}/$evaluate-measure`` (gateway/indicators/operation.py) and the exports
``GET /indicators/definitions``, ``GET /indicators/export.csv`` and ``GET /indicators/series``
(gateway/indicators/exports.py). Thin: parse, hand over, render.

``operation_router`` is registered before the generic ``/fhir/{type}/{id}`` routes so ``$evaluate-measure`` is not
read as an id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import PrincipalDep, ServiceDep, SettingsDep
from gateway.api.wire import FhirJSONResponse, query_pairs, read_json
from gateway.errors import InvalidRequest
from gateway.indicators.exports import definition_named, definitions, export_csv, known_definitions, series
from gateway.indicators.operation import body_pairs, evaluate_measure, parse_request
from gateway.indicators.periods import period_bounds
from gateway.storage.db import read_transaction
from security.ledger import current

operation_router = APIRouter(prefix="/fhir", tags=["indicators"], default_response_class=FhirJSONResponse)
router = APIRouter(prefix="/indicators", tags=["indicators"])


@operation_router.post("/Measure/{measure_id}/$evaluate-measure", summary="compute and store a Measure's reports")
async def evaluate(
    measure_id: str, request: Request, principal: PrincipalDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    current().note("operation", "MeasureReport")
    principal.require_operation("indicators")
    pairs = query_pairs(request)
    if (await request.body()).strip():
        pairs += body_pairs(await read_json(request))
    definition = definition_named(known_definitions(), measure_id, "Measure")
    parsed = parse_request(pairs)
    report = await run_in_threadpool(
        evaluate_measure, service.engine, settings, service.reports, principal, definition, parsed
    )
    return FhirJSONResponse(report)


@router.get("/definitions", summary="the indicators' definitions (for the dashboard)")
async def definitions_list(principal: PrincipalDep) -> JSONResponse:
    principal.require_operation("indicators")
    return JSONResponse(definitions(principal, known_definitions()))


@router.get("/export.csv", summary="reports of one period as CSV (French dialect)")
async def export(
    principal: PrincipalDep, service: ServiceDep, period: Annotated[str | None, Query()] = None
) -> Response:
    principal.require_operation("indicators")
    current().note("search", "MeasureReport")
    if not period:
        raise InvalidRequest(
            "period is required (2026-Q3, 2026-07, 2026 or a date range)", expression="parameter:period"
        )
    start, end = period_bounds(period)

    def build() -> bytes:
        with read_transaction(service.engine) as conn:
            return export_csv(conn, service.reports, principal, start, end, period.strip())

    body = await run_in_threadpool(build)
    filename = f"indicateurs-{period.strip().replace('/', '_')}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, 200, headers, media_type="text/csv; charset=utf-8")


@router.get("/series", summary="monthly series of one indicator (for charts)")
async def monthly_series(
    principal: PrincipalDep,
    service: ServiceDep,
    measure: Annotated[str | None, Query()] = None,
    first: Annotated[str | None, Query(alias="from")] = None,
    last: Annotated[str | None, Query(alias="to")] = None,
) -> JSONResponse:
    principal.require_operation("indicators")
    current().note("search", "MeasureReport")
    for name, value in (("measure", measure), ("from", first), ("to", last)):
        if not value:
            raise InvalidRequest(f"{name} is required", expression=f"parameter:{name}")
    if measure is None or first is None or last is None:  # for the type checker: refused just above
        raise InvalidRequest("measure, from and to are required", expression="parameter:measure")
    definition = definition_named(known_definitions(), measure)

    def build() -> dict[str, Any]:
        with read_transaction(service.engine) as conn:
            return series(conn, service.reports, principal, definition, first, last)

    return JSONResponse(await run_in_threadpool(build))


__all__ = ["operation_router", "router"]

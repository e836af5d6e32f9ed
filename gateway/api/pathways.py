"""Pathway routes: ``POST /fhir/PlanDefinition/{id}/$apply`` enrols a patient (gateway/pathways/enrolment.py);
``GET /pathways/summary`` answers the pathway counts (contract C3, gateway/pathways/summary.py) to the roles with the
``pathways`` operation: coordinators for every centre, centre roles for their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import PrincipalDep, ServiceDep, SettingsDep
from gateway.api.wire import FhirJSONResponse, base_url, query_pairs, render
from gateway.pathways.enrolment import apply
from gateway.pathways.summary import pathway_summary
from gateway.storage.db import read_transaction
from security.ledger import current

router = APIRouter(tags=["pathways"])


@router.post(
    "/fhir/PlanDefinition/{plan_id}/$apply",
    summary="enrol a patient in a protocol: the CarePlan with its activities",
    response_class=FhirJSONResponse,
)
async def apply_protocol(
    plan_id: str, request: Request, principal: PrincipalDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    current().note("operation", "CarePlan")
    base = base_url(request, settings.base_url)
    return render(await run_in_threadpool(apply, service, principal, plan_id, query_pairs(request), base))


@router.get("/pathways/summary", summary="pathway counts: enrolments per protocol, referrals per status, overdue")
async def summary(request: Request, principal: PrincipalDep) -> JSONResponse:
    current().note("operation", "CarePlan")
    principal.require_operation("pathways")
    tenants = principal.visibility.tenants  # None: every centre

    def answer() -> dict[str, Any]:
        with read_transaction(request.app.state.engine) as conn:
            return pathway_summary(conn, tenants)

    return JSONResponse(await run_in_threadpool(answer))


__all__ = ["router"]

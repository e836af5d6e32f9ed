"""Subscription delivery records: ``GET /subscriptions/{id}/deliveries`` (thin; logic in gateway/subscriptions/)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import PrincipalDep, ServiceDep
from gateway.subscriptions.report import deliveries_report
from security.ledger import current

router = APIRouter(tags=["subscriptions"])


@router.get("/subscriptions/{subscription_id}/deliveries", summary="notifications of a Subscription and attempts")
async def deliveries(
    request: Request,
    subscription_id: str,
    principal: PrincipalDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    current().note("read", "Subscription")
    engine = request.app.state.engine
    return await run_in_threadpool(deliveries_report, engine, service.store, principal, subscription_id, limit)


__all__ = ["router"]

"""Capacity routes: ``GET /capacity/sync`` answers each centre's last successful slot sync and whether its capacity is
stale (logic in gateway/capacity/freshness.py). For the ``capacity`` operation: coordinators see every centre,
centre roles only their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import PrincipalDep, SettingsDep
from gateway.capacity.freshness import capacity_freshness
from gateway.fhir.dates import format_instant, utc_now
from gateway.storage.db import read_transaction

router = APIRouter(prefix="/capacity", tags=["capacity"])


@router.get("/sync", summary="each centre's last successful slot sync, and whether its capacity is stale")
async def sync(request: Request, principal: PrincipalDep, settings: SettingsDep) -> JSONResponse:
    principal.require_operation("capacity")
    tenants = principal.visibility.tenants  # None: every centre
    stale_after = timedelta(minutes=settings.capacity_stale_after_minutes)

    def answer() -> list[dict[str, Any]]:
        with read_transaction(request.app.state.engine) as conn:
            found = capacity_freshness(conn, tenants, utc_now(), stale_after)
        return [
            {"finess": finess, "last_slot_sync": format_instant(last) if last else None, "stale": stale}
            for finess, (last, stale) in found.items()
        ]

    return JSONResponse(await run_in_threadpool(answer))


__all__ = ["router"]

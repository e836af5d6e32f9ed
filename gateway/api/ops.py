"""Operations endpoints: liveness, readiness (database reachable, migrations current) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import PrincipalDep
from gateway.storage import migrate

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="liveness")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


def _readiness(request: Request) -> tuple[bool, dict[str, str]]:
    engine = request.app.state.engine
    checks: dict[str, str] = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        return False, checks
    current, head = migrate.current_revision(engine), migrate.head_revision()
    checks["migrations"] = "ok" if current == head else f"at {current}, expected {head}"
    return current == head, checks


@router.get("/readyz", summary="readiness")
async def readyz(request: Request) -> JSONResponse:
    ready, checks = await run_in_threadpool(_readiness, request)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics (operators: the admin role)")
async def metrics(request: Request, principal: PrincipalDep) -> Response:
    principal.require_operation("metrics")
    return PlainTextResponse(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


__all__ = ["router"]

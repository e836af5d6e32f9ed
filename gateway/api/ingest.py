"""Ingest routes: ``POST /ingest/{format}`` stores the payload and answers 202 with a job; the job reports later.

Thin: the payload is committed by the job store before the 202 leaves, and the pipeline runs in the worker.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from gateway.api.deps import PrincipalDep
from gateway.errors import Forbidden, InvalidRequest, NotFound, PayloadTooLarge
from gateway.ingest.jobs import JobStore
from gateway.ingest.records import FORMATS
from gateway.ingest.worker import IngestWorker
from mappings.catalog import Catalog
from security.ledger import current
from security.principal import Principal

router = APIRouter(tags=["ingest"])


def _tenant(principal: Principal, asked: str | None) -> str:
    """The tenant that owns the payload: the caller's own centre (a centre client may name no other)."""
    principal.require_operation("ingest")
    own = principal.write_tenant
    if own is not None:
        if asked is not None and asked != own:
            raise Forbidden(
                f"{principal.subject} may only send data of tenant {own}", expression="tenant", code="SEC-TENANT"
            )
        return own
    if not asked or not principal.is_developer:
        raise InvalidRequest("say whose data this is: ?tenant=<FINESS of the centre>", expression="tenant")
    return asked


def _check_kind(catalog: Catalog, format: str, export: str | None, vendor: str | None) -> None:
    if format not in FORMATS:
        raise NotFound(f"format '{format}' is not ingested here (formats: {', '.join(FORMATS)})", expression="format")
    if format != "csv":
        return
    if not export:
        raise InvalidRequest(f"a CSV needs ?export= (one of {', '.join(sorted(catalog.exports))})", expression="export")
    if export not in catalog.exports:
        known = ", ".join(sorted(catalog.exports))
        raise InvalidRequest(f"unknown export '{export}' (known: {known})", expression="export")
    if (vendor or "reference", export) not in catalog.layouts:
        vendors = ", ".join(v for v, e in sorted(catalog.layouts) if e == export)
        message = f"vendor '{vendor}' has no layout for '{export}' (vendors: {vendors})"
        raise InvalidRequest(message, expression="vendor")


@router.post("/ingest/{format}", status_code=202)
async def ingest(
    request: Request,
    format: str,
    principal: PrincipalDep,
    export: Annotated[str | None, Query()] = None,
    vendor: Annotated[str | None, Query()] = None,
    tenant: Annotated[str | None, Query()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    current().note("ingest", None)
    catalog: Catalog = request.app.state.pipeline.catalog
    _check_kind(catalog, format, export, vendor)
    owner = _tenant(principal, tenant)
    payload = await request.body()
    if len(payload) > request.app.state.settings.max_ingest_bytes:
        raise PayloadTooLarge("the payload is larger than CPTS_MAX_INGEST_BYTES", expression="body")
    if not payload:
        raise InvalidRequest("the request body is empty", expression="body")
    jobs: JobStore = request.app.state.pipeline.jobs
    source = request.headers.get("Content-Disposition", "").partition("filename=")[2].strip('"') or f"{format}-upload"
    received = jobs.receive(
        payload, tenant=owner, format=format, source=source, export=export,
        vendor=(vendor or "reference") if format == "csv" else None, idempotency_key=idempotency_key,
    )  # fmt: skip
    current().detail = f"ingest job {received.job_id}: {format} payload of {len(payload)} bytes for tenant {owner}"
    worker: IngestWorker | None = request.app.state.worker
    if worker is not None:
        worker.notify()
    href = f"/ingest/jobs/{received.job_id}"
    body = {"id": received.job_id, "status": "queued", "href": href, "replayed": received.replayed}
    return JSONResponse(body, status_code=200 if received.replayed else 202, headers={"Location": href})


@router.get("/ingest/jobs/{job_id}")
def job_report(
    request: Request,
    job_id: str,
    principal: PrincipalDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> dict[str, Any]:
    jobs: JobStore = request.app.state.pipeline.jobs
    current().note("read", None)
    principal.require_operation("ingest")
    job = jobs.job(job_id)
    if not principal.is_developer and job.tenant != principal.write_tenant:
        raise NotFound(f"ingest job {job_id} is not known", expression="job")
    return jobs.report(job_id, offset=offset, limit=limit)


__all__ = ["router"]

"""Conformance routes: ``POST /conformance/runs`` runs the suite (integrator role, sandbox tenant) and keeps its
FHIR TestReport; ``GET /conformance/runs/{id}`` returns it.

Body of a run: ``{"exports": [{"name": "rdv.csv", "content": "<text>"} | {"name": ..., "base64": "..."}],
"inputs": {...}}`` or ``{"endpoint": "https://...", "inputs": {...}}``. Runs are stored as TestReport resources of
the sandbox tenant (the type is not served under /fhir); a caller reads only the runs of its own tenant.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from conformance.inputs import InputError, resolve
from conformance.reporters.testreport import as_resource
from conformance.runner import run_endpoint, run_exports
from gateway.api.deps import PrincipalDep
from gateway.errors import Forbidden, InvalidRequest, NotFound
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import WriteItem, build_store
from security.ledger import current
from security.outbound import outbound_refusal
from security.principal import SANDBOX_TENANT, Principal

router = APIRouter(tags=["conformance"])
FHIR_JSON = "application/fhir+json"
MAX_FILES = 20


def _exports(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    files = body.get("exports")
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise InvalidRequest(f"exports must be a list of 1 to {MAX_FILES} files", expression="exports")
    found: list[tuple[str, bytes]] = []
    for index, item in enumerate(files):
        where = f"exports[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise InvalidRequest("each export needs a name", expression=f"{where}.name")
        if isinstance(item.get("content"), str):
            found.append((item["name"], item["content"].encode("utf-8")))
        elif isinstance(item.get("base64"), str):
            try:
                found.append((item["name"], base64.b64decode(item["base64"], validate=True)))
            except (binascii.Error, ValueError):
                raise InvalidRequest("base64 is not valid base64", expression=f"{where}.base64") from None
        else:
            raise InvalidRequest("give the file as content (text) or base64", expression=where)
    return found


def _inputs(body: dict[str, Any]) -> dict[str, str]:
    given = body.get("inputs") or {}
    if not isinstance(given, dict) or any(isinstance(v, (dict, list)) for v in given.values()):
        raise InvalidRequest("inputs must map each key to one value", expression="inputs")
    try:
        return resolve({str(k): "" if v is None else str(v) for k, v in given.items()})
    except InputError as exc:
        raise InvalidRequest(str(exc), expression="inputs") from None


def _owner(principal: Principal) -> str:
    principal.require_operation("conformance")
    return principal.write_tenant or SANDBOX_TENANT


@router.post("/conformance/runs", status_code=201)
async def create_run(request: Request, principal: PrincipalDep) -> JSONResponse:
    current().note("operation", None)
    owner = _owner(principal)
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("the body is not JSON", expression="body") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object", expression="body")
    inputs = _inputs(body)
    endpoint = body.get("endpoint")
    if endpoint is not None:
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise InvalidRequest("endpoint must be an http(s) URL", expression="endpoint")
        settings = request.app.state.settings
        refusal = outbound_refusal(
            endpoint, settings.conformance_endpoints, production=settings.env == "production",
            setting="CPTS_CONFORMANCE_ENDPOINTS",
        )  # fmt: skip
        if refusal is not None:  # the gateway would fetch any URL an integrator names (server-side request forgery)
            raise Forbidden(refusal, expression="endpoint", code="SEC-OUTBOUND")
        report = await run_in_threadpool(run_endpoint, endpoint, inputs)
    else:
        files = _exports(body)
        report = await run_in_threadpool(run_exports, files, inputs)
    resource = as_resource(report)
    engine = request.app.state.engine
    store = build_store(engine, request.app.state.settings)
    with write_transaction(engine) as conn:
        written = store.write(conn, [WriteItem("TestReport", report.id, resource, tenant=owner, method="POST")])
    stored = written[0].stored
    current().detail = f"conformance run {report.id} for tenant {owner}"
    content = stored.json() if stored is not None else resource
    location = f"/conformance/runs/{report.id}"
    return JSONResponse(content, status_code=201, media_type=FHIR_JSON, headers={"Location": location})


@router.get("/conformance/runs/{run_id}")
def read_run(request: Request, run_id: str, principal: PrincipalDep) -> JSONResponse:
    current().note("read", None)
    owner = _owner(principal)
    engine = request.app.state.engine
    with read_transaction(engine) as conn:
        stored = build_store(engine, request.app.state.settings).read(conn, "TestReport", run_id)
    if stored is None or stored.deleted or (stored.tenant != owner and not principal.is_developer):
        raise NotFound(f"conformance run {run_id} is not known", expression="id")
    return JSONResponse(stored.json(), media_type=FHIR_JSON)


__all__ = ["router"]

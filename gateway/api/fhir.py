"""The FHIR REST routes under ``/fhir``: thin, each hands over to the FHIR service."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import BundlesDep, PrincipalDep, ServiceDep, SettingsDep
from gateway.api.threads import in_thread
from gateway.api.wire import (
    FhirJSONResponse,
    base_url,
    check_acceptable,
    form_pairs,
    query_pairs,
    read_json,
    render,
    return_preference,
    strict_handling,
)
from gateway.sas import request as sas_request

router = APIRouter(
    prefix="/fhir",
    tags=["FHIR"],
    default_response_class=FhirJSONResponse,
    dependencies=[Depends(check_acceptable)],
)


@router.get("/metadata", summary="CapabilityStatement")
async def metadata(request: Request, settings: SettingsDep) -> Response:
    from gateway.fhir.capability import capability_statement

    return FhirJSONResponse(capability_statement(request.app, base_url(request, settings.base_url)))


@router.post("", summary="batch or transaction Bundle")
async def bundle(request: Request, principal: PrincipalDep, bundles: BundlesDep, settings: SettingsDep) -> Response:
    body = await read_json(request)
    result = await run_in_threadpool(bundles.process, principal, body, base_url(request, settings.base_url))
    return render(result)


@router.get("/_history", summary="history of all resources")
async def history_all(
    request: Request, principal: PrincipalDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    base = base_url(request, settings.base_url)
    return render(await run_in_threadpool(service.history, principal, None, None, query_pairs(request), base))


@router.get("/{resource_type}/_history", summary="history of a type")
async def history_type(
    resource_type: str, request: Request, principal: PrincipalDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    base = base_url(request, settings.base_url)
    return render(await run_in_threadpool(service.history, principal, resource_type, None, query_pairs(request), base))


@router.get("/{resource_type}", summary="search")
async def search(
    resource_type: str, request: Request, principal: PrincipalDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    base = base_url(request, settings.base_url)
    strict = strict_handling(request)
    pairs = query_pairs(request)
    sas = resource_type == "Slot" and sas_request.applies(principal.role_name, pairs)
    return render(
        await in_thread(request, service.search, principal, resource_type, pairs, base, strict=strict, sas=sas)
    )


@router.post("/{resource_type}/_search", summary="search with form parameters")
async def search_post(
    resource_type: str, request: Request, principal: PrincipalDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    base = base_url(request, settings.base_url)
    pairs = await form_pairs(request)
    strict = strict_handling(request)
    sas = resource_type == "Slot" and sas_request.applies(principal.role_name, pairs)
    return render(
        await in_thread(request, service.search, principal, resource_type, pairs, base, strict=strict, sas=sas)
    )


@router.post("/{resource_type}", summary="create")
async def create(
    resource_type: str, request: Request, principal: PrincipalDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    body = await read_json(request)
    base = base_url(request, settings.base_url)
    return render(
        await run_in_threadpool(service.create, principal, resource_type, body, base, return_preference(request))
    )


@router.get("/SearchParameter/{resource_id}", summary="read a SearchParameter the gateway defines")
async def search_parameter(resource_id: str, principal: PrincipalDep) -> Response:
    from gateway.sas.searchparameters import search_parameter as shipped

    return FhirJSONResponse(shipped(resource_id))


@router.get("/{resource_type}/{resource_id}", summary="read")
async def read(
    resource_type: str,
    resource_id: str,
    request: Request,
    principal: PrincipalDep,
    service: ServiceDep,
    settings: SettingsDep,
) -> Response:
    base = base_url(request, settings.base_url)
    return render(await in_thread(request, service.read, principal, resource_type, resource_id, base))


@router.put("/{resource_type}/{resource_id}", summary="update (or create with a client id)")
async def update(
    resource_type: str,
    resource_id: str,
    request: Request,
    principal: PrincipalDep,
    service: ServiceDep,
    settings: SettingsDep,
) -> Response:
    body = await read_json(request)
    base = base_url(request, settings.base_url)
    if_match = request.headers.get("if-match")
    result = await run_in_threadpool(
        service.update, principal, resource_type, resource_id, body, if_match, base, return_preference(request)
    )
    return render(result)


@router.delete("/{resource_type}/{resource_id}", summary="delete (soft: history is kept)")
async def delete(
    resource_type: str, resource_id: str, request: Request, principal: PrincipalDep, service: ServiceDep
) -> Response:
    if_match = request.headers.get("if-match")
    return render(await run_in_threadpool(service.delete, principal, resource_type, resource_id, if_match))


@router.get("/{resource_type}/{resource_id}/_history", summary="history of a resource")
async def history_instance(
    resource_type: str,
    resource_id: str,
    request: Request,
    principal: PrincipalDep,
    service: ServiceDep,
    settings: SettingsDep,
) -> Response:
    base = base_url(request, settings.base_url)
    pairs = query_pairs(request)
    return render(await run_in_threadpool(service.history, principal, resource_type, resource_id, pairs, base))


@router.get("/{resource_type}/{resource_id}/_history/{version_id}", summary="vread")
async def vread(
    resource_type: str,
    resource_id: str,
    version_id: str,
    request: Request,
    principal: PrincipalDep,
    service: ServiceDep,
    settings: SettingsDep,
) -> Response:
    base = base_url(request, settings.base_url)
    return render(await in_thread(request, service.vread, principal, resource_type, resource_id, version_id, base))


__all__ = ["router"]

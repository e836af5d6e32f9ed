"""The CapabilityStatement, generated from the routes the application actually serves and the search registry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute

from gateway import __version__
from gateway.fhir.dates import format_instant, utc_now
from gateway.fhir.resources import SUPPORTED_TYPES
from gateway.fhir.searchparams import SPECIAL, registry
from gateway.sas.searchparameters import definition

TYPE_INTERACTIONS = {
    ("GET", "/fhir/{resource_type}/{resource_id}"): "read",
    ("GET", "/fhir/{resource_type}/{resource_id}/_history/{version_id}"): "vread",
    ("PUT", "/fhir/{resource_type}/{resource_id}"): "update",
    ("DELETE", "/fhir/{resource_type}/{resource_id}"): "delete",
    ("GET", "/fhir/{resource_type}/{resource_id}/_history"): "history-instance",
    ("GET", "/fhir/{resource_type}/_history"): "history-type",
    ("POST", "/fhir/{resource_type}"): "create",
    ("GET", "/fhir/{resource_type}"): "search-type",
}
SYSTEM_INTERACTIONS = {("POST", "/fhir"): ("transaction", "batch"), ("GET", "/fhir/_history"): ("history-system",)}
DOC = "http://hl7.org/fhir/SearchParameter"


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every API route. Recent FastAPI keeps included routers nested in ``app.routes``, so they are
    flattened with ``iter_route_contexts`` where it exists (older versions list the routes themselves)."""
    flatten = getattr(routing, "iter_route_contexts", None)
    routes: Iterable[Any] = flatten(app.routes) if flatten is not None else app.routes
    return {
        (method, route.path)
        for route in routes
        if isinstance(getattr(route, "original_route", route), APIRoute)
        for method in route.methods or ()
    }


def _search_params(resource_type: str) -> list[dict[str, Any]]:
    params = [
        {"name": name, "type": kind, "definition": f"{DOC}/Resource-{name.lstrip('_')}"}
        for name, kind in SPECIAL.items()
    ]
    for spec in registry()[resource_type].values():
        param: dict[str, Any] = {"name": spec.name, "type": spec.type}
        canonical = definition(resource_type, spec.name)  # a parameter beyond R4, shipped as a SearchParameter
        if canonical is not None:
            param["definition"] = canonical
        params.append({**param, "documentation": f"paths: {', '.join(spec.paths)}"})
    return params


def _resource(resource_type: str, interactions: list[str], operations: list[dict[str, str]]) -> dict[str, Any]:
    params = registry()[resource_type]
    references = [p for p in params.values() if p.type == "reference"]
    entry: dict[str, Any] = {
        "type": resource_type,
        "interaction": [{"code": code} for code in interactions],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "searchInclude": [f"{resource_type}:{p.name}" for p in references],
        "searchRevInclude": sorted(
            f"{source}:{p.name}"
            for source, source_params in registry().items()
            for p in source_params.values()
            if p.type == "reference" and resource_type in p.targets
        ),
        "searchParam": _search_params(resource_type),
    }
    if operations:
        entry["operation"] = operations
    return {key: value for key, value in entry.items() if value != []}  # FHIR JSON has no empty arrays


def _security(app: FastAPI) -> dict[str, Any]:
    """SMART Backend Services: where to get a token (the oauth-uris extension), and what the roles do."""
    issuer = app.state.settings.issuer.rstrip("/")
    return {
        "cors": False,
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ]
            }
        ],
        "extension": [
            {
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [{"url": "token", "valueUri": f"{issuer}/oauth/token"}],
            }
        ],
        "description": "OAuth2 client_credentials with private_key_jwt (SMART Backend Services, RS384/ES384 "
        "assertions); tokens of trusted OpenID Connect issuers (Pro Santé Connect); mutual TLS for the SAS. Roles, "
        "tenant isolation and the consent rules of French law decide what each caller receives.",
    }


def capability_statement(app: FastAPI, base: str) -> dict[str, Any]:
    routes = served_routes(app)
    interactions = [code for key, code in TYPE_INTERACTIONS.items() if key in routes]
    operations: dict[str, list[dict[str, str]]] = {}
    for _method, path in sorted(routes):
        if "/$" in path and path.startswith("/fhir/"):
            resource_type, _, name = path.removeprefix("/fhir/").partition("/")
            op = name.rsplit("$", 1)[-1]
            operations.setdefault(resource_type, []).append(
                {"name": op, "definition": f"{base}/OperationDefinition/{op}"}
            )
    system = [{"code": code} for key, codes in SYSTEM_INTERACTIONS.items() if key in routes for code in codes]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": format_instant(utc_now()),
        "publisher": "cpts-gateway",
        "kind": "instance",
        "software": {"name": "cpts-gateway", "version": __version__},
        "implementation": {"description": "CPTS interoperability gateway", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": _security(app),
                "resource": [_resource(t, interactions, operations.get(t, [])) for t in SUPPORTED_TYPES],
                "interaction": system,
                "searchParam": [
                    {"name": "_count", "type": "number"},
                    {"name": "_sort", "type": "string"},
                    {"name": "_include", "type": "string"},
                    {"name": "_revinclude", "type": "string"},
                    {"name": "_summary", "type": "token"},
                    {"name": "_total", "type": "token"},
                    {"name": "_elements", "type": "string"},
                ],
            }
        ],
    }


__all__ = ["capability_statement", "served_routes"]

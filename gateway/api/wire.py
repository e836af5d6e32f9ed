"""FHIR over HTTP: media types, request bodies, ``Prefer`` headers and response rendering."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from gateway.errors import InvalidRequest, NotAcceptable, UnsupportedMediaType
from gateway.fhir.service import FhirResponse, ReturnPreference
from gateway.storage.store import StoredResource

FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")


class FhirJSONResponse(Response):
    media_type = f"{FHIR_JSON}; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def render(result: FhirResponse) -> Response:
    body = result.body
    if isinstance(body, StoredResource):
        return Response(body.content.encode(), result.status, result.headers, media_type=FhirJSONResponse.media_type)
    if body is None:
        return Response(status_code=result.status, headers=result.headers)
    if isinstance(body, bytes):  # JSON assembled from prepared fragments (the SAS answer)
        return Response(body, result.status, result.headers, media_type=FhirJSONResponse.media_type)
    return FhirJSONResponse(body, result.status, result.headers)


async def read_json(request: Request) -> Any:
    """The request body as JSON; 415 for a non-JSON media type, 400 naming the line and column of a syntax error."""
    media_type = request.headers.get("content-type", FHIR_JSON).split(";")[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise UnsupportedMediaType(f"send FHIR resources as {FHIR_JSON}, not {media_type!r}", expression="Content-Type")
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("the request has no body; a FHIR resource is expected", expression="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            expression=f"body:line {exc.lineno}, column {exc.colno}",
            code="API-JSON",
        ) from exc


ACCEPTABLE = ("application/fhir+json", "application/json", "application/json+fhir", "application/*", "*/*", "text/json")
FORMAT_ALIASES = ("json", "application/fhir+json", "application/json", "application/json+fhir")


async def check_acceptable(request: Request) -> None:
    """406 when the client accepts only a format this server does not produce (XML, Turtle)."""
    requested = request.query_params.get("_format")
    if requested is not None and requested.split(";")[0].strip() not in FORMAT_ALIASES:
        raise NotAcceptable(f"_format={requested} is not served; this server speaks FHIR JSON", expression="_format")
    accept = request.headers.get("accept")
    if accept:
        kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if not any(kind in ACCEPTABLE for kind in kinds):
            raise NotAcceptable(f"Accept: {accept} cannot be met; this server speaks {FHIR_JSON}", expression="Accept")


def prefer(request: Request) -> dict[str, str]:
    """The ``Prefer`` header's directives (``return``, ``handling``)."""
    directives: dict[str, str] = {}
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            directives[name.strip().lower()] = value.strip().strip('"')
    return directives


def return_preference(request: Request) -> ReturnPreference:
    value = prefer(request).get("return", "representation")
    if value in ("minimal", "representation", "OperationOutcome"):
        return value  # type: ignore[return-value]
    return "representation"


def strict_handling(request: Request) -> bool:
    return prefer(request).get("handling") == "strict"


def base_url(request: Request, configured: str | None) -> str:
    """The FHIR base URL used in fullUrl, Location and paging links."""
    if configured:
        return configured.rstrip("/") + "/fhir"
    return str(request.base_url).rstrip("/") + "/fhir"


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """Parameters of ``POST [type]/_search``: the form body plus the query string (R4 §3.1.0.8)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    pairs = query_pairs(request)
    if media_type == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        pairs.extend(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    elif media_type:
        raise UnsupportedMediaType(
            "POST _search takes application/x-www-form-urlencoded parameters", expression="Content-Type"
        )
    return pairs


__all__ = [
    "FHIR_JSON",
    "FhirJSONResponse",
    "base_url",
    "check_acceptable",
    "form_pairs",
    "prefer",
    "query_pairs",
    "read_json",
    "render",
    "return_preference",
    "strict_handling",
]

"""The authorization server's public endpoints (SMART Backend Services): token, JWKS and discovery.

Thin routes: the work is in security/oauth/. They take no principal (a client has no token before it asks for one)
and answer RFC 6749 JSON, not OperationOutcomes, as OAuth clients expect.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.settings import Settings
from security.audit import AuditRecord
from security.keys import signing_keys
from security.oauth import TokenOutcome, TokenRequest, TokenServer, smart_configuration, token_server
from security.oauth.server import NO_STORE
from security.oauth.tokens import token_endpoint

router = APIRouter(tags=["oauth"])
log = logging.getLogger("cpts.oauth")
FORM = "application/x-www-form-urlencoded"


def _server(request: Request) -> TokenServer:
    server: TokenServer | None = getattr(request.app.state, "oauth_server", None)
    if server is None:
        server = request.app.state.oauth_server = token_server(request.app.state.settings, request.app.state.engine)
    return server


def _audit(request: Request, outcome: TokenOutcome) -> None:
    trail = getattr(request.app.state, "audit", None)
    if trail is None:
        return
    settings: Settings = request.app.state.settings
    detail = outcome.body.get("scope") if outcome.issued else outcome.body.get("error_description")
    error = None if outcome.issued else outcome.body.get("error")
    optional: dict[str, Any] = {
        "token_id": outcome.token_id,
        "scope": outcome.body.get("scope"),
        "query": outcome.asked,
    }
    known = {f.name for f in fields(AuditRecord)}
    trail.record(
        AuditRecord(
            **{name: value for name, value in optional.items() if name in known and value},
            action="token",
            outcome="0" if outcome.issued else "4",
            agent=outcome.client or "unknown",
            role=outcome.role,
            client=outcome.client,
            issuer=settings.issuer,
            tenant=outcome.tenant,
            decision="permit" if outcome.issued else "deny",
            reason=error,
            detail=str(detail) if detail else None,
            address=request.client.host if request.client else None,
            request_id=request.headers.get("x-request-id"),
            path="POST /oauth/token",
        )
    )


def _issue(request: Request, token_request: TokenRequest) -> TokenOutcome:
    outcome = _server(request).token(token_request)
    try:
        _audit(request, outcome)
    except Exception:  # the audit trail reports its own failures; a token answer must still go out
        log.exception("token endpoint: the audit record failed")
    return outcome


def _refused(description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "error_description": description}, 400, NO_STORE)


@router.post("/oauth/token", summary="SMART Backend Services token endpoint (client_credentials, private_key_jwt)")
async def token(request: Request) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        return _refused(f"the token request must be sent as {FORM}")
    try:
        form = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return _refused("the token request body is not UTF-8 form data")
    settings: Settings = request.app.state.settings
    headers = {name: value for name, value in request.headers.items()}
    token_request = TokenRequest("POST", token_endpoint(settings), form, headers)
    outcome = await run_in_threadpool(_issue, request, token_request)
    return JSONResponse(outcome.body, outcome.status, outcome.headers)


@router.get("/oauth/jwks", summary="the public keys that verify the gateway's access tokens")
async def jwks(request: Request) -> JSONResponse:
    keys: dict[str, Any] = signing_keys(request.app.state.settings).public_jwks()
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=60"})


@router.get("/.well-known/smart-configuration", summary="SMART configuration (discovery)")
async def smart(request: Request) -> JSONResponse:
    return JSONResponse(smart_configuration(request.app.state.settings))


__all__ = ["router"]

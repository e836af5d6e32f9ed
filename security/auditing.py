"""The request layer's audit: one AuditEvent per request to the API, whatever its outcome.

A pure ASGI middleware opens the request's ledger (security/ledger.py), lets the request run, and before the
response goes records who asked (the principal the authenticator found, or "anonymous"), what the service noted (action,
resources, patients, consent decisions) and how it ended (HTTP status → AuditEvent outcome, error code).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import StorageUnavailable
from gateway.telemetry import request_id_var
from security.audit import AuditRecord
from security.ledger import MAX_LISTED, Ledger, open_ledger
from security.principal import Principal
from security.protect import redact_query

AUDITED_PREFIXES = ("/fhir", "/ingest", "/audit", "/conformance", "/dashboard/api", "/capacity", "/pathways")
UNAUDITED = frozenset({"/fhir/metadata"})
log = logging.getLogger("cpts.audit")


def outcome_of(status: int) -> str:
    """HTTP status → AuditEvent.outcome: 0 success, 4 minor failure (refused, bad request), 8 serious (5xx)."""
    if status < 400:
        return "0"
    return "4" if status < 500 else "8"


def audit_record(scope: Scope, status: int, ledger: Ledger) -> AuditRecord:
    state: dict[str, Any] = scope.get("state", {})
    principal: Principal | None = state.get("principal")
    client = scope.get("client")
    raw = scope.get("query_string", b"").decode("latin-1")
    query = redact_query(ledger.resource_type, raw) if raw else None  # no INS or name in the trail
    detail = ledger.detail
    if ledger.more:
        detail = f"{detail + '; ' if detail else ''}{ledger.more} more resources than the {MAX_LISTED} listed"
    if ledger.counted:
        counted = ", ".join(f"{kind} x{n}" for kind, n in sorted(ledger.counted.items()))
        detail = f"{detail + '; ' if detail else ''}disclosed, counted (no patient data): {counted}"
    if ledger.denials:
        hidden = ", ".join(f"{reason} x{n}" for reason, n in sorted(ledger.denials.items()))
        detail = f"{detail + '; ' if detail else ''}withheld: {hidden}"
    action = ledger.action or str(scope.get("method", "")).lower()
    return AuditRecord(
        action=action,
        outcome=outcome_of(status),
        agent=principal.subject if principal else "anonymous",
        role=principal.role.name if principal else None,
        client=principal.client if principal else None,
        practitioner_id=principal.practitioner_id if principal else None,
        issuer=principal.issuer if principal else None,
        tenant=principal.tenant if principal else None,
        resource_type=ledger.resource_type,
        resource_ids=tuple(ledger.resources),
        patients=tuple(sorted(ledger.patients)),
        query=query,
        decision=ledger.decision,
        reason=ledger.reason,
        detail=detail,
        address=client[0] if client else None,
        request_id=request_id_var.get(None),
        path=f"{scope.get('method')} {scope.get('path')}",
    )


class AuditMiddleware:
    """Records the request's AuditEvent *before* the response leaves: the response is held until its last body
    chunk, the event is written, then the response goes. When the trail cannot be written, nothing is disclosed:
    the caller gets a 503 OperationOutcome instead (fail closed)."""

    def __init__(self, app: ASGIApp, trail: Any) -> None:
        self.app = app
        self.trail = trail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(AUDITED_PREFIXES) or path in UNAUDITED or self.trail is None:
            await self.app(scope, receive, send)
            return
        ledger = open_ledger()
        held: list[Message] = []
        recorded = False

        async def record(status: int) -> bool:
            nonlocal recorded
            recorded = True
            try:  # the trail's writer thread commits it; the event loop waits, no worker thread held
                await asyncio.wrap_future(self.trail.submit((audit_record(scope, status, ledger),)))
            except Exception:
                log.exception("audit trail unavailable: response withheld", extra={"route": scope.get("path")})
                return False
            return True

        async def sending(message: Message) -> None:
            if message["type"] not in ("http.response.start", "http.response.body"):
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.start" or message.get("more_body", False):
                return
            status = int(held[0]["status"])
            if await record(status):
                for kept in held:
                    await send(kept)
            else:
                for refusal in _unavailable():
                    await send(refusal)
            held.clear()

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if not recorded:
                await record(500)
            raise


def _unavailable() -> list[Message]:
    error = StorageUnavailable(
        "the audit trail cannot be written: the response is withheld; retry later",
        expression="AuditEvent",
        code="SEC-AUDIT",
    )
    body = orjson.dumps(error.to_operation_outcome())
    headers = [(b"content-type", b"application/fhir+json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": error.status, "headers": headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


__all__ = ["AUDITED_PREFIXES", "AuditMiddleware", "audit_record", "outcome_of"]

"""Refuse request bodies above ``CPTS_MAX_BODY_BYTES`` with a 413 OperationOutcome, before reading them whole."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import PayloadTooLarge


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # path prefix → its own limit (ingest payloads are files)

    async def _refuse(self, send: Send, limit: int) -> None:
        error = PayloadTooLarge(f"the request body is larger than the {limit} bytes accepted", expression="body")
        body = orjson.dumps(error.to_operation_outcome())
        headers = [
            (b"content-type", b"application/fhir+json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        max_bytes = next((limit for prefix, limit in self.larger.items() if path.startswith(prefix)), self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(send, max_bytes)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:  # chunked upload without Content-Length: rendered by the error handler
                    limit = f"the request body is larger than the {max_bytes} bytes accepted"
                    raise PayloadTooLarge(limit, expression="body")
            return message

        await self.app(scope, limited_receive, send)


__all__ = ["BodyLimitMiddleware"]

"""A live FHIR endpoint under test: one HTTP client with the run's credentials, and answers kept for the checks.

Credentials come from the inputs: ``token`` (Authorization: Bearer), ``client_cert`` + ``client_key`` (mutual TLS),
``ca_file`` (the authorities of the server certificate). An endpoint that does not answer makes the checks that need
it skip (never error): the report says why.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from conformance.model import Skip

FHIR_JSON = "application/fhir+json"


@dataclass
class Answer:
    status: int
    body: Any  # parsed JSON, or None
    seconds: float
    url: str


@dataclass
class Session:
    base: str
    inputs: dict[str, str]
    client: httpx.Client | None = None
    answers: dict[str, Answer | str] = field(default_factory=dict)  # key -> answer, or why it failed

    def _client(self) -> httpx.Client:
        if self.client is None:
            headers = {"Accept": FHIR_JSON}
            if self.inputs.get("token"):
                headers["Authorization"] = f"Bearer {self.inputs['token']}"
            verify: ssl.SSLContext | bool = True
            if self.inputs.get("ca_file") or self.inputs.get("client_cert"):
                context = ssl.create_default_context(cafile=self.inputs.get("ca_file") or None)
                if self.inputs.get("client_cert"):
                    context.load_cert_chain(self.inputs["client_cert"], self.inputs.get("client_key") or None)
                verify = context
            timeout = float(self.inputs.get("timeout") or 10)
            self.client = httpx.Client(headers=headers, verify=verify, timeout=timeout)
        return self.client

    def get(self, key: str, path: str, params: list[tuple[str, str]] | None = None) -> Answer:
        """GET ``[base]/path`` once per run (``key`` names the request); Skip when the endpoint does not answer."""
        known = self.answers.get(key)
        if isinstance(known, str):
            raise Skip(known)
        if known is not None:
            return known
        url = self.base.rstrip("/") + "/" + path.lstrip("/")
        try:
            begin = time.perf_counter()
            query: list[tuple[str, str | int | float | bool | None]] = list(params or [])
            response = self._client().get(url, params=query)
            seconds = time.perf_counter() - begin
        except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
            self.answers[key] = f"{url} did not answer: {exc.__class__.__name__}: {exc}"
            raise Skip(self.answers[key]) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        answer = Answer(response.status_code, body, seconds, str(response.url))
        self.answers[key] = answer
        return answer

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def window(self) -> tuple[datetime, datetime]:
        """The search window: ``start`` (default now, Europe/Paris, to the second) plus ``window_hours``."""
        from conformance.exports import PARIS

        text = self.inputs.get("start")
        try:
            low = datetime.fromisoformat(text) if text else datetime.now(PARIS).replace(microsecond=0)
            hours = float(self.inputs.get("window_hours") or 72)
        except ValueError as exc:
            raise Skip(f"the start or window_hours input is not valid: {exc}") from None
        if low.tzinfo is None:
            low = low.replace(tzinfo=PARIS)
        return low, low + timedelta(hours=hours)

    def practitioners(self) -> list[str]:
        raw = self.inputs.get("practitioners", "")
        found = [p.strip() for p in raw.split(",") if p.strip()]
        if not found:
            raise Skip("the practitioners input (idNat_PS to search, comma-separated) is not given")
        return found[:25]


def outcome_issue(body: Any) -> bool:
    return isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" and bool(body.get("issue"))


def entries(body: Any, kind: str | None = None) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    found = [e.get("resource") for e in body.get("entry") or [] if isinstance(e, dict)]
    return [r for r in found if isinstance(r, dict) and (kind is None or r.get("resourceType") == kind)]


__all__ = ["FHIR_JSON", "Answer", "Session", "entries", "outcome_issue"]

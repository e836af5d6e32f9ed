"""The gateway's error tree. Every error leaves the API as a FHIR OperationOutcome.

::

    GatewayError                 (code prefix by stage: API, STO, VAL, SEC, ADP, MAP)
    ├── InvalidRequest           400  malformed request, bad parameter, wrong type in body
    │   └── ValidationFailed     422  the resource breaks the FHIR rules (carries every issue found)
    ├── Unauthenticated          401
    ├── Forbidden                403
    ├── NotFound                 404
    ├── MethodNotAllowed         405
    ├── NotAcceptable            406  the client accepts only formats the server does not produce
    ├── Conflict                 409
    ├── Gone                     410  the resource was deleted
    ├── PreconditionFailed       412  If-Match does not match the current version
    ├── PayloadTooLarge          413
    ├── UnsupportedMediaType     415
    └── StorageUnavailable       503

Each issue carries a FHIRPath ``expression`` (``Patient.name[0].given``) or a source location
(``appointments.csv:17:statut``) so that the sender can find what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue."""

    severity: Severity
    code: str  # FHIR IssueType: invalid, structure, required, value, invariant, not-found, conflict, ...
    diagnostics: str
    expression: tuple[str, ...] = ()
    details_code: str | None = None  # the gateway's own error code, e.g. VAL-BINDING

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code}
        if self.details_code:
            issue["details"] = {
                "coding": [{"system": "urn:cpts-gateway:error-code", "code": self.details_code}],
                "text": self.diagnostics,
            }
        issue["diagnostics"] = self.diagnostics
        if self.expression:
            issue["location"] = list(self.expression)
            issue["expression"] = list(self.expression)
        return issue


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """Render issues as an OperationOutcome resource (JSON)."""
    rendered = [issue.to_fhir() for issue in issues]
    if not rendered:
        rendered = [{"severity": "information", "code": "informational", "diagnostics": "All OK"}]
    return {"resourceType": "OperationOutcome", "issue": rendered}


class GatewayError(Exception):
    """Root of the gateway's errors; renders as an OperationOutcome with an HTTP status."""

    status: ClassVar[int] = 500
    issue_code: ClassVar[str] = "exception"
    default_code: ClassVar[str] = "API-ERROR"

    def __init__(
        self,
        diagnostics: str,
        *,
        expression: Sequence[str] | str | None = None,
        code: str | None = None,
        issues: Sequence[Issue] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.code = code or self.default_code
        if isinstance(expression, str):
            expression = (expression,)
        self.expression: tuple[str, ...] = tuple(expression or ())
        self._issues: list[Issue] = list(issues or [])
        self.headers: dict[str, str] = {}

    @property
    def issues(self) -> list[Issue]:
        if self._issues:
            return self._issues
        return [Issue("error", self.issue_code, self.diagnostics, self.expression, self.code)]

    def to_operation_outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


class InvalidRequest(GatewayError):
    status = 400
    issue_code = "invalid"
    default_code = "API-INVALID"


class ValidationFailed(InvalidRequest):
    """The resource breaks FHIR rules; ``issues`` lists every problem found, each with its FHIRPath."""

    status = 422
    issue_code = "invalid"
    default_code = "VAL-INVALID"

    def __init__(self, issues: Sequence[Issue], *, diagnostics: str | None = None) -> None:
        errors = [i for i in issues if i.severity in ("error", "fatal")]
        summary = diagnostics or (
            f"{len(errors)} validation error(s): " + "; ".join(f"{i.diagnostics}" for i in errors[:3])
        )
        super().__init__(summary, issues=issues)


class Unauthenticated(GatewayError):
    status = 401
    issue_code = "login"
    default_code = "SEC-UNAUTHENTICATED"


class Forbidden(GatewayError):
    status = 403
    issue_code = "forbidden"
    default_code = "SEC-FORBIDDEN"


class NotFound(GatewayError):
    status = 404
    issue_code = "not-found"
    default_code = "API-NOT-FOUND"


class MethodNotAllowed(GatewayError):
    status = 405
    issue_code = "not-supported"
    default_code = "API-METHOD"


class NotAcceptable(GatewayError):
    status = 406
    issue_code = "not-supported"
    default_code = "API-NOT-ACCEPTABLE"


class Conflict(GatewayError):
    status = 409
    issue_code = "conflict"
    default_code = "STO-CONFLICT"


class Gone(GatewayError):
    status = 410
    issue_code = "deleted"
    default_code = "STO-DELETED"


class PreconditionFailed(GatewayError):
    status = 412
    issue_code = "conflict"
    default_code = "STO-VERSION"


class PayloadTooLarge(GatewayError):
    status = 413
    issue_code = "too-costly"
    default_code = "API-TOO-LARGE"


class UnsupportedMediaType(GatewayError):
    status = 415
    issue_code = "not-supported"
    default_code = "API-MEDIA-TYPE"


class TooManyRequests(GatewayError):
    status = 429
    issue_code = "throttled"
    default_code = "SEC-RATE-LIMIT"


class StorageUnavailable(GatewayError):
    status = 503
    issue_code = "transient"
    default_code = "STO-UNAVAILABLE"


__all__ = [
    "Conflict",
    "Forbidden",
    "GatewayError",
    "Gone",
    "InvalidRequest",
    "Issue",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Severity",
    "StorageUnavailable",
    "TooManyRequests",
    "Unauthenticated",
    "UnsupportedMediaType",
    "ValidationFailed",
    "operation_outcome",
]

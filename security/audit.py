"""The audit trail: one AuditEvent (IHE BALP patterns) per read, search, write, denial and token issuance.

Interface used by the rest of the gateway (the request layer, the token endpoint, ingest):
``AuditTrail(engine).record(AuditRecord(...))``. The implementation appends to ``audit_event`` under the chain head
lock (security/models.py) and ``verify`` checks the hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass

Action = str  # read | vread | search | history | create | update | delete | transaction | batch | token | ingest
# | operation


@dataclass(frozen=True)
class AuditRecord:
    action: Action
    outcome: str  # FHIR AuditEvent.outcome: "0" success, "4" minor failure (refused), "8" serious, "12" major
    agent: str  # who: client name, idNat_PS, certificate subject DN, "anonymous"
    role: str | None = None  # the agent's role (security/roles.yaml), None when unauthenticated
    client: str | None = None  # OAuth client id, when there is one
    issuer: str | None = None  # who vouched for the agent (this gateway, an external issuer, "mtls", "open-access")
    tenant: str | None = None  # the agent's centre, when it has one
    resource_type: str | None = None
    resource_ids: tuple[str, ...] = ()  # "Type/id" of what was read or written (at most a page)
    patients: tuple[str, ...] = ()  # "Patient/id" of every patient whose data was concerned
    query: str | None = None  # the query string of a search or history
    decision: str | None = None  # the policy decision: "permit" | "deny"
    reason: str | None = None  # its reason code, e.g. SEC-TENANT, CONSENT-OBJECTION, CONSENT-CARE-TEAM
    detail: str | None = None  # human-readable diagnostics (never clinical content)
    address: str | None = None  # the caller's network address
    request_id: str | None = None  # X-Request-ID, to find the matching log lines
    path: str | None = None  # HTTP method and path


__all__ = ["Action", "AuditRecord"]

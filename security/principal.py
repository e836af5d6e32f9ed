"""The principal behind a request: who it is, its role, its tenant and scopes.

Every route depends on :func:`principal_dependency`. Step 1 has no authentication yet: in development the gateway
answers as the ``developer`` principal (full access); the application refuses to start with ``CPTS_ENV=production``
until Step 3 fills this in with OAuth2 tokens, roles and consent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.errors import Forbidden
from gateway.fhir.search import Visibility

DEVELOPER = "developer"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    tenant: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def visibility(self) -> Visibility:
        """Which tenants' resources this principal may see."""
        if self.role == DEVELOPER or self.tenant is None:
            return Visibility(None)
        return Visibility(frozenset({self.tenant}))

    def require_write(self, resource_type: str) -> None:
        if self.role != DEVELOPER and not self.scopes & {f"system/{resource_type}.write", "system/*.write"}:
            raise Forbidden(f"{self.subject} may not write {resource_type}", expression=resource_type)


DEVELOPMENT_PRINCIPAL = Principal(subject="development", role=DEVELOPER)


def development_principal() -> Principal:
    """The principal of every request until OAuth2 (Step 3) is in place."""
    return DEVELOPMENT_PRINCIPAL


__all__ = ["DEVELOPER", "DEVELOPMENT_PRINCIPAL", "Principal", "development_principal"]

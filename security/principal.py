"""The principal behind a request: who it is, its role (security/roles.yaml), its tenant and its scopes.

Every route depends on :func:`gateway.api.deps.principal_dependency`, which asks the authenticator
(security/authn.py) to turn the request's credentials into a Principal. The checks here answer "may this principal
do this to this type at all"; the per-resource answers (tenant, consent) are in security/access.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.errors import Forbidden
from gateway.fhir.search import Visibility
from security.roles import DEVELOPER, Role, developer_role
from security.scopes import Scopes

SANDBOX_TENANT = "sandbox"

# interaction -> the SMART permission letter it needs
_LETTER = {"read": "r", "search": "s", "history": "r", "create": "c", "update": "u", "delete": "d"}


@dataclass(frozen=True)
class Principal:
    subject: str  # client name, idNat_PS, certificate DN
    role: Role
    tenant: str | None = None  # FINESS of the centre a centre role belongs to
    scopes: Scopes = field(default_factory=Scopes)
    structures: frozenset[str] = frozenset()  # practitioner: FINESS / SIRET of the sites where they work
    practitioner_id: str | None = None  # practitioner: idNat_PS (urn:oid:1.2.250.1.71.4.2.1)
    profession: str | None = None  # practitioner: profession code (TRE_G15)
    issuer: str | None = None  # who vouched for it: this gateway, an external issuer, "mtls", "open-access"
    client: str | None = None  # the OAuth client behind the token, when there is one

    @property
    def role_name(self) -> str:
        return self.role.name

    @property
    def is_developer(self) -> bool:
        return self.role.name == DEVELOPER

    @property
    def visibility(self) -> Visibility:
        """Which tenants' resources this principal may see at all (consent narrows patient data further)."""
        tenancy = self.role.tenancy
        if tenancy == "all":
            return Visibility(None)
        if tenancy == "own":
            return Visibility(frozenset({self.tenant}) if self.tenant else frozenset())
        if tenancy == "sandbox":
            return Visibility(frozenset({SANDBOX_TENANT}), include_shared=False)
        return Visibility(frozenset(), include_shared=False)

    @property
    def write_tenant(self) -> str | None:
        """The tenant that owns what this principal writes."""
        return SANDBOX_TENANT if self.role.tenancy == "sandbox" else self.tenant

    def may(self, interaction: str, resource_type: str) -> bool:
        """Both the role and the token's scopes allow ``interaction`` (read, search, create, ...) on the type."""
        return self.role_may(interaction, resource_type) and self.scopes.permits(_LETTER[interaction], resource_type)

    def require(self, interaction: str, resource_type: str) -> None:
        if not self.may(interaction, resource_type):
            by_role = not self.role_may(interaction, resource_type)
            why = "its role does not allow it" if by_role else "the token's scopes do not allow it"
            raise Forbidden(
                f"{self.subject} ({self.role.name}) may not {interaction} {resource_type}: {why}",
                expression=resource_type,
                code="SEC-ROLE" if by_role else "SEC-SCOPE",
            )

    def role_may(self, interaction: str, resource_type: str) -> bool:
        if interaction == "search":
            return self.role.may_search(resource_type)
        if interaction in ("read", "history"):
            return self.role.may_read(resource_type)
        return self.role.may_write(resource_type)

    def require_operation(self, operation: str) -> None:
        if operation not in self.role.operations:
            raise Forbidden(
                f"{self.subject} ({self.role.name}) may not use {operation}", expression=operation, code="SEC-ROLE"
            )


def development_principal() -> Principal:
    """The principal of open access (``CPTS_OPEN_ACCESS=true``, development only): everything, everywhere."""
    return Principal(subject="development", role=developer_role(), scopes=Scopes.everything(), issuer="open-access")


__all__ = ["SANDBOX_TENANT", "Principal", "development_principal"]

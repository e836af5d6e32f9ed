"""The end-to-end tests use the test OpenID Connect provider of the external-identity tests (scripts/oidc)."""

from __future__ import annotations

from tests.security.external.conftest import oidc_issuer

__all__ = ["oidc_issuer"]

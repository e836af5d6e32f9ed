"""``/.well-known/smart-configuration``: what a SMART Backend Services client needs to find and use the server."""

from __future__ import annotations

from typing import Any

from gateway.fhir.resources import SUPPORTED
from gateway.settings import Settings
from security.oauth.clients import ASSERTION_ALGORITHMS
from security.oauth.tokens import token_endpoint


def smart_configuration(settings: Settings) -> dict[str, Any]:
    issuer = settings.issuer.rstrip("/")
    scopes = ["system/*.cruds", "system/*.rs", "system/*.read", "system/*.write"]
    scopes += [f"system/{resource_type}.rs" for resource_type in sorted(SUPPORTED)]
    return {
        "issuer": settings.issuer,
        "token_endpoint": token_endpoint(settings),
        "jwks_uri": f"{issuer}/oauth/jwks",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": scopes,
        "response_types_supported": ["token"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }


__all__ = ["smart_configuration"]

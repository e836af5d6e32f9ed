"""FastAPI dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.errors import Unauthenticated
from gateway.fhir.service import FhirService
from gateway.fhir.transaction import BundleProcessor
from gateway.settings import Settings
from security.principal import Principal
from security.ratelimit import RateLimiter


def get_service(request: Request) -> FhirService:
    service: FhirService = request.app.state.service
    return service


def get_bundles(request: Request) -> BundleProcessor:
    bundles: BundleProcessor = request.app.state.bundles
    return bundles


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def principal_dependency(request: Request) -> Principal:
    """The one dependency through which every protected route learns who is calling (security/authn.py)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    limiter: RateLimiter = request.app.state.rate_limiter
    try:
        principal: Principal = request.app.state.authenticator.authenticate(request)
    except Unauthenticated:
        limiter.hit(f"address {request.client.host if request.client else 'unknown'}")  # guessing costs too
        raise
    request.state.principal = principal
    limiter.hit(principal.client or principal.subject)
    return principal


ServiceDep = Annotated[FhirService, Depends(get_service)]
BundlesDep = Annotated[BundleProcessor, Depends(get_bundles)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
PrincipalDep = Annotated[Principal, Depends(principal_dependency)]

__all__ = [
    "BundlesDep",
    "PrincipalDep",
    "ServiceDep",
    "SettingsDep",
    "principal_dependency",
]

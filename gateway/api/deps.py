"""FastAPI dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.fhir.service import FhirService
from gateway.fhir.transaction import BundleProcessor
from gateway.settings import Settings
from security.principal import Principal


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
    principal: Principal = request.app.state.authenticator.authenticate(request)
    request.state.principal = principal
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

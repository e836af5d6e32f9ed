"""FastAPI dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.fhir.service import FhirService
from gateway.fhir.transaction import BundleProcessor
from gateway.settings import Settings
from security.principal import Principal, development_principal


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
    """The one dependency through which every route learns who is calling (OAuth2 arrives with Step 3)."""
    principal: Principal = request.app.state.principal_resolver(request)
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
    "development_principal",
    "principal_dependency",
]

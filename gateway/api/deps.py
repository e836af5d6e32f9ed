"""FastAPI dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gateway.errors import Unauthenticated
from gateway.fhir.service import FhirService
from gateway.fhir.transaction import BundleProcessor
from gateway.settings import Settings
from security.authn import Authenticator
from security.principal import Principal
from security.ratelimit import RateLimiter


async def get_service(request: Request) -> FhirService:
    service: FhirService = request.app.state.service
    return service


async def get_bundles(request: Request) -> BundleProcessor:
    bundles: BundleProcessor = request.app.state.bundles
    return bundles


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def principal_dependency(request: Request) -> Principal:
    """The one dependency through which every protected route learns who is calling (security/authn.py).

    A token verified a moment ago is recognised on the event loop; anything else (a signature to check, a client to
    look up, an external issuer's keys to fetch) runs in a worker thread. The dependencies here are coroutines:
    FastAPI runs a plain function dependency in a worker thread, a hop that cost more than the work itself."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    limiter: RateLimiter = request.app.state.rate_limiter
    authenticator: Authenticator = request.app.state.authenticator
    try:
        principal = authenticator.cached(request)
        if principal is None:
            principal = await run_in_threadpool(authenticator.authenticate, request)
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

"""The coordinator dashboard (``GET /dashboard``): routes, login and the plain static files it serves."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.dashboard.oidc import OidcLogin
from gateway.dashboard.routes import STATIC, router
from gateway.settings import Settings


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    """Serve the dashboard; a dashboard issuer that is not a trusted external issuer stops start-up."""
    app.state.dashboard_login = OidcLogin.from_settings(settings)
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")


__all__ = ["install_dashboard"]

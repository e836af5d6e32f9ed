"""Builds the security components of an application from the settings: one place, so ``create_app`` stays short."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.settings import Settings
from security.authn import Authenticator, CertificateAdmission, TokenVerifier


def build_authenticator(settings: Settings, engine: Engine) -> Authenticator:
    verifiers: list[TokenVerifier] = []
    certificates: CertificateAdmission | None = None
    return Authenticator(settings, verifiers, certificates)


__all__ = ["build_authenticator"]

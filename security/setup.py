"""Builds the security components of an application from the settings: one place, so ``create_app`` stays short."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.settings import Settings
from security.authn import Authenticator, CertificateAdmission, TokenVerifier
from security.external import ExternalVerifier
from security.keys import signing_keys
from security.mtls import CertificateAllowList
from security.oauth import gateway_verifier
from security.session import DashboardSessions


def build_authenticator(settings: Settings, engine: Engine) -> Authenticator:
    verifiers: list[TokenVerifier] = []
    verifiers.append(gateway_verifier(settings, engine))  # the tokens of this gateway's own /oauth/token
    verifiers.append(ExternalVerifier.from_settings(settings))  # CPTS_EXTERNAL_ISSUERS (OIDC: PSC, Keycloak)
    certificates: CertificateAdmission | None = CertificateAllowList.from_settings(settings)  # mTLS: sas-consumer
    sessions = DashboardSessions(settings, signing_keys(settings), engine)  # the dashboard's cookie (reading only)
    return Authenticator(settings, verifiers, certificates, sessions)


__all__ = ["build_authenticator"]

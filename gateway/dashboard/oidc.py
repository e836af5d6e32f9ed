"""The dashboard's OpenID Connect login: authorization code with PKCE (RFC 7636) against one configured issuer.

The issuer is ``CPTS_DASHBOARD_OIDC_ISSUER``, which must be one of ``CPTS_EXTERNAL_ISSUERS``: the access token the
code is exchanged for is verified exactly as an API call's would be (security/external.py: signature, ``iss``,
``aud``, expiry, ``acr``), and the principal it gives (the issuer's configured role) is the session's. The login
transaction (state, code verifier) waits in a short-lived HttpOnly cookie between the redirect and the callback.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from gateway.settings import Settings
from security.external import ExternalVerifier, IssuerConfig, parse_issuers

TIMEOUT = 5.0
DISCOVERY_TTL = 300.0
TRANSACTION_SECONDS = 600
SCOPE = "openid"


class LoginFailed(RuntimeError):
    """The login could not be completed; the message is shown to the person (no secret in it)."""


@dataclass(frozen=True)
class Transaction:
    state: str
    verifier: str
    started: int

    def encode(self) -> str:
        raw = orjson.dumps({"s": self.state, "v": self.verifier, "t": self.started})
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Transaction:
        try:
            data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            transaction = cls(str(data["s"]), str(data["v"]), int(data["t"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise LoginFailed("the login attempt is unreadable: start again") from exc
        if time.time() - transaction.started > TRANSACTION_SECONDS:
            raise LoginFailed("the login took too long: start again")
        return transaction


def challenge(verifier: str) -> str:
    """The S256 code challenge of a code verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class OidcLogin:
    """Builds the authorization request and completes the callback for the configured issuer."""

    def __init__(self, settings: Settings, config: IssuerConfig) -> None:
        self.settings = settings
        self.config = config
        self.verifier = ExternalVerifier([config])
        self._endpoints: dict[str, Any] = {}
        self._fetched = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcLogin | None:
        """None when no dashboard issuer is configured; ValueError when it is not a trusted external issuer."""
        wanted = settings.dashboard_oidc_issuer
        if not wanted:
            return None
        for config in parse_issuers(settings.external_issuers):
            if config.issuer == wanted:
                return cls(settings, config)
        raise ValueError(f"CPTS_DASHBOARD_OIDC_ISSUER {wanted} is not one of CPTS_EXTERNAL_ISSUERS")

    def _discovery(self) -> dict[str, Any]:
        with self._lock:
            if time.monotonic() - self._fetched < DISCOVERY_TTL:
                return self._endpoints
            try:
                response = httpx.get(self.config.discovery_url, timeout=TIMEOUT)
                response.raise_for_status()
                document = orjson.loads(response.content)
            except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
                raise LoginFailed(f"the identity provider {self.config.issuer} does not answer; try again") from exc
            if not isinstance(document, dict) or document.get("issuer") != self.config.issuer:
                raise LoginFailed(f"the identity provider at {self.config.issuer} describes another issuer")
            for name in ("authorization_endpoint", "token_endpoint"):
                if not isinstance(document.get(name), str):
                    raise LoginFailed(f"the identity provider {self.config.issuer} publishes no {name}")
            self._endpoints, self._fetched = document, time.monotonic()
            return document

    def start(self, redirect_uri: str) -> tuple[str, Transaction]:
        """The authorization URL to send the browser to, and the transaction to keep until the callback."""
        transaction = Transaction(secrets.token_urlsafe(24), secrets.token_urlsafe(48), int(time.time()))
        query = {
            "response_type": "code",
            "client_id": self.settings.dashboard_client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": transaction.state,
            "code_challenge": challenge(transaction.verifier),
            "code_challenge_method": "S256",
            "resource": self.config.audience,  # RFC 8707: an access token for the gateway (ignored where unknown)
            "prompt": "login",
        }
        endpoint = str(self._discovery()["authorization_endpoint"])
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}", transaction

    def complete(self, code: str, state: str, transaction: Transaction, redirect_uri: str) -> str:
        """Exchange the code (checking the state) for the issuer's access token; returns the token."""
        if not secrets.compare_digest(state, transaction.state):
            raise LoginFailed("the login answer does not match the login that was started: start again")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": transaction.verifier,
            "client_id": self.settings.dashboard_client_id,
            "resource": self.config.audience,
        }
        secret = self.settings.dashboard_client_secret
        auth = (self.settings.dashboard_client_id, secret) if secret else None
        try:
            response = httpx.post(str(self._discovery()["token_endpoint"]), data=form, auth=auth, timeout=TIMEOUT)
            body = orjson.loads(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise LoginFailed("the identity provider's token endpoint did not answer properly") from exc
        if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise LoginFailed(f"the identity provider refused the login ({error or response.status_code})")
        token: str = body["access_token"]
        return token


__all__ = ["LoginFailed", "OidcLogin", "Transaction", "challenge"]

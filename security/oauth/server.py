"""The token endpoint: authlib's RFC 6749 ``AuthorizationServer`` with the client-credentials grant, adapted.

authlib has no Starlette integration, so this module is that adapter, kept framework-neutral: a
:class:`TokenRequest` (method, URL, form fields, headers) goes in, a :class:`TokenOutcome` (status, JSON body,
headers, and who asked, for the audit) comes out. The HTTP route (gateway/api/oauth.py) and ``clients token``
(security/console.py) both go through :meth:`TokenServer.token`, so the CLI issues tokens exactly as the API does.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientCredentialsGrant,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    UnauthorizedClientError,
)
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.settings import Settings
from security.authn import unverified_claims
from security.keys import SigningKeys
from security.oauth.client_keys import ClientKeys
from security.oauth.clients import Client, ClientRegistry
from security.oauth.errors import oauth_text
from security.oauth.grantable import grantable
from security.oauth.jti import SpentAssertions
from security.oauth.rfc7523 import PrivateKeyJWT, reject_repeated
from security.oauth.tokens import AccessTokens, token_endpoint
from security.scopes import ScopeError, Scopes

log = logging.getLogger("cpts.oauth")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class TokenRequest:
    """What the token endpoint needs of an HTTP request, whatever the framework."""

    method: str
    url: str
    form: list[tuple[str, str]]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class TokenOutcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    client: str | None = None  # the client id it was issued to, or the one that was claimed
    role: str | None = None
    tenant: str | None = None
    token_id: str | None = None  # the jti of the issued access token
    asked: str = ""  # the request's parameters without the assertion (for the audit trail)

    @property
    def issued(self) -> bool:
        return self.status == 200


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, form: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in form:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: TokenRequest, *, require_https: bool) -> None:
        uri = request.url
        if not require_https and not is_secure_transport(uri):
            uri = "https://" + uri.split("://", 1)[-1]  # development on a non-loopback http address
        super().__init__(method=request.method, uri=uri, headers=request.headers)
        self.uri = request.url
        self.payload = _Payload(request.form)
        self.attempted_client: str | None = None
        self.granted_scope: str = ""

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data


class SmartClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    """client_credentials, authenticated by private_key_jwt only, with SMART scopes narrowed to what is allowed."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

    def validate_requested_scope(self) -> None:
        client: Client = self.request.client
        try:
            role = client.role_definition
        except KeyError as exc:  # roles.yaml changed since the client was registered
            unknown = oauth_text(f"the client's role {client.role} is unknown here")
            raise UnauthorizedClientError(description=unknown) from exc
        registered = Scopes.parse(client.scopes, ignore_unknown=True)
        requested = self.request.payload.scope
        if requested is None:
            # RFC 6749 §3.3: no scope asked, the default applies: everything registered that the role allows
            granted = grantable(str(registered), registered, role) if registered.items else []
        else:
            try:
                granted = grantable(requested, registered, role)
            except ScopeError as exc:
                raise InvalidScopeError(description=oauth_text(str(exc))) from exc
            if not granted:
                raise InvalidScopeError(
                    description=oauth_text(
                        f"none of the requested scopes is allowed to {client.name} (role {client.role}, "
                        f"registered scopes: {client.scopes or 'none'})"
                    )
                )
        self.request.granted_scope = " ".join(granted)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=self.request.granted_scope, include_refresh_token=False)
        return 200, token, list(self.TOKEN_RESPONSE_HEADER)


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, settings: Settings, engine: Engine, keys: SigningKeys, client_keys: ClientKeys | None = None):
        super().__init__(scopes_supported=None)
        self.settings = settings
        self.registry = ClientRegistry(engine)
        self.tokens = AccessTokens(settings, keys)
        self.register_grant(SmartClientCredentials)
        self.register_client_auth_method(
            "private_key_jwt",
            PrivateKeyJWT(token_endpoint(settings), SpentAssertions(engine), client_keys or ClientKeys()),
        )
        self.register_token_generator("default", self._generate)

    def _generate(self, grant_type: str, client: Client, scope: str | None = None, **_: Any) -> dict[str, Any]:
        return self.tokens.issue(client, scope or "")

    def query_client(self, client_id: str) -> Client | None:
        return self.registry.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Access tokens are self-contained JWTs: nothing to store."""

    def create_oauth2_request(self, request: TokenRequest) -> _Request:
        return _Request(request, require_https=self.settings.env == "production")

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        # authlib answers invalid_client with a Basic challenge: wrong here, clients authenticate with a signed JWT
        kept = {name: value for name, value in headers if name.lower() != "www-authenticate"}
        return status, body, {**kept, **NO_STORE}

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals here (authlib's frameworks use them for hooks)."""

    def _check(self, request: _Request) -> None:
        if request.method != "POST":
            raise InvalidRequestError(description="the token endpoint takes POST")
        reject_repeated(request.payload.datalist)
        if not request.payload.grant_type:
            raise InvalidRequestError(description="grant_type is missing (client_credentials)")

    def token(self, request: TokenRequest) -> TokenOutcome:
        """Answer a token request: a token, or an RFC 6749 error (never an exception)."""
        try:
            oauth_request = self.create_oauth2_request(request)
        except OAuth2Error as error:  # production over plain http
            return TokenOutcome(*self.handle_response(*error()))
        try:
            self._check(oauth_request)
            grant = self.get_token_grant(oauth_request)
            grant.validate_token_request()
            status, body, headers = self.handle_response(*grant.create_token_response())
        except OAuth2Error as error:
            status, body, headers = self.handle_error_response(oauth_request, error)
        except SQLAlchemyError:
            log.exception("token endpoint: database error")
            status, body, headers = 503, {"error": "temporarily_unavailable"}, dict(NO_STORE)
        client: Client | None = oauth_request.client
        if client is not None:
            outcome = TokenOutcome(status, body, headers, client.name, client.role, client.tenant)
        else:
            outcome = TokenOutcome(status, body, headers, oauth_request.attempted_client)
        if outcome.issued:
            outcome.token_id = unverified_claims(body["access_token"]).get("jti")
        shown = ("grant_type", "scope", "client_assertion_type", "client_id")
        outcome.asked = urlencode([(name, value) for name, value in request.form if name in shown])
        return outcome


__all__ = ["TokenOutcome", "TokenRequest", "TokenServer"]

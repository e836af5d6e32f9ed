"""The gateway's OAuth2 authorization server (SMART Backend Services) and the verifier of the tokens it issues.

Modules by standard: ``rfc6749`` grant and server adapter (server.py), ``rfc7523`` client assertions, access tokens
(tokens.py), the verifier, the client registry and the discovery document. Build the pieces with
:func:`token_server` and :func:`gateway_verifier`.
"""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.settings import Settings
from security.keys import signing_keys
from security.oauth.client_keys import ClientKeys
from security.oauth.clients import Client, ClientError, ClientRegistry
from security.oauth.discovery import smart_configuration
from security.oauth.server import TokenOutcome, TokenRequest, TokenServer
from security.oauth.verifier import ClientPresence, GatewayTokenVerifier


def token_server(settings: Settings, engine: Engine, client_keys: ClientKeys | None = None) -> TokenServer:
    return TokenServer(settings, engine, signing_keys(settings), client_keys)


def gateway_verifier(settings: Settings, engine: Engine, client_cache_seconds: float = 30.0) -> GatewayTokenVerifier:
    presence = ClientPresence(ClientRegistry(engine).registered_at, ttl=client_cache_seconds)
    return GatewayTokenVerifier(settings, signing_keys(settings), presence)


__all__ = [
    "Client",
    "ClientError",
    "ClientRegistry",
    "GatewayTokenVerifier",
    "TokenOutcome",
    "TokenRequest",
    "TokenServer",
    "gateway_verifier",
    "smart_configuration",
    "token_server",
]

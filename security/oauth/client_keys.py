"""The public keys a client signs its assertions with: its registered JWK Set, or its JWKS URL fetched and cached.

A JWKS URL is fetched with a short timeout and cached; an assertion whose ``kid`` is not in the cached set makes
one refetch (the client rotated its key), at most once every few seconds per URL so a stream of bogus kids cannot
turn the gateway into a request amplifier.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from security.oauth.clients import Client, ClientError, public_key_set

FETCH_TIMEOUT_SECONDS = 3.0
CACHE_SECONDS = 300.0
REFETCH_INTERVAL_SECONDS = 5.0


class ClientKeyError(Exception):
    """No key of the client can verify this assertion (the token endpoint answers ``invalid_client``)."""


class ClientKeys:
    """Finds the key a client names with ``kid`` (or its only key when the assertion names none)."""

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, KeySet]] = {}  # url -> (fetched at, keys)

    def _fetch(self, url: str) -> KeySet:
        try:
            with httpx.Client(timeout=FETCH_TIMEOUT_SECONDS, transport=self._transport) as http:
                response = http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
            if not isinstance(document, dict):
                raise ClientKeyError(f"the client's JWKS at {url} is not a JSON object")
            keys = KeySet.import_key_set(public_key_set(document))  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise ClientKeyError(f"the client's JWKS could not be fetched from {url} ({type(exc).__name__})") from exc
        except (ValueError, ClientError, JoseError) as exc:
            raise ClientKeyError(f"the client's JWKS at {url} is not a valid JWK Set ({exc})") from exc
        with self._lock:
            self._cache[url] = (time.monotonic(), keys)
        return keys

    def _from_url(self, url: str, kid: str | None) -> KeySet:
        with self._lock:
            cached = self._cache.get(url)
        now = time.monotonic()
        if cached is None or now - cached[0] > CACHE_SECONDS:
            return self._fetch(url)
        fetched_at, keys = cached
        known = kid is None or any(key.kid == kid for key in keys)
        if not known and now - fetched_at > REFETCH_INTERVAL_SECONDS:
            return self._fetch(url)
        return keys

    def key_set(self, client: Client, kid: str | None) -> KeySet:
        if client.jwks is not None:
            return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
        if client.jwks_url:
            return self._from_url(client.jwks_url, kid)
        raise ClientKeyError("the client has no registered key")

    def key(self, client: Client, header: dict[str, Any]) -> Key:
        """The key to verify an assertion with this header: the one its ``kid`` names."""
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise ClientKeyError("the assertion's kid is not a string")
        keys = list(self.key_set(client, kid))
        if kid is None:
            if len(keys) == 1:
                return keys[0]
            raise ClientKeyError("the assertion has no kid and the client has several keys")
        for key in keys:
            if key.kid == kid:
                return key
        raise ClientKeyError(f"no key of client '{client.name}' has kid '{kid}'")


__all__ = ["ClientKeyError", "ClientKeys"]

"""Client authentication with a signed JWT (RFC 7523 §2.2), as SMART Backend Services profiles it.

The client sends ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a
``client_assertion`` signed RS384 or ES384 (nothing else: not ``none``, not HMAC) with a key of its registered
JWKS, chosen by ``kid``. Its claims: ``iss`` = ``sub`` = the client id, ``aud`` = this token endpoint, ``exp`` at
most five minutes ahead, and a ``jti`` that is spent on first use (table ``oauth_jti``, shared by every process).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError

from security.oauth.client_keys import ClientKeyError, ClientKeys
from security.oauth.clients import ASSERTION_ALGORITHMS, Client
from security.oauth.errors import oauth_text
from security.oauth.jti import SpentAssertions

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME_SECONDS = 300  # SMART: exp no more than five minutes in the future
LEEWAY_SECONDS = 30  # clock skew between the client and the gateway


def invalid_client(text: str) -> InvalidClientError:
    return InvalidClientError(description=oauth_text(text), status_code=401)


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_client(f"the assertion's {name} is not a NumericDate (seconds since the epoch)")
    return float(value)


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    """authlib's RFC 7523 client authentication, pinned to the SMART rules and the gateway's stores."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, token_url: str, spent: SpentAssertions, keys: ClientKeys) -> None:
        super().__init__(validate_jti=True, leeway=LEEWAY_SECONDS)
        self.audience = token_url
        self.spent = spent
        self.keys = keys

    def get_audiences(self) -> list[str]:
        return [self.audience]

    def __call__(self, query_client: Any, request: Any) -> Client:
        form = request.form
        assertion_type = form.get("client_assertion_type")
        assertion = form.get("client_assertion")
        if not assertion_type and not assertion:
            raise invalid_client(
                f"authenticate with a signed JWT: client_assertion_type={ASSERTION_TYPE} and client_assertion"
            )
        if assertion_type != ASSERTION_TYPE:
            raise invalid_client(f"client_assertion_type must be {ASSERTION_TYPE}")
        if not assertion:
            raise invalid_client("client_assertion is missing")
        try:
            header, claims = self.extract_assertion(assertion)
        except InvalidClientError as exc:
            raise invalid_client(f"the client assertion is not a signed JWT ({exc.description})") from exc
        algorithm = header.get("alg")
        if algorithm not in ASSERTION_ALGORITHMS:
            raise invalid_client(f"the client assertion must be signed RS384 or ES384, not {algorithm!s}")
        issuer, subject = claims.get("iss"), claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise invalid_client("the assertion has no sub (the client id)")
        if issuer != subject:
            raise invalid_client("the assertion's iss and sub must both be the client id")
        named = form.get("client_id")
        if named is not None and named != subject:
            raise invalid_client("client_id does not match the assertion's sub")
        request.attempted_client = subject
        client = query_client(subject)
        if client is None:
            raise invalid_client(f"no client '{subject}' is registered here")
        request.client = client
        try:
            key = self.keys.key(client, header)
        except ClientKeyError as exc:
            raise invalid_client(str(exc)) from exc
        try:
            token = jwt.decode(assertion, key, algorithms=[algorithm])
        except JoseError as exc:
            raise invalid_client(
                f"the assertion's signature does not verify with the client's key ({exc.error})"
            ) from exc
        self.verify_claims(token.claims)
        result: Client = self.authenticate_client(client)
        return result

    def verify_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise invalid_client(f"the assertion's aud must be the token endpoint {self.audience}")
        expires = _number(claims, "exp")
        if expires is None:
            raise invalid_client("the assertion has no exp")
        if expires < now - LEEWAY_SECONDS:
            raise invalid_client("the assertion has expired")
        if expires > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise invalid_client("the assertion's exp is more than five minutes in the future")
        not_before = _number(claims, "nbf")
        if not_before is not None and not_before > now + LEEWAY_SECONDS:
            raise invalid_client("the assertion is not valid yet (nbf)")
        issued = _number(claims, "iat")
        if issued is not None and issued > now + LEEWAY_SECONDS:
            raise invalid_client("the assertion was issued in the future (iat)")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise invalid_client("the assertion has no jti")
        if len(jti) > 255:
            raise invalid_client("the assertion's jti is longer than 255 characters")
        if not self.spent.spend(str(claims["sub"]), jti, datetime.fromtimestamp(expires, UTC)):
            raise invalid_client("this assertion (its jti) was already used: sign a new one for each request")


def reject_repeated(datalist: dict[str, list[str]]) -> None:
    """RFC 6749 §3.2: request parameters must not be included more than once."""
    for name, values in datalist.items():
        if len(values) > 1:
            raise InvalidRequestError(description=oauth_text(f"the parameter {name} is repeated"))


__all__ = ["ASSERTION_TYPE", "MAX_LIFETIME_SECONDS", "PrivateKeyJWT", "invalid_client", "reject_repeated"]

"""The registry of OAuth clients (table ``oauth_client``): who may ask for tokens, with which role, tenant and scopes.

A client proves who it is with a JWT signed by its private key (SMART Backend Services); the registry keeps its
public key (a JWK Set) or the URL of its JWKS. For the demo clients the gateway generates the key pair itself and
keeps the private JWK under ``CPTS_KEYS_DIR/clients/NAME.json`` (mode 0600), so ``clients token`` can sign for them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import Engine, Table, delete, select

from gateway.storage.db import write_transaction
from security.models import OAuthClientRow
from security.principal import SANDBOX_TENANT
from security.roles import DEVELOPER, Role, role_named
from security.scopes import ScopeError, Scopes

CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FINESS = re.compile(r"^(?:[0-9]{2}|2A|2B)[0-9]{7}$")
ID_NAT_PS = re.compile(r"^[0-9][0-9A-Za-z]{1,31}$")
ASSERTION_ALGORITHMS = ("RS384", "ES384")  # what SMART Backend Services allows for client assertions


_TABLE: Table = OAuthClientRow.__table__  # type: ignore[attr-defined]


class ClientError(ValueError):
    """A client registration that cannot be accepted (the message names the field and the reason)."""


@dataclass(frozen=True)
class Client:
    """A registered client, as authlib's ``ClientMixin`` expects it (only what the token endpoint uses)."""

    name: str
    role: str
    tenant: str | None
    scopes: str
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    managed_key: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    # authlib ClientMixin
    def get_client_id(self) -> str:
        return self.name

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # no shared secrets here: only signed assertions

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method == "private_key_jwt"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    @property
    def role_definition(self) -> Role:
        return role_named(self.role)

    @property
    def token_tenant(self) -> str | None:
        """The tenant the client's tokens carry (an integrator works in the sandbox tenant)."""
        if self.tenant is None and self.role_definition.tenancy == "sandbox":
            return SANDBOX_TENANT
        return self.tenant

    def public(self) -> dict[str, Any]:
        """The public description (``clients list --json``, architecture §9)."""
        return {"name": self.name, "role": self.role, "tenant": self.tenant, "scopes": self.scopes.split()}


def _from_row(row: OAuthClientRow) -> Client:
    return Client(
        name=row.name,
        role=row.role,
        tenant=row.tenant,
        scopes=row.scopes,
        jwks=orjson.loads(row.jwks) if row.jwks else None,
        jwks_url=row.jwks_url,
        managed_key=row.managed_key,
        attributes=orjson.loads(row.attributes) if row.attributes else {},
        created_at=row.created_at,
    )


def public_key_set(jwks: dict[str, Any]) -> dict[str, Any]:
    """Check a client's JWK Set (or single JWK) and return it as a set of public keys with kids."""
    entries = jwks.get("keys") if "keys" in jwks else [jwks]
    if not isinstance(entries, list) or not entries:
        raise ClientError("jwk: expected a JWK or a JWK Set with at least one key")
    public: list[dict[str, Any]] = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ClientError(f"jwk: keys[{n}] is not a JSON object")
        if entry.get("kty") not in ("RSA", "EC"):
            raise ClientError(f"jwk: keys[{n}]: kty must be RSA or EC (the assertion algorithms are RS384, ES384)")
        if entry.get("kty") == "EC" and entry.get("crv") != "P-384":
            raise ClientError(f"jwk: keys[{n}]: an EC key must be on P-384 (ES384)")
        try:
            key = KeySet.import_key_set({"keys": [entry]}).keys[0]
        except (JoseError, ValueError, TypeError) as exc:
            raise ClientError(f"jwk: keys[{n}] is not a valid key: {exc}") from exc
        if key.is_private and "d" in entry:
            key = KeySet.import_key_set({"keys": [dict(key.as_dict(private=False))]}).keys[0]
        body = dict(key.as_dict(private=False))
        body["kid"] = entry.get("kid") or key.thumbprint()
        public.append(body)
    return {"keys": public}


def validate_registration(
    name: str,
    role: str,
    tenant: str | None,
    scopes: str,
    attributes: dict[str, Any],
) -> None:
    """The rules of a registration; raises :class:`ClientError` naming what is wrong."""
    if not CLIENT_NAME.match(name):
        raise ClientError(f"name: '{name}' must be 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")
    if role == DEVELOPER:
        raise ClientError("role: 'developer' is development open access, not a client role")
    try:
        definition = role_named(role)
    except KeyError as exc:
        raise ClientError(f"role: {exc.args[0]}") from exc
    if definition.tenancy == "own":
        if not tenant:
            raise ClientError(f"tenant: a {role} client belongs to a centre: --tenant FINESS is required")
        if not FINESS.match(tenant):
            raise ClientError(f"tenant: '{tenant}' is not a FINESS number (9 characters, e.g. 350000014)")
    elif tenant:
        implicit = " (an integrator works in the sandbox tenant)" if definition.tenancy == "sandbox" else ""
        raise ClientError(f"tenant: a {role} client has no tenant{implicit}")
    try:
        parsed = Scopes.parse(scopes)
    except ScopeError as exc:
        raise ClientError(f"scope: {exc}") from exc
    if scopes.strip() and not parsed.items:
        raise ClientError(f"scope: '{scopes}' holds no SMART resource scope")
    if role == "practitioner":
        if not attributes.get("practitioner_id"):
            raise ClientError("practitioner: a practitioner client needs --practitioner IDNAT_PS")
    elif attributes:
        raise ClientError(f"practitioner: only practitioner clients carry practitioner attributes, not {role}")
    if attributes.get("practitioner_id") and not ID_NAT_PS.match(str(attributes["practitioner_id"])):
        raise ClientError(f"practitioner: '{attributes['practitioner_id']}' is not an idNat_PS (e.g. 810002345678)")
    for structure in attributes.get("structures", []):
        if not FINESS.match(structure) and not re.fullmatch(r"[0-9]{14}", structure):
            raise ClientError(f"structure: '{structure}' is neither a FINESS (9 characters) nor a SIRET (14 digits)")


def default_scopes(role: str) -> str:
    """What a client may be granted when no ``--scope`` is given: everything its role can use."""
    try:
        definition = role_named(role)
    except KeyError as exc:
        raise ClientError(f"role: {exc.args[0]}") from exc
    if definition.write:
        return "system/*.cruds"
    if definition.read:
        return "system/*.rs"
    return ""


class ClientRegistry:
    """Add, find, list and remove clients; every call is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(
        self,
        name: str,
        *,
        role: str,
        tenant: str | None = None,
        scopes: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Raise :class:`ClientError` if this registration would be refused (before generating a key for it)."""
        attributes = {k: v for k, v in (attributes or {}).items() if v}
        scope_text = " ".join((scopes if scopes is not None else default_scopes(role)).split())
        validate_registration(name, role, tenant, scope_text, attributes)
        if self.get(name) is not None:
            raise ClientError(f"name: a client named '{name}' is already registered (remove it first)")

    def add(
        self,
        name: str,
        *,
        role: str,
        tenant: str | None = None,
        scopes: str | None = None,
        jwks: dict[str, Any] | None = None,
        jwks_url: str | None = None,
        managed_key: bool = False,
        attributes: dict[str, Any] | None = None,
        replace: bool = False,
    ) -> Client:
        attributes = {k: v for k, v in (attributes or {}).items() if v}
        scope_text = " ".join((scopes if scopes is not None else default_scopes(role)).split())
        validate_registration(name, role, tenant, scope_text, attributes)
        if (jwks is None) == (jwks_url is None):
            raise ClientError("key: give exactly one of a public JWK (--jwk FILE) or a JWKS URL (--jwks-url)")
        if jwks_url is not None and not re.match(r"^https?://[^\s/]+", jwks_url):
            raise ClientError(f"jwks-url: '{jwks_url}' is not an http(s) URL")
        key_set = public_key_set(jwks) if jwks is not None else None
        row = OAuthClientRow(
            name=name,
            role=role,
            tenant=tenant or None,
            scopes=scope_text,
            jwks=orjson.dumps(key_set).decode() if key_set else None,
            jwks_url=jwks_url,
            managed_key=managed_key,
            attributes=orjson.dumps(attributes).decode() if attributes else None,
            created_at=datetime.now(UTC).replace(tzinfo=None),
        )
        with write_transaction(self.engine) as conn:  # BEGIN IMMEDIATE on SQLite
            exists = conn.execute(select(_TABLE.c.name).where(_TABLE.c.name == name)).first()
            if exists and not replace:
                raise ClientError(f"name: a client named '{name}' is already registered (remove it first)")
            if exists:
                conn.execute(delete(_TABLE).where(_TABLE.c.name == name))
            conn.execute(_TABLE.insert().values(**row.model_dump()))
        return _from_row(row)

    def get(self, name: str) -> Client | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_TABLE).where(_TABLE.c.name == name)).first()
        return _from_row(OAuthClientRow.model_validate(row._mapping)) if row else None

    def all(self) -> list[Client]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_TABLE).order_by(_TABLE.c.name)).all()
        return [_from_row(OAuthClientRow.model_validate(row._mapping)) for row in rows]

    def remove(self, name: str) -> bool:
        with write_transaction(self.engine) as conn:  # BEGIN IMMEDIATE on SQLite
            result = conn.execute(delete(_TABLE).where(_TABLE.c.name == name))
        return bool(result.rowcount)

    def registered_at(self, name: str) -> datetime | None:
        """When the client was (last) registered, or None when it is not: the verifier's existence check."""
        with self.engine.connect() as conn:
            value = conn.execute(select(_TABLE.c.created_at).where(_TABLE.c.name == name)).scalar()
        return value


def managed_key_path(keys_dir: Path, name: str) -> Path:
    return keys_dir / "clients" / f"{name}.json"


def generate_managed_key(keys_dir: Path, name: str) -> dict[str, Any]:
    """A new ES384 key pair for a client whose key the gateway keeps; the private JWK is written 0600."""
    key = ECKey.generate_key("P-384", private=True, auto_kid=True)
    private = dict(key.as_dict(private=True))
    private.update({"alg": "ES384", "use": "sig"})
    path = managed_key_path(keys_dir, name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(handle, 0o600)
    with os.fdopen(handle, "wb") as stream:
        stream.write(orjson.dumps(private))
    public = dict(key.as_dict(private=False))
    public.update({"alg": "ES384", "use": "sig"})
    return {"keys": [public]}


def load_managed_key(keys_dir: Path, name: str) -> ECKey | None:
    path = managed_key_path(keys_dir, name)
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    try:
        return ECKey.import_key(data)
    except (JoseError, ValueError, TypeError):
        return None


__all__ = [
    "ASSERTION_ALGORITHMS",
    "Client",
    "ClientError",
    "ClientRegistry",
    "default_scopes",
    "generate_managed_key",
    "load_managed_key",
    "managed_key_path",
    "public_key_set",
    "validate_registration",
]

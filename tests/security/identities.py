"""Callers of the secure test server, each a real OAuth client with its own key and a real token.

``Identities.client(...)`` registers a client (ES384 key generated here), signs a SMART Backend Services client
assertion, obtains an access token from ``POST /oauth/token`` over HTTP and returns an httpx client that sends it.
``seed_shared`` writes CPTS-level resources (no tenant), which in production arrive by ingest.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import orjson
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import Engine, select

from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import WriteItem, build_store
from security.models import AuditEventRow
from security.oauth.clients import ClientRegistry

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR = "application/fhir+json"
CENTRE_A, CENTRE_B = "350000014", "350000022"


class Identities:
    def __init__(self, base: str, engine: Engine, settings: Settings) -> None:
        self.base = base
        self.engine = engine
        self.settings = settings
        self._open: list[httpx.Client] = []

    def token(self, name: str, role: str, *, tenant: str | None = None, scopes: str | None = None,
              registered: str | None = None, attributes: dict[str, Any] | None = None) -> str:  # fmt: skip
        key = ECKey.generate_key("P-384", auto_kid=True)
        ClientRegistry(self.engine).add(
            name, role=role, tenant=tenant, scopes=registered if registered is not None else scopes,
            jwks={"keys": [dict(key.as_dict(private=False))]}, attributes=attributes,
        )  # fmt: skip
        now = int(time.time())
        claims = {"iss": name, "sub": name, "aud": f"{self.base}/oauth/token", "iat": now, "exp": now + 240,
                  "jti": secrets.token_hex(12)}  # fmt: skip
        assertion = jwt.encode({"alg": "ES384", "kid": key.kid}, claims, key, algorithms=["ES384"])
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion}  # fmt: skip
        if scopes:
            form["scope"] = scopes
        response = httpx.post(f"{self.base}/oauth/token", data=form, timeout=30)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def client(self, name: str, role: str, **kwargs: Any) -> httpx.Client:
        token = self.token(name, role, **kwargs)
        headers = {"Authorization": f"Bearer {token}", "Accept": FHIR, "Content-Type": FHIR}
        http = httpx.Client(base_url=self.base, timeout=30, headers=headers)
        self._open.append(http)
        return http

    def centre(self, tenant: str, name: str | None = None, scopes: str | None = "system/*.cruds") -> httpx.Client:
        return self.client(name or f"centre-{tenant}", "centre-system", tenant=tenant, scopes=scopes)

    def practitioner(self, name: str, idnat_ps: str, structures: list[str], profession: str = "10") -> httpx.Client:
        attributes = {"practitioner_id": idnat_ps, "structures": structures, "profession": profession}
        return self.client(name, "practitioner", attributes=attributes)

    def seed_shared(self, *resources: dict[str, Any]) -> None:
        store = build_store(self.engine, self.settings)
        items = [WriteItem(r["resourceType"], r["id"], r, tenant=None) for r in resources]
        with write_transaction(self.engine) as conn:
            store.write(conn, items)

    def audited(self, request_id: str) -> dict[str, Any]:
        """The AuditEvent recorded for the request with this X-Request-ID (recorded just after the response)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(AuditEventRow.event).order_by(AuditEventRow.seq.desc()).limit(200)  # type: ignore[attr-defined]
                ).all()
            for (event,) in rows:
                if request_id in event:
                    found: dict[str, Any] = orjson.loads(event)
                    return found
            time.sleep(0.05)
        raise AssertionError(f"no AuditEvent for request {request_id}")

    def close(self) -> None:
        for http in self._open:
            http.close()

"""Demo credentials: one OAuth client per demo role, with a key pair the gateway generates and keeps.

``demo-centre-<n>`` (each centre's information system), ``demo-coordinator``, ``demo-practitioner`` (a GP of the
first centre), ``demo-sas``, ``demo-integrator`` and ``demo-admin``. Registering is idempotent: a client already
registered the same way, whose private key is still on disk, is left alone; otherwise it is registered afresh.
Tokens: ``cpts-gateway clients token demo-coordinator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import Engine

from gateway.demo.options import DemoOptions
from gateway.demo.territory import plan_territory
from gateway.settings import Settings
from security.oauth.clients import (
    Client,
    ClientRegistry,
    default_scopes,
    generate_managed_key,
    load_managed_key,
)


@dataclass(frozen=True)
class DemoClient:
    name: str
    role: str
    tenant: str | None = None
    scopes: str | None = None
    attributes: dict[str, Any] | None = None


def demo_clients(options: DemoOptions) -> list[DemoClient]:
    territory = plan_territory(options)
    clients = [
        DemoClient(f"demo-centre-{centre.index + 1}", "centre-system", centre.finess, "system/*.cruds")
        for centre in territory.centres
    ]
    first = territory.centres[0]
    practitioner = (first.gps or first.practitioners)[0]
    attributes = {
        "practitioner_id": practitioner.id_nat_ps,
        "structures": [first.finess],
        "profession": practitioner.profession.code,
    }
    clients += [
        DemoClient("demo-coordinator", "coordinator"),
        DemoClient("demo-practitioner", "practitioner", attributes=attributes),
        DemoClient("demo-sas", "sas-consumer"),
        DemoClient("demo-integrator", "integrator"),
        DemoClient("demo-admin", "admin"),
    ]
    return clients


def _unchanged(existing: Client | None, wanted: DemoClient, settings: Settings) -> bool:
    if existing is None or not existing.managed_key or load_managed_key(settings.keys_dir, wanted.name) is None:
        return False
    scopes = wanted.scopes if wanted.scopes is not None else default_scopes(wanted.role)
    return (existing.role, existing.tenant, existing.scopes, existing.attributes) == (
        wanted.role,
        wanted.tenant,
        scopes,
        {k: v for k, v in (wanted.attributes or {}).items() if v},
    )


def register_demo_clients(settings: Settings, engine: Engine, options: DemoOptions) -> list[Client]:
    """Register (or keep) the demo clients; none in production, where the gateway never holds a client's key."""
    if settings.env == "production":
        return []
    registry = ClientRegistry(engine)
    registered: list[Client] = []
    for wanted in demo_clients(options):
        existing = registry.get(wanted.name)
        if existing is not None and _unchanged(existing, wanted, settings):
            registered.append(existing)
            continue
        jwks = generate_managed_key(settings.keys_dir, wanted.name)
        registered.append(
            registry.add(
                wanted.name,
                role=wanted.role,
                tenant=wanted.tenant,
                scopes=wanted.scopes,
                jwks=jwks,
                managed_key=True,
                attributes=wanted.attributes,
                replace=True,
            )
        )
    return registered


def print_credentials(clients: list[Client], out: TextIO) -> None:
    if not clients:
        out.write("demo clients: none registered (CPTS_ENV=production: clients bring their own keys)\n")
        return
    out.write("demo clients (SMART Backend Services; the gateway keeps their keys):\n")
    out.write(f"  {'client':<20} {'role':<14} {'tenant':<10} scopes\n")
    for client in clients:
        out.write(f"  {client.name:<20} {client.role:<14} {client.tenant or '-':<10} {client.scopes or '-'}\n")
    out.write("get a token: cpts-gateway clients token demo-coordinator\n")


__all__ = ["DemoClient", "demo_clients", "print_credentials", "register_demo_clients"]

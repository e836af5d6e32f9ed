"""What security adds to a request: token validation + consent filtering, p50 / p95 / p99 (goal: p95 ≤ 2 ms).

Seeds a territory slice (patients of one centre, their appointments, care teams naming a practitioner of another
centre for a third of them, sharing consents for another third), registers a practitioner client whose key the
gateway keeps, obtains a real token, then per simulated request: verifies the token (signature, claims, client
still registered) and filters one page of appointments through the consent rules (the queries included). Also times
the same for a centre system (token only: its own tenant needs no consent decision). The request's own database
transaction (which the search needs anyway) is opened outside the timed part.

    .venv/bin/python bench/auth.py [--patients 2000] [--page 20] [--requests 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine, read_transaction, write_transaction
from gateway.storage.store import RESOURCE, WriteItem, build_store, row_to_stored
from security.access import AccessPolicy
from security.oauth.clients import ClientRegistry, generate_managed_key
from security.oauth.managed import managed_token
from security.setup import build_authenticator

CENTRE_A, CENTRE_B = "350000014", "350000022"
NURSE_PS = "810000000002"


def _patient(pid: str) -> dict[str, Any]:
    identifier = [{"system": f"urn:cpts-gateway:ipp:{CENTRE_A}", "value": pid}]
    return {"resourceType": "Patient", "id": pid, "identifier": identifier, "name": [{"family": f"Nom {pid}"}]}


def _appointment(aid: str, pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": aid,
        "status": "booked",
        "start": "2026-11-23T09:00:00+01:00",
        "end": "2026-11-23T09:15:00+01:00",
        "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"}],
    }


def _care_team(cid: str, pid: str) -> dict[str, Any]:
    member = {"member": {"reference": "Practitioner/pr-nurse"}}
    return {"resourceType": "CareTeam", "id": cid, "status": "active", "subject": {"reference": f"Patient/{pid}"},
            "participant": [member]}  # fmt: skip


def _consent(cid: str, pid: str) -> dict[str, Any]:
    def coded(system: str, code: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": code}]}

    return {
        "resourceType": "Consent",
        "id": cid,
        "status": "active",
        "patient": {"reference": f"Patient/{pid}"},
        "scope": coded("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
        "category": [coded("urn:cpts-gateway:consent-category", "sharing")],
        "policyRule": coded("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN"),
        "dateTime": "2026-10-01T10:00:00+02:00",
        "provision": {"type": "permit"},
    }


def territory(patients: int) -> list[WriteItem]:
    """One appointment per patient; a third of the patients in the nurse's care team, a third who consented."""
    nurse = {"resourceType": "Practitioner", "id": "pr-nurse",
             "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": NURSE_PS}]}  # fmt: skip
    items = [WriteItem("Practitioner", "pr-nurse", nurse, tenant=None)]
    for n in range(patients):
        pid = f"p{n:06d}"
        items.append(WriteItem("Patient", pid, _patient(pid), tenant=CENTRE_A))
        items.append(WriteItem("Appointment", f"a{n:06d}", _appointment(f"a{n:06d}", pid), tenant=CENTRE_A))
        if n % 3 == 0:
            items.append(WriteItem("CareTeam", f"ct{n:06d}", _care_team(f"ct{n:06d}", pid), tenant=CENTRE_A))
        elif n % 3 == 1:
            items.append(WriteItem("Consent", f"c{n:06d}", _consent(f"c{n:06d}", pid), tenant=CENTRE_A))
    return items


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):.3f} ms · p95 {pick(0.95):.3f} ms · p99 {pick(0.99):.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cpts-bench-auth-"))
    url = args.database_url or f"sqlite:///{work}/auth.db"
    settings = Settings(database_url=url, keys_dir=work / "keys", issuer="http://127.0.0.1:8080", log_level="WARNING")
    engine = make_engine(url)
    migrate.upgrade(engine)
    store = build_store(engine, settings)
    with write_transaction(engine) as conn:
        store.write(conn, territory(args.patients))
    registry = ClientRegistry(engine)
    nurse = {"practitioner_id": NURSE_PS, "structures": [CENTRE_B], "profession": "60"}
    for name, role, tenant, attributes in (
        ("bench-nurse", "practitioner", None, nurse),
        ("bench-centre", "centre-system", CENTRE_A, None),
    ):
        registry.remove(name)
        jwks = generate_managed_key(settings.keys_dir, name)
        registry.add(name, role=role, tenant=tenant, jwks=jwks, managed_key=True, attributes=attributes)
    authenticator = build_authenticator(settings, engine)
    policy = AccessPolicy()
    with read_transaction(engine) as conn:
        rows = conn.execute(select(RESOURCE).where(RESOURCE.c.res_type == "Appointment")).all()
    appointments = [row_to_stored(row) for row in rows]
    rng = random.Random(1)
    print(f"territory: {args.patients} patients, {len(appointments)} appointments; page {args.page}; {args.requests} "
          f"requests; backend {url.split(':')[0]}")  # fmt: skip
    for name in ("bench-nurse", "bench-centre"):
        outcome: Any = managed_token(settings, engine, name)
        token = outcome.body["access_token"]
        verify_times, consent_times, totals, kept = [], [], [], []
        for _ in range(args.requests):
            start = rng.randrange(0, max(1, len(appointments) - args.page))
            page = appointments[start : start + args.page]
            with read_transaction(engine) as conn:  # the request's own transaction: not an added cost
                t0 = time.perf_counter()
                principal = authenticator.verify(token)
                t1 = time.perf_counter()
                keep = policy.keep(principal)
                if keep is not None:
                    kept.append(len(keep(conn, page)))
                t2 = time.perf_counter()
            verify_times.append(t1 - t0)
            consent_times.append(t2 - t1)
            totals.append(t2 - t0)
        share = f"; {statistics.mean(kept):.1f} of {args.page} kept per page" if kept else ""
        print(f"{name} ({principal.role.name}){share}")
        print(f"  token validation   {percentiles(verify_times)}")
        print(f"  consent filtering  {percentiles(consent_times)}")
        print(f"  added per request  {percentiles(totals)}")
    engine.dispose()


if __name__ == "__main__":
    main()

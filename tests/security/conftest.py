"""The gateway served *without* open access: every request needs real credentials (tokens, certificates)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import _free_port, serving
from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import GP_PS, IPP_A, NURSE_PS, PS_SYSTEM, appointment, consent, patient, put


@pytest.fixture(scope="session")
def secure_settings(settings: Settings) -> Settings:
    port = _free_port()
    return settings.model_copy(
        update={
            "open_access": False,
            "port": port,
            "issuer": f"http://127.0.0.1:{port}",
            "ingest_worker": False,
            "rate_limit_per_minute": 1200,
            "rate_limit_burst": 200,
        }
    )


def serve(settings: Settings) -> Iterator[str]:
    """The gateway with these settings on its loopback port (``settings.port``) until the generator closes."""
    with serving(create_app(settings, configure_logs=False), settings.port) as base:
        yield base


@pytest.fixture(scope="session")
def secure_server(secure_settings: Settings, engine: Engine) -> Iterator[str]:
    """The gateway on its own loopback port, issuer = its own base URL, no open access."""
    yield from serve(secure_settings)


@pytest.fixture
def anonymous(secure_server: str, clean_db: Engine) -> Iterator[httpx.Client]:
    """An HTTP client with no credentials on the secure server, with an empty database."""
    with httpx.Client(base_url=secure_server, timeout=30, headers={"Accept": "application/fhir+json"}) as http:
        yield http


@pytest.fixture
def ids(secure_server: str, clean_db: Engine, secure_settings: Settings) -> Iterator[Identities]:
    """Real OAuth clients of the secure server (each with its own key and token), on an empty database."""
    identities = Identities(secure_server, clean_db, secure_settings)
    yield identities
    identities.close()


@pytest.fixture
def territory(ids: Identities) -> dict[str, httpx.Client]:
    ids.seed_shared(
        {"resourceType": "Practitioner", "id": "pr-nurse", "identifier": [{"system": PS_SYSTEM, "value": NURSE_PS}]},
        {"resourceType": "Practitioner", "id": "pr-gp", "identifier": [{"system": PS_SYSTEM, "value": GP_PS}]},
    )
    a = ids.centre(CENTRE_A)
    for pid, family in (("pa", "Alpha"), ("pc", "Charlie"), ("pd", "Delta")):
        put(a, patient(pid, IPP_A, family))
        put(a, appointment(f"appt-{pid}", pid))
    put(
        a,
        {
            "resourceType": "CareTeam",
            "id": "ct-pa",
            "status": "active",
            "subject": {"reference": "Patient/pa"},
            "participant": [{"member": {"reference": "Practitioner/pr-nurse"}}],
        },
    )
    put(a, consent("c-pd", "pd", "permit", "2026-10-01T10:00:00+02:00", NURSE_PS))
    return {
        "centre": a,
        "nurse": ids.practitioner("nurse", NURSE_PS, [CENTRE_B], "60"),
        "gp": ids.practitioner("gp", GP_PS, [CENTRE_A], "10"),
    }

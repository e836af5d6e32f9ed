"""The security tests' small territory (the secure server and its OAuth clients are in tests/conftest.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.security.identities import CENTRE_A, CENTRE_B, Identities
from tests.security.scenario import GP_PS, IPP_A, NURSE_PS, PS_SYSTEM, appointment, consent, patient, put


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

"""Search queries naming protected values are redacted before the audit trail keeps them."""

from __future__ import annotations

import pytest

from security.protect import redact_query

INS = "urn:oid:1.2.250.1.213.1.4.10"


@pytest.mark.parametrize(
    ("resource_type", "query", "expected"),
    [
        ("Patient", f"identifier={INS}|284053523804256", f"identifier={INS}|redacted"),
        ("Patient", "identifier=284053523804256", "identifier=redacted"),
        ("Patient", "identifier=urn:cpts-gateway:ipp:1|IPP-1", "identifier=urn:cpts-gateway:ipp:1|IPP-1"),
        ("Patient", "family:exact=Martin&gender=female&_count=5", "family:exact=redacted&gender=female&_count=5"),
        ("Patient", "birthdate=1984-05-12&telecom=0612345678", "birthdate=redacted&telecom=redacted"),
        ("Appointment", "patient.name=martin&date=ge2026-01-01", "patient.name=redacted&date=ge2026-01-01"),
        ("Appointment", "actor:Patient.birthdate=1984", "actor:Patient.birthdate=redacted"),
        (
            "Slot",
            "schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|810001234567&status=free",
            "schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|810001234567&status=free",
        ),
        ("Practitioner", "family=martin", "family=martin"),
    ],
)
def test_protected_values_are_redacted(resource_type: str, query: str, expected: str) -> None:
    assert redact_query(resource_type, query) == expected

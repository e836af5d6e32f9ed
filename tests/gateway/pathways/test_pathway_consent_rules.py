"""Rule 4 of the consent engine: a referral's recipient (Task.owner, ServiceRequest.performer) may read it."""

from __future__ import annotations

import pytest

from security.consent import FINESS, IDNAT_PS, Actor, addressed_to

NURSE = Actor("810000000072", frozenset({"350000022"}), "60", frozenset({"PractitionerRole/r-nurse", "Practitioner/n"}))


@pytest.mark.parametrize(
    ("resource_type", "resource", "expected"),
    [
        ("Task", {"owner": {"reference": "PractitionerRole/r-nurse"}}, True),
        ("Task", {"owner": {"reference": "PractitionerRole/r-other"}}, False),
        ("Task", {"owner": {"identifier": {"system": IDNAT_PS, "value": "810000000072"}}}, True),
        ("Task", {"owner": {"identifier": {"system": FINESS, "value": "350000022"}}}, True),  # her centre
        ("Task", {"owner": {"identifier": {"system": FINESS, "value": "350000014"}}}, False),
        ("Task", {"requester": {"reference": "PractitionerRole/r-nurse"}}, False),  # she asked: not the recipient
        ("Task", {}, False),
        ("ServiceRequest", {"performer": [{"reference": "Practitioner/x"}, {"reference": "Practitioner/n"}]}, True),
        ("ServiceRequest", {"performer": [{"reference": "Practitioner/x"}]}, False),
        ("CarePlan", {"author": {"reference": "PractitionerRole/r-nurse"}}, False),  # only referrals
    ],
)
def test_addressed_to(resource_type: str, resource: dict[str, object], expected: bool) -> None:
    assert addressed_to(NURSE, resource_type, resource) is expected

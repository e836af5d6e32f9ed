"""The outbound URL policy (security/outbound.py): Subscription endpoints and conformance targets."""

from __future__ import annotations

import pytest

from security.outbound import outbound_refusal

CENTRE = ["https://si.centre-a.fr/fhir/"]


@pytest.mark.parametrize(
    ("production", "allowed", "url", "refused"),
    [
        (False, [], "http://127.0.0.1:9000/hook", False),  # development, no list: local receivers
        (False, [], "file:///etc/passwd", True),  # never anything but http(s)
        (False, CENTRE, "https://si.centre-a.fr/fhir/Task", False),
        (False, CENTRE, "https://si.centre-a.fr.evil.example/fhir/", True),
        (False, CENTRE, "http://169.254.169.254/latest/meta-data/", True),
        (True, [], "https://si.centre-a.fr/fhir/", True),  # production needs the list
        (True, ["http://si.centre-a.fr/"], "http://si.centre-a.fr/hook", True),  # and https
        (True, CENTRE, "https://si.centre-a.fr/fhir/", False),
    ],
)
def test_outbound_policy(production: bool, allowed: list[str], url: str, refused: bool) -> None:
    refusal = outbound_refusal(url, allowed, production=production, setting="CPTS_X")
    assert (refusal is not None) == refused
    if refusal and allowed:
        assert "CPTS_X" in refusal or "https" in refusal

"""Scope granting: never more than registered, never more than the role allows; v1 and v2 alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fhir.resources import SUPPORTED
from security.oauth.grantable import grantable
from security.roles import default_roles, role_named
from security.scopes import Scopes

TYPES = sorted(SUPPORTED)
LETTERS = "cruds"
_ROLE_CHECK = {"r": "may_read", "s": "may_search", "c": "may_write", "u": "may_write", "d": "may_write"}

scope_words = st.builds(
    lambda context, resource_type, access: f"{context}/{resource_type}.{access}",
    st.sampled_from(["system", "system", "user", "patient"]),
    st.sampled_from(["*", *TYPES]),
    st.one_of(
        st.sampled_from(["read", "write", "*"]),
        st.sets(st.sampled_from(LETTERS), min_size=1).map(lambda s: "".join(p for p in LETTERS if p in s)),
    ),
)
scope_strings = st.lists(scope_words, min_size=1, max_size=5).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(requested=scope_strings, registered=scope_strings, role_name=st.sampled_from(sorted(default_roles())))
def test_granted_scopes_stay_within_registration_and_role(requested: str, registered: str, role_name: str) -> None:
    role = role_named(role_name)
    allowed = Scopes.parse(registered)
    granted = Scopes.parse(" ".join(grantable(requested, allowed, role)))
    asked = Scopes.parse(requested)
    for letter in LETTERS:
        for resource_type in TYPES:
            if granted.permits(letter, resource_type):
                assert allowed.permits(letter, resource_type)
                assert getattr(role, _ROLE_CHECK[letter])(resource_type)
                assert asked.permits(letter, resource_type)


@settings(max_examples=100, deadline=None)
@given(requested=scope_strings)
def test_everything_allowed_is_granted_in_full(requested: str) -> None:
    role = role_named("integrator")  # reads and writes every type
    granted = Scopes.parse(" ".join(grantable(requested, Scopes.parse("system/*.cruds"), role)))
    asked = Scopes.parse(requested)
    for letter in LETTERS:
        for resource_type in TYPES:
            system_asked = any(
                s.context == "system" and letter in s.permissions and s.resource_type in ("*", resource_type)
                for s in asked.items
            )
            assert granted.permits(letter, resource_type) == system_asked


@pytest.mark.parametrize(
    ("role", "requested", "expected"),
    [
        ("centre-system", "system/*.cruds", ["system/*.cruds"]),
        ("centre-system", "system/Slot.read system/Patient.write", ["system/Slot.read", "system/Patient.write"]),
        (
            "practitioner",
            "system/*.cruds",
            [
                "system/*.rs",
                "system/Appointment.cud",
                "system/CarePlan.cud",
                "system/ServiceRequest.cud",
                "system/Subscription.cud",
                "system/Task.cud",
            ],
        ),
        ("sas-consumer", "system/Slot.rs system/Schedule.rs", ["system/Slot.rs", "system/Schedule.r"]),
        ("coordinator", "system/Patient.rs user/Slot.rs openid", []),
        ("admin", "system/*.rs", []),
    ],
)
def test_examples(role: str, requested: str, expected: list[str]) -> None:
    assert grantable(requested, Scopes.parse("system/*.cruds"), role_named(role)) == expected

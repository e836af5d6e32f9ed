"""Which of the requested scopes a client is granted: within its registered scopes AND what its role allows.

A requested scope the client may use in full is granted as it was written (v1 or v2). One it may use only in part
is narrowed, in v2 syntax: letters the role refuses are dropped, and ``system/*`` becomes ``system/*`` for the
permissions allowed on every type plus one scope per type for the rest (a coordinator asking ``system/*.rs``
gets ``system/Slot.rs system/Schedule.rs ...``). Only ``system/`` scopes are granted: backend clients have no user
nor patient context.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.fhir.resources import SUPPORTED
from security.roles import Role
from security.scopes import Scope, Scopes

LETTERS = "cruds"


def _role_allows(role: Role, letter: str, resource_type: str) -> bool:
    if letter == "r":
        return role.may_read(resource_type)
    if letter == "s":
        return role.may_search(resource_type)
    return role.may_write(resource_type)


def _allowed(letter: str, resource_type: str, registered: Scopes, role: Role) -> bool:
    return registered.permits(letter, resource_type) and _role_allows(role, letter, resource_type)


def _letters(permissions: Iterable[str]) -> str:
    return "".join(p for p in LETTERS if p in permissions)


def _narrow(scope: Scope, registered: Scopes, role: Role) -> list[str]:
    if scope.resource_type != "*":
        kept = {p for p in scope.permissions if _allowed(p, scope.resource_type, registered, role)}
        if kept == scope.permissions:
            return [str(scope)]
        return [f"system/{scope.resource_type}.{_letters(kept)}"] if kept else []
    types = sorted(SUPPORTED)
    everywhere = {p for p in scope.permissions if all(_allowed(p, t, registered, role) for t in types)}
    granted = [f"system/*.{_letters(everywhere)}"] if everywhere else []
    for resource_type in types:
        some = {p for p in scope.permissions - everywhere if _allowed(p, resource_type, registered, role)}
        if some:
            granted.append(f"system/{resource_type}.{_letters(some)}")
    return granted


def grantable(requested: str, registered: Scopes, role: Role) -> list[str]:
    """The scope strings to grant for ``requested`` (raises ScopeError for a scope the gateway cannot parse)."""
    granted: list[str] = []
    for word in requested.split():
        parsed = Scopes.parse(word).items
        if not parsed or parsed[0].context != "system":
            continue  # openid, launch, user/..., patient/...: not for a backend client
        scope = parsed[0]
        narrowed = _narrow(scope, registered, role)
        if narrowed == [str(scope)]:
            narrowed = [word]  # granted in full: echo it as the client wrote it (v1 stays v1)
        granted.extend(narrowed)
    return list(dict.fromkeys(granted))


__all__ = ["grantable"]

"""SMART on FHIR scopes, v2 (``system/Slot.rs``, ``system/*.cruds``) and v1 (``system/Slot.read``, ``.write``, ``.*``).

A scope names a context (``system``, ``user`` or ``patient``), a resource type or ``*``, and permissions among
create, read, update, delete and search. Scopes only narrow what the caller's role allows (security/roles.yaml).
Granular v2 scopes with a query (``system/Observation.rs?category=...``) are refused rather than widened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.fhir.resources import SUPPORTED

_SCOPE = re.compile(r"^(system|user|patient)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
OTHER_SCOPES = frozenset({"openid", "fhirUser", "profile", "offline_access", "online_access", "launch"})


class ScopeError(ValueError):
    """A scope string the gateway does not understand (the token endpoint answers ``invalid_scope``)."""


@dataclass(frozen=True)
class Scope:
    context: str
    resource_type: str  # a type or "*"
    permissions: frozenset[str]  # letters among "cruds"

    def __str__(self) -> str:
        letters = "".join(p for p in "cruds" if p in self.permissions)
        return f"{self.context}/{self.resource_type}.{letters}"


def parse_scope(text: str) -> Scope:
    match = _SCOPE.match(text)
    if match is None or match.group(3) == "":
        raise ScopeError(f"'{text}' is not a SMART scope such as system/Slot.rs or system/*.read")
    context, resource_type, access = match.groups()
    if resource_type != "*" and resource_type not in SUPPORTED:
        raise ScopeError(f"'{text}': resource type '{resource_type}' is not served here")
    return Scope(context, resource_type, frozenset(_V1.get(access, access)))


@dataclass(frozen=True)
class Scopes:
    """A parsed scope string. ``permits(letter, type)`` answers whether any scope grants that permission."""

    items: tuple[Scope, ...] = ()
    unrestricted: bool = False  # role-bound callers without SMART scopes (Pro Santé Connect, mTLS, development)

    @classmethod
    def parse(cls, text: str, *, ignore_unknown: bool = False) -> Scopes:
        items: list[Scope] = []
        for word in text.split():
            if word in OTHER_SCOPES:
                continue
            try:
                items.append(parse_scope(word))
            except ScopeError:
                if not ignore_unknown:
                    raise
        return cls(tuple(dict.fromkeys(items)))

    @classmethod
    def everything(cls) -> Scopes:
        return cls((), unrestricted=True)

    def permits(self, permission: str, resource_type: str) -> bool:
        if self.unrestricted:
            return True
        return any(
            permission in s.permissions and s.resource_type in ("*", resource_type) and s.context in ("system", "user")
            for s in self.items
        )

    def within(self, allowed: Scopes) -> Scopes:
        """The scopes of ``self`` that ``allowed`` covers entirely (what a client may be granted of what it asked)."""
        if allowed.unrestricted:
            return self
        kept = []
        for scope in self.items:
            types = sorted(SUPPORTED) if scope.resource_type == "*" else [scope.resource_type]
            if all(allowed.permits(p, t) for p in scope.permissions for t in types):
                kept.append(scope)
        return Scopes(tuple(kept))

    def __str__(self) -> str:
        return " ".join(str(s) for s in self.items)


__all__ = ["OTHER_SCOPES", "Scope", "ScopeError", "Scopes", "parse_scope"]

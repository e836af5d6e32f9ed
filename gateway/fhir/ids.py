"""Deterministic resource ids: the same source keys always give the same FHIR id, so re-sending changes nothing."""

from __future__ import annotations

import re
import uuid

# Fixed namespace of the gateway (a UUID5 namespace; changing it would change every id ever issued).
NAMESPACE = uuid.UUID("6f1d4c1e-2b7a-5c53-9a0e-3c2f8d7b9e41")

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def deterministic_id(resource_type: str, *keys: str | int | None) -> str:
    """A stable id from the resource type and its identifying keys (tenant, identifier system, value, ...)."""
    material = "\x1f".join([resource_type, *("" if k is None else str(k) for k in keys)])
    return str(uuid.uuid5(NAMESPACE, material))


def new_id() -> str:
    """A random id, for resources created without any business identifier."""
    return str(uuid.uuid4())


def is_valid_id(value: str) -> bool:
    """FHIR R4 ``id`` datatype: 1 to 64 characters of ``[A-Za-z0-9-.]``."""
    return bool(ID_PATTERN.match(value))


__all__ = ["ID_PATTERN", "NAMESPACE", "deterministic_id", "is_valid_id", "new_id"]

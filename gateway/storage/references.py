"""Reading a FHIR reference string into the (type, id) it names."""

from __future__ import annotations


def parse_reference(reference: str) -> tuple[str | None, str | None]:
    """``Type/id``, ``Type/id/_history/n`` or an absolute URL ending so -> (type, id); anything else -> (None, None)."""
    if reference.startswith("#") or reference.startswith("urn:"):
        return None, None
    parts = reference.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1]:
        return parts[-2], parts[-1]
    return None, None


__all__ = ["parse_reference"]

"""What the checks read in FHIR resources: codings, terminology (``conformance/terminology.yaml``), identifiers and
their check keys (gateway/checkkeys.py, the demo's INS key)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from gateway.checkkeys import luhn_is_valid
from gateway.demo.identifiers import ins_is_valid

Resource = dict[str, Any]
_FINESS = re.compile(r"^(?:\d{2}|2A|2B)\d{7}$")
_IDNPS_RPPS = re.compile(r"^8\d{11}$")
_IDNPS_ADELI = re.compile(r"^0\d{9}$")


@lru_cache(maxsize=1)
def terms() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((Path(__file__).parent.parent / "terminology.yaml").read_text("utf-8"))
    return data


def codings(concept: Any) -> list[Resource]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def finess_problem(value: str) -> str | None:
    """Why ``value`` is not a FINESS number (None: it is one)."""
    if not _FINESS.match(value):
        return f"{value!r} is not a FINESS number (9 characters: the département, 2A/2B in Corsica, then 7 digits)"
    if value.isascii() and value.isdigit() and not luhn_is_valid(value):
        return f"{value!r} has a wrong FINESS check key (last digit, Luhn)"
    return None


def idnps_problem(value: str) -> str | None:
    """Why ``value`` is not an idNat_PS (None: it is one)."""
    if _IDNPS_ADELI.match(value):
        return None
    if not _IDNPS_RPPS.match(value):
        return f"{value!r} is not an idNat_PS (8 + 11-digit RPPS, or 0 + 9-digit ADELI)"
    if not luhn_is_valid(value[1:]):
        return f"{value!r} carries an RPPS number whose check key (last digit, Luhn) is wrong"
    return None


def idnst_problem(value: str) -> str | None:
    """Why ``value`` is not an idNat_Struct of a FINESS structure (``1`` + FINESS); other prefixes pass."""
    if value.startswith("1"):
        problem = finess_problem(value[1:])
        return None if problem is None else f"idNat_Struct {value!r}: {problem}"
    if value[:1] in ("3", "4") and value[1:].isascii() and value[1:].isdigit():
        return None  # SIRET, RPPS rang: not FINESS-based
    return f"{value!r} is not an idNat_Struct (1 + FINESS, 3 + SIRET or 4 + RPPS rang)"


def ins_problem(value: str) -> str | None:
    if not ins_is_valid(value.upper()):
        return f"{value!r} is not an INS-NIR (15 characters: the NIR and its 2-digit key, 97 - NIR mod 97)"
    return None


def identity_status(patient: Resource) -> str | None:
    """The identity status code of a Patient (fr-core-identity-reliability), None when absent."""
    url = terms()["identity_reliability_url"]
    for extension in patient.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            for sub in extension.get("extension") or []:
                if isinstance(sub, dict) and sub.get("url") == "identityStatus":
                    code = (sub.get("valueCoding") or {}).get("code")
                    return str(code) if code else None
    return None


def identifiers(resource: Resource, system: str) -> Iterator[tuple[int, str]]:
    for index, identifier in enumerate(resource.get("identifier") or []):
        if isinstance(identifier, dict) and identifier.get("system") == system:
            yield index, str(identifier.get("value", ""))


def parse_instant(text: Any) -> datetime | None:
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


__all__ = [
    "Resource",
    "codings",
    "finess_problem",
    "identifiers",
    "identity_status",
    "idnps_problem",
    "idnst_problem",
    "ins_problem",
    "parse_instant",
    "terms",
]

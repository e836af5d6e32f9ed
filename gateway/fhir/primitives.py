"""FHIR R4 primitive datatypes: strict JSON type, regex and range checks, and date/time comparison."""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

MAX_STRING_LENGTH = 1024 * 1024

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"

PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?"),
    "dateTime": re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?"),
    "instant": re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}"),
    "time": re.compile(_TIME),
    "id": re.compile(r"[A-Za-z0-9\-.]{1,64}"),
    "code": re.compile(r"[^\s]+(\s[^\s]+)*"),
    "uri": re.compile(r"\S+"),
    "url": re.compile(r"\S+"),
    "canonical": re.compile(r"\S+"),
    "oid": re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+"),
    "uuid": re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "base64Binary": re.compile(r"(\s*([0-9a-zA-Z+/=]){4}\s*)+"),
    "xhtml": re.compile(r"\s*<div[\s>/][\s\S]*"),
}

_FORMAT_HINTS = {
    "date": "YYYY, YYYY-MM or YYYY-MM-DD",
    "dateTime": "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone",
    "instant": "YYYY-MM-DDThh:mm:ss[.sss] with a time zone",
    "time": "hh:mm:ss",
    "id": "1 to 64 characters among A-Z a-z 0-9 - .",
    "code": "no leading, trailing or repeated whitespace",
    "uri": "no whitespace",
    "url": "no whitespace",
    "canonical": "no whitespace",
    "oid": "urn:oid:<dotted digits>",
    "uuid": "urn:uuid:<lower-case UUID>",
    "base64Binary": "base64 text",
    "xhtml": "an XHTML <div> element",
}

INT_RANGES: dict[str, tuple[int, int]] = {
    "integer": (-(2**31), 2**31 - 1),
    "unsignedInt": (0, 2**31 - 1),
    "positiveInt": (1, 2**31 - 1),
    "integer64": (-(2**63), 2**63 - 1),
}


class Problem(NamedTuple):
    """Why a primitive value is refused."""

    code: str  # FHIR IssueType
    details_code: str
    message: str


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _wrong_type(kind: str, expected: str, value: object) -> Problem:
    return Problem("structure", "VAL-TYPE", f"{kind} must be a JSON {expected}, got a JSON {_json_type(value)}")


def _check_boolean(kind: str, value: object) -> Problem | None:
    return None if isinstance(value, bool) else _wrong_type(kind, "boolean (true or false)", value)


def _check_integer(kind: str, value: object) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return _wrong_type(kind, "integer", value)
    low, high = INT_RANGES[kind]
    if not low <= value <= high:
        return Problem("value", "VAL-PRIMITIVE", f"{kind} {value} is out of range {low}..{high}")
    return None


def _check_decimal(kind: str, value: object) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return _wrong_type(kind, "number", value)
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        return Problem("value", "VAL-PRIMITIVE", f"{kind} must be a finite number")
    return None


def _calendar_ok(value: str) -> bool:
    """A full date part (YYYY-MM-DD) must exist in the calendar (no 30 February)."""
    if len(value) < 10:
        return True
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    return day <= calendar.monthrange(year, month)[1]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _check_string(kind: str, value: object) -> Problem | None:
    if not isinstance(value, str):
        return _wrong_type(kind, "string", value)
    if not value.strip():
        return Problem("value", "VAL-EMPTY", f"{kind} must not be empty or only whitespace")
    if len(value) > MAX_STRING_LENGTH:
        return Problem("value", "VAL-PRIMITIVE", f"{kind} is longer than {MAX_STRING_LENGTH} characters")
    control = _CONTROL.search(value)
    if control is not None:  # FHIR R4 §2.1.28.0.1: below U+0020 only tab, CR and LF (a database cannot store U+0000)
        where = control.start()
        return Problem("value", "VAL-PRIMITIVE", f"{kind} has a control character U+{ord(value[where]):04X} at {where}")
    pattern = PATTERNS.get(kind)
    if pattern is not None and not pattern.fullmatch(value):
        return Problem("value", "VAL-PRIMITIVE", f"{kind} {value[:80]!r} is not valid ({_FORMAT_HINTS[kind]})")
    if kind in ("date", "dateTime", "instant") and not _calendar_ok(value):
        return Problem("value", "VAL-PRIMITIVE", f"{kind} {value!r} is not a calendar date")
    return None


_CHECKERS: dict[str, Callable[[str, object], Problem | None]] = {
    "boolean": _check_boolean,
    "decimal": _check_decimal,
    **dict.fromkeys(INT_RANGES, _check_integer),
}


def check_primitive(kind: str, value: object) -> Problem | None:
    """Check one JSON value against the FHIR primitive ``kind`` (``boolean``, ``date``, ``code``...)."""
    return _CHECKERS.get(kind, _check_string)(kind, value)


def _parse_temporal(value: str) -> datetime | tuple[int, ...] | None:
    """A dateTime with a time as an aware datetime; a (partial) date as a tuple of ints; else None."""
    if not PATTERNS["dateTime"].fullmatch(value) or not _calendar_ok(value):
        return None
    if "T" not in value:
        return tuple(int(part) for part in value.split("-"))
    head, sep, tail = value.partition(":60")  # a leap second: compare as :59
    return datetime.fromisoformat((head + ":59" + tail if sep else value).replace("Z", "+00:00"))


def compare_temporal(first: str, second: str) -> int | None:
    """-1, 0 or 1 like ``first`` vs ``second``; None when unparseable or the precisions make it ambiguous."""
    left, right = _parse_temporal(first), _parse_temporal(second)
    if left is None or right is None:
        return None
    if isinstance(left, datetime) and isinstance(right, datetime):
        return (left > right) - (left < right)
    left_t = (left.year, left.month, left.day) if isinstance(left, datetime) else left
    right_t = (right.year, right.month, right.day) if isinstance(right, datetime) else right
    common = min(len(left_t), len(right_t))
    if left_t[:common] != right_t[:common]:
        return 1 if left_t[:common] > right_t[:common] else -1
    if isinstance(left, tuple) and isinstance(right, tuple) and len(left) == len(right):
        return 0
    return None


__all__ = ["INT_RANGES", "MAX_STRING_LENGTH", "PATTERNS", "Problem", "check_primitive", "compare_temporal"]

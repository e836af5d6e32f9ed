"""INT_R04 request checks: which Slot searches follow the SAS contract, and whether they are well formed.

``GET [base]/Slot?start=ge<dateTime>&start=le<dateTime>&schedule.actor:Practitioner.identifier=<1..25 idNat_PS>
&status=free&_include=Slot:schedule&_include:iterate=Schedule:actor&_include=Slot:service-type-reference
&_include:iterate=HealthcareService:organization``

Dates are dateTimes to the minute at least, with or without an offset (without: the gateway's time zone). The two
CPTS includes (service-type-reference, HealthcareService:organization) may be left out: the national test kit sends
the first-generation request (Slot:schedule and Schedule:actor only) in its response-time test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from gateway.errors import InvalidRequest
from gateway.fhir.dates import DateFormatError, parse_range
from gateway.sas.profiles import IDNPS_SYSTEM

SAS_ROLE = "sas-consumer"
MAX_PRACTITIONERS = 25
IDENTIFIER_PARAM = "schedule.actor:Practitioner.identifier"
REQUIRED_INCLUDES = frozenset({("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor")})
CPTS_INCLUDES = frozenset(
    {("_include", "Slot:service-type-reference"), ("_include:iterate", "HealthcareService:organization")}
)
INCLUDE_NAMES = frozenset({"_include", "_include:iterate"})
ALLOWED = frozenset({"start", IDENTIFIER_PARAM, "status", "_format"}) | INCLUDE_NAMES
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$")
_ID_NAT_PS = re.compile(r"^8\d{11}$")
CODE = "API-SAS-PARAM"


@dataclass(frozen=True)
class SasQuery:
    """A checked INT_R04 request: its pairs (a ``+`` of an offset restored) and the searched window (UTC)."""

    pairs: tuple[tuple[str, str], ...]
    low: datetime
    high: datetime
    practitioners: tuple[str, ...]  # idNat_PS values


def applies(role_name: str, pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether a Slot search follows the SAS contract: always for the SAS, else when it asks for the INT_R04
    include set."""
    return role_name == SAS_ROLE or set(pairs) >= (REQUIRED_INCLUDES | CPTS_INCLUDES)


def _bad(message: str, name: str) -> InvalidRequest:
    return InvalidRequest(f"INT_R04: {message}", expression=f"parameter:{name}", code=CODE)


def _one(pairs: Sequence[tuple[str, str]], name: str) -> str:
    values = [value for key, value in pairs if key == name]
    if len(values) != 1:
        raise _bad(f"'{name}' is mandatory and must appear once (found {len(values)})", name)
    return values[0]


def _date_bounds(pairs: Sequence[tuple[str, str]], zone: tzinfo) -> tuple[dict[str, str], datetime, datetime]:
    values = [value.replace(" ", "+") for key, value in pairs if key == "start"]
    by_prefix = {value[:2]: value for value in values}
    if len(values) != 2 or set(by_prefix) != {"ge", "le"}:
        raise _bad("'start' is mandatory twice: start=ge<dateTime> and start=le<dateTime>", "start")
    bounds: dict[str, tuple[datetime, datetime]] = {}
    for prefix, value in by_prefix.items():
        text = value[2:]
        if not _DATE_TIME.match(text):
            raise _bad(f"start={value}: expected a dateTime such as 2026-11-22T08:00:00.000+01:00", "start")
        try:
            bounds[prefix] = parse_range(text, zone)
        except DateFormatError as exc:
            raise _bad(f"start={value}: {exc}", "start") from exc
    low, high = bounds["ge"][0], bounds["le"][1]
    if low > high:
        raise _bad(f"start=ge{by_prefix['ge'][2:]} is after start=le{by_prefix['le'][2:]}", "start")
    return by_prefix, low, high


def _practitioners(raw: str) -> tuple[str, ...]:
    items = raw.split(",")
    if not 1 <= len(items) <= MAX_PRACTITIONERS:
        raise _bad(f"between 1 and {MAX_PRACTITIONERS} practitioner identifiers, not {len(items)}", IDENTIFIER_PARAM)
    found = []
    for item in items:
        system, bar, value = item.partition("|")
        if not bar or system != IDNPS_SYSTEM or not _ID_NAT_PS.match(value):
            raise _bad(f"'{item}' is not {IDNPS_SYSTEM}|8<RPPS> (8 followed by the 11-digit RPPS)", IDENTIFIER_PARAM)
        found.append(value)
    return tuple(found)


def _includes(pairs: Sequence[tuple[str, str]]) -> None:
    asked = [(key, value) for key, value in pairs if key in INCLUDE_NAMES]
    unknown = [f"{key}={value}" for key, value in asked if (key, value) not in REQUIRED_INCLUDES | CPTS_INCLUDES]
    if unknown:
        raise _bad(f"{', '.join(unknown)} is not an INT_R04 include", "_include")
    if len(set(asked)) != len(asked):
        raise _bad("an _include is repeated", "_include")
    missing = sorted(f"{key}={value}" for key, value in REQUIRED_INCLUDES - set(asked))
    if missing:
        raise _bad(f"missing {', '.join(missing)}", "_include")


def check(pairs: Sequence[tuple[str, str]], zone: tzinfo) -> SasQuery:
    """The checked request, or InvalidRequest (400) naming the parameter at fault."""
    for key, _ in pairs:
        if key not in ALLOWED:
            raise _bad(f"'{key}' is not a parameter of the SAS slot search", key)
    by_prefix, low, high = _date_bounds(pairs, zone)
    practitioners = _practitioners(_one(pairs, IDENTIFIER_PARAM))
    if _one(pairs, "status") != "free":
        raise _bad("status must be 'free'", "status")
    _includes(pairs)
    fixed = tuple((key, by_prefix[value[:2]] if key == "start" else value) for key, value in pairs)
    return SasQuery(fixed, low, high, practitioners)


__all__ = ["IDENTIFIER_PARAM", "MAX_PRACTITIONERS", "SAS_ROLE", "SasQuery", "applies", "check"]

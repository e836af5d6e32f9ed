"""HL7 v2 value transforms: DTM/DT to FHIR dates, HD (assigning authority) to identifier systems."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from mappings.registry import MapContext, MappingProblem, transform

_DTM = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?(?:\.(?P<f>\d{1,4}))?"
    r"(?P<tz>[+-]\d{4})?$"
)
_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """Attach the zone to a local wall-clock time; a time the DST change skips or repeats is an error."""
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    back = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    when = naive.strftime("%d/%m/%Y %H:%M")
    if back == naive:
        raise MappingProblem(f"{when} happens twice in {zone.key} (clocks go back): send the UTC offset", "MAP-DST")
    raise MappingProblem(f"{when} does not exist in {zone.key} (clocks go forward)", "MAP-DST")


def _parse(text: str) -> re.Match[str]:
    match = _DTM.match(text)
    if match is None:
        raise MappingProblem(f"'{text}' is not an HL7 date/time (YYYY[MM[DD[HH[MM[SS]]]]][+ZZZZ])", "MAP-DATE")
    return match


@transform("hl7_date")
def hl7_date(value: Any, _ctx: MapContext) -> str | None:
    """DT or DTM → FHIR date at the precision sent (time and offset are dropped: a birth date is a calendar date)."""
    text = _text(value)
    if text is None:
        return None
    m = _parse(text)
    parts = [m["y"], m["mo"], m["d"]]
    try:
        datetime(int(m["y"]), int(m["mo"] or 1), int(m["d"] or 1))
    except ValueError:
        raise MappingProblem(f"'{text}' is not a valid calendar date", "MAP-DATE") from None
    return "-".join(p for p in parts if p)


@transform("hl7_datetime")
def hl7_datetime(value: Any, ctx: MapContext) -> str | None:
    """DTM → FHIR dateTime. Without an offset the time is the centre's local time (``CPTS_TIMEZONE``)."""
    text = _text(value)
    if text is None:
        return None
    m = _parse(text)
    if m["h"] is None:
        return hl7_date(text[:8], ctx)
    try:
        naive = datetime(
            int(m["y"]),
            int(m["mo"]),
            int(m["d"]),
            int(m["h"]),
            int(m["mi"] or 0),
            int(m["s"] or 0),
            int((m["f"] or "0").ljust(6, "0")[:6]),
        )
    except (TypeError, ValueError):
        raise MappingProblem(f"'{text}' is not a valid date and time", "MAP-DATE") from None
    if m["tz"]:
        sign = 1 if m["tz"][0] == "+" else -1
        hours, minutes = int(m["tz"][1:3]), int(m["tz"][3:5])
        if hours > 14 or minutes > 59:
            raise MappingProblem(f"'{m['tz']}' is not a UTC offset", "MAP-DATE")
        aware = naive.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    else:
        aware = localize(naive, ctx.zone)
    return aware.isoformat(timespec="milliseconds" if m["f"] else "seconds")


@transform("oid_system")
def oid_system(value: Any, _ctx: MapContext) -> str | None:
    """An ISO OID (HD.2) → ``urn:oid:...``; a URI is kept; anything else gives no system."""
    text = _text(value)
    if text is None:
        return None
    if _OID.match(text):
        return f"urn:oid:{text}"
    if re.match(r"^(https?|urn):", text):
        return text
    return None


_SECONDS = {  # duration units (CE.1 of AIS-8, AIP-10, AIL-10, SCH-10): ISO+, UCUM and common spellings
    "S": 1, "SEC": 1, "SECOND": 1, "SECONDS": 1,
    "M": 60, "MIN": 60, "MN": 60, "MINUTE": 60, "MINUTES": 60,
    "H": 3600, "HR": 3600, "HOUR": 3600, "HOURS": 3600,
    "D": 86400, "DAY": 86400, "DAYS": 86400,
}  # fmt: skip
_EMAIL_EQUIPMENT = {"INTERNET", "X.400"}


def _numbered(value: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Named sources ``<name>_<n>`` with their ``duration_<n>`` / ``units_<n>`` partners, in the order of ``n``."""
    found = []
    prefix = f"{name}_"
    for key in value:
        n = key[len(prefix) :]
        if key.startswith(prefix) and n.isascii() and n.isdigit():
            group = {"start": value[key], "duration": value.get(f"duration_{n}"), "units": value.get(f"units_{n}")}
            found.append((int(n), group))
    return [group for _n, group in sorted(found, key=lambda item: item[0])]


@transform("hl7_end")
def hl7_end(value: Any, ctx: MapContext) -> str | None:
    """The end of an appointment from a start and a duration, when no end time is sent.

    Named sources: ``start_1``, ``start_2``... (the same candidates, in the same order, as the start rule; the first
    present is the start), each with its own optional ``duration_<n>`` and ``units_<n>`` (AIS-7/AIS-8 go with AIS-4),
    and a fallback ``duration`` / ``units`` (SCH-9/SCH-10). Units default to minutes. A start without a time of day,
    or no duration, gives no end.
    """
    if not isinstance(value, dict):
        return None
    chosen = next((group for group in _numbered(value, "start") if _text(group["start"])), None)
    if chosen is None:
        return None
    duration, units = chosen["duration"], chosen["units"]
    if _text(duration) is None:
        duration, units = value.get("duration"), value.get("units")
    amount_text = _text(duration)
    if amount_text is None:
        return None
    if not re.fullmatch(r"\d{1,6}(\.\d{1,4})?", amount_text) or float(amount_text) <= 0:
        raise MappingProblem(f"'{amount_text}' is not a positive duration", "MAP-VALUE")
    unit = (_text(units) or "min").upper()
    if unit not in _SECONDS:
        raise MappingProblem(f"'{unit}' is not a duration unit (known: min, h, s, d)", "MAP-VALUE")
    start = hl7_datetime(chosen["start"], ctx)
    if start is None or "T" not in start:
        return None
    begin = datetime.fromisoformat(start)
    end = begin + timedelta(seconds=float(amount_text) * _SECONDS[unit])
    local = _DTM.match(str(chosen["start"]).strip())
    if local is not None and not local["tz"]:  # a local time: the end is local too (the offset may differ)
        end = end.astimezone(ctx.zone)
    return end.isoformat(timespec="milliseconds" if end.microsecond else "seconds")


def _xtn_kind(value: dict[str, Any]) -> str | None:
    number = any(_text(value.get(key)) for key in ("unformatted", "number", "local"))
    email = _text(value.get("email")) is not None
    if not number and not email:
        return None
    equipment = _text(value.get("equipment"))
    if equipment is not None:
        return equipment
    return "Internet" if email and not number else "PH"


@transform("xtn_kind")
def xtn_kind(value: Any, _ctx: MapContext) -> str | None:
    """The telecommunication equipment type (HL7 table 0202) of an XTN ``{equipment: 3, email: 4, number: 1,
    unformatted: 12, local: 7}``: XTN.3 as sent, else ``Internet`` for an e-mail address alone, else ``PH``;
    None when the XTN carries no number nor address. A code table then gives the FHIR ContactPoint.system."""
    return _xtn_kind(value) if isinstance(value, dict) else None


@transform("xtn_value")
def xtn_value(value: Any, _ctx: MapContext) -> str | None:
    """The ContactPoint.value of an XTN (same named sources as :func:`xtn_kind`, plus ``country: 5``, ``area: 6``,
    ``extension: 8``): the e-mail address (XTN.4) for Internet/X.400 equipment, else the unformatted number
    (XTN.12), the number as written (XTN.1), or the number composed of its parts (+country area local xextension)."""
    if not isinstance(value, dict):
        return None
    kind = _xtn_kind(value)
    if kind is None:
        return None
    email = _text(value.get("email"))
    if kind.upper() in _EMAIL_EQUIPMENT and email is not None:
        return email
    for key in ("unformatted", "number"):
        text = _text(value.get(key))
        if text is not None:
            return text
    country, area, local, extension = (_text(value.get(k)) for k in ("country", "area", "local", "extension"))
    if local is None:
        return email
    parts = [f"+{country.lstrip('+')}" if country else None, area, local]
    composed = " ".join(part for part in parts if part)
    return f"{composed} x{extension}" if extension else composed


@transform("unsupported")
def unsupported(value: Any, _ctx: MapContext, message: str) -> None:
    """Rejects the record, at the value's location, whenever the value is present: for structures the gateway
    deliberately does not map (a second patient in one message...)."""
    if _text(value) is not None:
        raise MappingProblem(message, "MAP-UNSUPPORTED")
    return None


__all__ = ["hl7_date", "hl7_datetime", "hl7_end", "localize", "oid_system", "unsupported", "xtn_kind", "xtn_value"]

"""Agenda and activity transforms used by the CSV export mappings.

Professional identifiers (idNat_PS from what centre software exports), slot ends and durations, the SAS slot-type
security labels, opening hours written as ranges in one cell per weekday, pathway member lists and the canonical
URL of a pathway protocol. Every function takes parsed CSV values (``datetime`` aware in the centre's zone,
``bool``, ``int``, ``str``) and raises :class:`~mappings.registry.MappingProblem` for a value it cannot map.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from adapters.csv.values import ValueProblem, parse_time
from mappings.functions.values import fhir_datetime
from mappings.registry import MapContext, MappingProblem, condition, transform

IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
SLOT_TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
SLOT_TYPES = {
    "PUBLIC": "Créneau accessible par le grand public",
    "PRO": "Créneau accessible par les professionnels de santé",
    "SNP": "Créneau accessible par les Régulateurs et Organisateurs de Soins Non Programmés",
    "CPTS": "Créneau accessible par les CPTS",
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOSED = frozenset({"", "-", "ferme", "fermé", "closed"})
_RANGE = re.compile(r"^(\S+?)\s*(?:-|\u2013|à)\s*(\S+)$")  # 08:00-12:00, with a hyphen, an en dash or "à"
_RANGES = re.compile(r"[\s,/+]+(?:et\s+)?")
_MEMBERS = re.compile(r"[\s,;|]+")
_PROTOCOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,63}$")
_IDNPS = re.compile(r"8\d{11}|0\d{9}")  # an idNat_PS: 8 + RPPS or 0 + ADELI
_RPPS = re.compile(r"\d{11}")
_ADELI = re.compile(r"\d{9}")
_MINUTES = re.compile(r"\d{1,5}")
# A CSV export may carry the RNIV status QUAL (qualified) as well as VALI, which HL7 PAM France uses for a validated
# identity whose INS was retrieved (as the HL7 mappings read it): both let the INS be propagated.
QUALIFIED = frozenset({"VALI", "QUAL"})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalize_idnps(text: str) -> str:
    """idNat_PS from what exports carry: ``8`` + RPPS, ``0`` + ADELI, or a bare RPPS (11) / ADELI (9) number."""
    ident = text.replace(" ", "")
    if _IDNPS.fullmatch(ident):
        return ident
    if _RPPS.fullmatch(ident):
        return f"8{ident}"
    if _ADELI.fullmatch(ident):
        return f"0{ident}"
    raise MappingProblem(
        f"'{text}' is not a professional identifier: expected an idNat_PS (8 + 11-digit RPPS, or 0 + 9-digit "
        "ADELI) or a bare RPPS / ADELI number"
    )


@transform("idnat_ps")
def idnat_ps(value: Any, _ctx: MapContext) -> str | None:
    """The idNat_PS of a professional (a bare RPPS gets its ``8``, a bare ADELI its ``0``)."""
    text = _text(value)
    return None if text is None else normalize_idnps(text)


@transform("rpps_of")
def rpps_of(value: Any, _ctx: MapContext) -> str | None:
    """The 11-digit RPPS number inside an RPPS-based idNat_PS (None for an ADELI-based one)."""
    text = _text(value)
    if text is None:
        return None
    ident = normalize_idnps(text)
    return ident[1:] if ident.startswith("8") else None


@transform("ps_reference")
def ps_reference(value: Any, ctx: MapContext, type: str = "Practitioner", kind: str | None = None) -> Any:
    """A conditional reference to a professional by idNat_PS: the Practitioner (national identifier system), or
    with ``kind`` a centre-local resource keyed on it (``PractitionerRole?identifier=urn:cpts-gateway:<kind>:...``)."""
    text = _text(value)
    if text is None:
        return None
    system = f"urn:cpts-gateway:{kind}:{ctx.tenant}" if kind else IDNPS_SYSTEM
    return {"reference": f"{type}?identifier={system}|{normalize_idnps(text)}"}


def _minutes(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MappingProblem(f"'{value}' is not a number of minutes")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not _MINUTES.fullmatch(text):
        raise MappingProblem(f"'{text}' is not a number of minutes")
    return int(text)


def _span(value: Any) -> tuple[datetime, datetime] | None:
    """Start and end from ``{start, end, minutes}``: the end as given, else start + minutes; end after start."""
    if not isinstance(value, dict):
        raise MappingProblem("a start with an end or a duration is expected")
    start, end, minutes = value.get("start"), value.get("end"), _minutes(value.get("minutes"))
    if not isinstance(start, datetime):
        return None
    start = start.astimezone(UTC)  # elapsed time, not wall-clock time: right across daylight saving changes
    if end is None:
        if minutes is None:
            raise MappingProblem("neither an end nor a duration is given")
        end = start + timedelta(minutes=minutes)
    if not isinstance(end, datetime):
        raise MappingProblem(f"'{end}' is not a date and time")
    end = end.astimezone(UTC)
    if end <= start:
        zone = value["start"].tzinfo
        raise MappingProblem(
            f"the end ({end.astimezone(zone):%d/%m/%Y %H:%M}) is not after the start "
            f"({start.astimezone(zone):%d/%m/%Y %H:%M})"
        )
    if minutes is not None and value.get("end") is not None and end - start != timedelta(minutes=minutes):
        raise MappingProblem(f"the end does not match the start plus {minutes} minutes")
    return start, end


@transform("end_of")
def end_of(value: Any, ctx: MapContext) -> str | None:
    """``{start, end, minutes}`` → the end as a FHIR dateTime (given, or start + minutes)."""
    span = _span(value)
    return None if span is None else fhir_datetime(span[1], ctx)


@transform("minutes_between")
def minutes_between(value: Any, _ctx: MapContext) -> int | None:
    """``{start, end, minutes}`` → the length in whole minutes."""
    span = _span(value)
    if span is None:
        return None
    return int((span[1] - span[0]).total_seconds() // 60)


def _flag(value: Any) -> bool:
    return value is True


@transform("slot_security")
def slot_security(value: Any, _ctx: MapContext) -> list[dict[str, str]]:
    """``{snp, cpts, public}`` flags → TRE_R314 slot types for ``meta.security``.

    SNP slots are SNP; other slots are PUBLIC when open to online booking by patients, else PRO (reserved for
    professionals); CPTS is added to either when the slot is offered to the CPTS (as the demo territory does).
    """
    flags = value if isinstance(value, dict) else {}
    codes = ["SNP" if _flag(flags.get("snp")) else "PUBLIC" if _flag(flags.get("public")) else "PRO"]
    if _flag(flags.get("cpts")):
        codes.append("CPTS")
    return [{"system": SLOT_TYPE_SYSTEM, "code": code, "display": SLOT_TYPES[code]} for code in codes]


def _clock(text: str, whole: str) -> time | None:
    """A time of day; ``24:00`` (end of day) is None."""
    if text in ("24:00", "24h", "24h00", "24:00:00"):
        return None
    try:
        return parse_time(text)
    except ValueProblem:
        raise MappingProblem(f"'{text}' in '{whole}' is not a time of day (HH:MM or 14h30)") from None


def parse_ranges(text: str) -> list[tuple[time, time | None]]:
    """``08:00-12:00 14:00-20:00`` → [(08:00, 12:00), (14:00, 20:00)]; an end of None is midnight (``24:00``)."""
    cleaned = text.strip()
    if cleaned.lower() in _CLOSED:
        return []
    ranges: list[tuple[time, time | None]] = []
    for part in _RANGES.split(cleaned.replace(" - ", "-").replace(" à ", "-")):
        if not part:
            continue
        match = _RANGE.match(part)
        if match is None:
            raise MappingProblem(f"'{part}' in '{cleaned}' is not a range of hours like 08:00-12:00")
        start = _clock(match[1], cleaned)
        if start is None:
            raise MappingProblem(f"'{part}' in '{cleaned}' starts at midnight at the end of the day")
        end = _clock(match[2], cleaned)
        if end is not None and end <= start:
            raise MappingProblem(f"'{part}' in '{cleaned}' ends before it starts")
        previous_end = ranges[-1][1] if ranges else time(0)
        if previous_end is None or start < previous_end:
            raise MappingProblem(f"'{part}' in '{cleaned}' overlaps the range before it")
        ranges.append((start, end))
    return ranges


@transform("opening_hours")
def opening_hours(value: Any, _ctx: MapContext, day: str) -> list[dict[str, Any]] | None:
    """One weekday's cell (``08:00-12:00 14:00-20:00``; empty or ``fermé`` when closed) → ``hoursOfOperation``
    entries for ``day`` (mon .. sun), one per range; ``00:00-24:00`` is open all day."""
    if day not in DAYS:
        raise MappingProblem(f"'{day}' is not a day of the week ({', '.join(DAYS)})")
    text = _text(value)
    if text is None:
        return None
    entries: list[dict[str, Any]] = []
    for start, end in parse_ranges(text):
        if start == time(0) and end is None:
            entries.append({"daysOfWeek": [day], "allDay": True})
            continue
        closing = "23:59:59" if end is None else end.isoformat(timespec="seconds")
        entries.append({"daysOfWeek": [day], "openingTime": start.isoformat(timespec="seconds"),
                        "closingTime": closing})  # fmt: skip
    return entries or None


@transform("pathway_members")
def pathway_members(value: Any, _ctx: MapContext) -> list[dict[str, Any]] | None:
    """``{members: "8… 8…", start: date}`` → CareTeam participants (Practitioner by idNat_PS, joined at start)."""
    if not isinstance(value, dict):
        return None
    text = _text(value.get("members"))
    if text is None:
        return None
    start = value.get("start")
    participants: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in _MEMBERS.split(text):
        if not item:
            continue
        ident = normalize_idnps(item)
        if ident in seen:
            continue
        seen.add(ident)
        participant: dict[str, Any] = {"member": {"reference": f"Practitioner?identifier={IDNPS_SYSTEM}|{ident}"}}
        if start is not None:
            participant["period"] = {"start": start.isoformat()}
        participants.append(participant)
    return participants or None


@transform("plan_definition")
def plan_definition(value: Any, _ctx: MapContext, base: str) -> str | None:
    """A pathway protocol code → the canonical URL of its PlanDefinition (``<base>/<code>``)."""
    text = _text(value)
    if text is None:
        return None
    if not _PROTOCOL.fullmatch(text):
        raise MappingProblem(f"'{text}' is not a protocol code (letters, digits, '-' and '.', at most 64)")
    return f"{base.rstrip('/')}/{text}"


@condition("qualified_ins")
def qualified_ins(value: Any, _ctx: MapContext) -> bool:
    """``{status, ins}``: an INS is there and the identity is qualified, so the INS may be propagated."""
    if not isinstance(value, dict):
        return False
    status = _text(value.get("status"))
    return _text(value.get("ins")) is not None and status is not None and status.upper() in QUALIFIED


__all__ = [
    "DAYS",
    "IDNPS_SYSTEM",
    "QUALIFIED",
    "SLOT_TYPES",
    "SLOT_TYPE_SYSTEM",
    "end_of",
    "idnat_ps",
    "minutes_between",
    "normalize_idnps",
    "opening_hours",
    "parse_ranges",
    "pathway_members",
    "plan_definition",
    "ps_reference",
    "qualified_ins",
    "rpps_of",
    "slot_security",
]

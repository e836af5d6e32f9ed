"""Capacity transforms: what the SAS reads of a slot beyond its flags (appointment type) and where the professional
consults (a Location's coordinates). Values arrive parsed (``Decimal`` for CSV decimals, ``bool`` for yes/no)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from mappings.functions.agenda import SLOT_TYPE_SYSTEM, SLOT_TYPES
from mappings.functions.french import idnps, tenant_system
from mappings.registry import MapContext, MappingProblem, transform

SIU_SLOT_PREFIX = "siu-"  # a slot known from an SIU appointment: its id apart from the CSV export's slot ids


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@transform("slot_appointment_type")
def slot_appointment_type(value: Any, _ctx: MapContext) -> str:
    """``{type, snp}`` → the appointment type word: the one given, else ``walkin`` for an SNP slot, else ``routine``
    (looked up afterwards in a code table: an unknown word is refused there, with the allowed ones)."""
    given = value if isinstance(value, dict) else {}
    explicit = _text(given.get("type"))
    if explicit is not None:
        return explicit.lower()
    return "walkin" if given.get("snp") is True else "routine"


def _coordinate(value: Any, name: str, limit: int) -> float:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise MappingProblem(f"'{value}' is not a {name} in decimal degrees", part=name) from None
    if not number.is_finite() or abs(number) > limit:
        raise MappingProblem(f"{name} {value} is outside -{limit}..{limit} degrees", part=name)
    return float(number)


@transform("position")
def position(value: Any, _ctx: MapContext) -> dict[str, float] | None:
    """``{latitude, longitude}`` (WGS84 decimal degrees) → ``Location.position``; nothing when neither is given, a
    problem when only one is (located at the missing one)."""
    given = value if isinstance(value, dict) else {}
    latitude, longitude = _text(given.get("latitude")), _text(given.get("longitude"))
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        missing = "latitude" if latitude is None else "longitude"
        raise MappingProblem("give both the latitude and the longitude, or neither", part=missing)
    return {
        "longitude": _coordinate(given["longitude"], "longitude", 180),
        "latitude": _coordinate(given["latitude"], "latitude", 90),
    }


@transform("siu_slot_types")
def siu_slot_types(value: Any, _ctx: MapContext) -> list[dict[str, str]]:
    """SCH-7 appointment reason → the TRE_R314 slot type of the slot an SIU appointment occupies: a walk-in
    appointment (WALKIN) was taken in a non-scheduled care slot (SNP); any other is a slot for professionals (PRO),
    as a CSV slot that is neither SNP nor public. SIU carries nothing that says a slot is public or CPTS."""
    code = "SNP" if (_text(value) or "").upper() == "WALKIN" else "PRO"
    return [{"system": SLOT_TYPE_SYSTEM, "code": code, "display": SLOT_TYPES[code]}]


@transform("idnps_reference")
def idnps_reference(value: Any, ctx: MapContext, type: str, kind: str) -> dict[str, str] | None:
    """An XCN ``{id, type, authority}`` naming a French professional → a conditional reference to the centre-local
    resource keyed on their idNat_PS (``Schedule?identifier=urn:cpts-gateway:schedule:<FINESS>|8…``)."""
    ident = idnps(value, ctx)
    if ident is None:
        return None
    return {"reference": f"{type}?identifier={tenant_system(None, ctx, kind)}|{ident}"}


@transform("siu_slot_id")
def siu_slot_id(value: Any, _ctx: MapContext) -> str | None:
    """The appointment id (SCH-2.1, else SCH-1.1) → the identifier value of the slot it occupies."""
    text = _text(value)
    return None if text is None else f"{SIU_SLOT_PREFIX}{text}"


@transform("siu_slot_reference")
def siu_slot_reference(value: Any, ctx: MapContext) -> dict[str, str] | None:
    """The appointment id → a conditional reference to the Slot :func:`siu_slot_id` keys."""
    text = _text(value)
    if text is None:
        return None
    return {"reference": f"Slot?identifier={tenant_system(None, ctx, 'slot')}|{SIU_SLOT_PREFIX}{text}"}


__all__ = [
    "SIU_SLOT_PREFIX",
    "idnps_reference",
    "position",
    "siu_slot_id",
    "siu_slot_reference",
    "siu_slot_types",
    "slot_appointment_type",
]

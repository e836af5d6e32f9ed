"""French transforms: tenant-scoped identifier systems, idNat_PS, FINESS, INS, conditional references by identifier."""

from __future__ import annotations

import re
from typing import Any

from gateway.checkkeys import luhn_is_valid
from mappings.registry import MapContext, MappingProblem, condition, transform

IDNPS_OID = "1.2.250.1.71.4.2.1"
INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}
# PAM France conveys the RNIV statuses as PID-32 + presence of the INS: VALI with an INS is a qualified identity
# ("QUAL" is the RNIV name, accepted too); PROV with an INS is a retrieved one (RECUP), never shared.
QUALIFIED_STATUSES = {"VALI", "QUAL"}
BLOCKING_ATTRIBUTES = {"DOUT", "FICT"}  # a doubtful or fictitious identity is never qualified (RNIV)
IDNPS_SYSTEM = f"urn:oid:{IDNPS_OID}"
IPP_TYPES = {"PI", "MR", "PT", "PN"}  # CX.5 of the centre's patient number: PI in PAM France, MR/PT/PN elsewhere
_RPPS = re.compile(r"\d{11}")
_ADELI = re.compile(r"\d{9}")
_IDNPS = re.compile(r"8\d{11}|0\d{9}")
_FINESS = re.compile(r"(?:\d{2}|2A|2B)\d{7}")  # département (Corsica: 2A, 2B), 6-digit serial, check key


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@transform("tenant_system")
def tenant_system(_value: Any, ctx: MapContext, kind: str) -> str:
    """The identifier system of a centre-local identifier: ``urn:cpts-gateway:<kind>:<FINESS>`` (IPP, rdv, ...)."""
    return f"urn:cpts-gateway:{kind}:{ctx.tenant}"


@transform("tenant")
def tenant(_value: Any, ctx: MapContext) -> str:
    """The FINESS of the centre whose data this is."""
    return ctx.tenant


@transform("reference")
def reference(value: Any, ctx: MapContext, type: str, system: str | None = None, kind: str | None = None) -> Any:
    """A conditional reference ``Type?identifier=system|value``, resolved to a literal reference when stored.

    The system is given (``system``), centre-local (``kind``: ``urn:cpts-gateway:<kind>:<FINESS>``), or read from
    a named source ``{system: ..., value: ...}``.
    """
    if isinstance(value, dict):
        ident, system = _text(value.get("value")), system or _text(value.get("system"))
    else:
        ident = _text(value)
    if ident is None:
        return None
    if kind is not None:
        system = tenant_system(None, ctx, kind)
    if not system:
        raise MappingProblem(f"no identifier system to reference {type} '{ident}'")
    return {"reference": f"{type}?identifier={system}|{ident}"}


@transform("tenant_organization")
def tenant_organization(_value: Any, ctx: MapContext) -> dict[str, str]:
    """A reference to the centre's own Organization (by its FINESS)."""
    return {"reference": f"Organization?identifier=https://finess.esante.gouv.fr|{ctx.tenant}"}


@transform("finess")
def finess(value: Any, _ctx: MapContext) -> str | None:
    """A FINESS number (9 characters: département, serial, Luhn check key), spaces removed; refused otherwise.

    The key of a Corsican number (département 2A or 2B) is not checked: how its letters count is not published
    with the register's format, and refusing a valid structure would be worse than missing a typing error there.
    """
    text = _text(value)
    if text is None:
        return None
    number = text.replace(" ", "").upper()
    if not _FINESS.fullmatch(number):
        raise MappingProblem(f"'{text}' is not a FINESS number: expected 9 characters, the département then 7 digits")
    if number.isascii() and number.isdigit() and not luhn_is_valid(number):
        raise MappingProblem(f"'{text}' is not a FINESS number: its check key (last digit) is wrong")
    return number


def _idnps(value: dict[str, Any]) -> str | None:
    ident = _text(value.get("id"))
    if ident is None:
        return None
    kind = (_text(value.get("type")) or "").upper()
    french = kind in ("RPPS", "ADELI", "IDNPS") or _text(value.get("authority")) == IDNPS_OID
    if not french:
        return None
    if _RPPS.fullmatch(ident):  # a bare RPPS number
        return f"8{ident}"
    if _ADELI.fullmatch(ident):  # a bare ADELI number
        return f"0{ident}"
    if _IDNPS.fullmatch(ident):
        return ident
    return None


@transform("idnps")
def idnps(value: Any, _ctx: MapContext) -> str | None:
    """idNat_PS from an XCN ``{id: 1, type: 13, authority: 9.2}``: "8" + RPPS, "0" + ADELI, or as sent."""
    return _idnps(value) if isinstance(value, dict) else None


@condition("has_idnps")
def has_idnps(value: Any, _ctx: MapContext) -> bool:
    """The XCN carries a national professional identifier."""
    return isinstance(value, dict) and _idnps(value) is not None


@condition("ins_authority")
def ins_authority(value: Any, _ctx: MapContext) -> bool:
    """The assigning authority (HD.2) is one of the INS OIDs."""
    return _text(value) in INS_OIDS


@condition("identity_qualified")
def identity_qualified(value: Any, _ctx: MapContext) -> bool:
    """The identity is qualified (PID-32 VALI with an INS): only then may the INS be shared."""
    status = _text(value.get("status") if isinstance(value, dict) else value)
    return status is not None and status.upper() in QUALIFIED_STATUSES


def _numbered(value: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """Named sources ``<name>_<n>_<part>`` or ``<name>_<n>`` grouped by ``n`` (e.g. the repetitions of a field)."""
    groups: dict[str, dict[str, Any]] = {}
    prefix = f"{name}_"
    for key, raw in value.items():
        if key.startswith(prefix):
            number, _, part = key[len(prefix) :].partition("_")
            if number.isascii() and number.isdigit():
                groups.setdefault(number, {})[part or "value"] = raw
    return groups


def _upper(value: Any) -> str | None:
    text = _text(value)
    return text.upper() if text else None


def _qualified(value: dict[str, Any]) -> bool:
    """Whether the ``status_<n>`` sources (the PID-32 repetitions) describe a qualified identity."""
    statuses = {_upper(group.get("value")) for group in _numbered(value, "status").values()}
    return bool(statuses & QUALIFIED_STATUSES) and not statuses & BLOCKING_ATTRIBUTES


def _is_pam_france(value: dict[str, Any]) -> bool:
    profile = _upper(value.get("profile")) or ""
    return _upper(value.get("version")) == "FRA" or profile.startswith("IHE_FRANCE")


@condition("ipp_type")
def ipp_type(value: Any, _ctx: MapContext) -> bool:
    """A PID-3 (or MRG-1) repetition's identifier type (CX.5) is the centre's patient number: PI (IHE PAM France),
    or MR, PT, PN in international messages."""
    return _upper(value) in IPP_TYPES


@condition("ins_shareable")
def ins_shareable(value: Any, _ctx: MapContext) -> bool:
    """A PID-3 repetition holds an INS that may be shared: its ``authority`` (CX.4.2) is an INS OID and the
    identity (``status_1``, ``status_2``... = the PID-32 repetitions) is qualified: VALI (or QUAL), not DOUT/FICT.
    An INS on any other identity (PROV: retrieved but not verified) stays in the centre's software.

    With ``id_type_1``, ``id_type_2``... (the CX.5 of the PID-3 repetitions), one of them must also be an IPP: a
    patient is keyed on its IPP, so without one the INS must not become the first identifier (the patient is then
    rejected for want of an identifier instead of being keyed on its INS)."""
    if not isinstance(value, dict) or _text(value.get("authority")) not in INS_OIDS or not _qualified(value):
        return False
    types = _numbered(value, "id_type")
    return not types or any(_upper(group.get("value")) in IPP_TYPES for group in types.values())


@condition("ins_profile_complete")
def ins_profile_complete(value: Any, ctx: MapContext) -> bool:
    """Everything FR Core Patient INS requires is in the message, so the Patient may claim that profile.

    Named sources: ``authority`` (the INS repetition's CX.4.2) and ``status_<n>`` as for :func:`ins_shareable`;
    ``name_<n>_type|family|given|list`` (PID-5 repetitions: XPN.7, XPN.1.1, XPN.2, XPN.3) — one must be the birth
    name (L) with family, first given name and the list of birth given names; ``place_<n>_type|code`` (PID-11
    repetitions: XAD.7, XAD.9) — one must be the birth place (BDL) with its INSEE code; ``gender`` (PID-8: F, M or
    U, the INS gender value set), ``birth_date`` (PID-7), and ``version`` / ``profile`` as for :func:`pam_france`
    (the birth name list, the birth place and the identity reliability are only mapped from PAM France messages).
    """
    if not isinstance(value, dict) or not _is_pam_france(value) or not ins_shareable(value, ctx):
        return False
    names = _numbered(value, "name").values()
    birth_name = any(
        _upper(n.get("type")) == "L" and all(_text(n.get(k)) for k in ("family", "given", "list")) for n in names
    )
    places = _numbered(value, "place").values()
    birth_place = any(_upper(p.get("type")) == "BDL" and _text(p.get("code")) for p in places)
    gender = _upper(value.get("gender")) in ("F", "M", "U")
    return birth_name and birth_place and gender and _text(value.get("birth_date")) is not None


@condition("pam_france")
def pam_france(value: Any, _ctx: MapContext) -> bool:
    """The message follows IHE PAM France — MSH-12.2 is ``FRA`` (named source ``version``) or MSH-21.2 starts with
    ``IHE_FRANCE`` (``profile``) — and every other named source is present (``code: "9"``: this XAD has XAD.9)."""
    if not isinstance(value, dict):
        return _upper(value) == "FRA"
    others = (raw for key, raw in value.items() if key not in ("version", "profile"))
    return _is_pam_france(value) and all(_text(raw) is not None for raw in others)


@condition("role_in")
def role_in(value: Any, _ctx: MapContext, roles: list[str]) -> bool:
    """A ROL segment names a person (``person``: ROL-4.1) in one of ``roles`` (``role``: ROL-3.1), and does not
    delete that role (``action``: ROL-2 ``DE``)."""
    if not isinstance(value, dict) or _text(value.get("person")) is None:
        return False
    if _upper(value.get("action")) == "DE":
        return False
    return _upper(value.get("role")) in {str(role).upper() for role in roles}


def _xcn_id(value: Any) -> str | None:
    return _text(value.get("id")) if isinstance(value, dict) else _text(value)


@transform("practitioner_system")
def practitioner_system(value: Any, ctx: MapContext) -> str | None:
    """The identifier system of a practitioner named in an XCN ``{id, type, authority}``: idNat_PS for a French
    professional identifier (RPPS, ADELI, idNat_PS), else the centre-local
    ``urn:cpts-gateway:practitioner:<FINESS>``."""
    if _xcn_id(value) is None:
        return None
    if isinstance(value, dict) and _idnps(value) is not None:
        return IDNPS_SYSTEM
    return tenant_system(None, ctx, "practitioner")


@transform("practitioner_value")
def practitioner_value(value: Any, _ctx: MapContext) -> str | None:
    """The identifier value matching :func:`practitioner_system`: idNat_PS ("8" + RPPS...), else XCN.1 as sent."""
    if isinstance(value, dict) and _idnps(value) is not None:
        return _idnps(value)
    return _xcn_id(value)


@transform("practitioner_id_type")
def practitioner_id_type(value: Any, _ctx: MapContext) -> str | None:
    """``IDNPS`` for a national professional identifier, ``INTRN`` for a centre-local one (FR Core v2-0203 codes)."""
    if _xcn_id(value) is None:
        return None
    return "IDNPS" if isinstance(value, dict) and _idnps(value) is not None else "INTRN"


@transform("practitioner_reference")
def practitioner_reference(value: Any, ctx: MapContext) -> dict[str, str] | None:
    """A conditional reference to the Practitioner an XCN names, on the identifier :func:`practitioner_system`
    and :func:`practitioner_value` give it (the same the practitioner mappings produce)."""
    system, ident = practitioner_system(value, ctx), practitioner_value(value, ctx)
    if system is None or ident is None:
        return None
    return {"reference": f"Practitioner?identifier={system}|{ident}"}


__all__ = [
    "finess",
    "has_idnps",
    "identity_qualified",
    "idnps",
    "ins_authority",
    "ins_profile_complete",
    "ins_shareable",
    "ipp_type",
    "pam_france",
    "practitioner_id_type",
    "practitioner_reference",
    "practitioner_system",
    "practitioner_value",
    "reference",
    "role_in",
    "tenant",
    "tenant_organization",
    "tenant_system",
]

"""National identifiers with their check keys: FINESS and RPPS (Luhn), idNat_PS / idNat_Struct, NIR and INS (mod 97).

Demo numbers live in ranges chosen to stay clear of real registers: FINESS ``<dept>99nnnn`` + key,
RPPS ``1999nnnnnn`` + key; INS values are only ever published on the INS *test* OID.
"""

from __future__ import annotations

from datetime import date

from gateway.checkkeys import luhn_is_valid, luhn_key, luhn_sum


def finess(department: str, serial: int) -> str:
    """A 9-character FINESS number: département (2 digits), ``99``, a 4-digit serial and the Luhn key."""
    if len(department) != 2 or not (department.isascii() and department.isdigit()):
        raise ValueError(f"département must be two digits (Corsica is not supported here): {department!r}")
    if not 0 <= serial <= 9999:
        raise ValueError(f"FINESS serial out of range: {serial}")
    payload = f"{department}99{serial:04d}"
    return payload + luhn_key(payload)


def rpps(serial: int) -> str:
    """An 11-digit RPPS number: ``1999``, a 6-digit serial and the Luhn key."""
    if not 0 <= serial <= 999_999:
        raise ValueError(f"RPPS serial out of range: {serial}")
    payload = f"1999{serial:06d}"
    return payload + luhn_key(payload)


def id_nat_ps(rpps_number: str) -> str:
    """The national professional identifier of an RPPS holder: ``8`` + RPPS."""
    return "8" + rpps_number


def id_nat_struct(finess_number: str) -> str:
    """The national structure identifier of a FINESS establishment: ``1`` + FINESS."""
    return "1" + finess_number


def nir(sex: str, birth_date: date, birth_insee: str, order: int) -> str:
    """A 13-character NIR: sex (1/2), birth year and month, birth commune INSEE code, order number."""
    if sex not in ("male", "female"):
        raise ValueError(f"a NIR needs a male or female sex: {sex!r}")
    if len(birth_insee) != 5:
        raise ValueError(f"INSEE commune codes have 5 characters: {birth_insee!r}")
    if not 1 <= order <= 999:
        raise ValueError(f"NIR order number out of range: {order}")
    digit = "1" if sex == "male" else "2"
    return f"{digit}{birth_date.year % 100:02d}{birth_date.month:02d}{birth_insee}{order:03d}"


def nir_key(nir_number: str) -> str:
    """The 2-digit NIR key: 97 - (NIR mod 97), Corsica's 2A/2B counted as 19/18."""
    numeric = nir_number.upper().replace("2A", "19").replace("2B", "18")
    if len(numeric) != 13 or not (numeric.isascii() and numeric.isdigit()):
        raise ValueError(f"a NIR has 13 characters: {nir_number!r}")
    return f"{97 - int(numeric) % 97:02d}"


def ins(nir_number: str) -> str:
    """The 15-character INS-NIR: the NIR followed by its key."""
    return nir_number + nir_key(nir_number)


def ins_is_valid(value: str) -> bool:
    """Whether a 15-character INS-NIR carries the right key."""
    if len(value) != 15 or not (value[13:].isascii() and value[13:].isdigit()):
        return False
    try:
        return nir_key(value[:13]) == value[13:]
    except ValueError:
        return False


__all__ = [
    "finess",
    "id_nat_ps",
    "id_nat_struct",
    "ins",
    "ins_is_valid",
    "luhn_is_valid",
    "luhn_key",
    "luhn_sum",
    "nir",
    "nir_key",
    "rpps",
]

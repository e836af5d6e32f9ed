"""The ``search_slot`` row of a Slot: its Schedule, status, start/end and TRE_R314 slot types in one row.

Capacity searches (the SAS INT_R04 query, coordinators' free SNP slot searches, the ``$capacity`` summary) filter on
exactly these; one row per Slot lets them range-scan a single index instead of joining several index tables.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlalchemy import literal

from gateway.fhir.dates import DateFormatError, parse_range
from gateway.storage.references import parse_reference

SLOT_TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
KINDS_MAX = 255
CODED_PARAMS = ("specialty", "service-type")  # token parameters coordinators filter on, held in the ``codes`` column
CODES_MAX = 1000  # bytes; the text is also a column of ix_slot_snp (PostgreSQL: an index entry holds < 2.7 kB)


def slot_kinds(slot: dict[str, Any]) -> list[str]:
    """The TRE_R314 slot types in ``meta.security`` (SNP, CPTS, PUBLIC, PRO), in order of appearance."""
    meta = slot.get("meta")
    security = meta.get("security") if isinstance(meta, dict) else None
    if not isinstance(security, list):
        return []
    codes = [c.get("code") for c in security if isinstance(c, dict) and c.get("system") == SLOT_TYPE_SYSTEM]
    return list(dict.fromkeys(c for c in codes if isinstance(c, str) and c and " " not in c))


def kinds_column(codes: list[str]) -> str:
    """``" SNP CPTS "``: framed by spaces so that one type is matched with ``LIKE '% SNP %'``."""
    text = f" {' '.join(codes)} " if codes else ""
    return text if len(text) <= KINDS_MAX else ""


def kind_pattern(code: str) -> str:
    return f"% {code} %"


def kind_condition(column: Any, code: str) -> Any:
    """``kinds LIKE '% SNP %'`` with the pattern written into the SQL (quoted by SQLAlchemy), not bound: a partial
    index on that very predicate (``ix_slot_snp``) can only be chosen when the planner sees the pattern."""
    return column.like(literal(kind_pattern(code), literal_execute=True))


def codes_column(token_rows: list[dict[str, Any]]) -> str | None:
    """The Slot's token index rows of :data:`CODED_PARAMS`, as ``" specialty=<system>|<code> service-type=|AMB "``
    (an absent system is empty), so that a token filter is a substring test on the row instead of one index probe
    per candidate (:func:`codes_condition`). None when a value holds a space or a ``|`` (or the text would be too
    long): such a row is probed as before."""
    tokens = []
    for row in token_rows:
        if row["param"] not in CODED_PARAMS:
            continue
        system, code = row.get("system") or "", row.get("code") or ""
        if " " in system or "|" in system or " " in code or "|" in code:
            return None
        tokens.append(f"{row['param']}={system}|{code}")
    text = f" {' '.join(tokens)} " if tokens else " "
    return text if len(text.encode()) <= CODES_MAX else None


def codes_needle(param: str, raw: str) -> str | None:
    """What ``codes`` contains when the token filter value ``raw`` (``|code``, ``system|`` or ``system|code``)
    matches; None when a substring cannot tell: a value with a space, or a code of any system (the caller probes)."""
    if " " in raw or "|" not in raw:
        return None
    system, code = raw.split("|", 1)
    if not system and not code:
        return None
    if not code:
        return f" {param}={system}|"
    return f" {param}={system}|{code} "


def slot_row(slot: dict[str, Any], zone: tzinfo) -> dict[str, Any] | None:
    """The row's columns (without ``res_type`` and ``rid``); None for a Slot without a readable start."""
    start = slot.get("start")
    if not isinstance(start, str):
        return None
    try:
        low, high = parse_range(start, zone)  # the start instant's own range, as the date index holds it
    except DateFormatError:
        return None
    schedule = slot.get("schedule")
    reference = schedule.get("reference") if isinstance(schedule, dict) else None
    schedule_type, schedule_id = parse_reference(reference) if isinstance(reference, str) else (None, None)
    status = slot.get("status")
    return {
        "schedule_id": schedule_id if schedule_type == "Schedule" else None,
        "status": status[:64] if isinstance(status, str) else None,
        "low": low,
        "high": high,
        "kinds": kinds_column(slot_kinds(slot)),
    }


__all__ = [
    "CODED_PARAMS",
    "SLOT_TYPE_SYSTEM",
    "codes_column",
    "codes_needle",
    "kind_condition",
    "kind_pattern",
    "kinds_column",
    "slot_kinds",
    "slot_row",
]

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


__all__ = ["SLOT_TYPE_SYSTEM", "kind_condition", "kind_pattern", "kinds_column", "slot_kinds", "slot_row"]

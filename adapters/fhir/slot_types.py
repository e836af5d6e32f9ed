"""What the gateway requires of a Slot an SI sends in a FHIR (GAP) bundle: its SAS slot type.

GAP agendas send their Slots as they are; the gateway only stores them. But a Slot the SAS and the coordinators
cannot classify is worse than none (it would never be offered, or be offered to the wrong public), and the gateway
has no safe default: which public a slot is open to is the centre's decision. So a Slot must carry at least one slot
type of TRE_R314 in ``meta.security`` (PUBLIC, PRO, SNP, CPTS), and only known codes of that system; otherwise the
entry is refused, located at ``meta.security``, and the centre fixes its agenda's export.
"""

from __future__ import annotations

from typing import Any

SLOT_TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
SLOT_TYPE_CODES = ("PUBLIC", "PRO", "SNP", "CPTS")


def slot_type_problem(resource: dict[str, Any]) -> str | None:
    """Why a Slot cannot be taken (no or unknown TRE_R314 slot type in ``meta.security``); None when it can."""
    if resource.get("resourceType") != "Slot":
        return None
    meta = resource.get("meta")
    labels = meta.get("security") if isinstance(meta, dict) else None
    codes = [
        label.get("code")
        for label in labels or []
        if isinstance(label, dict) and label.get("system") == SLOT_TYPE_SYSTEM
    ] if isinstance(labels, list) else []  # fmt: skip
    if not codes:
        return (
            f"a Slot must carry its SAS slot type in meta.security ({SLOT_TYPE_SYSTEM}: "
            f"{', '.join(SLOT_TYPE_CODES)}); the gateway does not guess which public a slot is open to"
        )
    unknown = sorted({str(code) for code in codes if code not in SLOT_TYPE_CODES})
    if unknown:
        return f"slot type {', '.join(unknown)} is not a code of TRE_R314 ({', '.join(SLOT_TYPE_CODES)})"
    return None


__all__ = ["SLOT_TYPE_CODES", "SLOT_TYPE_SYSTEM", "slot_type_problem"]

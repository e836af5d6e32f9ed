"""The ``search_slot`` row derived from a Slot (what capacity searches filter on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from gateway.storage.slot_rows import SLOT_TYPE_SYSTEM, kind_pattern, kinds_column, slot_kinds, slot_row

PARIS = ZoneInfo("Europe/Paris")


def slot(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Slot", "id": "s", "status": "free", "start": "2030-07-01T08:00:00+02:00", **extra}


def test_a_slot_row_holds_schedule_status_start_and_types() -> None:
    security = [
        {"system": SLOT_TYPE_SYSTEM, "code": "SNP"},
        {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"},
        {"system": SLOT_TYPE_SYSTEM, "code": "CPTS"},
        {"system": SLOT_TYPE_SYSTEM, "code": "SNP"},
    ]
    schedule = {"reference": "https://x.example/fhir/Schedule/a"}
    row = slot_row(slot(meta={"security": security}, schedule=schedule), PARIS)
    assert row == {
        "schedule_id": "a",
        "status": "free",
        "low": datetime(2030, 7, 1, 6, 0),
        "high": datetime(2030, 7, 1, 6, 0, 0, 999999),
        "kinds": " SNP CPTS ",
    }


def test_what_a_row_cannot_hold() -> None:
    assert slot_row(slot(start="soon"), PARIS) is None
    assert slot_row({"resourceType": "Slot", "id": "s"}, PARIS) is None
    row = slot_row(slot(schedule={"reference": "Practitioner/p"}, meta=["not", "a", "meta"], status=7), PARIS)
    assert row is not None
    assert (row["schedule_id"], row["status"], row["kinds"]) == (None, None, "")
    assert slot_kinds(slot(meta={"security": [{"system": SLOT_TYPE_SYSTEM, "code": "S N P"}]})) == []


codes = st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8), max_size=6, unique=True)


@given(codes, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8))
def test_a_type_matches_its_own_code_only(held: list[str], asked: str) -> None:
    """``LIKE '% SNP %'`` on the framed column finds SNP and never a code that merely contains it."""
    column = kinds_column(held)
    pattern = kind_pattern(asked).strip("%")
    assert (pattern in column) == (asked in held)

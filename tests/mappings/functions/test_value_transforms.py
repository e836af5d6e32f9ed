"""Generic value transforms and conditions added for the CSV mappings (first_word, yes_no, is_true)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from mappings.functions.values import first_word, is_true, yes_no
from mappings.registry import MapContext, MappingProblem

CTX = MapContext("759900426", ZoneInfo("Europe/Paris"))


def test_first_word() -> None:
    assert first_word("Marie Hélène Françoise", CTX) == "Marie"
    assert first_word("  Jean-Pierre  Paul", CTX) == "Jean-Pierre"
    assert first_word("", CTX) is None
    assert first_word(None, CTX) is None


def test_yes_no() -> None:
    assert yes_no(True, CTX, yes="completed", no="not-done") == "completed"
    assert yes_no(False, CTX, yes="completed", no="not-done") == "not-done"
    assert yes_no("oui", CTX, yes=1, no=0) == 1
    assert yes_no(None, CTX, yes=1, no=0) is None
    made = yes_no(True, CTX, yes={"text": "a"}, no={"text": "b"})
    made["text"] = "changed"
    assert yes_no(True, CTX, yes={"text": "a"}, no={"text": "b"}) == {"text": "a"}
    with pytest.raises(MappingProblem, match="yes/no"):
        yes_no("peut-être", CTX, yes=1, no=0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (None, False), ("oui", True), ("x", True), ("non", False), ("", False),
     ("bof", False)],
)  # fmt: skip
def test_is_true(value: object, expected: bool) -> None:
    assert is_true(value, CTX) is expected


def test_datetimes_are_rendered_in_the_centre_zone_with_their_offset() -> None:
    from datetime import UTC, datetime

    from mappings.functions.values import add_minutes, fhir_datetime

    paris = CTX.zone
    assert fhir_datetime(datetime(2026, 3, 2, 8, 30, tzinfo=paris), CTX) == "2026-03-02T08:30:00+01:00"
    assert fhir_datetime(datetime(2026, 7, 2, 6, 30, tzinfo=UTC), CTX) == "2026-07-02T08:30:00+02:00"
    assert fhir_datetime(datetime(2026, 3, 29, 2, 30, tzinfo=paris), CTX) == "2026-03-29T03:30:00+02:00"
    start = datetime(2026, 3, 29, 1, 50, tzinfo=paris)
    assert add_minutes({"start": start, "minutes": 20}, CTX) == "2026-03-29T03:10:00+02:00"

"""The ``finess`` transform: a FINESS number is 9 characters (département, serial, Luhn key); anything else is a
located problem, never a silently kept value."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.demo.identifiers import luhn_key
from mappings.functions.french import finess
from mappings.registry import MapContext, MappingProblem

CTX = MapContext("359900016", ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        ("750712184", "750712184"),  # a published FINESS (AP-HP)
        ("359900016", "359900016"),
        (" 75 071 2184 ", "750712184"),  # spaces as people type them
        ("2a0000015", "2A0000015"),  # Corsica: the key is not checked
        ("", None),
        (None, None),
    ],
)
def test_a_finess_number_is_kept(cell: str | None, number: str | None) -> None:
    assert finess(cell, CTX) == number


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("750712185", "check key"),
        ("75071218", "9 characters"),
        ("7507121840", "9 characters"),
        ("2C0000015", "9 characters"),
        ("75O712184", "9 characters"),
        ("1750712184", "9 characters"),  # an idNat_Struct (1 + FINESS) is not a FINESS
    ],
)
def test_a_bad_finess_number_is_refused(cell: str, words: str) -> None:
    with pytest.raises(MappingProblem) as caught:
        finess(cell, CTX)
    assert words in caught.value.message and cell in caught.value.message


@given(st.from_regex(r"[0-9]{8}", fullmatch=True), st.integers(1, 9))
def test_the_luhn_key_decides(payload: str, shift: int) -> None:
    good = payload + luhn_key(payload)
    assert finess(good, CTX) == good
    bad = payload + str((int(luhn_key(payload)) + shift) % 10)
    with pytest.raises(MappingProblem):
        finess(bad, CTX)

"""Pro Santé Connect claims → the practitioner principal (security/psc.py), with property-based parsing tests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.checkkeys import luhn_is_valid
from security.psc import (
    ClaimError,
    parse_id_nat_ps,
    parse_subject_role,
    profession,
    psc_principal,
    structures,
)

ISSUER = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"


def _with_luhn_key(payload: str) -> str:
    for key in "0123456789":
        if luhn_is_valid(payload + key):
            return payload + key
    raise AssertionError("unreachable: one key digit always completes a Luhn number")


rpps_numbers = st.from_regex(r"\A[0-9]{10}\Z").map(_with_luhn_key)
adeli_numbers = st.from_regex(r"\A([0-9]{2}|2A|2B)[0-9]{7}\Z")
oids = st.lists(st.integers(0, 99999), min_size=1, max_size=8).map(lambda parts: "1." + ".".join(map(str, parts)))
profession_codes = st.from_regex(r"\A[0-9A-Za-z]{1,10}\Z")


@given(rpps_numbers)
def test_ext_rpps_id_nat_ps_round_trips(rpps: str) -> None:
    assert parse_id_nat_ps("8" + rpps) == "8" + rpps


@given(rpps_numbers, st.integers(0, 10), st.integers(1, 9))
def test_ext_rpps_with_a_wrong_key_is_refused(rpps: str, position: int, shift: int) -> None:
    digits = list(rpps)
    digits[position] = str((int(digits[position]) + shift) % 10)  # Luhn catches every single-digit change
    with pytest.raises(ClaimError, match="Luhn"):
        parse_id_nat_ps("8" + "".join(digits))


@given(adeli_numbers)
def test_ext_adeli_id_nat_ps_is_accepted(adeli: str) -> None:
    assert parse_id_nat_ps("0" + adeli) == "0" + adeli


@given(st.one_of(st.text(max_size=20), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
def test_ext_anything_else_is_not_an_id_nat_ps(value: Any) -> None:
    well_formed = isinstance(value, str) and (
        re.fullmatch(r"8[0-9]{11}", value) or re.fullmatch(r"0([0-9]{2}|2A|2B)[0-9]{7}", value)
    )
    if well_formed:
        return
    with pytest.raises(ClaimError):
        parse_id_nat_ps(value)


@pytest.mark.parametrize(
    "value", ["ANS20231122132732", "19990000010", "8 19990000010", "819990000010\n", "8" + "\u0661" * 11]
)
def test_ext_known_malformed_id_nat_ps(value: str) -> None:
    with pytest.raises(ClaimError, match="SubjectNameID"):
        parse_id_nat_ps(value)


@given(profession_codes, oids, st.booleans())
def test_ext_subject_role_gives_the_code_before_the_caret(code: str, oid: str, as_list: bool) -> None:
    text = f"{code}^{oid}"
    assert parse_subject_role([text, "99^1.2.3"] if as_list else text) == code
    assert parse_subject_role(code) == code


@given(st.text(max_size=30))
def test_ext_subject_role_parsing_never_crashes(text: str) -> None:
    try:
        code = parse_subject_role(text)
    except ClaimError:
        return
    assert code is not None and text.startswith(code) and code.isascii() and code.isalnum()


@pytest.mark.parametrize("value", ["10^", "^1.2.250", "10^not-an-oid", "10^1.2.250^x", 10, [10]])
def test_ext_malformed_subject_role_is_refused(value: object) -> None:
    with pytest.raises(ClaimError, match="SubjectRole"):
        parse_subject_role(value)


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "SubjectNameID": "819990000010",
        "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"],
        "SubjectRefPro": {
            "exercices": [
                {
                    "codeProfession": "10",
                    "activities": [
                        {"numeroFinessSite": "359900016", "numeroSiretSite": ""},
                        {"numeroFinessSite": "", "numeroSiretSite": "12345678900011"},
                        {"numeroFinessSite": "not-a-finess", "numeroSiretSite": None},
                    ],
                },
                {"codeProfession": "21", "activities": [{"numeroFinessSite": "2A9900013"}]},
            ]
        },
        "given_name": "Camille",
        "family_name": "DEMO",
        "azp": "cpts-portal",
    }
    claims.update(changes)
    return claims


def test_ext_psc_principal() -> None:
    principal = psc_principal(_claims(), issuer=ISSUER)
    assert principal.subject == principal.practitioner_id == "819990000010"
    assert principal.role_name == "practitioner"
    assert principal.profession == "10"
    assert principal.structures == {"359900016", "12345678900011", "2A9900013"}
    assert principal.issuer == ISSUER and principal.client == "cpts-portal"
    assert principal.tenant is None
    assert principal.may("search", "Practitioner") and not principal.may("create", "Patient")


def test_ext_names_do_not_matter() -> None:
    one = psc_principal(_claims(), issuer=ISSUER)
    other = psc_principal(_claims(given_name="Someone", family_name="ELSE"), issuer=ISSUER)
    assert one == other


def test_ext_profession_falls_back_to_the_first_exercice() -> None:
    assert profession(_claims(SubjectRole=None)) == "10"
    assert profession(_claims(SubjectRole=None, SubjectRefPro=None)) is None


@pytest.mark.parametrize(
    "ref_pro",
    [
        {"exercices": "x"},
        {"exercices": [1]},
        {"exercices": [{"activities": "x"}]},
        {"exercices": [{"activities": [1]}]},
    ],
)
def test_ext_malformed_subject_ref_pro_is_refused(ref_pro: object) -> None:
    with pytest.raises(ClaimError, match="SubjectRefPro"):
        structures(_claims(SubjectRefPro=ref_pro))


def test_ext_no_subject_ref_pro_means_no_structures() -> None:
    assert structures(_claims(SubjectRefPro=None)) == frozenset()
    assert structures(_claims(SubjectRefPro={"exercices": []})) == frozenset()

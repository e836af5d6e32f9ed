"""Parsing of search parameters (search.html §3.1.1): chains, includes, modifiers, result parameters."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidRequest
from gateway.fhir.query import decode_cursor, encode_cursor, parse_search


def parse(*pairs: tuple[str, str], strict: bool = False):  # type: ignore[no-untyped-def]
    return parse_search("Slot", list(pairs), strict=strict, default_count=20, max_count=100)


def test_chain_resolves_each_hop_and_the_type_modifier() -> None:
    request = parse(("schedule.actor:Practitioner.identifier", "urn:oid:1.2.250.1.71.4.2.1|810001,x|2"))
    (f,) = request.filters
    assert [(hop.param.name, hop.target_types) for hop in f.chain] == [
        ("schedule", ("Schedule",)),
        ("actor", ("Practitioner",)),
    ]
    assert f.param is not None and f.param.resource_type == "Practitioner"
    assert f.values == ("urn:oid:1.2.250.1.71.4.2.1|810001", "x|2")


def test_includes_and_result_parameters() -> None:
    request = parse(
        ("_include", "Slot:schedule"),
        ("_include:iterate", "Schedule:actor"),
        ("_revinclude", "Appointment:slot"),
        ("_count", "500"),
        ("_sort", "-start"),
        ("_summary", "count"),
    )
    assert [i.render() for i in request.includes] == [
        "_include=Slot:schedule",
        "_include:iterate=Schedule:actor",
        "_revinclude=Appointment:slot",
    ]
    assert request.count == 100  # capped at the configured maximum
    assert request.sort[0].name == "start" and request.sort[0].descending
    assert request.summary == "count"


def test_unknown_parameter_warns_or_fails_under_strict_handling() -> None:
    assert parse(("colour", "blue")).warnings == [("colour", "unknown search parameter 'colour' for Slot (ignored)")]
    with pytest.raises(InvalidRequest, match="colour"):
        parse(("colour", "blue"), strict=True)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (("_include", "Slot:nothing"), "no reference search parameter"),
        (("_include", "Schedule:actor"), "use _include:iterate"),
        (("_count", "-1"), "_count"),
        (("_sort", "comment"), "cannot sort"),
        (("status.actor", "x"), "cannot chain"),
        (("schedule.actor:Organization.identifier", "x"), "cannot refer to Organization"),
        (("_summary", "maybe"), "_summary"),
    ],
)
def test_malformed_parameters_are_refused_with_their_name(pair: tuple[str, str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse(pair)


def test_escaped_comma_is_a_literal() -> None:
    (f,) = parse(("identifier", r"a\,b,c")).filters
    assert f.values == ("a,b", "c")


def test_cursor_round_trip_and_tampering() -> None:
    assert decode_cursor(encode_cursor({"id": "x", "k": "2026"})) == {"id": "x", "k": "2026"}
    with pytest.raises(InvalidRequest, match="_cursor"):
        decode_cursor("not-a-cursor!")


@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=5))
def test_any_query_parses_or_fails_cleanly(pairs: list[tuple[str, str]]) -> None:
    with contextlib.suppress(InvalidRequest):
        parse_search("Slot", pairs, strict=False, default_count=20, max_count=100)

"""HL7 v2 value transforms: dates and date-times (with the centre's DST rules), OIDs, appointment ends from
durations, telecommunication numbers (XTN) and the rejection of unsupported structures."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mappings.functions.hl7 import hl7_date, hl7_datetime, hl7_end, oid_system, unsupported, xtn_kind, xtn_value
from mappings.registry import MapContext, MappingProblem

CTX = MapContext("359900016", ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("19840512", "1984-05-12"), ("198405", "1984-05"), ("1984", "1984"), ("198808181126+0215", "1988-08-18"),
     (" ", None), (None, None)],
)  # fmt: skip
def test_hl7_date(raw: str | None, expected: str | None) -> None:
    assert hl7_date(raw, CTX) == expected


@pytest.mark.parametrize("raw", ["19840231", "1984-05-12", "abc"])
def test_hl7_date_refuses_what_is_not_a_date(raw: str) -> None:
    with pytest.raises(MappingProblem) as caught:
        hl7_date(raw, CTX)
    assert caught.value.code == "MAP-DATE"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20260115093000", "2026-01-15T09:30:00+01:00"),
        ("20260715093000", "2026-07-15T09:30:00+02:00"),
        ("202601150930", "2026-01-15T09:30:00+01:00"),
        ("20260115093000.25", "2026-01-15T09:30:00.250+01:00"),
        ("20210924093000+0215", "2021-09-24T09:30:00+02:15"),
        ("20260115", "2026-01-15"),
    ],
)
def test_hl7_datetime_uses_the_centre_zone_for_local_times(raw: str, expected: str) -> None:
    assert hl7_datetime(raw, CTX) == expected


@pytest.mark.parametrize(("raw", "words"), [("20260329023000", "does not exist"), ("20261025023000", "happens twice")])
def test_hl7_datetime_refuses_local_times_dst_skips_or_repeats(raw: str, words: str) -> None:
    with pytest.raises(MappingProblem, match=words) as caught:
        hl7_datetime(raw, CTX)
    assert caught.value.code == "MAP-DST"


def test_hl7_datetime_accepts_dst_times_with_an_offset() -> None:
    assert hl7_datetime("20261025023000+0100", CTX) == "2026-10-25T02:30:00+01:00"
    with pytest.raises(MappingProblem, match="not a UTC offset"):
        hl7_datetime("20261025023000+1575", CTX)


def test_oid_system() -> None:
    assert oid_system("1.2.250.1.213.1.4.10", CTX) == "urn:oid:1.2.250.1.213.1.4.10"
    assert oid_system("https://finess.esante.gouv.fr", CTX) == "https://finess.esante.gouv.fr"
    assert oid_system("BCBS", CTX) is None
    assert oid_system(None, CTX) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"start_1": "20260122171500", "duration": "30", "units": "MIN"}, "2026-01-22T17:45:00+01:00"),
        ({"start_1": None, "start_2": "20260122171500", "duration_2": "1", "units_2": "h"},
         "2026-01-22T18:15:00+01:00"),
        ({"start_1": "20260122171500", "duration_1": "90", "units_1": "s", "duration": "30"},
         "2026-01-22T17:16:30+01:00"),
        ({"start_1": "20210924093000+0215", "duration_1": "50", "units_1": "min"}, "2021-09-24T10:20:00+02:15"),
        ({"start_1": "20260329013000", "duration": "60"}, "2026-03-29T03:30:00+02:00"),
        ({"start_1": "20260122171500"}, None),
        ({"start_1": "20260122", "duration": "30"}, None),
        ({"start_1": None, "duration": "30"}, None),
    ],
)  # fmt: skip
def test_hl7_end_adds_the_duration_of_the_start_it_goes_with(value: dict[str, Any], expected: str | None) -> None:
    assert hl7_end(value, CTX) == expected


@pytest.mark.parametrize(("duration", "units"), [("-5", "min"), ("0", "min"), ("dix", "min"), ("10", "weeks")])
def test_hl7_end_refuses_bad_durations(duration: str, units: str) -> None:
    with pytest.raises(MappingProblem):
        hl7_end({"start_1": "20260122171500", "duration": duration, "units": units}, CTX)


@pytest.mark.parametrize(
    ("xtn", "kind", "value"),
    [
        ({"equipment": "CP", "unformatted": "0612345678"}, "CP", "0612345678"),
        ({"equipment": "Internet", "email": "a@b.example"}, "Internet", "a@b.example"),
        ({"email": "a@b.example"}, "Internet", "a@b.example"),
        ({"number": "(217)555-0199"}, "PH", "(217)555-0199"),
        ({"equipment": "PH", "country": "1", "area": "217", "local": "5550100", "extension": "22"}, "PH",
         "+1 217 5550100 x22"),
        ({"equipment": "FX", "local": "0299000000"}, "FX", "0299000000"),
        ({"equipment": "PH"}, None, None),
    ],
)  # fmt: skip
def test_xtn_kind_and_value(xtn: dict[str, str], kind: str | None, value: str | None) -> None:
    assert xtn_kind(xtn, CTX) == kind
    assert xtn_value(xtn, CTX) == value


def test_xtn_functions_need_named_sources() -> None:
    assert xtn_kind("0612345678", CTX) is None
    assert xtn_value("0612345678", CTX) is None


def test_unsupported_rejects_only_what_is_there() -> None:
    assert unsupported(None, CTX, message="no") is None
    with pytest.raises(MappingProblem, match="one patient") as caught:
        unsupported("12345", CTX, message="one patient per message")
    assert caught.value.code == "MAP-UNSUPPORTED"

"""The agenda and activity transforms of the CSV export mappings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from mappings.functions.agenda import (
    end_of,
    idnat_ps,
    minutes_between,
    normalize_idnps,
    opening_hours,
    parse_ranges,
    pathway_members,
    plan_definition,
    ps_reference,
    qualified_ins,
    rpps_of,
    slot_security,
)
from mappings.registry import CONDITIONS, TRANSFORMS, MapContext, MappingProblem, load_functions

PARIS = ZoneInfo("Europe/Paris")
CTX = MapContext("759900426", PARIS)
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


def test_functions_are_registered() -> None:
    load_functions()
    for name in ("idnat_ps", "rpps_of", "ps_reference", "end_of", "minutes_between", "slot_security",
                 "opening_hours", "pathway_members", "plan_definition"):  # fmt: skip
        assert name in TRANSFORMS
    assert "qualified_ins" in CONDITIONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("819990001018", "819990001018"),
        ("19990001018", "819990001018"),
        ("0759912345", "0759912345"),
        ("759912345", "0759912345"),
        (" 8 1999 0001018 ", "819990001018"),
    ],
)
def test_idnat_ps_normalizes_rpps_and_adeli(text: str, expected: str) -> None:
    assert normalize_idnps(text) == expected
    assert idnat_ps(text, CTX) == expected


@pytest.mark.parametrize("text", ["12345", "8199900010", "ABCDEFGHIJK", "9199900010181"])
def test_idnat_ps_refuses_other_identifiers(text: str) -> None:
    with pytest.raises(MappingProblem, match="not a professional identifier"):
        idnat_ps(text, CTX)


def test_idnat_ps_of_nothing_is_nothing() -> None:
    assert idnat_ps(None, CTX) is None
    assert idnat_ps("  ", CTX) is None


def test_rpps_of() -> None:
    assert rpps_of("819990001018", CTX) == "19990001018"
    assert rpps_of("19990001018", CTX) == "19990001018"
    assert rpps_of("0759912345", CTX) is None
    assert rpps_of(None, CTX) is None


def test_ps_reference() -> None:
    assert ps_reference("19990001018", CTX) == {"reference": f"Practitioner?identifier={IDNPS}|819990001018"}
    role = ps_reference("819990001018", CTX, type="PractitionerRole", kind="practitionerrole")
    assert role == {"reference": "PractitionerRole?identifier=urn:cpts-gateway:practitionerrole:759900426|819990001018"}
    assert ps_reference("", CTX) is None


def test_end_from_end_or_duration() -> None:
    assert end_of({"start": at(8, 30), "end": at(8, 50), "minutes": None}, CTX) == "2026-03-02T08:50:00+01:00"
    assert end_of({"start": at(8, 30), "end": None, "minutes": 20}, CTX) == "2026-03-02T08:50:00+01:00"
    assert end_of({"start": at(8, 30), "end": None, "minutes": "15"}, CTX) == "2026-03-02T08:45:00+01:00"
    assert end_of({"start": None, "end": None, "minutes": 20}, CTX) is None
    assert minutes_between({"start": at(8, 30), "end": at(9, 15), "minutes": None}, CTX) == 45


def test_end_across_the_spring_change_keeps_the_elapsed_minutes() -> None:
    start = datetime(2026, 3, 29, 1, 50, tzinfo=PARIS)
    assert end_of({"start": start, "end": None, "minutes": 20}, CTX) == "2026-03-29T03:10:00+02:00"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"start": at(8, 30), "end": None, "minutes": None}, "neither an end nor a duration"),
        ({"start": at(8, 30), "end": at(8, 30), "minutes": None}, "is not after the start"),
        ({"start": at(8, 30), "end": at(8, 50), "minutes": 30}, "does not match"),
        ({"start": at(8, 30), "end": None, "minutes": "vingt"}, "not a number of minutes"),
        ({"start": at(8, 30), "end": None, "minutes": True}, "not a number of minutes"),
        ("08:30", "a start with an end or a duration"),
    ],
)
def test_end_problems(value: object, message: str) -> None:
    with pytest.raises(MappingProblem, match=message):
        end_of(value, CTX)


def codes(value: dict[str, object]) -> list[str]:
    return [coding["code"] for coding in slot_security(value, CTX)]


def test_slot_security_follows_the_flags() -> None:
    assert codes({"snp": False, "cpts": False, "public": True}) == ["PUBLIC"]
    assert codes({"snp": False, "cpts": None, "public": None}) == ["PRO"]
    assert codes({"snp": True, "cpts": False, "public": None}) == ["SNP"]
    assert codes({"snp": True, "cpts": True, "public": True}) == ["SNP", "CPTS"]
    assert codes({"snp": None, "cpts": True, "public": False}) == ["PRO", "CPTS"]
    coding = slot_security({"snp": True}, CTX)[0]
    assert coding["system"] == "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
    assert coding["display"].startswith("Créneau accessible")


def test_opening_hours_one_entry_per_range() -> None:
    assert opening_hours("08:00-12:00 14:00-20:00", CTX, day="mon") == [
        {"daysOfWeek": ["mon"], "openingTime": "08:00:00", "closingTime": "12:00:00"},
        {"daysOfWeek": ["mon"], "openingTime": "14:00:00", "closingTime": "20:00:00"},
    ]
    assert opening_hours("8h-12h30 et 14h-19h", CTX, day="tue") == [
        {"daysOfWeek": ["tue"], "openingTime": "08:00:00", "closingTime": "12:30:00"},
        {"daysOfWeek": ["tue"], "openingTime": "14:00:00", "closingTime": "19:00:00"},
    ]
    assert opening_hours("00:00-24:00", CTX, day="sun") == [{"daysOfWeek": ["sun"], "allDay": True}]
    assert opening_hours("20:00-24:00", CTX, day="fri") == [
        {"daysOfWeek": ["fri"], "openingTime": "20:00:00", "closingTime": "23:59:59"}
    ]


@pytest.mark.parametrize("text", ["", "fermé", "Fermé", "-", "closed"])
def test_closed_days_have_no_hours(text: str) -> None:
    assert opening_hours(text, CTX, day="sat") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("08:00", "is not a range of hours"),
        ("12:00-08:00", "ends before it starts"),
        ("08:00-12:00 11:00-13:00", "overlaps"),
        ("25:00-26:00", "is not a time of day"),
        ("24:00-08:00", "starts at midnight"),
        ("00:00-24:00 08:00-09:00", "overlaps"),
    ],
)
def test_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(MappingProblem, match=message):
        parse_ranges(text)


def test_opening_hours_needs_a_weekday() -> None:
    with pytest.raises(MappingProblem, match="not a day of the week"):
        opening_hours("08:00-12:00", CTX, day="lundi")


def test_pathway_members() -> None:
    members = pathway_members(
        {"members": "819990001018, 19990001042 | 0759912345 819990001018", "start": date(2026, 1, 15)}, CTX
    )
    assert members == [
        {"member": {"reference": f"Practitioner?identifier={IDNPS}|{ident}"}, "period": {"start": "2026-01-15"}}
        for ident in ("819990001018", "819990001042", "0759912345")
    ]
    assert pathway_members({"members": "", "start": None}, CTX) is None
    assert pathway_members({"members": "819990001018", "start": None}, CTX) == [
        {"member": {"reference": f"Practitioner?identifier={IDNPS}|819990001018"}}
    ]
    with pytest.raises(MappingProblem, match="'12345'"):
        pathway_members({"members": "819990001018 12345", "start": None}, CTX)


def test_plan_definition() -> None:
    base = "https://cpts-gateway.fr/fhir/PlanDefinition/"
    assert plan_definition("bpco", CTX, base=base) == "https://cpts-gateway.fr/fhir/PlanDefinition/bpco"
    assert plan_definition(None, CTX, base=base) is None
    with pytest.raises(MappingProblem, match="not a protocol code"):
        plan_definition("diabète type 2", CTX, base=base)


@pytest.mark.parametrize(
    ("status", "ins", "expected"),
    [("VALI", "270057511112393", True), ("qual", "270057511112393", True), ("PROV", "270057511112393", False),
     ("RECUP", "270057511112393", False), ("VALI", None, False), (None, "270057511112393", False)],
)  # fmt: skip
def test_qualified_ins(status: str | None, ins: str | None, expected: bool) -> None:
    assert qualified_ins({"status": status, "ins": ins}, CTX) is expected
    assert qualified_ins("VALI", CTX) is False


def test_durations_across_the_autumn_change_are_elapsed_minutes() -> None:
    first = datetime(2026, 10, 25, 2, 40, tzinfo=PARIS, fold=0)  # 02:40 summer time, before the clocks go back
    assert end_of({"start": first, "end": None, "minutes": 30}, CTX) == "2026-10-25T02:10:00+01:00"
    second = datetime(2026, 10, 25, 2, 10, tzinfo=PARIS, fold=1)  # 02:10 winter time, 30 minutes later
    assert minutes_between({"start": first, "end": second, "minutes": None}, CTX) == 30
    assert minutes_between({"start": at(1, 30, day=29), "end": at(3, 30, day=29), "minutes": None}, CTX) == 60

"""Planned dates of an enrolment's activities, laid out from the protocol's PlanDefinition."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.fhir.validation import validate_resource
from gateway.pathways.enrolment import build_careplan, enrolment_id
from gateway.pathways.loader import read_protocols
from gateway.pathways.schedule import DUE_URL, add, plan_activities

PROTOCOLS = {p["id"]: p for p in read_protocols()}


def laid_out(protocol: str, start: date) -> list[tuple[str, str, str | None]]:
    return [
        (a["detail"]["code"]["coding"][0]["code"], a["detail"]["scheduledPeriod"]["start"],
         a["detail"]["scheduledPeriod"].get("end"))
        for a in plan_activities(PROTOCOLS[protocol], start)
    ]  # fmt: skip


def test_return_home_dates() -> None:
    assert laid_out("cpts-return-home", date(2026, 3, 10)) == [
        ("visite-infirmiere-domicile", "2026-03-10", "2026-03-12"),  # within 48 hours
        ("conciliation-medicamenteuse", "2026-03-10", "2026-03-13"),
        ("consultation-medecin", "2026-03-10", "2026-03-17"),
        ("suivi-30-jours", "2026-04-09", "2026-04-09"),  # at 30 days
    ]


def test_diabetes_repeats_over_the_first_year_and_counts() -> None:
    dates = laid_out("cpts-diabetes-t2", date(2026, 1, 31))
    reviews = [(s, e) for code, s, e in dates if code == "revue-medecin-hba1c"]
    assert reviews == [("2026-01-31", "2026-02-28"), ("2026-04-30", "2026-05-31"), ("2026-07-31", "2026-08-31"),
                       ("2026-10-31", "2026-11-30")]  # fmt: skip
    assert [s for code, s, _ in dates if code == "education-therapeutique"] == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"
    ]  # fmt: skip
    assert [code for code, _, _ in dates].count("retinographie") == 1
    assert [s for _, s, _ in dates] == sorted(s for _, s, _ in dates)


def test_status_end_and_due_extension() -> None:
    done = plan_activities(PROTOCOLS["cpts-return-home"], date(2026, 3, 10), end=date(2026, 3, 31), status="stopped")
    assert len(done) == 3 and all("extension" not in a["detail"] for a in done)
    pending = plan_activities(PROTOCOLS["cpts-return-home"], date(2026, 3, 10))
    assert pending[0]["detail"]["extension"] == [{"url": DUE_URL, "valueDate": "2026-03-12"}]


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_protocol_gives_a_valid_careplan(protocol: str) -> None:
    plan = build_careplan(PROTOCOLS[protocol], "p1", date(2026, 2, 28), "PractitionerRole/r1")
    assert validate_resource(plan, expected_type="CarePlan") is plan
    assert plan["id"] == enrolment_id(plan)
    assert plan["id"] == build_careplan(PROTOCOLS[protocol], "p1", date(2027, 1, 1))["id"]  # per patient and protocol
    assert plan["id"] != build_careplan(PROTOCOLS[protocol], "p2", date(2026, 2, 28))["id"]
    steps = {a["id"] for a in PROTOCOLS[protocol]["action"]}
    assert {a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]} == steps


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2190, 12, 31)), st.integers(0, 120))
def test_months_never_drift_and_stay_in_the_month(day: date, months: int) -> None:
    later = add(day, months, "mo")
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == day.day or later.day < day.day


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2190, 12, 31)), st.sampled_from(sorted(PROTOCOLS)))
def test_every_activity_ends_after_it_starts(day: date, protocol: str) -> None:
    for item in plan_activities(PROTOCOLS[protocol], day):
        period = item["detail"]["scheduledPeriod"]
        assert period["start"] >= day.isoformat()
        assert "end" not in period or period["end"] >= period["start"]

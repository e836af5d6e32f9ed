"""Indicator engine edges: the night clocks go back, empty centres (no score), periods, unknown indicators."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.errors import InvalidRequest
from gateway.indicators.engine import Period, evaluate, parse_period
from gateway.indicators.period import local_midnight
from gateway.ingest.pipeline import Pipeline
from gateway.settings import Settings
from tests.gateway.ingest.conftest import run_ingest

TENANT = "350000014"
PARIS = ZoneInfo("Europe/Paris")
SLOTS = (
    "id_creneau;id_nat_ps;debut;fin;duree;statut;snp\n"
    "D1;819990001042;2026-10-25T01:30:00+02:00;2026-10-25T02:30:00+01:00;;libre;non\n"  # 2 hours: 02:00-03:00 twice
    "D2;819990001042;25/10/2026 23:30;26/10/2026 00:30;;occupe;non\n"  # 30 minutes on the 25th
    "D3;819990001042;24/10/2026 23:30;;60;libre;non\n"  # the day before
)
APPOINTMENTS = (
    "id_rdv;ipp;id_nat_ps;debut;duree;statut;id_creneau\n"
    "R1;00000001;819990001042;25/10/2026 23:30;30;honore;D2\n"  # 22:30 UTC: still the 25th
    "R2;00000002;819990001042;24/10/2026 23:30;30;absent;\n"  # 21:30 UTC on the 24th: the day before
    "R3;00000003;819990001042;26/10/2026 00:30;30;absent;\n"  # 23:30 UTC on the 25th: the day after, locally
    "R4;00000004;819990001042;2026-10-25T02:30:00+02:00;30;absent;\n"  # the first 02:30
)


def compute(engine: Engine, settings: Settings, period: Period, **options: Any) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return evaluate(session, settings, period=period, **options)


def scores(reports: list[dict[str, Any]], subject: str) -> dict[str, float | None]:
    return {
        r["measure"].rsplit(":", 1)[1]: r["group"][0].get("measureScore", {}).get("value")
        for r in reports
        if r["subject"]["identifier"]["value"] == subject
    }


def test_the_day_the_clocks_go_back_has_25_hours(settings: Settings, clean_db: Engine) -> None:
    pipeline = Pipeline(settings, clean_db)
    for export, payload in (("slots", SLOTS), ("appointments", APPOINTMENTS)):
        report = run_ingest(pipeline, payload.encode(), tenant=TENANT, fmt="csv", export=export, vendor="reference")
        assert report["counts"]["rejected"] == 0, report["records"]
    day = parse_period("2026-10-25/2026-10-25")
    assert day.bounds(PARIS) == (datetime(2026, 10, 24, 22), datetime(2026, 10, 25, 23))
    reports = compute(clean_db, settings, day, measures=["IND-NOSHOW", "IND-OCCUPANCY"])
    noshow = reports[0]["group"][0]
    assert {p["id"]: p["count"] for p in noshow["population"]}["initial-population"] == 2  # R1 and R4
    assert scores(reports, TENANT) == {
        "IND-NOSHOW": 100 * 1 / 2,  # R4 missed, R1 fulfilled
        "IND-OCCUPANCY": round(100 * 30 / (120 + 30), 4),  # D2 booked (clipped at midnight) over D1 + D2
    }


def test_centres_without_data_have_counts_of_zero_and_no_score(settings: Settings, clean_db: Engine) -> None:
    reports = compute(clean_db, settings, parse_period("2026-Q3"), tenants=["759900426"])
    assert len(reports) == 12 * 2
    for found in reports:
        for group in found["group"]:
            assert "measureScore" not in group, found["measure"]
            assert {p["count"] for p in group["population"]} == {0}
            assert "stratum" not in str(group)


def test_an_unknown_indicator_is_a_bad_request(settings: Settings, clean_db: Engine) -> None:
    with pytest.raises(InvalidRequest, match="unknown indicator 'IND-NOPE'"):
        compute(clean_db, settings, parse_period("2026"), measures=["IND-NOPE"])


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31), "2024-Q1"),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29), "2028-02"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026"),
        (" 2026-07-01/2026-09-30 ", date(2026, 7, 1), date(2026, 9, 30), "2026-07-01/2026-09-30"),
    ],
)
def test_the_four_period_forms(text: str, start: date, end: date, label: str) -> None:
    assert parse_period(text) == Period(start, end, label)


@pytest.mark.parametrize(
    "text", ["", "2026-Q5", "2026-13", "26", "2026-7", "2026-09-30/2026-07-01", "2026-02-30/2026-03-01", "1800", "Q3"]
)
def test_bad_periods_are_refused_with_the_expected_forms(text: str) -> None:
    with pytest.raises(InvalidRequest, match="expected 2026-Q3, 2026-07, 2026 or 2026-07-01/2026-09-30") as caught:
        parse_period(text)
    assert caught.value.status == 400 and caught.value.expression == ("period",)


@given(st.dates(date(1950, 1, 1), date(2199, 12, 31)), st.integers(0, 800))  # whole-hour offsets since 1911
def test_any_date_range_reads_back_and_spans_whole_local_days(start: date, days: int) -> None:
    end = date.fromordinal(min(start.toordinal() + days, date(2199, 12, 31).toordinal()))
    period = parse_period(f"{start.isoformat()}/{end.isoformat()}")
    assert (period.start, period.end, period.days) == (start, end, (end - start).days + 1)
    low, high = period.bounds(PARIS)
    assert low == local_midnight(start, PARIS) and (high - low).total_seconds() % 3600 == 0


@given(st.text(max_size=30))
def test_any_text_is_a_period_or_a_bad_request(text: str) -> None:
    try:
        period = parse_period(text)
    except InvalidRequest:
        return
    assert period.start <= period.end

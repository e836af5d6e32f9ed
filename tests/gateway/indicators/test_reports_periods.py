"""The parsers of the reports side: export periods, series months and the $evaluate-measure parameters. Whatever the
text, a result or an InvalidRequest naming the parameter; never another exception."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import InvalidRequest
from gateway.indicators.evaluation import month_periods
from gateway.indicators.operation import parse_request
from gateway.indicators.periods import months, period_bounds


def attempt(parse: Callable[..., Any], *args: Any) -> tuple[Any, InvalidRequest | None]:
    """What a parser gives: (result, None) or (None, the refusal); any other exception fails the test."""
    try:
        return parse(*args), None
    except InvalidRequest as exc:
        return None, exc


texts = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A\d{4}(-Q\d|-\d{2}(-\d{2})?)?(/\d{4}-\d{2}-\d{2})?\Z"),
)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_reports_period_text_gives_bounds_or_a_located_refusal(text: str) -> None:
    bounds, refused = attempt(period_bounds, text)
    if refused is not None:
        assert refused.issues[0].expression == ("parameter:period",)
        return
    start, end = bounds
    assert start <= end
    assert start.year >= 1900
    assert end.year <= 2199


@settings(max_examples=200, deadline=None)
@given(st.dates(date(1900, 1, 1), date(2199, 12, 31)), st.integers(0, 800))
def test_reports_a_date_range_is_its_own_bounds(start: date, days: int) -> None:
    end = min(start + timedelta(days=days), date(2199, 12, 31))
    assert period_bounds(f"{start.isoformat()}/{end.isoformat()}") == (start, end)
    inside = month_periods(start, end)
    for month in inside:
        first, last = period_bounds(month)
        assert start <= first and last <= end


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("2026-Q3", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2024-02", (date(2024, 2, 1), date(2024, 2, 29))),
        ("2026", (date(2026, 1, 1), date(2026, 12, 31))),
        (" 2026-Q1 ", (date(2026, 1, 1), date(2026, 3, 31))),
    ],
)
def test_reports_period_forms(text: str, bounds: tuple[date, date]) -> None:
    assert period_bounds(text) == bounds


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12), st.text(max_size=12))
def test_reports_series_months_or_a_located_refusal(first: str, last: str) -> None:
    found, refused = attempt(months, first, last)
    if refused is not None:
        assert refused.issues[0].expression[0] in ("parameter:from", "parameter:to")
        return
    assert found[0] == first.strip() and found[-1] == last.strip() and len(found) <= 120


names = st.sampled_from(["periodStart", "periodEnd", "subject", "reportType", "measure", "x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(names, st.one_of(texts, st.sampled_from(["Organization/org-a", "summary"]))), max_size=5))
def test_reports_evaluate_parameters_or_a_located_refusal(pairs: list[tuple[str, str]]) -> None:
    parsed, refused = attempt(parse_request, pairs)
    if refused is not None:
        where = refused.issues[0].expression[0]
        assert where.startswith("parameter:") and where.removeprefix("parameter:") in {n for n, _ in pairs} | {
            "periodStart", "periodEnd"}  # fmt: skip
        return
    assert parsed.start <= parsed.end
    given_names = [n for n, _ in pairs]
    assert "periodStart" in given_names and "periodEnd" in given_names

"""FHIR date values as UTC ranges (R4 §2.24.0.3 date/dateTime/instant; search.html#date precision)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.fhir.dates import DateFormatError, format_instant, parse_range

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2026", datetime(2025, 12, 31, 23), datetime(2026, 12, 31, 22, 59, 59, 999999)),
        ("2026-03", datetime(2026, 2, 28, 23), datetime(2026, 3, 31, 21, 59, 59, 999999)),  # DST starts 29 March
        ("2026-03-29", datetime(2026, 3, 28, 23), datetime(2026, 3, 29, 21, 59, 59, 999999)),  # a 23-hour day
        ("2026-11-23T09:15", datetime(2026, 11, 23, 8, 15), datetime(2026, 11, 23, 8, 15, 59, 999999)),
        ("2026-11-23T09:15:00Z", datetime(2026, 11, 23, 9, 15), datetime(2026, 11, 23, 9, 15, 0, 999999)),
        ("2026-07-01T10:00:00.250+02:00", datetime(2026, 7, 1, 8, 0, 0, 250000), datetime(2026, 7, 1, 8, 0, 0, 250999)),
    ],
)
def test_precision_gives_the_range(value: str, low: datetime, high: datetime) -> None:
    assert parse_range(value, PARIS) == (low, high)


@pytest.mark.parametrize("value", ["", "2026-13-01", "2026-02-30", "26-01-01", "2026-01-01T25:00", "tomorrow"])
def test_bad_values_raise(value: str) -> None:
    with pytest.raises(DateFormatError):
        parse_range(value, PARIS)


def test_format_instant_has_milliseconds_and_z() -> None:
    assert format_instant(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_any_instant_round_trips_to_a_one_second_range(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    low, high = parse_range(moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"), PARIS)
    assert low == moment.replace(tzinfo=None)
    assert high - low == timedelta(seconds=1) - timedelta(microseconds=1)


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_date_format_error(text: str) -> None:
    try:
        low, high = parse_range(text, PARIS)
    except DateFormatError:
        return
    assert low <= high

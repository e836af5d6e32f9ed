"""Cell value parsers: French dates, Europe/Paris local times across DST changes, decimal commas, oui/non."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from adapters.csv.values import (
    ValueProblem,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_time,
)

PARIS = ZoneInfo("Europe/Paris")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17/03/2026", date(2026, 3, 17)),
        ("1/3/2026", date(2026, 3, 1)),
        (" 29/02/2028 ", date(2028, 2, 29)),
        ("2026-03-17", date(2026, 3, 17)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("31/02/2026", "not a calendar date"),
        ("29/02/2026", "not a calendar date"),
        ("17/03/26", "expected dd/mm/yyyy"),
        ("03-17-2026", "expected dd/mm/yyyy"),
        ("17/03/2026 10:00", "expected dd/mm/yyyy"),
        ("", "empty value"),
        ("   ", "empty value"),
    ],
)
def test_bad_dates(text: str, fragment: str) -> None:
    with pytest.raises(ValueProblem, match=fragment):
        parse_date(text)


def test_value_problem_is_a_value_error_with_a_message() -> None:
    with pytest.raises(ValueError) as caught:
        parse_date("32/01/2026")
    assert isinstance(caught.value, ValueProblem)
    assert caught.value.message == str(caught.value)
    assert "'32/01/2026'" in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:30", time(14, 30)),
        ("8:05", time(8, 5)),
        ("14:30:15", time(14, 30, 15)),
        ("14h30", time(14, 30)),
        ("9h", time(9, 0)),
        ("00:00", time(0, 0)),
    ],
)
def test_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "12:60", "12:30:61", "1230", "12.30", "", "h30"])
def test_bad_times(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17/03/2026 14:30", utc(2026, 3, 17, 13, 30)),  # winter: UTC+1
        ("17/03/2026 14:30:15", utc(2026, 3, 17, 13, 30, 15)),
        ("17/07/2026 14:30", utc(2026, 7, 17, 12, 30)),  # summer: UTC+2
        ("2026-07-17T14:30", utc(2026, 7, 17, 12, 30)),
        ("2026-07-17T14:30:05", utc(2026, 7, 17, 12, 30, 5)),
        ("2026-07-17 14:30:05", utc(2026, 7, 17, 12, 30, 5)),
        ("2026-07-17T14:30:05.250", datetime(2026, 7, 17, 12, 30, 5, 250000, tzinfo=UTC)),
        ("2026-07-17T14:30:00Z", utc(2026, 7, 17, 14, 30)),
        ("2026-07-17T14:30:00+05:30", utc(2026, 7, 17, 9, 0)),
        ("2026-07-17T14:30:00-0300", utc(2026, 7, 17, 17, 30)),
    ],
)
def test_datetimes(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text, PARIS)
    assert parsed == expected
    assert parsed.utcoffset() == PARIS.utcoffset(parsed.replace(tzinfo=None))  # local wall time and its offset


def test_results_carry_a_fixed_offset() -> None:
    parsed = parse_datetime("17/07/2026 14:30", PARIS)
    assert parsed.isoformat() == "2026-07-17T14:30:00+02:00"
    assert parse_datetime("2026-07-17T12:30:00Z", PARIS).isoformat() == "2026-07-17T14:30:00+02:00"
    assert parse_datetime("17/01/2026 14:30", PARIS).isoformat() == "2026-01-17T14:30:00+01:00"


def test_spring_forward_hour_does_not_exist() -> None:
    with pytest.raises(ValueProblem) as caught:
        parse_datetime("29/03/2026 02:30", PARIS)
    message = str(caught.value)
    assert "'29/03/2026 02:30'" in message
    assert "does not exist in Europe/Paris" in message
    with pytest.raises(ValueProblem, match="does not exist"):
        parse_datetime("2026-03-29T02:00:00", PARIS)
    with pytest.raises(ValueProblem, match="does not exist"):
        parse_datetime("29/03/2026 02:59:59", PARIS)


def test_fall_back_hour_is_ambiguous() -> None:
    with pytest.raises(ValueProblem) as caught:
        parse_datetime("25/10/2026 02:30", PARIS)
    message = str(caught.value)
    assert "'25/10/2026 02:30'" in message
    assert "happens twice in Europe/Paris" in message
    assert "2026-10-25T02:30:00+02:00" in message and "2026-10-25T02:30:00+01:00" in message
    for text in ("25/10/2026 02:00", "25/10/2026 02:59:59", "2026-10-25T02:30"):
        with pytest.raises(ValueProblem, match="happens twice"):
            parse_datetime(text, PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the night of the spring change: 02:00 CET becomes 03:00 CEST (01:00 UTC)
        ("29/03/2026 01:59", utc(2026, 3, 29, 0, 59)),
        ("29/03/2026 03:00", utc(2026, 3, 29, 1, 0)),
        ("29/03/2026 03:30", utc(2026, 3, 29, 1, 30)),
        # the night of the autumn change: 03:00 CEST becomes 02:00 CET (01:00 UTC)
        ("25/10/2026 01:30", utc(2026, 10, 24, 23, 30)),
        ("25/10/2026 01:59:59", utc(2026, 10, 24, 23, 59, 59)),
        ("25/10/2026 03:00", utc(2026, 10, 25, 2, 0)),
        ("25/10/2026 12:00", utc(2026, 10, 25, 11, 0)),
        # an explicit offset names either of the repeated hours
        ("2026-10-25T02:30:00+02:00", utc(2026, 10, 25, 0, 30)),
        ("2026-10-25T02:30:00+01:00", utc(2026, 10, 25, 1, 30)),
        ("2026-10-25T00:30:00Z", utc(2026, 10, 25, 0, 30)),
    ],
)
def test_instants_around_the_changes(text: str, expected: datetime) -> None:
    assert parse_datetime(text, PARIS).astimezone(UTC) == expected


def test_the_two_repeated_hours_stay_distinct_instants() -> None:
    first = parse_datetime("2026-10-25T02:30:00+02:00", PARIS)
    second = parse_datetime("2026-10-25T02:30:00+01:00", PARIS)
    assert first.isoformat() == "2026-10-25T02:30:00+02:00"
    assert second.isoformat() == "2026-10-25T02:30:00+01:00"
    assert first != second
    assert first < second
    assert (second - first).total_seconds() == 3600


def test_other_zones() -> None:
    reunion = ZoneInfo("Indian/Reunion")  # UTC+4, no daylight saving
    assert parse_datetime("17/03/2026 14:30", reunion).astimezone(UTC) == utc(2026, 3, 17, 10, 30)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("17/03/2026", "has no time"),
        ("2026-03-17", "has no time"),
        ("17/03/2026 25:00", "not a time of day"),
        ("31/04/2026 10:00", "not a calendar date"),
        ("2026-03-17T10:00:00+15:00", "impossible UTC offset"),
        ("17/03/2026 10h30", "not a date and time"),
        ("demain", "not a date and time"),
        ("", "empty value"),
    ],
)
def test_bad_datetimes(text: str, fragment: str) -> None:
    with pytest.raises(ValueProblem, match=fragment):
        parse_datetime(text, PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,50", Decimal("12.50")),
        ("12.50", Decimal("12.50")),
        ("-3,5", Decimal("-3.5")),
        ("+3", Decimal("3")),
        ("0", Decimal("0")),
        ("1 234,56", Decimal("1234.56")),
        ("1\u00a0234,56", Decimal("1234.56")),
        ("1\u202f234\u202f567,8", Decimal("1234567.8")),
        ("1234567,891", Decimal("1234567.891")),
        (" 42 ", Decimal("42")),
    ],
)
def test_decimals(text: str, expected: Decimal) -> None:
    parsed = parse_decimal(text)
    assert parsed == expected
    assert str(parsed) == str(expected)  # exact, trailing zeros kept


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1.234,56", "mixes"),
        ("1,234.56", "mixes"),
        ("12 34", "not a number"),
        ("1 2345", "not a number"),
        ("12,", "not a number"),
        (",5", "not a number"),
        ("12,50 €", "not a number"),
        ("NaN", "not a number"),
        ("1e3", "not a number"),
        ("", "empty value"),
    ],
)
def test_bad_decimals(text: str, fragment: str) -> None:
    with pytest.raises(ValueProblem, match=fragment):
        parse_decimal(text)


def test_integers() -> None:
    assert parse_int("42") == 42
    assert parse_int("-7") == -7
    assert parse_int("1 234") == 1234
    assert parse_int("1\u202f000\u202f000") == 1_000_000
    for text in ("12,0", "12.5", "douze", ""):
        with pytest.raises(ValueProblem):
            parse_int(text)


@pytest.mark.parametrize("text", ["oui", "OUI", "Oui", "o", "O", "vrai", "Vrai", "v", "1", "true", "TRUE", "x", "X"])
def test_true_words(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["non", "NON", "n", "N", "faux", "Faux", "f", "0", "false", "False", "no"])
def test_false_words(text: str) -> None:
    assert parse_bool(text) is False


def test_blank_booleans_need_a_meaning() -> None:
    with pytest.raises(ValueProblem, match="empty value"):
        parse_bool("")
    assert parse_bool("", blank=False) is False  # checkbox column: unticked
    assert parse_bool("  ", blank=True) is True
    assert parse_bool("x", blank=False) is True


@pytest.mark.parametrize("text", ["peut-être", "2", "ouii", "-"])
def test_bad_booleans(text: str) -> None:
    with pytest.raises(ValueProblem, match="not a yes/no value"):
        parse_bool(text)

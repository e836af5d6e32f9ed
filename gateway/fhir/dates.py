"""FHIR date, dateTime and instant values as UTC ranges ``[low, high]`` (naive UTC datetimes, microsecond precision).

A value stands for the whole interval of its precision: ``2026`` is the year, ``2026-11-22`` the day,
``2026-11-22T10:15`` the minute. Values without an offset are read in the gateway's time zone (``CPTS_TIMEZONE``).
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import UTC, datetime, timedelta, timezone, tzinfo

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_TICK = timedelta(microseconds=1)


class DateFormatError(ValueError):
    """Not a FHIR date, dateTime or instant."""


def _zone(text: str | None, default: tzinfo) -> tzinfo:
    if text is None:
        return default
    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise DateFormatError(f"bad time zone offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_range(value: str, default_tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC interval a FHIR date/dateTime/instant value covers; raises DateFormatError."""
    match = _DATE.match(value.strip())
    if not match:
        raise DateFormatError(f"{value!r} is not a FHIR date or dateTime")
    try:
        year = int(match["y"])
        if match["m"] is None:
            start_local = datetime(year, 1, 1)
            end_local = datetime(year + 1, 1, 1)
            zone = default_tz
        elif match["d"] is None:
            month = int(match["m"])
            start_local = datetime(year, month, 1)
            end_local = start_local + timedelta(days=monthrange(year, month)[1])
            zone = default_tz
        elif match["H"] is None:
            start_local = datetime(year, int(match["m"]), int(match["d"]))
            end_local = start_local + timedelta(days=1)
            zone = default_tz
        else:
            zone = _zone(match["tz"], default_tz)
            second = int(match["S"] or 0)
            fraction = match["f"]
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            start_local = datetime(
                year, int(match["m"]), int(match["d"]), int(match["H"]), int(match["M"]), second, micro
            )
            if fraction is not None:
                step = timedelta(microseconds=10 ** (6 - min(len(fraction), 6)))
            elif match["S"] is not None:
                step = timedelta(seconds=1)
            else:
                step = timedelta(minutes=1)
            end_local = start_local + step
    except ValueError as exc:
        raise DateFormatError(f"{value!r}: {exc}") from exc
    low = _to_utc(start_local.replace(tzinfo=zone))
    high = _to_utc(end_local.replace(tzinfo=zone)) - _TICK
    return low, high


def utc_now() -> datetime:
    """Now, aware, in UTC, at millisecond precision (what ``meta.lastUpdated`` records)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


def format_instant(moment: datetime) -> str:
    """An aware or naive-UTC datetime as a FHIR instant with milliseconds and ``Z``."""
    if moment.tzinfo is not None:
        moment = _to_utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


__all__ = ["DateFormatError", "format_instant", "parse_range", "utc_now"]

"""Cell value parsers for French centre-software exports: dates, times, datetimes, decimals, integers, booleans.

Every parser takes the raw cell text (surrounding whitespace is ignored) and returns a Python value or raises
:class:`ValueProblem` with a message that quotes the text and says what was expected. Mappings add the location
(``appointments.csv:17:statut``) to the message.

Accepted forms
    dates       ``dd/mm/yyyy`` (``d/m/yyyy`` too), ISO ``yyyy-mm-dd``; two-digit years are refused
    times       ``HH:MM``, ``HH:MM:SS``, French ``14h30`` / ``14h``
    datetimes   ``dd/mm/yyyy HH:MM[:SS]``, ISO ``yyyy-mm-ddTHH:MM[:SS[.ffffff]]`` (a space for ``T`` too), read as
                local time in the zone passed in; the ISO forms may end with ``Z`` or ``±HH:MM``, which fixes the
                instant (the only way to name 02:30 on the night clocks go back). A local time that happens twice
                or never (daylight saving changes) is a problem, never a guess. Results carry a fixed UTC offset.
    decimals    ``12,50``, ``12.50``, ``-3,5``, ``1 234,56`` with a space, no-break space (U+00A0) or narrow
                no-break space (U+202F) between groups of three digits; ``1.234,56`` and ``1,234.56`` are refused
                (which separator is the decimal one cannot be told apart from ``1.234`` / ``1,234``)
    integers    ``42``, ``-7``, ``1 234`` (same group separators)
    booleans    true: ``oui o vrai v 1 true t yes y x``; false: ``non n faux f 0 false no``; case and accents
                (``Vrai``, ``OUI``) do not matter. ``x`` is the tick of a checkbox column; an empty cell is a
                problem unless the mapping says what it means (``parse_bool(text, blank=False)`` for checkboxes).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal

_SPACES = " \u00a0\u202f"
_DATE_FR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_TIME_FR = re.compile(r"(\d{1,2})[hH](\d{2})?")
_DATETIME_FR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATETIME_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"([+-]?)(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](\d+))?")
_TRUE = frozenset({"oui", "o", "vrai", "v", "1", "true", "t", "yes", "y", "x"})
_FALSE = frozenset({"non", "n", "faux", "f", "0", "false", "no"})


class ValueProblem(ValueError):
    """A cell's text is not a value of the expected kind; the message quotes the text and says what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _clean(text: str, expected: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ValueProblem(f"empty value, expected {expected}")
    return cleaned


def _make_date(year: str, month: str, day: str, text: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise ValueProblem(f"{text!r} is not a calendar date") from None


def _make_time(hour: str, minute: str | None, second: str | None, text: str) -> time:
    try:
        return time(int(hour), int(minute or 0), int(second or 0))
    except ValueError:
        raise ValueProblem(f"{text!r} is not a time of day") from None


def parse_date(text: str) -> date:
    """``dd/mm/yyyy`` or ``yyyy-mm-dd``."""
    cleaned = _clean(text, "a date dd/mm/yyyy")
    if match := _DATE_FR.fullmatch(cleaned):
        day, month, year = match.groups()
        return _make_date(year, month, day, cleaned)
    if match := _DATE_ISO.fullmatch(cleaned):
        year, month, day = match.groups()
        return _make_date(year, month, day, cleaned)
    raise ValueProblem(f"{cleaned!r} is not a date; expected dd/mm/yyyy or yyyy-mm-dd")


def parse_time(text: str) -> time:
    """``HH:MM``, ``HH:MM:SS`` or ``14h30``."""
    cleaned = _clean(text, "a time HH:MM")
    if match := _TIME.fullmatch(cleaned):
        hour, minute, second = match.groups()
        return _make_time(hour, minute, second, cleaned)
    if match := _TIME_FR.fullmatch(cleaned):
        return _make_time(match[1], match[2], None, cleaned)
    raise ValueProblem(f"{cleaned!r} is not a time; expected HH:MM or HH:MM:SS")


def _offset(text: str, original: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise ValueProblem(f"{original!r} has an impossible UTC offset {text!r}")
    sign = 1 if text[0] == "+" else -1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _fixed(moment: datetime) -> datetime:
    """The same instant and wall-clock time, with the offset in force as a fixed-offset tzinfo."""
    return moment.replace(tzinfo=timezone(moment.utcoffset() or timedelta(0)), fold=0)


def _local(naive: datetime, zone: tzinfo, text: str) -> datetime:
    """``naive`` as a wall-clock time in ``zone``; a time the clocks skip or show twice is a problem."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return _fixed(first)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        raise ValueProblem(
            f"{text!r} happens twice in {zone} (clocks go back at the end of daylight saving time); "
            f"give the UTC offset (e.g. {naive:%Y-%m-%dT%H:%M:%S}{_format_offset(first)} or "
            f"{naive:%Y-%m-%dT%H:%M:%S}{_format_offset(second)}) or avoid the repeated hour"
        )
    raise ValueProblem(
        f"{text!r} does not exist in {zone} (clocks go forward for daylight saving time, this hour is skipped)"
    )


def _format_offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_datetime(text: str, zone: tzinfo) -> datetime:
    """An aware datetime from ``dd/mm/yyyy HH:MM[:SS]`` or ISO ``yyyy-mm-ddTHH:MM[:SS][offset]``.

    Without an offset the text is wall-clock time in ``zone`` (a ``zoneinfo.ZoneInfo``, e.g. Europe/Paris); a
    skipped or repeated wall-clock time raises :class:`ValueProblem`. With an offset the instant is exact.

    The result is the local wall-clock time in ``zone`` carrying the UTC offset in force then as a *fixed*
    offset (``2026-07-17 14:30+02:00``), not the ZoneInfo itself: Python compares and subtracts datetimes that
    share a tzinfo by wall clock, ignoring ``fold``, so the two 02:30 of 25/10/2026 would compare equal.
    """
    cleaned = _clean(text, "a date and time dd/mm/yyyy HH:MM")
    if match := _DATETIME_FR.fullmatch(cleaned):
        day, month, year, hour, minute, second = match.groups()
        naive = datetime.combine(_make_date(year, month, day, cleaned), _make_time(hour, minute, second, cleaned))
        return _local(naive, zone, cleaned)
    if match := _DATETIME_ISO.fullmatch(cleaned):
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        clock = _make_time(hour, minute, second, cleaned)
        if fraction:
            clock = clock.replace(microsecond=int(fraction.ljust(6, "0")))
        naive = datetime.combine(_make_date(year, month, day, cleaned), clock)
        if offset is None:
            return _local(naive, zone, cleaned)
        return _fixed(naive.replace(tzinfo=_offset(offset, cleaned)).astimezone(zone))
    if _DATE_FR.fullmatch(cleaned) or _DATE_ISO.fullmatch(cleaned):
        raise ValueProblem(f"{cleaned!r} has no time; expected dd/mm/yyyy HH:MM")
    raise ValueProblem(f"{cleaned!r} is not a date and time; expected dd/mm/yyyy HH:MM or yyyy-mm-ddTHH:MM")


def _number(text: str, expected: str) -> tuple[str, str, str | None]:
    cleaned = _clean(text, expected)
    if "." in cleaned and "," in cleaned:
        raise ValueProblem(f"{cleaned!r} mixes '.' and ','; expected {expected} such as 1 234,56")
    match = _NUMBER.fullmatch(cleaned)
    if match is None:
        raise ValueProblem(f"{cleaned!r} is not a number; expected {expected} such as 1 234,56")
    sign, whole, fraction = match.groups()
    for space in _SPACES:
        whole = whole.replace(space, "")
    return sign, whole, fraction


def parse_decimal(text: str) -> Decimal:
    """``12,50``, ``12.50``, ``1 234,56`` (space / U+00A0 / U+202F thousands separators) as an exact Decimal."""
    sign, whole, fraction = _number(text, "a decimal number")
    return Decimal(f"{sign}{whole}.{fraction}" if fraction is not None else f"{sign}{whole}")


def parse_int(text: str) -> int:
    """``42``, ``-7``, ``1 234``; a fractional part (even ``,0``) is a problem."""
    sign, whole, fraction = _number(text, "a whole number")
    if fraction is not None:
        raise ValueProblem(f"{text.strip()!r} is not a whole number")
    return int(f"{sign}{whole}")


_ACCENTS = str.maketrans("àâäéèêëîïôöùûüç", "aaaeeeeiioouuuc")


def _fold_accents(text: str) -> str:
    return text.lower().translate(_ACCENTS)


def parse_bool(text: str, *, blank: bool | None = None) -> bool:
    """French and English yes/no words, ``1``/``0`` and the checkbox tick ``x``.

    An empty cell returns ``blank`` when the mapping gives one (``blank=False`` for checkbox columns, where an
    unticked box is exported as nothing) and is a problem otherwise.
    """
    cleaned = text.strip()
    if not cleaned:
        if blank is None:
            raise ValueProblem("empty value, expected oui or non")
        return blank
    word = _fold_accents(cleaned)
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueProblem(f"{cleaned!r} is not a yes/no value; expected oui/non, o/n, vrai/faux, 1/0, true/false or x")


__all__ = [
    "ValueProblem",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_int",
    "parse_time",
]

"""Generic transforms: text clean-up, numbers, booleans and FHIR date/time renderings of parsed values."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from mappings.compiler import json_copy
from mappings.registry import MapContext, MappingProblem, condition, transform


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@transform("text")
def text(value: Any, _ctx: MapContext) -> str | None:
    """The value as trimmed text."""
    return _text(value)


@transform("upper")
def upper(value: Any, _ctx: MapContext) -> str | None:
    text = _text(value)
    return text.upper() if text else None


@transform("prefix")
def prefix(value: Any, _ctx: MapContext, text: str) -> str | None:
    """``text`` + value, e.g. idNat_PS = "8" + RPPS."""
    body = _text(value)
    return f"{text}{body}" if body else None


@transform("first_word")
def first_word(value: Any, _ctx: MapContext) -> str | None:
    """The first word of a list written with spaces (the first of the birth given names)."""
    body = _text(value)
    return body.split()[0] if body else None


@transform("template")
def template(value: Any, ctx: MapContext, pattern: str) -> str | None:
    """Fill ``{value}`` (or ``{name}`` for named sources) and ``{tenant}`` in a pattern."""
    names = {k: _text(v) for k, v in value.items()} if isinstance(value, dict) else {"value": _text(value)}
    if any(v is None for v in names.values()):
        return None
    return pattern.format(tenant=ctx.tenant, **names)


@transform("integer")
def integer(value: Any, _ctx: MapContext) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    if not re.fullmatch(r"[+-]?\d{1,12}", text):
        raise MappingProblem(f"'{text}' is not a whole number")
    return int(text)


@transform("decimal")
def decimal(value: Any, _ctx: MapContext) -> float | None:
    """A FHIR decimal (JSON number); parsed CSV decimals arrive as Decimal."""
    if isinstance(value, Decimal):
        return float(value)
    text = _text(value)
    if text is None:
        return None
    try:
        return float(Decimal(text))
    except InvalidOperation:
        raise MappingProblem(f"'{text}' is not a decimal number") from None


@transform("date")
def fhir_date(value: Any, _ctx: MapContext) -> str | None:
    """A parsed date (or datetime) as a FHIR date."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return None
    raise MappingProblem(f"'{value}' is not a date")


@transform("datetime")
def fhir_datetime(value: Any, ctx: MapContext) -> str | None:
    """A parsed, zone-aware datetime as a FHIR dateTime with its UTC offset (local time of the centre)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise MappingProblem(f"'{value}' is not a date and time")
    aware = value if value.tzinfo else value.replace(tzinfo=ctx.zone)
    if type(aware.tzinfo) is timezone:  # a fixed offset (what CSV cells parse to): equal values are one instant
        return _local_rendering(aware, ctx.zone)
    return _render_local(aware, ctx.zone)


def _render_local(aware: datetime, zone: tzinfo) -> str:
    # through UTC: astimezone() to the zone a value already has returns it as is, even a wall-clock time that
    # the daylight saving change skips (what adding minutes in local time can give)
    return aware.astimezone(UTC).astimezone(zone).isoformat(timespec="seconds")


# Exports repeat their times (every agenda has its 08:00, 08:20...) and rendering one costs more than the rest of
# a rule: the last few thousand are remembered. Only fixed-offset values come here: two of them that compare equal
# are the same instant, so they render the same (values in a zone with daylight saving time compare by wall clock,
# whatever their fold, and are always rendered afresh).
_local_rendering = lru_cache(maxsize=4096)(_render_local)


@transform("time")
def fhir_time(value: Any, _ctx: MapContext) -> str | None:
    if value is None:
        return None
    if isinstance(value, time):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    raise MappingProblem(f"'{value}' is not a time of day")


@transform("add_minutes")
def add_minutes(value: Any, ctx: MapContext) -> str | None:
    """``{start: datetime, minutes: int}`` → the end as a FHIR dateTime."""
    from datetime import timedelta

    start, minutes = value.get("start"), value.get("minutes")
    if start is None or minutes is None:
        return None
    count = minutes if isinstance(minutes, int) else integer(minutes, ctx)
    if count is None or count <= 0:
        raise MappingProblem(f"a duration of {minutes} minutes is not positive")
    aware = start if start.tzinfo else start.replace(tzinfo=ctx.zone)
    return fhir_datetime(aware.astimezone(UTC) + timedelta(minutes=count), ctx)  # elapsed minutes, not wall-clock


@transform("boolean")
def boolean(value: Any, _ctx: MapContext) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "oui", "o", "y", "yes", "vrai", "x"):
        return True
    if text in ("0", "false", "non", "n", "no", "faux", ""):
        return False
    raise MappingProblem(f"'{value}' is not a yes/no value")


@transform("yes_no")
def yes_no(value: Any, ctx: MapContext, yes: Any, no: Any) -> Any:
    """A yes/no value → ``yes`` or ``no`` (e.g. answered → completed / not-done)."""
    flag = boolean(value, ctx)
    if flag is None:
        return None
    return json_copy(yes if flag else no)


@condition("is_true")
def is_true(value: Any, ctx: MapContext) -> bool:
    """The value is yes: a parsed ``True`` or a yes word (``oui``, ``1``, ``x``...); blank or absent is no."""
    if value is None:
        return False
    try:
        return bool(boolean(value, ctx))
    except MappingProblem:
        return False


@transform("money")
def money(value: Any, ctx: MapContext, currency: str = "EUR") -> dict[str, Any] | None:
    amount = decimal(value, ctx)
    return None if amount is None else {"value": amount, "currency": currency}


__all__ = [
    "add_minutes",
    "boolean",
    "decimal",
    "fhir_date",
    "fhir_datetime",
    "fhir_time",
    "first_word",
    "integer",
    "is_true",
    "money",
    "prefix",
    "template",
    "text",
    "upper",
    "yes_no",
]

"""Conditions for ``when:``: presence and comparisons of source values."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from mappings.registry import MapContext, condition


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@condition("present")
def present(value: Any, _ctx: MapContext) -> bool:
    """The value (or, with named sources, any of them) is there and not blank."""
    if isinstance(value, dict):
        return any(_text(v) is not None for v in value.values())
    return _text(value) is not None


@condition("equals")
def equals(value: Any, _ctx: MapContext, to: str) -> bool:
    """The value equals ``to`` (case-insensitive)."""
    text = _text(value)
    return text is not None and text.upper() == str(to).upper()


@condition("one_of")
def one_of(value: Any, _ctx: MapContext, values: list[str]) -> bool:
    text = _text(value)
    return text is not None and text.upper() in {str(v).upper() for v in values}


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    """The patterns of the mapping files, compiled once each."""
    return re.compile(pattern)


@condition("matches")
def matches(value: Any, _ctx: MapContext, pattern: str) -> bool:
    text = _text(value)
    return text is not None and _compiled(pattern).fullmatch(text) is not None


__all__ = ["equals", "matches", "one_of", "present"]

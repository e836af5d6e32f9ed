"""HL7 v2 messages as mapping scopes: absolute paths (``PID-3[2].4.2``) anywhere, relative paths inside a segment
(``4[2].1``) or a field repetition (``4.2``), and ``each`` over segments or repetitions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from adapters.source import Scope, Value

if TYPE_CHECKING:
    from adapters.hl7v2.er7 import Er7Message, Repetition, Segment

_ABSOLUTE = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?)?$")
_IN_SEGMENT = re.compile(r"^(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?$")
_IN_FIELD = re.compile(r"^(\d+)(?:\.(\d+))?$")

Parsed = tuple[str, int, int | None, int, int | None, int | None]  # segment, occurrence, field, rep, comp, sub


@lru_cache(maxsize=4096)
def _absolute(path: str) -> Parsed | None:
    m = _ABSOLUTE.match(path)
    if m is None:
        return None
    return (
        m[1],
        int(m[2] or 1),
        int(m[3]) if m[3] else None,
        int(m[4] or 1),
        int(m[5]) if m[5] else None,
        int(m[6]) if m[6] else None,
    )


@lru_cache(maxsize=4096)
def _in_segment(path: str) -> tuple[int, int, int | None, int | None]:
    m = _IN_SEGMENT.match(path)
    if m is None:
        raise ValueError(f"'{path}' is not a path inside a segment (like 4, 4[2].1 or 4.1.2)")
    return int(m[1]), int(m[2] or 1), int(m[3]) if m[3] else None, int(m[4]) if m[4] else None


@lru_cache(maxsize=4096)
def _in_field(path: str) -> tuple[int, int | None]:
    m = _IN_FIELD.match(path)
    if m is None:
        raise ValueError(f"'{path}' is not a path inside a field (like 1 or 4.2)")
    return int(m[1]), int(m[2]) if m[2] else None


def _segment_label(segment: Segment) -> str:
    return segment.name if segment.occurrence == 1 else f"{segment.name}[{segment.occurrence}]"


def _field_location(segment: Segment, field: int, rep: int) -> str:
    label = f"{_segment_label(segment)}-{field}"
    return label if rep == 1 else f"{label}[{rep}]"


def _leaf(rep: Repetition, component: int | None, sub: int | None) -> str | None:
    if component is None:
        return rep.component(1) if sub is None else rep.sub(1, sub)
    return rep.component(component) if sub is None else rep.sub(component, sub)


def _suffix(component: int | None, sub: int | None) -> str:
    if component is None:
        return ""
    return f".{component}" if sub is None else f".{component}.{sub}"


class MessageScope:
    """The whole message."""

    def __init__(self, message: Er7Message) -> None:
        self.message = message

    def _segment(self, name: str, occurrence: int) -> Segment | None:
        if occurrence == 1:
            return self.message.first(name)
        found = self.message.all(name)
        return found[occurrence - 1] if len(found) >= occurrence else None

    def get(self, path: str) -> Value | None:
        parsed = _absolute(path)
        if parsed is None:
            raise ValueError(f"'{path}' is not an HL7 v2 path (like PID-3[2].4.2)")
        name, occurrence, field, rep, component, sub = parsed
        segment = self._segment(name, occurrence)
        if segment is None:
            return None
        if field is None:
            return Value(name, _segment_label(segment))
        return SegmentScope(self, segment).read(field, rep, component, sub)

    def each(self, path: str) -> Sequence[Scope]:
        parsed = _absolute(path)
        if parsed is None:
            raise ValueError(f"'{path}' is not an HL7 v2 path (like PID-3 or ROL)")
        name, occurrence, field, _rep, _component, _sub = parsed
        if field is None:
            return [SegmentScope(self, segment) for segment in self.message.all(name)]
        segment = self._segment(name, occurrence)
        return SegmentScope(self, segment).repetitions(field) if segment is not None else []

    def location(self, path: str) -> str:
        return path


class SegmentScope:
    """One segment: relative paths ``4``, ``4[2].1``, ``4.1.2``."""

    def __init__(self, root: MessageScope, segment: Segment) -> None:
        self.root, self.segment = root, segment

    def read(self, field: int, rep: int, component: int | None, sub: int | None) -> Value | None:
        text = self.segment.value(field, rep, component, sub)
        if text is None:
            return None
        return Value(text, _field_location(self.segment, field, rep) + _suffix(component, sub))

    def repetitions(self, field: int) -> list[Scope]:
        return [
            RepetitionScope(self.root, rep, _field_location(self.segment, field, n))
            for n, rep in enumerate(self.segment.field(field).repetitions, start=1)
        ]

    def get(self, path: str) -> Value | None:
        if path[:1].isalpha():
            return self.root.get(path)
        field, rep, component, sub = _in_segment(path)
        return self.read(field, rep, component, sub)

    def each(self, path: str) -> Sequence[Scope]:
        if path[:1].isalpha():
            return self.root.each(path)
        field, _rep, _component, _sub = _in_segment(path)
        return self.repetitions(field)

    def location(self, path: str) -> str:
        if path[:1].isalpha():
            return path
        return f"{_segment_label(self.segment)}-{path}"


class RepetitionScope:
    """One repetition of a field: relative paths ``1``, ``4.2`` (component, sub-component)."""

    def __init__(self, root: MessageScope, repetition: Repetition, location: str) -> None:
        self.root, self.repetition, self.where = root, repetition, location

    def get(self, path: str) -> Value | None:
        if path[:1].isalpha():
            return self.root.get(path)
        component, sub = _in_field(path)
        text = _leaf(self.repetition, component, sub)
        return None if text is None else Value(text, f"{self.where}.{path}")

    def each(self, path: str) -> Sequence[Scope]:
        if path[:1].isalpha():
            return self.root.each(path)
        return []

    def location(self, path: str) -> str:
        return path if path[:1].isalpha() else f"{self.where}.{path}"


def present_fields(message: Er7Message) -> list[str]:
    """The fields that carry a value (``PID-3``), segment by segment, for the unused-field report."""
    present: list[str] = []
    for segment in message.segments:
        if segment.name == "MSH":  # the header is read by the transport, not by mappings
            continue
        name = segment.name
        for number in range(1, segment.field_count + 1):
            text = segment.field_text(number)
            if text and not text.isspace():
                present.append(f"{name}-{number}")
    return present


__all__ = ["MessageScope", "RepetitionScope", "SegmentScope", "present_fields"]

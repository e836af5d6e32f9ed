"""HL7 v2 messages as mapping scopes: absolute paths (``PID-3[2].4.2``) anywhere, relative paths inside a segment
(``4[2].1``) or a field repetition (``4.2``), and ``each`` over segments or repetitions."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from adapters.source import LazyValue, Scope, Value

if TYPE_CHECKING:
    from adapters.hl7v2.er7 import Er7Message, Segment

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


def _suffix(component: int | None, sub: int | None) -> str:
    if component is None:
        return ""
    return f".{component}" if sub is None else f".{component}.{sub}"


def _value_location(segment: Segment, field: int, rep: int, component: int | None, sub: int | None) -> str:
    """``PID-3[2].4.2``: where a value read from a segment is (``[1]`` and absent parts left out)."""
    return _field_location(segment, field, rep) + _suffix(component, sub)


def _within(segment: Segment, field: int, rep: int, path: str) -> str:
    """``PID-3[2].4.2``: where a value read from a field repetition (at ``4.2``) is."""
    return f"{_field_location(segment, field, rep)}.{path}"


_UNREAD = Value(None, "")  # what the memory of reads answers for a path not read yet (None: read, not there)


class _Reads(ABC):
    """What the three scopes share: each path is read once, then answered from memory.

    A message is read-only, so a mapping that looks at the same value from several rules (MSH-12.2 for every
    name, PID-32 for every identifier) pays for it once. The memory of a segment's or a repetition's reads is kept
    by the message scope, for every scope of that segment or repetition: the scopes ``each`` hands out are light
    views, made anew each time, and nothing the message scope keeps refers back to them (no reference cycles: a
    message's objects go as soon as its record does, without waiting for the garbage collector).
    """

    __slots__ = ("_values",)

    _values: dict[str, Value | None]

    def get(self, path: str) -> Value | None:
        found = self._values.get(path, _UNREAD)
        if found is _UNREAD:
            found = self._values[path] = self._read(path)
        return found

    @abstractmethod
    def _read(self, path: str) -> Value | None:
        """Read ``path`` from the source (each scope knows how: message, segment or repetition)."""


class MessageScope(_Reads):
    """The whole message."""

    __slots__ = ("_memories", "message")

    def __init__(self, message: Er7Message) -> None:
        self.message = message
        self._values = {}
        self._memories: dict[tuple[int, ...], dict[str, Value | None]] = {}

    def memory(self, *element: int) -> dict[str, Value | None]:
        """The reads remembered for an element of the message: (segment position) or (position, field, rep)."""
        found = self._memories.get(element)
        if found is None:
            found = self._memories[element] = {}
        return found

    def _segment(self, name: str, occurrence: int) -> Segment | None:
        if occurrence == 1:
            return self.message.first(name)
        found = self.message.all(name)
        return found[occurrence - 1] if len(found) >= occurrence else None

    def _read(self, path: str) -> Value | None:
        parsed = _absolute(path)
        if parsed is None:
            raise ValueError(f"'{path}' is not an HL7 v2 path (like PID-3[2].4.2)")
        name, occurrence, field, rep, component, sub = parsed
        segment = self._segment(name, occurrence)
        if segment is None:
            return None
        if field is None:
            return LazyValue(name, _segment_label, segment)
        return _read(segment, field, rep, component, sub)

    def each(self, path: str) -> Sequence[Scope]:
        parsed = _absolute(path)
        if parsed is None:
            raise ValueError(f"'{path}' is not an HL7 v2 path (like PID-3 or ROL)")
        name, occurrence, field, _rep, _component, _sub = parsed
        if field is None:
            return [SegmentScope(self, segment) for segment in self.message.all(name)]
        segment = self._segment(name, occurrence)
        return _repetitions(self, segment, field) if segment is not None else []

    def location(self, path: str) -> str:
        return path


def _read(segment: Segment, field: int, rep: int, component: int | None, sub: int | None) -> Value | None:
    text = segment.value(field, rep, component, sub)
    if text is None:
        return None
    return LazyValue(text, _value_location, segment, field, rep, component, sub)


def _repetitions(root: MessageScope, segment: Segment, field: int) -> list[Scope]:
    count = segment.repetition_count(field)
    return [RepetitionScope(root, segment, field, n) for n in range(1, count + 1)]


class SegmentScope(_Reads):
    """One segment: relative paths ``4``, ``4[2].1``, ``4.1.2``."""

    __slots__ = ("root", "segment")

    def __init__(self, root: MessageScope, segment: Segment) -> None:
        self.root, self.segment = root, segment
        self._values = root.memory(segment.position)

    def read(self, field: int, rep: int, component: int | None, sub: int | None) -> Value | None:
        return _read(self.segment, field, rep, component, sub)

    def repetitions(self, field: int) -> list[Scope]:
        return _repetitions(self.root, self.segment, field)

    def _read(self, path: str) -> Value | None:
        if path[:1].isalpha():
            return self.root.get(path)
        field, rep, component, sub = _in_segment(path)
        return _read(self.segment, field, rep, component, sub)

    def each(self, path: str) -> Sequence[Scope]:
        if path[:1].isalpha():
            return self.root.each(path)
        field, _rep, _component, _sub = _in_segment(path)
        return self.repetitions(field)

    def location(self, path: str) -> str:
        if path[:1].isalpha():
            return path
        return f"{_segment_label(self.segment)}-{path}"


class RepetitionScope(_Reads):
    """One repetition of a field: relative paths ``1``, ``4.2`` (component, sub-component)."""

    __slots__ = ("field", "number", "root", "segment")

    def __init__(self, root: MessageScope, segment: Segment, field: int, number: int) -> None:
        self.root, self.segment, self.field, self.number = root, segment, field, number
        self._values = root.memory(segment.position, field, number)

    @property
    def where(self) -> str:
        """The repetition's location: ``PID-3[2]`` (``PID-3`` for the first)."""
        return _field_location(self.segment, self.field, self.number)

    def _read(self, path: str) -> Value | None:
        if path[:1].isalpha():
            return self.root.get(path)
        component, sub = _in_field(path)
        if component < 1 or (sub is not None and sub < 1):
            raise ValueError(f"component and sub-component numbers start at 1, got {path}")
        text = self.segment.value(self.field, self.number, component, sub)
        return None if text is None else LazyValue(text, _within, self.segment, self.field, self.number, path)

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
        present.extend(f"{name}-{number}" for number in segment.filled_fields())
    return present


__all__ = ["MessageScope", "RepetitionScope", "SegmentScope", "present_fields"]

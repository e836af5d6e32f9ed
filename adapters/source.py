"""The neutral source document every adapter produces and every mapping reads.

An adapter turns export bytes into :class:`SourceRecord` objects (one HL7 message, one CSV row, one FHIR bundle
entry). A record exposes its values through a :class:`Scope`: ``get(path)`` gives a :class:`Value` that remembers
where it came from (``PID-3[2].1``, ``appointments.csv:17:statut``), and ``each(path)`` gives the scopes of the
repetitions or segments under a path, whose own paths are relative (``4.2`` inside a ``PID-3`` repetition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class Value:
    """A value read from a source, with its source location (read-only).

    ``Value(value, location)`` knows its location at once. Adapters that read many values make a
    :class:`LazyValue` instead, whose location string is written only when something asks for it (an issue about
    the value), which most values never need. Both compare, hash and print the same way.
    """

    __slots__ = ("_locate", "_location", "_parts", "value")

    value: Any  # str for HL7; str, date, datetime, Decimal, bool or int for parsed CSV cells
    _location: str | None  # None until a LazyValue's location is first asked for
    _locate: Callable[..., str]  # LazyValue only
    _parts: tuple[Any, ...]  # LazyValue only

    def __init__(self, value: Any, location: str) -> None:
        self.value = value
        self._location = location

    @property
    def location(self) -> str:
        """Where the value was read: ``PID-3[2].4.2``, ``appointments.csv:17:statut``."""
        location = self._location
        if location is None:
            location = self._location = self._locate(*self._parts)
        return location

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value):
            return NotImplemented
        return (self.value, self.location) == (other.value, other.location)

    def __hash__(self) -> int:
        return hash((self.value, self.location))

    def __repr__(self) -> str:
        return f"Value(value={self.value!r}, location={self.location!r})"


class LazyValue(Value):
    """A value whose location is ``locate(*parts)``, computed on first use (then kept)."""

    __slots__ = ()

    def __init__(self, value: Any, locate: Callable[..., str], *parts: Any) -> None:
        self.value = value
        self._location = None
        self._locate = locate
        self._parts = parts


class Scope(Protocol):
    """Where mapping rules read values: a whole record, a segment, a field repetition, a CSV row."""

    def get(self, path: str) -> Value | None: ...

    def each(self, path: str) -> Sequence[Scope]: ...

    def location(self, path: str) -> str: ...


@dataclass
class SourceRecord:
    """One unit of ingest with its own outcome: an HL7 message, a CSV row, a FHIR bundle entry."""

    kind: str  # what the message mapping is chosen by: "ADT^A04", "SIU^S12", "csv:appointments", "fhir:batch"
    location: str  # where the record is in its payload: "adt.hl7#2", "appointments.csv:17", "Bundle.entry[3]"
    text: str  # the record's own text, kept for dead letters and replay
    scope: Scope | None = None  # None when the record could not be read (``problem`` then says why)
    control_id: str | None = None  # MSH-10 for HL7 v2; duplicates are detected by it
    sender: str | None = None  # MSH-3^MSH-4 for HL7 v2: control ids are unique per sender
    problem: Any = None  # an adapter error (with location) found while reading this record
    issues: list[Any] = field(default_factory=list)  # problems found while reading single values (bad cells)
    present: Sequence[str] = ()  # the source fields that carry a value, for the unused-field report
    resources: list[dict[str, Any]] | None = None  # FHIR sources: the resources themselves (ids made local)


__all__ = ["LazyValue", "Scope", "SourceRecord", "Value"]

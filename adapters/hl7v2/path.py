"""HL7 v2 value paths and source locations: ``PID-3``, ``PID-3[2].4.2``, ``OBX[2]-5.1``.

Grammar: ``SEG[k]-f[r].c.s`` where the segment occurrence ``[k]``, the repetition ``[r]``, the component ``.c``
and the sub-component ``.s`` are optional; indexes are 1-based and a missing one means 1. The canonical form
(what ``str(path)`` and :func:`location` print) leaves out ``[1]``. A path that does not follow the grammar is
a programming or configuration error: :class:`ValueError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_PATH = re.compile(r"([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?", re.ASCII)
_RELATIVE = re.compile(r"(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class Path:
    """Where a value is: segment (and its occurrence), field, repetition, component, sub-component."""

    segment: str
    occurrence: int
    field: int
    repetition: int = 1
    component: int | None = None
    subcomponent: int | None = None

    def __post_init__(self) -> None:
        indexes = (self.occurrence, self.field, self.repetition, self.component, self.subcomponent)
        if min(index for index in indexes if index is not None) < 1:
            raise ValueError(f"HL7 path indexes start at 1: {indexes}")
        if self.subcomponent is not None and self.component is None:
            raise ValueError("a sub-component needs a component")

    def __str__(self) -> str:
        segment = self.segment if self.occurrence == 1 else f"{self.segment}[{self.occurrence}]"
        return location(segment, self.field, self.repetition, self.component, self.subcomponent)


def location(
    segment: str,
    field: int,
    repetition: int | None = None,
    component: int | None = None,
    subcomponent: int | None = None,
) -> str:
    """A location such as ``PID-3[2].4`` (``segment`` may carry its occurrence: ``OBX[2]``); ``[1]`` is left out."""
    text = f"{segment}-{field}"
    if repetition is not None and repetition != 1:
        text += f"[{repetition}]"
    if component is not None:
        text += f".{component}"
        if subcomponent is not None:
            text += f".{subcomponent}"
    return text


def _int(group: str | None) -> int | None:
    return None if group is None else int(group)


@lru_cache(maxsize=4096)
def parse_path(path: str) -> Path:
    """Parse ``SEG[k]-f[r].c.s``; raises ``ValueError`` for anything else."""
    match = _PATH.fullmatch(path.strip())
    if match is None:
        raise ValueError(f"not an HL7 v2 path: {path!r} (expected e.g. PID-3, PID-3[2].4.2, OBX[2]-5)")
    segment, occurrence, field, repetition, component, subcomponent = match.groups()
    return Path(segment, int(occurrence or 1), int(field), int(repetition or 1), _int(component), _int(subcomponent))


@lru_cache(maxsize=4096)
def parse_relative_path(path: str) -> tuple[int, int, int | None, int | None]:
    """Parse a path inside a segment, ``f[r].c.s``, into (field, repetition, component, sub-component)."""
    match = _RELATIVE.fullmatch(path.strip())
    if match is None:
        raise ValueError(f"not a path inside a segment: {path!r} (expected e.g. 3, 3[2].4, 5.1.1)")
    field, repetition, component, subcomponent = match.groups()
    parsed = Path("MSH", 1, int(field), int(repetition or 1), _int(component), _int(subcomponent))  # validates
    return parsed.field, parsed.repetition, parsed.component, parsed.subcomponent


__all__ = ["Path", "location", "parse_path", "parse_relative_path"]

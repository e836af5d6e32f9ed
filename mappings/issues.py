"""What a mapping run reports: issues located in the source, and the error for a bad mapping file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class MapIssue:
    """A problem found while mapping one record, at a source location (``PID-7``, ``rdv.csv:17:debut``)."""

    code: str  # MAP-REQUIRED, MAP-VALUE, MAP-CODE, MAP-DATE, MAP-DST, MAP-ID, ...
    message: str
    location: str | None
    severity: Literal["error", "warning"] = "error"


class MappingFileError(Exception):
    """A mapping file breaks the schema or names something unknown: start-up stops, naming file and key."""

    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")
        self.file, self.key, self.message = file, key, message


__all__ = ["MapIssue", "MappingFileError"]

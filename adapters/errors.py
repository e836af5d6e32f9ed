"""The adapters' errors: what went wrong reading an export, where in the source, and a stable ``ADP-`` code.

Every adapter raises a subclass of :class:`AdapterError` for bad input (never a bare ``ValueError`` or
``UnicodeDecodeError``), so the ingest loop can turn any of them into a dead letter with a location.
"""

from __future__ import annotations

from typing import ClassVar


class AdapterError(Exception):
    """Input an adapter cannot read: ``message`` says why, ``location`` where (``MSH-18``, ``segment 4``)."""

    default_code: ClassVar[str] = "ADP-ERROR"

    def __init__(self, message: str, *, location: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.code = code or self.default_code

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.code}{where}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:  # keeps location and code through pickling
        return (_rebuild, (type(self), self.message, self.location, self.code))


def _rebuild(cls: type[AdapterError], message: str, location: str | None, code: str) -> AdapterError:
    return cls(message, location=location, code=code)


class Hl7Error(AdapterError):
    """An HL7 v2 message (or batch) that cannot be read; codes ``ADP-HL7-STRUCTURE``, ``ADP-HL7-CHARSET``."""

    default_code: ClassVar[str] = "ADP-HL7-STRUCTURE"


__all__ = ["AdapterError", "Hl7Error"]

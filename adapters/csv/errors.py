"""The CSV adapter's file-level error: a file that cannot be read at all (problems in single rows are not errors).

Codes: ``ADP-CSV-ENCODING`` (neither UTF-8 nor Windows-1252, or UTF-16/32), ``ADP-CSV-EMPTY`` (no content),
``ADP-CSV-HEADER`` (no header, empty or duplicate column names), ``ADP-CSV-DELIMITER`` (the delimiter cannot be
told), ``ADP-CSV-QUOTE`` (a quoted field never closes). ``location`` is ``file.csv:LINE`` where a line is known.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.errors import AdapterError

ENCODING = "ADP-CSV-ENCODING"
EMPTY = "ADP-CSV-EMPTY"
HEADER = "ADP-CSV-HEADER"
DELIMITER = "ADP-CSV-DELIMITER"
QUOTE = "ADP-CSV-QUOTE"


class CsvFileError(AdapterError):
    """A CSV file that cannot be read; ``code`` is one of the ``ADP-CSV-*`` codes of this module."""

    default_code: ClassVar[str] = "ADP-CSV-FILE"


__all__ = ["DELIMITER", "EMPTY", "ENCODING", "HEADER", "QUOTE", "CsvFileError"]

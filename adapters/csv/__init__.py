"""The CSV adapter: centre-software exports (French dialects) read into rows with exact source locations.

``read_csv(data, "appointments.csv")`` tells the encoding (UTF-8 with or without BOM, Windows-1252) and the
delimiter (``;``, ``,``, tab) from the bytes, refuses unreadable files with :class:`CsvFileError`, and hands out
:class:`CsvRow` objects lazily, each with its start line (``appointments.csv:17``) and, for bad rows, a problem.
:mod:`adapters.csv.values` parses cell text (French dates, Europe/Paris local times, decimal commas, oui/non).
"""

from adapters.csv.dialect import detect_delimiter
from adapters.csv.encoding import detect_encoding
from adapters.csv.errors import CsvFileError
from adapters.csv.reader import CsvFile, CsvRow, read_csv, reparse_row
from adapters.csv.values import (
    ValueProblem,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_time,
)

__all__ = [
    "CsvFile",
    "CsvFileError",
    "CsvRow",
    "ValueProblem",
    "detect_delimiter",
    "detect_encoding",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_int",
    "parse_time",
    "read_csv",
    "reparse_row",
]

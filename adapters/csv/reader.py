"""Reading a CSV export into rows that know exactly where they come from (``appointments.csv:17:statut``).

:func:`read_csv` decodes the bytes (:mod:`adapters.csv.encoding`), finds the header, tells the delimiter
(:mod:`adapters.csv.dialect`) and checks the quoting of the whole file; everything that makes the file unreadable
raises :class:`CsvFileError` there, before any row is handed out. The rows themselves are read lazily, with the
standard :mod:`csv` module, each time ``CsvFile.rows`` is iterated; a row that is wrong on its own (too many or
too few fields) carries a ``problem`` and never stops the rows after it.

Rules
    * line numbers are 1-based physical lines (LF, CR LF or lone CR) where a record starts, counting the optional
      Excel ``sep=;`` line and blank lines; a quoted field with line breaks makes its record span several lines;
    * before the header, lines holding nothing but whitespace and delimiters are skipped; after it, records whose
      cells are all empty or whitespace are skipped;
    * unquoted cells lose their surrounding whitespace, quoted cells are kept exactly (header names alike);
    * header names must be unique and non-empty, except that trailing empty names (a header ending with the
      delimiter, as some software writes every line) are dropped; a row may then carry up to that many extra
      trailing fields provided they are empty;
    * a row with another number of fields gets the problem ``expected 7 fields, found 9``; its ``values`` hold the
      fields that have a column (extra fields are only in ``text``, missing columns are absent).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from adapters.csv.dialect import (
    check_quotes,
    detect_delimiter,
    line_breaks,
    physical_lines,
    sep_directive,
    split_record,
)
from adapters.csv.encoding import detect_encoding
from adapters.csv.errors import EMPTY, HEADER, CsvFileError

_BLANK = re.compile(r"[\s;,]*")
_SAMPLE_LINES = 1000  # lines of the file, from the header on, that the delimiter is told from


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One record of a CSV file."""

    source: str  # the file name as given to read_csv
    line: int  # 1-based physical line where the record starts
    values: dict[str, str]  # header name -> cell text
    text: str  # the record exactly as in the file, without its final line break (for dead letters and replay)
    problem: str | None = None  # why the row is malformed ("expected 7 fields, found 9"), else None

    def location(self, column: str | None = None) -> str:
        """``file.csv:17`` for the row, ``file.csv:17:statut`` for one of its cells."""
        return f"{self.source}:{self.line}" if column is None else f"{self.source}:{self.line}:{column}"


@dataclass(frozen=True)
class _Body:
    """The rows of a decoded file: iterating reads them from the text, lazily, from the start every time."""

    text: str
    delimiter: str
    first_line: int
    header: tuple[str, ...]
    trailing: int
    source: str

    def __iter__(self) -> Iterator[CsvRow]:
        lines = physical_lines(self.text)
        first = self.first_line
        return _rows(lines, self.delimiter, first - 1, first, self.header, self.trailing, self.source)


@dataclass(frozen=True)
class CsvFile:
    """A readable CSV file: its dialect, its header, and its rows (iterate ``rows``; each pass starts over)."""

    source: str
    encoding: str  # utf-8-sig, utf-8 or cp1252
    delimiter: str  # ";", "," or "\t"
    header: tuple[str, ...]
    header_line: int
    header_line_text: str  # the header record as in the file (without BOM and final line break), for reparse_row
    rows: Iterable[CsvRow] = field(repr=False)


def _records(
    lines: list[str], delimiter: str, skip: int, first_line: int
) -> Iterator[tuple[int, str, list[str] | None]]:
    """(start line, record text, fields) of the records in ``lines`` (physical lines with their endings) after
    the first ``skip`` of them, the first record read being on line ``first_line``.

    Fields are None when the csv module refuses the record (a field over its size limit); the records after it
    are still read, from the next line.
    """
    reader = csv.reader(islice(lines, skip, None), delimiter=delimiter)
    end = skip
    while True:
        fields: list[str] | None
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            fields = None
        begin, end = end, skip + reader.line_num
        record = lines[begin] if end - begin == 1 else "".join(lines[begin:end])
        if record.endswith("\n"):
            record = record[:-2] if record.endswith("\r\n") else record[:-1]
        elif record.endswith("\r"):
            record = record[:-1]
        yield first_line + begin - skip, record, fields


def _cells(record: str, delimiter: str, fields: list[str]) -> list[str]:
    """The cell values of a record: unquoted fields stripped, quoted ones kept as they are."""
    quoted = split_record(record, delimiter).quoted
    if len(quoted) != len(fields):  # the split mirrors the csv module; never expected to differ
        return [value.strip() for value in fields]
    return [value if is_quoted else value.strip() for value, is_quoted in zip(fields, quoted, strict=True)]


def _rows(
    lines: list[str], delimiter: str, skip: int, first_line: int, header: tuple[str, ...], trailing: int, source: str
) -> Iterator[CsvRow]:
    width = len(header)
    for line, record, fields in _records(lines, delimiter, skip, first_line):
        if fields is None:
            yield CsvRow(source, line, {}, record, f"a field is longer than {csv.field_size_limit()} characters")
            continue
        values = list(map(str.strip, fields))
        if not any(values):
            continue
        if values != fields and '"' in record:
            values = _cells(record, delimiter, fields)
        count = len(values)
        problem: str | None = None
        if count != width and not (width < count <= width + trailing and _empty(values[width:])):
            problem = f"expected {width} fields, found {count}"
        yield CsvRow(source, line, dict(zip(header, values, strict=False)), record, problem)


def _empty(values: list[str]) -> bool:
    return not any(value.strip() for value in values)


def _header(record: str, delimiter: str, where: str) -> tuple[tuple[str, ...], int]:
    """The column names of a header record and how many trailing empty names were dropped."""
    split = split_record(record, delimiter)
    names = [value if is_quoted else value.strip() for value, is_quoted in zip(split.values, split.quoted, strict=True)]
    trailing = 0
    while len(names) > 1 and not names[-1]:
        names.pop()
        trailing += 1
    if not any(names):
        raise CsvFileError("the header has no column names", location=where, code=HEADER)
    seen: dict[str, int] = {}
    for position, column in enumerate(names, start=1):
        if not column:
            raise CsvFileError(f"column {position} of the header has no name", location=where, code=HEADER)
        if column in seen:
            raise CsvFileError(
                f"the column name {column!r} appears twice in the header (columns {seen[column]} and {position})",
                location=where,
                code=HEADER,
            )
        seen[column] = position
    return tuple(names), trailing


def _locate_header(lines: list[str], source: str) -> tuple[str | None, int]:
    """The delimiter a ``sep=`` line names (or None) and the index of the header's first line."""
    forced = sep_directive(lines[0], source) if lines else None
    for index in range(1 if forced else 0, len(lines)):
        if not _BLANK.fullmatch(lines[index]):
            return forced, index
    raise CsvFileError("no header: the file holds only blank lines", location=f"{source}:1", code=HEADER)


def read_csv(data: bytes, source: str) -> CsvFile:
    """Decode and check a CSV export; raises CsvFileError for a file that cannot be read at all."""
    encoding, text = detect_encoding(data, source)
    if not text.strip():
        what = "holds only whitespace" if text else "is empty"
        raise CsvFileError(f"the file {what}", location=source, code=EMPTY)
    lines = physical_lines(text)
    delimiter, index = _locate_header(lines, source)
    header_line = index + 1
    if delimiter is None:
        sample = "".join(islice(lines, index, index + _SAMPLE_LINES))
        delimiter = detect_delimiter(sample, source, header_line)
    if '"' in text:
        check_quotes(lines, delimiter, source)
    where = f"{source}:{header_line}"
    _, record, fields = next(_records(lines, delimiter, index, header_line))
    if fields is None:
        limit = csv.field_size_limit()
        raise CsvFileError(f"a header name is longer than {limit} characters", location=where, code=HEADER)
    header, trailing = _header(record, delimiter, where)
    body = _Body(text, delimiter, header_line + line_breaks(record) + 1, header, trailing, source)
    return CsvFile(source, encoding, delimiter, header, header_line, record, body)


def reparse_row(header_line_text: str, row_text: str, source: str, line: int, delimiter: str) -> CsvRow:
    """Read one stored row again (replay): the same CsvRow as when it was read in its file.

    A text that holds no record, several records or an unclosed quote (none of which a stored row can be) gives
    a row with that problem.
    """
    header, trailing = _header(header_line_text, delimiter, source)
    rows = list(_rows(physical_lines(row_text), delimiter, 0, line, header, trailing, source))
    if len(rows) == 1 and split_record(row_text, delimiter).open_quote is None:
        return rows[0]
    if not rows:
        problem = "the row text holds no values"
    elif len(rows) > 1:
        problem = f"the row text holds {len(rows)} records, not one"
    else:
        problem = "a quoted field in the row text never closes"
    return CsvRow(source, line, {}, row_text, problem)


__all__ = ["CsvFile", "CsvRow", "read_csv", "reparse_row"]

"""Properties: any table Python's csv writer produces reads back identically, with exact start lines, in every
delimiter, line ending and encoding it fits; damaged files fail only with CsvFileError; rows replay identically."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.csv.dialect import line_breaks, physical_lines, split_record
from adapters.csv.errors import CsvFileError
from adapters.csv.reader import CsvFile, read_csv, reparse_row

FRENCH = "abcdeéèêàçôùœÉÈÀÇŒ€«»'-_/.:0123456789 "
TRICKY = ';,"\r\n\t\u00a0\u202f'
NAME = st.text(alphabet=FRENCH, min_size=1, max_size=12).map(str.strip).filter(bool)
WIDE = st.characters(codec="utf-8", exclude_characters="\x00")
CELL_CP1252 = st.text(alphabet=FRENCH + TRICKY, max_size=15)
CELL_ANY = st.text(alphabet=st.one_of(WIDE, st.sampled_from(FRENCH + TRICKY)), max_size=15)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Table:
    encoding: str
    delimiter: str
    terminator: str
    quote_all: bool
    sep_line: bool
    header: list[str]
    rows: list[list[str]]


@st.composite
def tables(draw: st.DrawFn) -> Table:
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    header = draw(st.lists(NAME, min_size=2, max_size=6, unique=True))
    quote_all = draw(st.booleans())
    terminator = draw(st.sampled_from(["\r\n", "\n"]))
    cells = CELL_CP1252 if encoding == "cp1252" else CELL_ANY
    if not quote_all:
        if terminator == "\n":  # this writer leaves a lone CR unquoted then: a line break to any reader
            cells = cells.map(lambda cell: cell.replace("\r", ""))
        cells = cells.map(str.strip)  # unquoted cells lose their surrounding whitespace: keep only cells without
    width = len(header)
    row = st.one_of(
        st.lists(cells, min_size=width, max_size=width),
        st.lists(cells, min_size=1, max_size=width + 2),
    )
    return Table(
        encoding=encoding,
        delimiter=draw(st.sampled_from([";", ",", "\t"])),
        terminator=terminator,
        quote_all=quote_all,
        sep_line=draw(st.booleans()),
        header=header,
        rows=draw(st.lists(row, max_size=8)),
    )


def write(table: Table) -> tuple[bytes, list[int]]:
    """The file's bytes and the line where each row starts."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=table.delimiter,
        lineterminator=table.terminator,
        quoting=csv.QUOTE_ALL if table.quote_all else csv.QUOTE_MINIMAL,
    )
    if table.sep_line:
        out.write(f"sep={table.delimiter}{table.terminator}")
    writer.writerow(table.header)
    starts = []
    for row in table.rows:
        starts.append(line_breaks(out.getvalue()) + 1)
        writer.writerow(row)
    text = out.getvalue()
    try:
        data = text.encode(table.encoding)
    except UnicodeEncodeError:
        assume(False)
    if table.encoding == "cp1252" and not text.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            assume(False)  # these cp1252 bytes are also valid UTF-8: read as UTF-8, as they should be
    return data, starts


def replays(file: CsvFile) -> None:
    """Every row of the file reads again identically from its stored text."""
    previous = 0
    for row in file.rows:
        assert row.line > previous
        previous = row.line
        again = reparse_row(file.header_line_text, row.text, file.source, row.line, file.delimiter)
        assert again == row


@PROPERTY
@given(tables())
def test_written_tables_read_back_identically(table: Table) -> None:
    data, starts = write(table)
    file = read_csv(data, "t.csv")
    assert file.header == tuple(table.header)
    assert file.delimiter == table.delimiter
    assert file.encoding == ("utf-8" if table.encoding == "cp1252" and data.isascii() else table.encoding)
    assert file.header_line == (2 if table.sep_line else 1)
    width = len(table.header)
    expected = [
        (start, dict(zip(table.header, row, strict=False)), None if len(row) == width else len(row))
        for start, row in zip(starts, table.rows, strict=True)
        if any(cell.strip() for cell in row)
    ]
    got = [
        (row.line, row.values, None if row.problem is None else int(row.problem.rsplit(" ", 1)[1])) for row in file.rows
    ]
    assert got == expected
    replays(file)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data, _ = write(draw(tables()))
    mutable = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(min_value=0, max_value=max(len(mutable) - 1, 0)))
        if kind == "flip" and mutable:
            mutable[at] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "insert":
            mutable[at:at] = draw(st.binary(min_size=1, max_size=4) | st.sampled_from([b'"', b";", b"\r", b"\n", b","]))
        elif kind == "delete":
            del mutable[at : at + draw(st.integers(min_value=1, max_value=8))]
        else:
            del mutable[at:]
    return bytes(mutable)


@PROPERTY
@given(damaged())
def test_damaged_files_fail_only_with_csv_file_error(data: bytes) -> None:
    try:
        file = read_csv(data, "d.csv")
    except CsvFileError as caught:
        error = caught
    else:
        replays(file)
        return
    assert error.code.startswith("ADP-CSV-")
    assert error.location is not None
    assert error.location.startswith("d.csv")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab ;,"\r\n', max_size=20), st.sampled_from([";", ","]))
def test_split_record_agrees_with_the_csv_module(text: str, delimiter: str) -> None:
    first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    assert split_record(text, delimiter).values == first


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("a\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=20))
def test_physical_lines_agree_with_universal_newlines(text: str) -> None:
    assert physical_lines(text) == list(io.StringIO(text, newline=""))


def test_bom_and_crlf_example() -> None:
    data = codecs.BOM_UTF8 + b'a;b\r\n"x\r\ny";2\r\n'
    file = read_csv(data, "t.csv")
    assert [(row.line, row.values) for row in file.rows] == [(2, {"a": "x\r\ny", "b": "2"})]

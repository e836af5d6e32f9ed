"""The CSV dialect of an export: which delimiter it uses and how one record splits into fields.

Quoting is always RFC 4180 / Excel: ``"`` opens a field only as its first character, ``""`` inside is one quote,
quoted fields may hold delimiters and line breaks; a quote anywhere else is an ordinary character.

Delimiters: ``;`` (the French default, since ``,`` is the decimal separator), ``,`` and, as a convenience, tab.
The delimiter is told from the header record:

* an Excel directive ``sep=;`` on the first line names it outright (that line is then not the header);
* otherwise each candidate splits the header with the quoting rules above; a candidate that gives more than one
  field is *present*. One present candidate wins. With several, the ones that split the first data record into
  as many fields as the header are kept (all of them if none does, e.g. a header-only file or a malformed first
  row), and the one giving the most header fields wins (``nom;prénom;montant (€, TTC)`` is ``;``). A tie is
  :class:`CsvFileError` ``ADP-CSV-DELIMITER``, and so is a header with no candidate at all (one-column files are
  not supported: they cannot be told from a file in an unknown dialect).
"""

from __future__ import annotations

import csv
import io
import re
from collections import deque
from itertools import chain
from typing import NamedTuple

from adapters.csv.errors import DELIMITER, QUOTE, CsvFileError

CANDIDATES = (";", ",", "\t")
_NAMES = {";": "';'", ",": "','", "\t": "tab"}
_SEP = re.compile(r"sep=(.)", re.IGNORECASE)
_STOPS = {candidate: re.compile(f"[{re.escape(candidate)}\r\n]") for candidate in CANDIDATES}
_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines breaks lines too
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class Fields(NamedTuple):
    """One record split into fields, with whether each field was quoted."""

    values: list[str]
    quoted: list[bool]
    open_quote: int | None  # index in the text of a quote that opens a field and never closes, else None


def physical_lines(text: str) -> list[str]:
    """The lines of ``text`` with their endings, where only LF, CR LF and a lone CR end a line (what the csv
    module expects to be fed)."""
    if not any(other in text for other in _OTHER_BREAKS):  # a few fast scans; the regex is the slow way
        return text.splitlines(keepends=True)
    return _LINE.findall(text)


def line_breaks(text: str) -> int:
    """How many line breaks ``text`` holds, counted as the reader counts them (LF, CR LF, lone CR)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def name(delimiter: str) -> str:
    """How messages name a delimiter: ``';'``, ``','`` or ``tab``."""
    return _NAMES.get(delimiter, repr(delimiter))


def sep_directive(first_line: str, source: str) -> str | None:
    """The delimiter an Excel ``sep=X`` first line names, or None when the line is not such a directive."""
    match = _SEP.fullmatch(first_line.rstrip("\r\n"))
    if match is None:
        return None
    delimiter = match[1]
    if delimiter not in CANDIDATES:
        raise CsvFileError(
            f"the first line asks for the delimiter {delimiter!r}; only ';', ',' and tab are supported",
            location=f"{source}:1",
            code=DELIMITER,
        )
    return delimiter


def split_record(text: str, delimiter: str) -> Fields:
    """Split one record's text exactly as :mod:`csv` does with this delimiter (``"`` quoting, ``strict=False``).

    Used where the csv module says too little: whether a field was quoted, and where an unclosed quote opened.
    """
    values: list[str] = []
    quoted: list[bool] = []
    size = len(text)
    if size == 0 or text[0] in "\r\n":
        return Fields(values, quoted, None)
    stops = _STOPS.get(delimiter) or re.compile(f"[{re.escape(delimiter)}\r\n]")
    index = 0
    while True:  # at the start of a field
        parts: list[str] = []
        is_quoted = index < size and text[index] == '"'
        if is_quoted:
            opened = index
            index += 1
            while True:
                close = text.find('"', index)
                if close < 0:
                    parts.append(text[index:])
                    values.append("".join(parts))
                    quoted.append(True)
                    return Fields(values, quoted, opened)
                parts.append(text[index:close])
                if text.startswith('"', close + 1):
                    parts.append('"')
                    index = close + 2
                else:
                    index = close + 1
                    break
        stop = stops.search(text, index)
        end = size if stop is None else stop.start()
        parts.append(text[index:end])
        values.append("".join(parts))
        quoted.append(is_quoted)
        if end == size or text[end] != delimiter:
            return Fields(values, quoted, None)
        index = end + 1


def _unclosed(source: str, line: int, record: str, opened: int, overflow: bool) -> CsvFileError:
    at = line + line_breaks(record[:opened])
    why = f"is still open after {csv.field_size_limit()} characters" if overflow else "never closes"
    return CsvFileError(
        f"the quoted field opened at line {at} {why} (a missing closing quote swallows the rest of the file)",
        location=f"{source}:{at}",
        code=QUOTE,
    )


def _closes(lines: list[str], delimiter: str) -> bool:
    """Whether every quoted field closes, at C speed: a NUL line fed after a line break comes back as a record
    of its own only if no quoted field is still open (decoded text never holds NUL)."""
    try:
        last = deque(csv.reader(chain(lines, ("\n", "\x00")), delimiter=delimiter), maxlen=1)
    except csv.Error:  # a field over the csv module's limit: looked at closely by check_quotes
        return False
    return bool(last) and last[0] == ["\x00"]


def check_quotes(lines: list[str], delimiter: str, source: str) -> None:
    """Raise CsvFileError ``ADP-CSV-QUOTE`` when a quoted field opens and never closes (or outgrows the csv
    module's field limit while open), naming the line where it opened. ``lines`` are the file's
    :func:`physical_lines`.

    Called before any row is handed out, so that such a file is refused as a whole; a pass over the whole text
    at C speed clears most files, the others are walked record by record to find the line.
    """
    if _closes(lines, delimiter):
        return
    reader = csv.reader(lines, delimiter=delimiter)
    begin = end = 0
    while True:
        try:
            for _ in reader:
                begin, end = end, reader.line_num
            break
        except csv.Error:  # a field over the limit: refused when it is a quoted field still open at that point
            record = "".join(lines[end : reader.line_num])
            opened = split_record(record, delimiter).open_quote
            if opened is not None:
                raise _unclosed(source, end + 1, record, opened, overflow=True) from None
            end = reader.line_num
    record = "".join(lines[begin:end])
    opened = split_record(record, delimiter).open_quote
    if opened is not None:
        raise _unclosed(source, begin + 1, record, opened, overflow=False)


def _leading_records(sample: str, delimiter: str) -> tuple[int, int | None]:
    """How many fields the header and the first non-blank data record have with this delimiter; raises
    csv.Error when the header itself outgrows the csv module's field limit."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    header = next(reader, [])
    try:
        for record in reader:
            if any(field.strip() for field in record):
                return len(header), len(record)
    except csv.Error:  # an overlong first row: a row problem, not the header's
        pass
    return len(header), None


def detect_delimiter(sample: str, source: str, line: int = 1) -> str:
    """The delimiter of a file whose header record starts ``sample`` (the start of the file from its header on).

    ``line`` is the header's line number, for the error location. Raises CsvFileError.
    """
    location = f"{source}:{line}"
    counts: dict[str, tuple[int, int | None]] = {}
    unclosed = False
    for candidate in CANDIDATES:
        try:
            counts[candidate] = _leading_records(sample, candidate)
        except csv.Error:  # a header field longer than the csv module's limit: a quote that never closes
            unclosed = True
    present = {candidate: found for candidate, found in counts.items() if found[0] > 1}
    if not present:
        if unclosed:
            raise CsvFileError(
                f"a quoted field in the header is still open after {csv.field_size_limit()} characters "
                "(missing closing quote?)",
                location=location,
                code=QUOTE,
            )
        raise CsvFileError(
            "the header holds no ';', ',' or tab outside quotes, so the delimiter cannot be told "
            "(one-column files are not supported)",
            location=location,
            code=DELIMITER,
        )
    if len(present) == 1:
        return next(iter(present))
    pool = [candidate for candidate, (fields, first) in present.items() if first == fields] or list(present)
    most = max(present[candidate][0] for candidate in pool)
    winners = [candidate for candidate in pool if present[candidate][0] == most]
    if len(winners) == 1:
        return winners[0]
    tied = " and ".join(name(candidate) for candidate in winners)
    raise CsvFileError(
        f"the delimiter cannot be told: the header and first row split into {most} fields with {tied} alike; "
        "quote the header names or add a first line 'sep=;'",
        location=location,
        code=DELIMITER,
    )


__all__ = [
    "CANDIDATES",
    "Fields",
    "check_quotes",
    "detect_delimiter",
    "line_breaks",
    "name",
    "physical_lines",
    "sep_directive",
    "split_record",
]

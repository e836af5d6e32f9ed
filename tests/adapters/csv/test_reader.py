"""read_csv and reparse_row: rows with exact start lines, row-level problems, file-level errors."""

from __future__ import annotations

import codecs
import csv

import pytest

from adapters.csv.errors import CsvFileError
from adapters.csv.reader import CsvFile, CsvRow, read_csv, reparse_row

APPOINTMENTS = (
    "id;patient;début;statut;montant\r\n"
    "1;Dupont Hélène;17/03/2026 14:30;confirmé;12,50\r\n"
    '2;"Martin; Zoé";18/03/2026 09:00;"annulé";"1 234,56"\r\n'
    '3;Œuvre;19/03/2026 10:00;"en\r\nattente";0\r\n'
    "4;Durand;20/03/2026 11:00;confirmé;7\r\n"
)


def read(text: str, encoding: str = "utf-8", source: str = "appointments.csv") -> CsvFile:
    return read_csv(text.encode(encoding), source)


def rows(text: str, encoding: str = "utf-8") -> list[CsvRow]:
    return list(read(text, encoding).rows)


def file_error(data: bytes, source: str = "f.csv") -> CsvFileError:
    with pytest.raises(CsvFileError) as caught:
        read_csv(data, source)
    return caught.value


def test_a_typical_export() -> None:
    file = read(APPOINTMENTS)
    assert (file.source, file.encoding, file.delimiter) == ("appointments.csv", "utf-8", ";")
    assert file.header == ("id", "patient", "début", "statut", "montant")
    assert (file.header_line, file.header_line_text) == (1, "id;patient;début;statut;montant")
    got = list(file.rows)
    assert [row.line for row in got] == [2, 3, 4, 6]
    assert got[1].values == {
        "id": "2",
        "patient": "Martin; Zoé",
        "début": "18/03/2026 09:00",
        "statut": "annulé",
        "montant": "1 234,56",
    }
    assert got[2].values["statut"] == "en\r\nattente"
    assert got[2].text == '3;Œuvre;19/03/2026 10:00;"en\r\nattente";0'
    assert got[1].text == '2;"Martin; Zoé";18/03/2026 09:00;"annulé";"1 234,56"'
    assert all(row.problem is None for row in got)
    assert got[3].location() == "appointments.csv:6"
    assert got[3].location("statut") == "appointments.csv:6:statut"


def test_rows_are_read_again_on_each_pass() -> None:
    file = read(APPOINTMENTS)
    assert list(file.rows) == list(file.rows)
    iterator = iter(file.rows)
    assert next(iterator).line == 2
    assert next(iter(file.rows)).line == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings(encoding: str) -> None:
    file = read(APPOINTMENTS, encoding)
    assert file.encoding == encoding
    assert file.header[2] == "début"
    assert [row.values["patient"] for row in file.rows] == ["Dupont Hélène", "Martin; Zoé", "Œuvre", "Durand"]


def test_comma_delimiter_and_lf_line_endings() -> None:
    text = 'nom,montant\nDupont,"12,50"\nMartin,3\n'
    file = read(text)
    assert file.delimiter == ","
    assert [(row.line, row.values) for row in file.rows] == [
        (2, {"nom": "Dupont", "montant": "12,50"}),
        (3, {"nom": "Martin", "montant": "3"}),
    ]


def test_tab_delimiter() -> None:
    file = read("nom\tprenom\nDupont\tJean\n")
    assert file.delimiter == "\t"
    assert [row.values for row in file.rows] == [{"nom": "Dupont", "prenom": "Jean"}]


def test_lone_cr_line_endings_count_as_lines() -> None:
    got = rows("a;b\r1;2\r3;4")
    assert [(row.line, row.text) for row in got] == [(2, "1;2"), (3, "3;4")]


def test_no_final_newline() -> None:
    got = rows("a;b\n1;2")
    assert [(row.line, row.text, row.values) for row in got] == [(2, "1;2", {"a": "1", "b": "2"})]


def test_blank_lines_are_skipped_but_counted() -> None:
    text = '\n\n;;\nid;nom\n\n1;A\n;\n   ;  \n"";""\n\r\n2;B\n\n'
    file = read(text)
    assert file.header_line == 4
    assert [(row.line, row.values["nom"]) for row in file.rows] == [(6, "A"), (11, "B")]


def test_excel_sep_line() -> None:
    file = read("sep=,\r\nnom;x,montant\r\nDupont;y,12\r\n")
    assert file.delimiter == ","
    assert file.header == ("nom;x", "montant")
    assert file.header_line == 2
    assert [(row.line, row.values) for row in file.rows] == [(3, {"nom;x": "Dupont;y", "montant": "12"})]


def test_unquoted_cells_are_stripped_quoted_cells_kept() -> None:
    got = rows(' nom ; prenom \n Dupont ;" Jean "\n"Martin" ;\tPaul\u00a0\n')
    assert got[0].values == {"nom": "Dupont", "prenom": " Jean "}
    assert got[1].values == {"nom": "Martin ", "prenom": "Paul"}  # after a closing quote it is a plain field


def test_a_quote_after_leading_spaces_is_literal_as_in_excel() -> None:
    assert rows('a;b\n1; "x"\n')[0].values == {"a": "1", "b": '"x"'}


def test_inner_whitespace_and_line_breaks_are_kept() -> None:
    assert rows('a;b\n1;"  deux\n  lignes  "\n')[0].values["b"] == "  deux\n  lignes  "


def test_quoted_header_names() -> None:
    file = read('"nom; usage";" prénom "\nA;B\n')
    assert file.header == ("nom; usage", " prénom ")


def test_too_many_and_too_few_fields_are_row_problems() -> None:
    text = "a;b;c\n1;2;3\n1;2;3;4;5\n1;2\nx;y;z\n"
    got = rows(text)
    assert [(row.line, row.problem) for row in got] == [
        (2, None),
        (3, "expected 3 fields, found 5"),
        (4, "expected 3 fields, found 2"),
        (5, None),
    ]
    assert got[1].values == {"a": "1", "b": "2", "c": "3"}
    assert got[1].text == "1;2;3;4;5"
    assert got[2].values == {"a": "1", "b": "2"}


def test_trailing_delimiters() -> None:
    got = rows("a;b;\n1;2;\n3;4\n5;6;7\n8;9;;\n")
    assert [(row.line, row.values, row.problem) for row in got] == [
        (2, {"a": "1", "b": "2"}, None),
        (3, {"a": "3", "b": "4"}, None),
        (4, {"a": "5", "b": "6"}, "expected 2 fields, found 3"),
        (5, {"a": "8", "b": "9"}, "expected 2 fields, found 4"),
    ]


def test_trailing_field_without_a_trailing_header_delimiter_is_a_problem() -> None:
    assert rows("a;b\n1;2;\n")[0].problem == "expected 2 fields, found 3"


def test_an_overlong_unquoted_field_is_a_row_problem() -> None:
    limit = csv.field_size_limit()
    text = "a;b\n1;2\n3;" + "x" * (limit + 1) + "\n4;5\n"
    got = rows(text)
    assert [row.line for row in got] == [2, 3, 4]
    assert got[1].problem == f"a field is longer than {limit} characters"
    assert got[1].values == {}
    assert got[1].text == "3;" + "x" * (limit + 1)
    assert got[2].values == {"a": "4", "b": "5"}


def test_an_overlong_closed_quoted_field_on_one_line_is_a_row_problem() -> None:
    limit = csv.field_size_limit()
    text = 'a;b\n1;"' + "x" * (limit + 1) + '"\n4;5\n'
    got = rows(text)
    assert [(row.line, row.problem is None) for row in got] == [(2, False), (3, True)]


@pytest.mark.parametrize(
    ("data", "code", "location", "fragment"),
    [
        (b"", "ADP-CSV-EMPTY", "f.csv", "is empty"),
        (codecs.BOM_UTF8 + b" \r\n\r\n\t", "ADP-CSV-EMPTY", "f.csv", "only whitespace"),
        (b";;\n,,\n", "ADP-CSV-HEADER", "f.csv:1", "no header"),
        (b"sep=;\n", "ADP-CSV-HEADER", "f.csv:1", "no header"),
        (b'"";""\n1;2\n', "ADP-CSV-HEADER", "f.csv:1", "no column names"),
        (b"\nid;nom;id\n", "ADP-CSV-HEADER", "f.csv:2", "'id' appears twice in the header (columns 1 and 3)"),
        (b"id;;nom\n", "ADP-CSV-HEADER", "f.csv:1", "column 2 of the header has no name"),
        (b"id; ;nom\n", "ADP-CSV-HEADER", "f.csv:1", "column 2 of the header has no name"),
        (b"nom\nDupont\n", "ADP-CSV-DELIMITER", "f.csv:1", "cannot be told"),
        (b"a;b,c\n1;2,3\n", "ADP-CSV-DELIMITER", "f.csv:1", "cannot be told"),
        (b"sep=|\na|b\n", "ADP-CSV-DELIMITER", "f.csv:1", "'|'"),
        (b'a;b\n1;2\n3;"4\n5;6\n', "ADP-CSV-QUOTE", "f.csv:3", "opened at line 3 never closes"),
        (b'a;"b\n1;2\n', "ADP-CSV-QUOTE", "f.csv:1", "never closes"),
        (b"a;b\n\xe9\x81", "ADP-CSV-ENCODING", "f.csv:2", "neither UTF-8 nor Windows-1252"),
        (codecs.BOM_UTF16_LE + "a;b".encode("utf-16-le"), "ADP-CSV-ENCODING", "f.csv:1", "UTF-16"),
    ],
)
def test_file_errors(data: bytes, code: str, location: str, fragment: str) -> None:
    error = file_error(data)
    assert error.code == code
    assert error.location == location
    assert fragment in error.message
    assert str(error).startswith(f"{code} at {location}: ")


def test_a_header_only_file_has_no_rows() -> None:
    file = read("a;b\r\n")
    assert file.header == ("a", "b")
    assert list(file.rows) == []


def test_a_multi_line_header_moves_the_first_row() -> None:
    file = read('"a\nb";c\n1;2\n')
    assert file.header == ("a\nb", "c")
    assert file.header_line_text == '"a\nb";c'
    assert [row.line for row in file.rows] == [3]


def test_location_uses_the_file_name_as_given() -> None:
    file = read_csv(b"a;b\n1;2\n", "exports/2026-03/rdv.csv")
    row = next(iter(file.rows))
    assert row.location("b") == "exports/2026-03/rdv.csv:2:b"


def test_reparse_gives_the_same_rows() -> None:
    text = 'sep=;\n\nid; nom ;"note\nlongue";\n 1 ;" Dupont ";"a""b\r\nc";\n\n2;Martin\n3;X;Y;Z;W\n4;"";;\n'
    file = read(text, "cp1252", source="r.csv")
    got = list(file.rows)
    assert [row.line for row in got] == [5, 8, 9, 10]
    for row in got:
        again = reparse_row(file.header_line_text, row.text, file.source, row.line, file.delimiter)
        assert again == row


def test_reparse_reports_texts_that_are_not_one_row() -> None:
    header = "a;b"
    assert reparse_row(header, "", "f.csv", 7, ";").problem == "the row text holds no values"
    assert reparse_row(header, ";", "f.csv", 7, ";").problem == "the row text holds no values"
    assert reparse_row(header, "1;2\n3;4", "f.csv", 7, ";").problem == "the row text holds 2 records, not one"
    assert reparse_row(header, '1;"2', "f.csv", 7, ";").problem == "a quoted field in the row text never closes"
    row = reparse_row(header, "1;2;3", "f.csv", 7, ";")
    assert (row.line, row.values, row.problem) == (7, {"a": "1", "b": "2"}, "expected 2 fields, found 3")


def test_reparse_checks_the_header() -> None:
    with pytest.raises(CsvFileError) as caught:
        reparse_row("a;a", "1;2", "f.csv", 2, ";")
    assert caught.value.code == "ADP-CSV-HEADER"


def test_csv_row_is_frozen() -> None:
    row = CsvRow("f.csv", 2, {"a": "1"}, "1")
    with pytest.raises(AttributeError):
        row.line = 3  # type: ignore[misc]
    assert row.problem is None


def test_rows_are_read_lazily() -> None:
    file = read("a;b\n" + "1;2\n" * 100_000)
    assert not isinstance(file.rows, list | tuple)
    rows = iter(file.rows)
    assert [next(rows).line, next(rows).line] == [2, 3]

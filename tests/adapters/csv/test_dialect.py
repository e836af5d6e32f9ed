"""Delimiter detection, the Excel ``sep=`` line, record splitting and the unclosed-quote check."""

from __future__ import annotations

import csv
import io

import pytest

from adapters.csv.dialect import (
    check_quotes,
    detect_delimiter,
    line_breaks,
    name,
    physical_lines,
    sep_directive,
    split_record,
)
from adapters.csv.errors import CsvFileError


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("nom;prenom;date\nDupont;Jean;01/02/2026\n", ";"),
        ("nom,prenom,date\nDupont,Jean,01/02/2026\n", ","),
        ("nom\tprenom\tdate\nDupont\tJean\t01/02/2026\n", "\t"),
        ("nom;prenom\n", ";"),  # a header-only file
        ('"nom, usage";prenom\nDupont;Jean\n', ";"),  # a ',' inside quotes does not count
        ('"nom; usage",prenom\n"Dupont; Martin",Jean\n', ","),
        ("nom;prenom;montant\nDupont;Jean;12,50\n", ";"),  # a ',' only in the data does not count
    ],
)
def test_single_candidate(sample: str, expected: str) -> None:
    assert detect_delimiter(sample, "f.csv") == expected


def test_both_present_the_one_that_splits_the_first_row_alike_wins() -> None:
    # with ';' the header has 3 fields and so does the row; with ',' the header has 2 fields, the row 3
    assert detect_delimiter("nom;prenom;tarif (€, TTC)\nDupont;Jean;12,50\n", "f.csv") == ";"
    # with ',' both split into 3; with ';' the header has 2 fields and the row 1
    assert detect_delimiter("code,libellé;court,prix\nA1,B,2\n", "f.csv") == ","


def test_both_consistent_the_one_with_more_fields_wins() -> None:
    assert detect_delimiter('nom;prenom;tarif (€, TTC)\nDupont;Jean;"12,50"\n', "f.csv") == ";"


def test_blank_lines_before_the_first_row_are_skipped() -> None:
    assert detect_delimiter("nom;prenom;tarif (€, TTC)\n\n;;\nDupont;Jean;12,50\n", "f.csv") == ";"


def test_a_tie_is_refused() -> None:
    with pytest.raises(CsvFileError) as caught:
        detect_delimiter("a;b,c\n1;2,3\n", "f.csv", line=3)
    error = caught.value
    assert error.code == "ADP-CSV-DELIMITER"
    assert error.location == "f.csv:3"
    assert "';' and ','" in error.message
    assert "sep=;" in error.message


def test_no_candidate_is_refused() -> None:
    with pytest.raises(CsvFileError) as caught:
        detect_delimiter("nom\nDupont\n", "f.csv")
    assert caught.value.code == "ADP-CSV-DELIMITER"
    assert "one-column" in caught.value.message
    with pytest.raises(CsvFileError):
        detect_delimiter('"nom;prenom"\n"a;b"\n', "f.csv")


def test_an_overlong_open_quote_in_the_header_is_a_quote_error() -> None:
    sample = 'nom;"prenom\n' + "x" * (csv.field_size_limit() + 10)
    with pytest.raises(CsvFileError) as caught:
        detect_delimiter(sample, "f.csv")
    assert caught.value.code == "ADP-CSV-QUOTE"


@pytest.mark.parametrize(
    ("line", "expected"),
    [("sep=;\r\n", ";"), ("sep=,\n", ","), ("SEP=;", ";"), ("sep=\t\n", "\t"), ("nom;prenom\n", None), ("sep=", None)],
)
def test_sep_directive(line: str, expected: str | None) -> None:
    assert sep_directive(line, "f.csv") == expected


def test_sep_directive_with_an_unsupported_delimiter() -> None:
    with pytest.raises(CsvFileError) as caught:
        sep_directive("sep=|\n", "f.csv")
    assert caught.value.code == "ADP-CSV-DELIMITER"
    assert caught.value.location == "f.csv:1"


def test_names() -> None:
    assert [name(d) for d in (";", ",", "\t", "|")] == ["';'", "','", "tab", "'|'"]


@pytest.mark.parametrize("text", ["", "a", "a\n", "\n\n", "a\r\nb\rc\nd", "\r\r\n\n", "x\x85y\u2028z\x0b\x0c\x1c\r\n"])
def test_physical_lines_break_only_at_lf_crlf_and_cr(text: str) -> None:
    assert physical_lines(text) == list(io.StringIO(text, newline=""))
    assert "".join(physical_lines(text)) == text


def test_line_breaks() -> None:
    assert line_breaks("a\r\nb\nc\rd") == 3
    assert line_breaks("") == 0


@pytest.mark.parametrize(
    ("text", "values", "quoted"),
    [
        ("a;b;c", ["a", "b", "c"], [False, False, False]),
        (' a ;" b ";', [" a ", " b ", ""], [False, True, False]),
        ('"x;y";"say ""hi"""', ["x;y", 'say "hi"'], [True, True]),
        ('"line\r\nbreak";2', ["line\r\nbreak", "2"], [True, False]),
        ('"ab"cd;e"f', ["abcd", 'e"f'], [True, False]),
        (";;", ["", "", ""], [False, False, False]),
        ('""', [""], [True]),
        ("a;b\r\n", ["a", "b"], [False, False]),
        ("", [], []),
        ("\n", [], []),
    ],
)
def test_split_record(text: str, values: list[str], quoted: list[bool]) -> None:
    fields = split_record(text, ";")
    assert fields.values == values
    assert fields.quoted == quoted
    assert fields.open_quote is None
    csv_fields = next(csv.reader(io.StringIO(text, newline=""), delimiter=";"), [])
    assert csv_fields == values


def test_split_record_reports_an_open_quote() -> None:
    fields = split_record('a;"b\nc;d', ";")
    assert fields.values == ["a", "b\nc;d"]
    assert fields.open_quote == 2


def test_check_quotes_accepts_closed_quotes() -> None:
    check_quotes(physical_lines('a;b\n"1\n2";"3"\n'), ";", "f.csv")
    check_quotes(
        physical_lines('a;b\n1;2"\n3;x"y\n'), ";", "f.csv"
    )  # quotes inside unquoted fields are plain characters


def test_check_quotes_names_the_line_where_the_open_field_starts() -> None:
    text = 'a;b\r\n1;2\r\n3;"x\r\ny\r\n\r\n4;5\r\n'
    with pytest.raises(CsvFileError) as caught:
        check_quotes(physical_lines(text), ";", "rdv.csv")
    error = caught.value
    assert error.code == "ADP-CSV-QUOTE"
    assert error.location == "rdv.csv:3"
    assert "opened at line 3 never closes" in error.message


def test_check_quotes_open_field_on_a_later_line_of_its_record() -> None:
    text = 'a;b;c\n1;"two\nlines";"open\nnever\n'
    with pytest.raises(CsvFileError) as caught:
        check_quotes(physical_lines(text), ";", "f.csv")
    assert caught.value.location == "f.csv:3"


def test_check_quotes_open_field_outgrowing_the_limit() -> None:
    text = 'a;b\n1;"x\n' + ("y" * 1000 + "\n") * 200 + "z;w\n"
    with pytest.raises(CsvFileError) as caught:
        check_quotes(physical_lines(text), ";", "f.csv")
    assert caught.value.location == "f.csv:2"
    assert "still open after" in caught.value.message


def test_check_quotes_lets_an_overlong_closed_field_through() -> None:
    text = 'a;b\n1;"' + "y" * (csv.field_size_limit() + 5) + '"\n2;3\n'
    check_quotes(physical_lines(text), ";", "f.csv")

"""Encoding detection: UTF-8 with and without BOM, Windows-1252, and clear refusals naming offset and line."""

from __future__ import annotations

import codecs

import pytest

from adapters.csv.encoding import detect_encoding, line_at
from adapters.csv.errors import CsvFileError

TEXT = "nom;prénom;montant\r\nDupont;Hélène;12,50 €\r\nŒuvre;Zoé;«1»\r\n"


def test_utf8_without_bom() -> None:
    assert detect_encoding(TEXT.encode("utf-8"), "f.csv") == ("utf-8", TEXT)


def test_utf8_with_bom_drops_the_bom() -> None:
    assert detect_encoding(codecs.BOM_UTF8 + TEXT.encode("utf-8"), "f.csv") == ("utf-8-sig", TEXT)


def test_windows_1252() -> None:
    assert detect_encoding(TEXT.encode("cp1252"), "f.csv") == ("cp1252", TEXT)


def test_ascii_is_utf8() -> None:
    assert detect_encoding(b"a;b\n1;2\n", "f.csv") == ("utf-8", "a;b\n1;2\n")


def test_empty_bytes() -> None:
    assert detect_encoding(b"", "f.csv") == ("utf-8", "")
    assert detect_encoding(codecs.BOM_UTF8, "f.csv") == ("utf-8-sig", "")


@pytest.mark.parametrize(
    ("bom", "name"),
    [
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
    ],
)
def test_wide_encodings_are_refused(bom: bytes, name: str) -> None:
    data = bom + "a;b\n".encode("utf-16-le" if name == "UTF-16" else "utf-32-le")
    with pytest.raises(CsvFileError) as caught:
        detect_encoding(data, "f.csv")
    error = caught.value
    assert error.code == "ADP-CSV-ENCODING"
    assert error.location == "f.csv:1"
    assert f"encoded in {name}" in error.message
    assert "UTF-8 or Windows-1252" in error.message


def test_utf16_without_bom_is_refused_for_its_nul_bytes() -> None:
    with pytest.raises(CsvFileError) as caught:
        detect_encoding("a;b\n1;2\n".encode("utf-16-le"), "f.csv")
    assert caught.value.code == "ADP-CSV-ENCODING"
    assert "NUL byte at offset 1 (line 1)" in caught.value.message
    assert "UTF-16" in caught.value.message


def test_bad_byte_after_a_utf8_bom_is_not_retried_as_cp1252() -> None:
    data = codecs.BOM_UTF8 + b"a;b\r\n1;caf\xe9\r\n"
    with pytest.raises(CsvFileError) as caught:
        detect_encoding(data, "f.csv")
    error = caught.value
    assert error.code == "ADP-CSV-ENCODING"
    assert error.location == "f.csv:2"
    assert "byte 0xE9 at offset 13 (line 2)" in error.message


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_bytes_undefined_in_cp1252(byte: int) -> None:
    data = b"nom;prenom\ncaf\xe9;x\n\nabc" + bytes([byte]) + b";y\n"
    with pytest.raises(CsvFileError) as caught:
        detect_encoding(data, "rdv.csv")
    error = caught.value
    assert error.code == "ADP-CSV-ENCODING"
    message = error.message
    assert "neither UTF-8 nor Windows-1252" in message
    assert "as UTF-8, byte 0xE9 at offset 14 (line 2) is invalid" in message
    assert f"byte 0x{byte:02X} at offset 22 (line 4) is undefined in Windows-1252" in message
    assert error.location == "rdv.csv:4"  # the later failure: most likely the one bad byte of a cp1252 file


def test_location_is_the_later_failure_for_a_damaged_utf8_file() -> None:
    data = "nom\nÁlvaro\n".encode() + b"x\xff\n"  # Á is C3 81: undefined in cp1252 at line 2
    with pytest.raises(CsvFileError) as caught:
        detect_encoding(data, "f.csv")
    assert caught.value.location == "f.csv:3"
    assert "as UTF-8, byte 0xFF at offset 13 (line 3) is invalid" in caught.value.message


@pytest.mark.parametrize("control", [b"\x00", b"\x01", b"\x0b", b"\x0c", b"\x1a", b"\x1f", b"\x7f"])
def test_control_characters_rule_out_cp1252(control: bytes) -> None:
    data = b"a;b\r\n\xe9t\xe9;" + control + b"\r\n"
    with pytest.raises(CsvFileError) as caught:
        detect_encoding(data, "f.csv")
    assert f"byte 0x{control[0]:02X} at offset 9 (line 2) is a control character" in caught.value.message


def test_tab_cr_lf_are_fine_in_cp1252() -> None:
    data = b"a\tb\r\n\xe9\t\xe8\r\n"
    assert detect_encoding(data, "f.csv") == ("cp1252", "a\tb\r\né\tè\r\n")


def test_line_numbers_count_lf_crlf_and_lone_cr() -> None:
    data = b"a\r\nb\nc\rd\r\n\xff"
    assert line_at(data, 0) == 1
    assert line_at(data, 3) == 2
    assert line_at(data, 5) == 3
    assert line_at(data, 7) == 4
    assert line_at(data, len(data) - 1) == 5

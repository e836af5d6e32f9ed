"""The ER7 reader: MSH numbering, paths, occurrences, charsets, escapes, whitespace and refusals."""

from __future__ import annotations

import pickle
import time

import pytest

from adapters.errors import AdapterError, Hl7Error
from adapters.hl7v2 import Path, Separators, location, parse_message, parse_path, unescape

ADT = (
    "MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20240306111154||ADT^A04^ADT_A01|3975|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8\r"
    "EVN||20240306111154\r"
    "PID|1||000003^^^CHU-X&000897406&N^PI~279035121518989^^^ASIP&1.2.250.1.213.1.4.10&ISO^INS||"
    "DUPONT^JEAN^^^^^L||19790328|M|||28 Av de Breteuil^^PARIS^^75007^FRA^H|||||||24000006\r"
    "OBX|1|ST|CODE1||first\r"
    "OBX|2|ST|CODE2||second~third\r"
    "OBX|3|ST|CODE3||\r"
)


def test_msh_fields_are_numbered_as_hl7_numbers_them() -> None:
    m = parse_message(ADT.encode())
    assert m.get("MSH-1") == "|"
    assert m.get("MSH-2") == "^~\\&"
    assert m.get("MSH-3") == "GAM"
    assert m.get("MSH-7") == "20240306111154"
    assert m.get("MSH-9.2") == "A04"
    assert m.get("MSH-10") == "3975"
    assert m.get("MSH-12.3") == "2.11"
    assert m.message_type() == ("ADT", "A04", "ADT_A01")
    assert (m.control_id, m.version, m.charset, m.encoding) == ("3975", "2.5", "UNICODE UTF-8", "utf-8")
    msh = m.first("MSH")
    assert msh is not None
    assert msh.field(1).repetitions[0].components() == [["|"]]
    assert msh.field(2).repetitions[0].components() == [["^~\\&"]]  # neither split nor unescaped
    assert [rep.value for rep in msh.field(2).repetitions] == ["^~\\&"]
    assert msh.get("2.2") is None
    assert msh.field_count == 18
    assert m.separators == Separators("|", "^", "~", "\\", "&")


def test_message_type_parts_are_empty_when_absent() -> None:
    m = parse_message(b"MSH|^~\\&|A||||||ORU\rPID|1")
    assert m.message_type() == ("ORU", "", "")
    assert m.control_id is None and m.version is None and m.charset == ""


def test_paths_reach_repetitions_components_and_subcomponents() -> None:
    m = parse_message(ADT.encode())
    assert m.get("PID-3") == "000003"
    assert m.get("PID-3[1].4") == "CHU-X"
    assert m.get("PID-3[2].4") == "ASIP"
    assert m.get("PID-3[2].4.2") == "1.2.250.1.213.1.4.10"
    assert m.get("PID-3[2].5") == "INS"
    assert m.get("PID-3[3]") is None
    assert m.get("PID-5") == "DUPONT"  # several components: the first
    assert m.get("PID-5.7") == "L"
    assert m.get("PID-5.8") is None
    assert m.get("PID-5.1.2") is None
    assert m.get("PID-7.1.1") == "19790328"
    assert m.get("PID-99") is None
    assert m.get("ZZZ-1") is None
    pid = m.first("PID")
    assert pid is not None
    assert pid.get("3[2].4.2") == "1.2.250.1.213.1.4.10"
    assert pid.get("11.3") == "PARIS"
    assert pid.get("18") == "24000006"
    assert pid.field_count == 18


def test_segment_occurrences_and_locations() -> None:
    m = parse_message(ADT.encode())
    obx = m.all("OBX")
    assert [(s.occurrence, s.position) for s in obx] == [(1, 4), (2, 5), (3, 6)]
    assert m.get("OBX-5") == "first"
    assert m.get("OBX[2]-5") == "second"
    assert m.get("OBX[2]-5[2]") == "third"
    assert m.get("OBX[3]-5") is None
    assert m.get("OBX[4]-5") is None
    assert obx[1].field(5).location == "OBX[2]-5"
    assert [r.location for r in obx[1].field(5).repetitions] == ["OBX[2]-5", "OBX[2]-5[2]"]
    assert obx[2].field(5).repetitions == []
    assert obx[2].field(40).repetitions == []
    pid = m.first("PID")
    assert pid is not None
    assert [r.location for r in pid.field(3).repetitions] == ["PID-3", "PID-3[2]"]
    assert m.first("NK1") is None and m.all("NK1") == []
    assert [s.name for s in m.segments] == ["MSH", "EVN", "PID", "OBX", "OBX", "OBX"]


def test_repetition_api() -> None:
    m = parse_message(b"MSH|^~\\&|A\rPID|1||a^b&c&^^d\\S\\e^^")
    pid = m.first("PID")
    assert pid is not None
    (rep,) = pid.field(3).repetitions
    assert rep.components() == [["a"], ["b", "c", ""], [""], ["d^e"], [""], [""]]
    assert rep.component(2) == "b"
    assert rep.sub(2, 2) == "c"
    assert rep.sub(2, 3) is None
    assert rep.component(3) is None
    assert rep.component(4) == "d^e"
    assert rep.component(7) is None
    assert rep.value == "a"
    assert rep.raw == "a^b&c&^^d\\S\\e^^"
    with pytest.raises(ValueError):
        rep.component(0)
    with pytest.raises(ValueError):
        pid.field(0)
    with pytest.raises(ValueError):
        pid.value(0)


def test_value_of_a_single_valued_repetition_is_the_whole_text() -> None:
    m = parse_message(b"MSH|^~\\&|A\rNTE|1||Pas de d\\E\\passement\\.br\\ligne 2")
    nte = m.first("NTE")
    assert nte is not None
    assert nte.field(3).repetitions[0].value == "Pas de d\\passement\nligne 2"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("PID-3", Path("PID", 1, 3)),
        ("PID-3[2]", Path("PID", 1, 3, 2)),
        ("PID-3[2].4", Path("PID", 1, 3, 2, 4)),
        ("PID-3[2].4.2", Path("PID", 1, 3, 2, 4, 2)),
        ("OBX[2]-5", Path("OBX", 2, 5)),
        ("OBX[2]-5.1.1", Path("OBX", 2, 5, 1, 1, 1)),
        ("Z01-10", Path("Z01", 1, 10)),
    ],
)
def test_parse_path(path: str, expected: Path) -> None:
    assert parse_path(path) == expected
    assert str(expected) == path


def test_path_canonical_form_leaves_out_index_one() -> None:
    assert str(parse_path("PID[1]-3[1].1")) == "PID-3.1"
    assert location("PID", 3, 2, 4) == "PID-3[2].4"
    assert location("PID", 3, 1, 4, 2) == "PID-3.4.2"
    assert location("OBX[2]", 5) == "OBX[2]-5"
    assert location("PID", 3) == "PID-3"


@pytest.mark.parametrize(
    "path", ["PID", "PID-", "pid-3", "PID-0", "PID-3[0]", "PID-3.0", "PID-3..1", "PID[0]-3", "PID-3.1.2.3", "3"]
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match=r"path|start at 1"):
        parse_path(path)


@pytest.mark.parametrize("path", ["", "0", "3.0", "3[0]", "PID-3", "3.1.1.1"])
def test_bad_relative_paths_are_refused(path: str) -> None:
    m = parse_message(ADT.encode())
    pid = m.first("PID")
    assert pid is not None
    with pytest.raises(ValueError, match=r"path|start at 1"):
        pid.get(path)


def test_path_needs_a_component_for_a_subcomponent() -> None:
    with pytest.raises(ValueError, match="component"):
        Path("PID", 1, 3, 1, None, 2)


# --- charsets ---------------------------------------------------------------------------------------------------


def with_charset(charset: str, pid5: bytes) -> bytes:
    return b"MSH|^~\\&|A|B|C|D|20240101||ADT^A04|1|P|2.5|||||FRA|" + charset.encode() + b"\rPID|1||||" + pid5


def test_iso_8859_15_message() -> None:
    m = parse_message(with_charset("8859/15", b"\xa4uro^\\XA4\\"))
    assert m.encoding == "iso8859-15"
    assert m.charset == "8859/15"
    assert m.get("PID-5.1") == "€uro"
    assert m.get("PID-5.2") == "€"  # \X..\ bytes are decoded with the message's charset


def test_latin_1_message() -> None:
    m = parse_message(with_charset("8859/1", b"H\xe9l\xe8ne^\\XE9\\"))
    assert m.encoding == "latin-1"
    assert m.get("PID-5") == "Hélène"
    assert m.get("PID-5.2") == "é"


@pytest.mark.parametrize("charset", ["UNICODE UTF-8", "UTF-8", "ASCII", ""])
def test_utf_8_message(charset: str) -> None:
    m = parse_message(with_charset(charset, "Réault^\\XC3A9\\".encode()))
    assert m.encoding == "utf-8"
    assert m.get("PID-5") == "Réault"
    assert m.get("PID-5.2") == "é"


def test_undeclared_non_utf_8_message_is_refused_at_msh_18() -> None:
    data = with_charset("", b"H\xe9l\xe8ne")
    with pytest.raises(Hl7Error) as caught:
        parse_message(data)
    assert caught.value.code == "ADP-HL7-CHARSET"
    assert caught.value.location == "MSH-18"
    offset = data.index(b"\xe9")
    assert f"byte offset {offset}" in caught.value.message
    assert "none" in caught.value.message


def test_ascii_declared_non_utf_8_message_names_the_declared_charset() -> None:
    data = b"\x0b" + with_charset("ASCII", b"H\xe9l\xe8ne")  # MLLP start byte: offsets are the payload's
    with pytest.raises(Hl7Error, match="'ASCII'") as caught:
        parse_message(data)
    offset = data.index(b"\xe9")
    assert f"byte offset {offset}" in caught.value.message


@pytest.mark.parametrize("charset", ["KOI8-R", "ISO IR87", "UNICODE", "8859/99", "\xe9"])
def test_unknown_charset_is_refused(charset: str) -> None:
    with pytest.raises(Hl7Error) as caught:
        parse_message(with_charset(charset, b"X").replace(b"\xc3\xa9", b"\xe9"))
    assert (caught.value.code, caught.value.location) == ("ADP-HL7-CHARSET", "MSH-18")


def test_first_repetition_of_msh_18_chooses_the_codec() -> None:
    m = parse_message(with_charset("8859/1~ISO IR87", b"\xe9"))
    assert (m.encoding, m.charset, m.get("PID-5")) == ("latin-1", "8859/1~ISO IR87", "é")


# --- escapes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\\F\\b", "a|b"),
        ("a\\S\\b\\T\\c\\R\\d\\E\\e", "a^b&c~d\\e"),
        ("ligne 1\\.br\\ligne 2", "ligne 1\nligne 2"),
        ("\\X41424344\\", "ABCD"),
        ("\\X4\\", "\\X4\\"),  # odd number of hex digits: kept
        ("\\XZZ\\", "\\XZZ\\"),  # not hex: kept
        ("\\X\\", "\\X\\"),
        ("\\H\\gras\\N\\", "\\H\\gras\\N\\"),  # formatting: kept as written, as hl7apy keeps it
        ("a\\.sp\\b\\.in+4\\c", "a\\.sp\\b\\.in+4\\c"),
        ("\\C2842\\x\\M248440\\", "\\C2842\\x\\M248440\\"),
        ("\\Zlocal\\", "\\Zlocal\\"),
        ("a\\f\\b", "a\\f\\b"),  # escape codes are capitals
        ("\\P\\", "\\P\\"),  # no truncation character declared
        ("fin\\", "fin\\"),  # unterminated: kept
        ("\\\\F\\", "\\\\F\\"),  # an empty sequence is kept; the reading goes on after it
        ("\\F\\\\S\\", "|^"),
        ("", ""),
    ],
)
def test_unescape(raw: str, expected: str) -> None:
    assert unescape(raw, Separators(), "utf-8") == expected


def test_hex_escape_that_is_not_valid_in_the_charset_is_kept() -> None:
    assert unescape("\\XC3\\", Separators(), "utf-8") == "\\XC3\\"
    assert unescape("\\XC3\\", Separators(), "latin-1") == "Ã"


def test_other_separators_and_truncation_character() -> None:
    m = parse_message(b"MSH!@*#$%!A!!!!!!ADT@A04!1!P!2.7\rNTE!1!!a#F#b#S#c#P#d@e$f*g#E#")
    assert m.separators == Separators("!", "@", "*", "#", "$", "%")
    assert m.get("MSH-2") == "@*#$%"
    assert m.message_type() == ("ADT", "A04", "")
    assert m.get("NTE-3") == "a!b@c%d"
    assert m.get("NTE-3.2") == "e"
    assert m.get("NTE-3.2.2") == "f"
    assert m.get("NTE-3[2]") == "g#"


def test_escaped_separators_do_not_split() -> None:
    m = parse_message(b"MSH|^~\\&|A\rNTE|1||un \\F\\ deux \\R\\ trois \\S\\ quatre \\T\\ cinq")
    assert m.get("NTE-3") == "un | deux ~ trois ^ quatre & cinq"
    assert m.get("NTE-3.2") is None


# --- segments, whitespace, structure ---------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [b"\r", b"\n", b"\r\n", b"\r\r\n\n", b"\n\n\n"])
def test_segment_separators(sep: bytes) -> None:
    m = parse_message(sep.join([b"MSH|^~\\&|A", b"EVN||1", b"PID|1||X"]) + sep)
    assert [s.name for s in m.segments] == ["MSH", "EVN", "PID"]
    assert m.get("PID-3") == "X"


def test_mllp_framing_bom_and_surrounding_whitespace_are_ignored() -> None:
    m = parse_message(b"\x0b\xef\xbb\xbfMSH|^~\\&|A\rPID|1||X\r\x1c\r")
    assert m.get("PID-3") == "X"
    assert parse_message(b"  \r\nMSH|^~\\&|A\r\n\r\n").get("MSH-3") == "A"


def test_whitespace_is_read_as_hl7apy_reads_it() -> None:
    m = parse_message(b"MSH|^~\\&|A\rPID|1| |a^ ^ b &  |Ann Arbor ^x~ |  \t \r  EVN|1|last  ")
    assert m.get("PID-2") is None  # a blank field is empty
    pid = m.first("PID")
    assert pid is not None
    assert pid.field(2).repetitions == []
    assert m.get("PID-3.2") is None  # a blank component is empty
    assert m.get("PID-3.3") == " b "  # a value keeps its own spaces
    assert m.get("PID-3.3.2") is None
    assert m.get("PID-4") == "Ann Arbor "
    assert m.get("PID-4[2]") is None
    assert [r.raw for r in pid.field(4).repetitions] == ["Ann Arbor ^x", " "]
    assert pid.field_count == 4  # the trailing blank field does not count
    assert m.get("EVN-2") == "last"  # segments are stripped: trailing spaces of the last field go
    assert m.first("EVN") is not None


def test_trailing_empty_fields_and_components_are_absent() -> None:
    m = parse_message(b"MSH|^~\\&|A\rPID|1||X^^^||||||\rPV1")
    pid = m.first("PID")
    assert pid is not None
    assert pid.field_count == 3
    assert pid.field(3).repetitions[0].components() == [["X"], [""], [""], [""]]
    assert m.get("PID-3.4") is None and m.get("PID-3.9") is None and m.get("PID-30") is None
    pv1 = m.first("PV1")
    assert pv1 is not None and pv1.field_count == 0 and pv1.get("1") is None


@pytest.mark.parametrize(
    ("data", "location"),
    [
        (b"", "MSH"),
        (b"   \r\n", "MSH"),
        (b"PID|1\rMSH|^~\\&", "MSH"),
        (b"msh|^~\\&|A", "MSH"),
        (b"MSH", "MSH-1"),
        (b"MSHA^~\\&|", "MSH-1"),
        (b"MSH ^~\\&|", "MSH-1"),
        (b"MSH|^~\\|A", "MSH-2"),
        (b"MSH|^~\\&#!|A", "MSH-2"),
        (b"MSH|^^\\&|A", "MSH-2"),
        (b"MSH|^~|&|A", "MSH-2"),
        (b"MSH|^~\\a|A", "MSH-2"),
        (b"MSH|^~\\ |A", "MSH-2"),
        (b"MSH|^~\\\xe9|A", "MSH-2"),
        (b"MSH|^~\\&|A\rPId|1", "segment 2"),
        (b"MSH|^~\\&|A\rEVN|1\r1PD|1", "segment 3"),
        (b"MSH|^~\\&|A\rPIDX|1", "segment 2"),
        (b"MSH|^~\\&|A\rPI", "segment 2"),
        (b"MSH|^~\\&|A\r\x00\x00\x00|", "segment 2"),
        (b"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B", "segment 3"),
    ],
)
def test_bad_structure_is_refused_with_a_location(data: bytes, location: str) -> None:
    with pytest.raises(Hl7Error) as caught:
        parse_message(data)
    assert caught.value.code == "ADP-HL7-STRUCTURE"
    assert caught.value.location == location


def test_errors() -> None:
    error = Hl7Error("bad", location="PID-3")
    assert isinstance(error, AdapterError)
    assert (error.message, error.location, error.code) == ("bad", "PID-3", "ADP-HL7-STRUCTURE")
    assert str(error) == "ADP-HL7-STRUCTURE at PID-3: bad"
    assert str(AdapterError("bad")) == "ADP-ERROR: bad"
    copy = pickle.loads(pickle.dumps(Hl7Error("x", location="MSH-18", code="ADP-HL7-CHARSET")))
    assert (type(copy), copy.message, copy.location, copy.code) == (Hl7Error, "x", "MSH-18", "ADP-HL7-CHARSET")


@pytest.mark.parametrize(
    "field",
    [
        "\\" * 200_000,
        "\\X" * 100_000,
        "\\F" * 100_000,
        "^&~" * 30_000,
        "~" * 100_000,
        "a\\" + "X41" * 100_000 + "\\",
    ],
)
def test_crafted_values_are_read_in_linear_time(field: str) -> None:
    start = time.perf_counter()
    m = parse_message(f"MSH|^~\\&|A\rNTE|1||{field}".encode())
    nte = m.first("NTE")
    assert nte is not None
    reps = nte.field(3).repetitions
    for rep in reps[:3]:
        rep.components()
    m.get("NTE-3.1.1")
    assert time.perf_counter() - start < 2.0  # quadratic reading would take minutes


def test_many_segments_are_read_in_linear_time() -> None:
    data = b"MSH|^~\\&|A\r" + b"OBX|1|ST|C||v\r" * 50_000 + b"\n" * 50_000
    start = time.perf_counter()
    m = parse_message(data)
    assert m.get("OBX[50000]-5") == "v"
    assert len(m.all("OBX")) == 50_000
    assert time.perf_counter() - start < 3.0


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"MSH|^~\\&|\x00AM|CHU-X|GW|CPTS|20260302||ADT^A04|3975|P|2.5\rPID|||42\r", "MSH-3"),
        (b"MSH|^~\\&|AM|CHU-X|GW|CPTS|20260302||ADT^A04|3975|P|2.5\rPID|||4\x002\r", "PID-3"),
    ],
)
def test_a_nul_character_is_refused_where_it_is(data: bytes, where: str) -> None:
    """Found by the property tests on PostgreSQL, whose text columns cannot hold it: refused, named, never stored."""
    with pytest.raises(Hl7Error) as caught:
        parse_message(data)
    assert caught.value.location == where
    assert "NUL" in caught.value.message

"""ACK construction (parsed back with hl7apy), error locations, and the tolerant MSH reader."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hl7apy.core import Message, Segment
from hl7apy.parser import parse_message
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.mllp.ack import AckError, ErrorLocation, MessageHeader, build_ack, header_from_bytes, parse_location

ORIGINAL = (
    b"MSH|^~\\&|LABO^1.2.250.1^ISO|SITE A|GATEWAY|CPTS|20260101120000||ORU^R01^ORU_R01|MSG-0001|P|2.5^FRA^2.1"
    b"||||||8859/15|||PROFILE^^1.2.3^ISO\rPID|1||123^^^X^PI||DUPONT^JEAN\r"
)


def unescape(text: str) -> str:
    table = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}
    return re.sub(r"\\([FSTRE])\\", lambda m: table[m.group(1)], text)


def parsed(ack: bytes, codec: str = "utf-8") -> Message:
    assert ack.endswith(b"\r")
    return parse_message(ack.decode(codec))


def errs(message: Message) -> list[Segment]:
    return [child for child in message.children if child.name == "ERR"]


def header() -> MessageHeader:
    result = header_from_bytes(ORIGINAL)
    assert result is not None
    return result


def test_header_from_bytes_reads_the_msh() -> None:
    assert header() == MessageHeader(
        sending_application=("LABO", "1.2.250.1", "ISO"),
        sending_facility=("SITE A",),
        receiving_application=("GATEWAY",),
        receiving_facility=("CPTS",),
        message_type=("ORU", "R01", "ORU_R01"),
        control_id="MSG-0001",
        processing_id=("P",),
        version=("2.5", "FRA", "2.1"),
        charset="8859/15",
        profile=(("PROFILE", "", "1.2.3", "ISO"),),
    )
    assert header().trigger_event == "R01"


def test_ack_header_swaps_sender_and_receiver() -> None:
    moment = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    ack = parsed(build_ack(header(), "AA", control_id="ACK-1", timestamp=moment), "iso8859-15")
    msh = ack.msh
    assert msh.msh_3.to_er7() == "GATEWAY"
    assert msh.msh_4.to_er7() == "CPTS"
    assert msh.msh_5.to_er7() == "LABO^1.2.250.1^ISO"
    assert msh.msh_6.to_er7() == "SITE A"
    assert msh.msh_7.to_er7().startswith("2026030")
    assert msh.msh_9.to_er7() == "ACK^R01^ACK"
    assert msh.msh_10.to_er7() == "ACK-1"
    assert msh.msh_11.to_er7() == "P"
    assert msh.msh_12.to_er7() == "2.5^FRA^2.1"
    assert msh.msh_18.to_er7() == "8859/15"
    assert msh.msh_21.to_er7() == "PROFILE^^1.2.3^ISO"
    assert ack.msa.msa_1.to_er7() == "AA"
    assert ack.msa.msa_2.to_er7() == "MSG-0001"
    assert errs(ack) == []


def test_errors_become_err_segments() -> None:
    errors = [
        AckError("PID-3[2].4", "103", "E", "Unknown assigning authority"),
        AckError("OBX[2]-5.1.2", "102", "W", "Not a number"),
        AckError("PV1", "100", "I", "Unexpected segment"),
    ]
    ack = parsed(build_ack(header(), "AE", errors, "Rejected", control_id="A2"), "iso8859-15")
    assert ack.msa.msa_1.to_er7() == "AE"
    assert ack.msa.msa_3.to_er7() == "Rejected"
    first, second, third = errs(ack)
    erl = first.err_2
    assert [erl.erl_1.to_er7(), erl.erl_2.to_er7(), erl.erl_3.to_er7(), erl.erl_4.to_er7(), erl.erl_5.to_er7()] == [
        "PID",
        "1",
        "3",
        "2",
        "4",
    ]
    assert first.err_3.to_er7() == "103^Table value not found^HL70357"
    assert first.err_4.to_er7() == "E"
    assert first.err_8.to_er7() == "Unknown assigning authority"
    assert second.err_2.to_er7() == "OBX^2^5^1^1^2"
    assert second.err_3.to_er7() == "102^Data type error^HL70357"
    assert second.err_4.to_er7() == "W"
    assert third.err_2.to_er7() == "PV1^1"
    assert third.err_4.to_er7() == "I"


def test_internal_error_code_207() -> None:
    ack = parsed(build_ack(header(), "AR", [AckError(None, "207", "E", "boom")], control_id="A3"), "iso8859-15")
    (err,) = errs(ack)
    assert err.err_3.to_er7() == "207^Application internal error^HL70357"
    assert err.err_2.to_er7() == ""


def test_non_hl7_location_goes_to_the_text() -> None:
    error = AckError("line 12, column nir", "102", "E", "bad NIR")
    (err,) = errs(parsed(build_ack(header(), "AE", [error], control_id="A4"), "iso8859-15"))
    assert err.err_2.to_er7() == ""
    assert err.err_8.to_er7() == "line 12, column nir: bad NIR"


def test_separators_in_texts_are_escaped() -> None:
    nasty = "a|b^c~d\\e&f \\F\\ \\X0D\\"
    ack = build_ack(header(), "AE", [AckError("PID-5", "102", "E", nasty)], nasty, control_id="x|y^z")
    assert b"a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f \\E\\F\\E\\ \\E\\X0D\\E\\" in ack
    message = parsed(ack, "iso8859-15")
    assert unescape(message.msa.msa_3.to_er7()) == nasty
    assert unescape(errs(message)[0].err_8.to_er7()) == nasty
    assert unescape(message.msh.msh_10.to_er7()) == "x|y^z"


def test_control_id_with_separators_is_echoed_escaped() -> None:
    original = header_from_bytes(b"MSH|^~\\&|A|B|C|D|||ADT^A01|ID\\F\\1^2|P|2.5\r")
    assert original is not None
    assert original.control_id == "ID|1^2"
    ack = parsed(build_ack(original, "AA", control_id="n"))
    assert ack.msa.msa_2.to_er7() == "ID\\F\\1\\S\\2"


def test_iso_8859_15_round_trip_of_euro() -> None:
    raw = "MSH|^~\\&|APP|Cabinet €|GW|CPTS|||ADT^A08|E1|P|2.5||||||8859/15\r".encode("iso8859-15")
    original = header_from_bytes(raw)
    assert original is not None
    assert original.sending_facility == ("Cabinet €",)
    ack = build_ack(original, "AE", [AckError(None, "207", "E", "Coût 10 €")], "Prix €", control_id="E2")
    assert b"Cabinet \xa4" in ack
    assert b"Co\xfbt 10 \xa4" in ack
    message = parsed(ack, "iso8859-15")
    assert message.msh.msh_5.to_er7() == "APP"
    assert message.msh.msh_6.to_er7() == "Cabinet €"
    assert message.msh.msh_18.to_er7() == "8859/15"
    assert message.msa.msa_3.to_er7() == "Prix €"


def test_utf8_by_default_and_for_unknown_charsets() -> None:
    plain = build_ack(MessageHeader(control_id="1"), "AA", text="été", control_id="2")
    assert "été".encode() in plain
    assert parsed(plain).msh.msh_18.to_er7() == ""
    assert parsed(plain).msh.msh_12.to_er7() == "2.5"
    odd = build_ack(MessageHeader(control_id="1", charset="KLINGON"), "AA", text="été", control_id="2")
    assert parsed(odd).msh.msh_18.to_er7() == "UNICODE UTF-8"
    ascii_ack = build_ack(MessageHeader(control_id="1", charset="ASCII"), "AA", text="été", control_id="2")
    assert parsed(ascii_ack, "ascii").msa.msa_3.to_er7() == "?t?"


def test_long_texts_are_cut_and_control_characters_removed() -> None:
    text = "x" * 200
    ack = parsed(
        build_ack(header(), "AE", [AckError(None, "207", "E", text)], text + "\r\n", control_id="L"), "latin-1"
    )
    assert ack.msa.msa_3.to_er7() == "x" * 77 + "..."
    (err,) = errs(ack)
    assert err.err_8.to_er7() == "x" * 77 + "..."
    assert err.err_7.to_er7() == text
    short = build_ack(header(), "AA", text="line1\rline2\x0b\x1c", control_id="C")
    assert b"\rMSA|AA|MSG-0001|line1 line2  \r" in short


def test_custom_delimiters_are_kept() -> None:
    original = header_from_bytes(b"MSH#$*!%#APP##GW##20260101##ADT$A04#C!F!9#P#2.5\r")
    assert original is not None
    assert original.control_id == "C#9"
    ack = build_ack(original, "AE", [AckError("PID-3.1", "101", "E", "a#b$c")], control_id="K")
    assert ack.startswith(b"MSH#$*!%#GW##APP##")
    message = parsed(ack)
    assert message.msh.msh_9.to_er7() == "ACK$A04$ACK"
    assert message.msa.msa_2.to_er7() == "C!F!9"
    assert errs(message)[0].err_2.to_er7() == "PID$1$3$1$1"
    assert errs(message)[0].err_8.to_er7() == "a!F!b!S!c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PID", ErrorLocation("PID")),
        ("PID-3", ErrorLocation("PID", 1, 3)),
        ("PID-3[2].4", ErrorLocation("PID", 1, 3, 2, 4)),
        ("OBX[3]-5.1.2", ErrorLocation("OBX", 3, 5, None, 1, 2)),
        ("ZBE-1[1]", ErrorLocation("ZBE", 1, 1, 1)),
        ("line 3", None),
        ("pid-3", None),
        ("PID-0", None),
        ("PID-3.", None),
        ("PID-3[x]", None),
        ("PID-\u0663", None),
        ("nir", None),
    ],
)
def test_parse_location(text: str, expected: ErrorLocation | None) -> None:
    assert parse_location(text) == expected


def test_error_severity_is_checked() -> None:
    with pytest.raises(ValueError, match="severity"):
        AckError(None, "207", "X", "bad")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [b"", b"PID|1\r", b"garbage MSH|^~\\&|", b"MSH", b"MSH\rPID|1", b"MSHA^~\\&|", b"MSH\x00^~\\&"],
)
def test_no_usable_msh(raw: bytes) -> None:
    assert header_from_bytes(raw) is None


def test_tolerant_msh_reading() -> None:
    found = header_from_bytes(b"\xef\xbb\xbf \r\nMSH|^~\\&|A\nPID|1")
    assert found is not None
    assert found.sending_application == ("A",)
    assert found.control_id == ""
    later = header_from_bytes(b"junk\rMSH|^~\\&|B||||||ADT^A01^ADT_A01~X|7|P\r")
    assert later is not None
    assert (later.message_type, later.control_id) == (("ADT", "A01", "ADT_A01"), "7")
    odd = header_from_bytes(b"MSH|ab|A||||||ADT^A01|8|P|2.5|||||||\xff\xfe\r")
    assert odd is not None
    assert odd.encoding_characters == "^~\\&"
    assert odd.control_id == "8"
    bad_utf8 = header_from_bytes(b"MSH|^~\\&|\xe9t\xe9|||||||9|P|2.5||||||UNICODE UTF-8\r")
    assert bad_utf8 is not None
    assert bad_utf8.sending_application == ("\ufffdt\ufffd",)


components = st.lists(st.text(max_size=12), max_size=4).map(tuple)
identifier = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30).filter(
    lambda text: text == text.strip()  # hl7apy strips field values when parsing
)


@settings(deadline=None, max_examples=60)
@given(
    sending=components,
    facility=components,
    trigger=st.text(max_size=5),
    control_id=identifier,
    version=st.sampled_from(["2.5", "2.5.1", "2.6"]),
    charset=st.sampled_from(["", "8859/1", "8859/15", "UNICODE UTF-8", "ASCII", "EBCDIC"]),
    texts=st.lists(st.tuples(st.text(max_size=120), st.sampled_from(["PID-3[2].4", "x", None])), max_size=3),
    text=st.none() | st.text(max_size=100),
)
def test_any_ack_parses_back(
    sending: tuple[str, ...],
    facility: tuple[str, ...],
    trigger: str,
    control_id: str,
    version: str,
    charset: str,
    texts: list[tuple[str, str | None]],
    text: str | None,
) -> None:
    original = MessageHeader(
        sending_application=sending,
        sending_facility=facility,
        message_type=("ADT", trigger),
        control_id=control_id,
        processing_id=("P",),
        version=(version,),
        charset=charset,
    )
    errors = [AckError(location, "101", "E", message) for message, location in texts]
    ack = build_ack(original, "AE", errors, text, control_id="N1")
    codec = {"8859/1": "latin-1", "8859/15": "iso8859-15", "ASCII": "ascii"}.get(charset, "utf-8")
    message = parsed(ack, codec)
    expected = control_id.encode(codec, errors="replace").decode(codec)
    assert unescape(message.msa.msa_2.to_er7()) == expected
    assert message.msa.msa_1.to_er7() == "AE"
    assert len(errs(message)) == len(errors)

"""Splitting payloads into HL7 v2 messages: line endings, batch envelopes, MLLP framing, refusals."""

from __future__ import annotations

import pytest

from adapters.errors import Hl7Error
from adapters.hl7v2 import parse_message, split_messages
from tests.conftest import HL7V2_CORPORA

CORPORA = HL7V2_CORPORA

A = b"MSH|^~\\&|A||||||ADT^A04|1|P|2.5\rEVN||20240101\rPID|1||111"
B = b"MSH|^~\\&|B||||||ADT^A08|2|P|2.5\rPID|1||222"


def control_ids(data: bytes) -> list[tuple[int, str | None]]:
    return [(index, parse_message(message).control_id) for index, message in split_messages(data)]


def test_one_message() -> None:
    assert split_messages(A) == [(1, A)]
    assert split_messages(A + b"\r") == [(1, A)]


@pytest.mark.parametrize("sep", [b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"\n\n"])
def test_several_messages_with_any_line_ending(sep: bytes) -> None:
    data = A.replace(b"\r", sep) + sep + B.replace(b"\r", sep) + sep
    assert split_messages(data) == [(1, A), (2, B)]


def test_batch_envelope_segments_are_dropped() -> None:
    data = b"\r".join([b"FHS|^~\\&|X", b"BHS|^~\\&|X", A, B, b"BTS|2", b"BHS|^~\\&|Y", A, b"BTS|1", b"FTS|2"])
    assert control_ids(data) == [(1, "1"), (2, "2"), (3, "1")]


def test_mllp_framing_is_stripped() -> None:
    frame = b"\x0b%s\x1c\r"
    data = frame % A + frame % B
    assert split_messages(data) == [(1, A), (2, B)]
    assert split_messages(b"\x0b" + A + b"\x1c\x0b" + B + b"\x1c") == [(1, A), (2, B)]  # no CR after FS


def test_byte_order_mark_and_blank_lines_are_ignored() -> None:
    assert split_messages(b"\xef\xbb\xbf\r\n  \r\n" + A + b"\r\n \t \r\n") == [(1, A)]


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"   ", b"\x0b\x1c\r", b"FHS|^~\\&\rBHS|^~\\&\rBTS|0\rFTS|0"])
def test_a_payload_without_messages_is_refused(data: bytes) -> None:
    with pytest.raises(Hl7Error) as caught:
        split_messages(data)
    assert (caught.value.code, caught.value.location) == ("ADP-HL7-STRUCTURE", "payload")


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"PID|1\r" + A, 0),
        (b"\r\nEVN|1\r" + A, 2),
        (A + b"\rBTS|1\rPID|1", len(A) + 7),
    ],
)
def test_a_segment_outside_any_message_is_refused_at_its_offset(data: bytes, offset: int) -> None:
    with pytest.raises(Hl7Error) as caught:
        split_messages(data)
    assert caught.value.location == f"byte {offset}"


def test_corpus_files_hold_one_message_each() -> None:
    for folder in ("ansforge-pam-fr", "microsoft-FHIR-Converter", "hl7-v2-to-fhir"):
        for path in sorted((CORPORA / folder).iterdir()):
            messages = split_messages(path.read_bytes())
            assert [index for index, _ in messages] == [1], path
            assert parse_message(messages[0][1]).segments[0].name == "MSH"


def test_a_concatenated_corpus_splits_back() -> None:
    files = sorted((CORPORA / "microsoft-FHIR-Converter").iterdir())
    data = b"\r\n".join(path.read_bytes() for path in files)
    messages = split_messages(data)
    assert len(messages) == len(files)
    assert [parse_message(m).control_id for _, m in messages] == [
        parse_message(path.read_bytes()).control_id for path in files
    ]

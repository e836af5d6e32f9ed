"""MLLP framing: frames split or joined over reads, garbage, restarted frames, size limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.mllp.framing import FrameDecoder, FrameTooLargeError, TooMuchGarbageError, frame

MSG = b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPID|1\r"


def test_frame_wraps_the_payload() -> None:
    assert frame(MSG) == b"\x0b" + MSG + b"\x1c\x0d"


def test_one_frame_round_trip() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(frame(MSG)) == [MSG]
    assert decoder.discarded == 0
    assert decoder.error is None
    assert not decoder.in_frame


def test_two_frames_in_one_read() -> None:
    assert FrameDecoder().feed(frame(b"one") + frame(b"two")) == [b"one", b"two"]


def test_frame_split_byte_by_byte() -> None:
    decoder = FrameDecoder()
    frames = [f for byte in frame(MSG) for f in decoder.feed(bytes([byte]))]
    assert frames == [MSG]


def test_end_block_split_between_reads() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x0babc\x1c") == []
    assert decoder.in_frame
    assert decoder.feed(b"\x0d") == [b"abc"]


def test_lone_file_separator_stays_in_the_payload() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x0ba\x1cb") == []
    assert decoder.feed(b"\x1c") == []
    assert decoder.feed(b"x\x1c\x0d") == [b"a\x1cb\x1cx"]


def test_garbage_before_and_between_frames_is_counted() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00\xffjunk" + frame(b"one") + b"\r\n" + frame(b"two")) == [b"one", b"two"]
    assert decoder.discarded == 8


def test_start_block_inside_a_frame_restarts_it() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x0bpartial") == []
    assert decoder.feed(b"\x0bwhole\x1c\x0d") == [b"whole"]
    assert decoder.discarded == len(b"\x0bpartial")


def test_oversized_frame_reports_its_head_and_stops() -> None:
    decoder = FrameDecoder(max_frame_bytes=10)
    assert decoder.feed(frame(b"ok") + b"\x0b" + b"MSH|" + b"x" * 20) == [b"ok"]
    assert isinstance(decoder.error, FrameTooLargeError)
    assert decoder.error.head.startswith(b"MSH|")
    assert decoder.error.limit == 10
    assert decoder.feed(frame(b"later")) == []


def test_oversized_complete_frame_is_an_error() -> None:
    decoder = FrameDecoder(max_frame_bytes=3)
    assert decoder.feed(frame(b"abcd")) == []
    assert isinstance(decoder.error, FrameTooLargeError)


def test_frame_of_exactly_the_limit_passes() -> None:
    decoder = FrameDecoder(max_frame_bytes=3)
    assert decoder.feed(frame(b"abc")) == [b"abc"]
    assert decoder.error is None


def test_too_much_garbage_without_a_frame() -> None:
    decoder = FrameDecoder(max_frame_bytes=100)
    assert decoder.feed(b"z" * 100) == []
    assert decoder.error is None
    assert decoder.feed(b"z") == []
    assert isinstance(decoder.error, TooMuchGarbageError)


def test_garbage_run_resets_after_a_frame() -> None:
    decoder = FrameDecoder(max_frame_bytes=100)
    for _ in range(5):
        assert decoder.feed(b"z" * 60 + frame(b"m")) == [b"m"]
    assert decoder.error is None
    assert decoder.discarded == 300


payloads = st.lists(st.binary(max_size=200).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")), max_size=8)


@given(payloads, st.lists(st.integers(min_value=1, max_value=50), min_size=1), st.binary(max_size=30))
def test_any_chunking_gives_back_the_frames(messages: list[bytes], cuts: list[int], garbage: bytes) -> None:
    stream = garbage.replace(b"\x0b", b"") + b"".join(frame(m) for m in messages)
    decoder = FrameDecoder()
    decoded: list[bytes] = []
    pos, index = 0, 0
    while pos < len(stream):
        size = cuts[index % len(cuts)]
        decoded += decoder.feed(stream[pos : pos + size])
        pos, index = pos + size, index + 1
    assert decoded == messages
    assert decoder.error is None

r"""Properties of the ER7 reader: random messages read back value for value; damaged input only raises Hl7Error.

Random messages are built from random values (separators, escape characters, line breaks and non-ASCII text
included), escaped by :func:`escape` (a tiny test-side escaper), rendered with random separators and charsets,
and read back. Values are stripped of surrounding whitespace first: a value that starts or ends with spaces is
not representable as is (hl7apy and this reader strip segments and treat blank values as empty).
"""

from __future__ import annotations

import contextlib
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.errors import Hl7Error
from adapters.hl7v2 import Er7Message, Path, Separators, parse_message, parse_path, split_messages, unescape
from tests.conftest import HL7V2_CORPORA

CORPORA = HL7V2_CORPORA
PUNCTUATION = "|^~\\&#!@$%*+=:;?"  # no "/": MSH-18 values such as 8859/1 hold it
CHARSETS = {"UNICODE UTF-8": "utf-8", "": "utf-8", "ASCII": "utf-8", "8859/1": "latin-1", "8859/15": "iso8859-15"}
ALPHABET = string.ascii_letters + string.digits + " .-'/\n" + PUNCTUATION + "éàçÉ€œ"
NAMES = ["PID", "PV1", "OBX", "NK1", "ZBE", "Z01"]

Value = str
Repetition = list[list[Value]]  # components of sub-components
Field = list[Repetition]


def escape(value: str, seps: Separators, codec: str, hex_non_ascii: bool) -> str:
    """Escape a value for ER7 (what a sender would write)."""
    e = seps.escape
    table = {
        seps.field: f"{e}F{e}",
        seps.component: f"{e}S{e}",
        seps.subcomponent: f"{e}T{e}",
        seps.repetition: f"{e}R{e}",
        seps.escape: f"{e}E{e}",
        "\n": f"{e}.br{e}",
    }
    if seps.truncation:
        table[seps.truncation] = f"{e}P{e}"
    out = []
    for char in value:
        if char in table:
            out.append(table[char])
        elif hex_non_ascii and not char.isascii():
            out.append(f"{e}X{char.encode(codec).hex().upper()}{e}")
        else:
            out.append(char)
    return "".join(out)


@st.composite
def separators(draw: st.DrawFn) -> Separators:
    chars = draw(st.permutations(PUNCTUATION))
    truncation = chars[5] if draw(st.booleans()) else None
    return Separators(chars[0], chars[1], chars[2], chars[3], chars[4], truncation)


def values(codec: str) -> st.SearchStrategy[str]:
    encodable = "".join(char for char in ALPHABET if char.encode(codec, errors="ignore"))
    return st.text(alphabet=encodable, max_size=8).map(str.strip)


def fields(codec: str) -> st.SearchStrategy[Field]:
    subs = st.lists(values(codec), min_size=1, max_size=2)
    comps = st.lists(subs, min_size=1, max_size=3)
    return st.lists(comps, min_size=1, max_size=3)


def render(field: Field, seps: Separators, codec: str, hex_non_ascii: bool) -> str:
    return seps.repetition.join(
        seps.component.join(
            seps.subcomponent.join(escape(value, seps, codec, hex_non_ascii) for value in comp) for comp in rep
        )
        for rep in field
    )


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, Separators, str, list[tuple[str, list[Field]]]]:
    seps = draw(separators())
    charset = draw(st.sampled_from(sorted(CHARSETS)))
    codec = CHARSETS[charset]
    hex_non_ascii = draw(st.booleans())
    segments = draw(
        st.lists(st.tuples(st.sampled_from(NAMES), st.lists(fields(codec), max_size=5)), min_size=1, max_size=4)
    )
    if charset in ("", "ASCII") and not hex_non_ascii:
        codec = "utf-8"  # undeclared: written as UTF-8
    msh = [seps.encoding_characters, "APP", "", "", "", "20240101", "", f"ADT{seps.component}A04", "42", "P"]
    msh += ["2.7", "", "", "", "", "", charset]
    lines = ["MSH" + seps.field + seps.field.join(msh)]
    for name, segment_fields in segments:
        rendered = [render(field, seps, codec, hex_non_ascii) for field in segment_fields]
        lines.append(seps.field.join([name, *rendered]))
    data = draw(st.sampled_from(["\r", "\n", "\r\n"])).join(lines).encode(codec)
    return data, seps, codec, segments


@given(messages())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_messages_read_back(case: tuple[bytes, Separators, str, list[tuple[str, list[Field]]]]) -> None:
    data, seps, codec, segments = case
    msg = parse_message(data)
    assert msg.separators == seps
    assert msg.message_type() == ("ADT", "A04", "")
    assert msg.control_id == "42"
    assert msg.get("MSH-2") == seps.encoding_characters
    assert [s.name for s in msg.segments] == ["MSH"] + [name for name, _ in segments]
    for segment, (name, segment_fields) in zip(msg.segments[1:], segments, strict=True):
        assert segment.occurrence == 1 + sum(1 for other, _ in segments[: segment.position - 2] if other == name)
        for number, field in enumerate(segment_fields, 1):
            reps = segment.field(number).repetitions
            if render(field, seps, codec, False) == "":
                assert reps == []
                continue
            assert [rep.components() for rep in reps] == field
            for rep, expected in zip(reps, field, strict=True):
                for c, comp in enumerate(expected, 1):
                    for s, value in enumerate(comp, 1):
                        assert rep.sub(c, s) == (value or None)
                        assert msg.get(f"{segment.label}-{number}[{rep.index}].{c}.{s}") == (value or None)
                assert rep.value == (expected[0][0] or None)


def corpus_messages() -> list[bytes]:
    found = []
    for folder in ("ansforge-pam-fr", "microsoft-FHIR-Converter", "hl7-v2-to-fhir"):
        for path in sorted((CORPORA / folder).iterdir()):
            found.extend(message for _, message in split_messages(path.read_bytes()))
    return found


CORPUS = corpus_messages()
INTERESTING = b"|^~\\&\r\n\x0b\x1c\x00\xff\xc3\xa9 MSH0"


def read_everything(msg: Er7Message) -> None:
    msg.message_type()
    for seg in msg.segments:
        for number in range(1, seg.field_count + 1):
            for rep in seg.field(number).repetitions:
                for c, comp in enumerate(rep.components(), 1):
                    for s in range(1, len(comp) + 1):
                        assert msg.get(f"{seg.label}-{number}[{rep.index}].{c}.{s}") == rep.sub(c, s)


def read_or_refuse(data: bytes) -> str | None:
    """None when the message is read through, else the code of the Hl7Error (anything else propagates)."""
    try:
        read_everything(parse_message(data))
    except Hl7Error as exc:
        return exc.code if exc.location else "no location"
    return None


mutation = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
    st.one_of(st.sampled_from(list(INTERESTING)), st.integers(0, 255)),
)


@given(st.sampled_from(range(len(CORPUS))), st.lists(mutation, min_size=1, max_size=8))
@settings(max_examples=200, deadline=None)
def test_damaged_corpus_messages_are_read_or_refused(index: int, changes: list[tuple[str, float, int]]) -> None:
    data = bytearray(CORPUS[index])
    for op, where, byte in changes:
        at = int(where * len(data))
        if op == "replace" and data:
            data[at] = byte
        elif op == "insert":
            data.insert(at, byte)
        elif data:
            del data[at]
    for payload in (bytes(data), bytes(data[:40])):
        assert read_or_refuse(payload) in (None, "ADP-HL7-STRUCTURE", "ADP-HL7-CHARSET")
        with contextlib.suppress(Hl7Error):
            split_messages(payload)


@given(st.binary(max_size=300), st.booleans())
@settings(max_examples=150, deadline=None)
def test_arbitrary_bytes_are_read_or_refused(tail: bytes, with_header: bool) -> None:
    data = (b"MSH|^~\\&|" + tail) if with_header else tail
    assert read_or_refuse(data) in (None, "ADP-HL7-STRUCTURE", "ADP-HL7-CHARSET")


@given(st.text(alphabet="\\FSTREXP.br0123456789ABCDEFZ^&|~a", max_size=60), st.sampled_from(sorted(CHARSETS.values())))
def test_unescape_never_fails(text: str, codec: str) -> None:
    assert isinstance(unescape(text, Separators(truncation="#"), codec), str)


@given(st.text(alphabet=ALPHABET, max_size=30), separators(), st.booleans())
def test_unescape_inverts_escape(value: str, seps: Separators, hex_non_ascii: bool) -> None:
    assert unescape(escape(value, seps, "utf-8", hex_non_ascii), seps, "utf-8") == value


paths = st.builds(
    lambda segment, occurrence, field, repetition, component, sub: Path(
        segment, occurrence, field, repetition, component, sub if component is not None else None
    ),
    st.from_regex(r"[A-Z][A-Z0-9]{2}", fullmatch=True),
    st.integers(1, 20),
    st.integers(1, 300),
    st.integers(1, 20),
    st.none() | st.integers(1, 30),
    st.none() | st.integers(1, 30),
)


@given(paths)
def test_paths_round_trip(path: Path) -> None:
    assert parse_path(str(path)) == path

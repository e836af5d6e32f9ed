"""A small, fast reader of HL7 v2 messages in ER7 (pipe) encoding, for the ingest hot path.

Segments are split eagerly; fields, repetitions, components and sub-components are split on demand. Fields are
numbered as HL7 numbers them: ``MSH-1`` is the field separator, ``MSH-2`` the encoding characters, ``MSH-3`` the
sending application. Values come back unescaped (see :mod:`adapters.hl7v2.escape`), ``None`` when absent or blank.

Whitespace is read the way hl7apy reads it (the differential tests hold the two readers together): each segment is
stripped of surrounding whitespace, and a field, component or sub-component that is only whitespace is empty.
"""

from __future__ import annotations

import re

from adapters.errors import Hl7Error
from adapters.hl7v2.charset import decode
from adapters.hl7v2.escape import Separators, unescape
from adapters.hl7v2.path import Path, location, parse_path, parse_relative_path

_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}\Z")
_FRAMING = b" \t\r\n\x0b\x0c\x1c"  # whitespace and MLLP start/end bytes around a message
_BOM = b"\xef\xbb\xbf"


def _is_separator(byte: int) -> bool:
    """Separators are printable ASCII punctuation (never letters, digits, spaces or controls)."""
    return 0x21 <= byte <= 0x7E and not chr(byte).isalnum()


def _blank(text: str) -> bool:
    return not text or text.isspace()


class Repetition:
    """One repetition of a field: its components and their sub-components."""

    __slots__ = ("_codec", "_components", "_seps", "_verbatim", "field", "index", "raw")

    def __init__(self, field: Field, index: int, raw: str, *, verbatim: bool = False) -> None:
        self.field = field
        self.index = index  # 1-based
        self.raw = raw  # the repetition as written (escaped)
        self._seps = field.segment.separators
        self._codec = field.segment.codec
        self._verbatim = verbatim  # MSH-1 and MSH-2: one value, never split nor unescaped
        self._components: list[str] | None = None  # raw components, split on first use

    @property
    def location(self) -> str:
        return location(self.field.segment.label, self.field.number, self.index)

    def sub(self, n: int, s: int) -> str | None:
        """Sub-component ``s`` of component ``n`` (1-based), unescaped; ``None`` when absent or blank."""
        if n < 1 or s < 1:
            raise ValueError(f"component and sub-component numbers start at 1, got {n}.{s}")
        if self._verbatim:
            return self.raw if n == s == 1 else None
        seps = self._seps
        components = self._components
        if components is None:
            components = self._components = self.raw.split(seps.component)
        if n > len(components):
            return None
        text = components[n - 1]
        if seps.subcomponent in text:
            subs = text.split(seps.subcomponent)
            if s > len(subs):
                return None
            text = subs[s - 1]
        elif s > 1:
            return None
        if _blank(text):
            return None
        return unescape(text, seps, self._codec) if seps.escape in text else text

    def component(self, n: int) -> str | None:
        """Component ``n`` (1-based), its first sub-component, unescaped; ``None`` when absent or blank."""
        return self.sub(n, 1)

    def components(self) -> list[list[str]]:
        """Every component with every sub-component, unescaped, empty ones as ``""``."""
        if self._verbatim:
            return [[self.raw]]
        seps, codec = self._seps, self._codec
        return [
            [unescape(text, seps, codec) for text in component.split(seps.subcomponent)]
            for component in self.raw.split(seps.component)
        ]

    @property
    def value(self) -> str | None:
        """The whole repetition when it is a single value, else its component 1, sub-component 1."""
        return self.sub(1, 1)

    def __repr__(self) -> str:
        return f"<Repetition {self.location} {self.raw!r}>"


class Field:
    """A field of a segment, with its repetitions (``[]`` when the field is empty)."""

    __slots__ = ("_repetitions", "number", "segment")

    def __init__(self, segment: Segment, number: int) -> None:
        self.segment = segment
        self.number = number
        self._repetitions: list[Repetition] | None = None

    @property
    def location(self) -> str:
        return location(self.segment.label, self.number)

    @property
    def raw(self) -> str:
        """The field as written (escaped, repetitions included)."""
        return self.segment.field_text(self.number)

    @property
    def repetitions(self) -> list[Repetition]:
        if self._repetitions is None:
            raw = self.raw
            if _blank(raw):
                self._repetitions = []
            elif self.segment.name == "MSH" and self.number <= 2:
                self._repetitions = [Repetition(self, 1, raw, verbatim=True)]
            else:
                parts = raw.split(self.segment.separators.repetition)
                self._repetitions = [Repetition(self, i, part) for i, part in enumerate(parts, 1)]
        return self._repetitions

    def __repr__(self) -> str:
        return f"<Field {self.location} {self.raw!r}>"


class Segment:
    """One segment: its name, its rank among segments of that name, its rank in the message, its fields."""

    __slots__ = ("_field_objects", "_fields", "codec", "name", "occurrence", "position", "separators", "text")

    def __init__(
        self, name: str, text: str, occurrence: int, position: int, separators: Separators, codec: str
    ) -> None:
        self.name = name
        self.text = text  # the segment as written, surrounding whitespace removed
        self.occurrence = occurrence  # 1-based among segments of the same name
        self.position = position  # 1-based in the message
        self.separators = separators
        self.codec = codec
        self._fields: list[str] | None = None
        self._field_objects: dict[int, Field] = {}

    @property
    def label(self) -> str:
        """``PID``, or ``OBX[2]`` for a segment's second occurrence, as locations print it."""
        return self.name if self.occurrence == 1 else f"{self.name}[{self.occurrence}]"

    def _split(self) -> list[str]:
        fields = self._fields
        if fields is None:  # index n holds field n; for MSH, index 1 holds MSH-1, the field separator
            fields = self.text.split(self.separators.field)
            if self.name == "MSH":
                fields.insert(1, self.separators.field)
            self._fields = fields
        return fields

    def field_text(self, n: int) -> str:
        """Field ``n`` as written (escaped), ``""`` when absent."""
        if n < 1:
            raise ValueError(f"field numbers start at 1, got {n}")
        fields = self._split()
        return fields[n] if n < len(fields) else ""

    def field(self, n: int) -> Field:
        """Field ``n``, numbered as HL7 numbers it (an absent field has no repetitions)."""
        found = self._field_objects.get(n)
        if found is None:
            if n < 1:
                raise ValueError(f"field numbers start at 1, got {n}")
            found = self._field_objects[n] = Field(self, n)
        return found

    def filled_fields(self) -> list[int]:
        """The numbers of the fields that carry a value (not absent, empty or only whitespace), in order."""
        return [n for n, text in enumerate(self._split()) if n and text and not text.isspace()]

    def repetition_count(self, n: int) -> int:
        """How many repetitions field ``n`` has (``len(self.field(n).repetitions)``, without making them)."""
        text = self.field_text(n)
        if _blank(text):
            return 0
        if self.name == "MSH" and n <= 2:
            return 1
        return text.count(self.separators.repetition) + 1

    @property
    def field_count(self) -> int:
        """The number of the last non-empty field (trailing empty fields do not count)."""
        fields = self._split()
        count = len(fields) - 1
        while count > 0 and _blank(fields[count]):
            count -= 1
        return count

    def value(
        self, field: int, repetition: int = 1, component: int | None = None, sub: int | None = None
    ) -> str | None:
        """The value at these (1-based) indexes; no component means component 1, sub-component 1."""
        fields = self._fields or self._split()
        if field < 1 or repetition < 1:
            raise ValueError(f"field and repetition numbers start at 1, got {field}[{repetition}]")
        if field >= len(fields):
            return None
        text = fields[field]
        if not text or text.isspace():  # _blank, inlined: this runs for every value a mapping reads
            return None
        component, sub = component or 1, sub or 1
        if self.name == "MSH" and field <= 2:
            return text if repetition == component == sub == 1 else None
        seps = self.separators
        # the repetition, then its component, then its sub-component: a text without the separator is its own
        # first part (and has no second)
        sep = seps.repetition
        if sep in text:
            parts = text.split(sep)
            if repetition > len(parts):
                return None
            text = parts[repetition - 1]
        elif repetition > 1:
            return None
        sep = seps.component
        if sep in text:
            parts = text.split(sep)
            if component > len(parts):
                return None
            text = parts[component - 1]
        elif component > 1:
            return None
        sep = seps.subcomponent
        if sep in text:
            parts = text.split(sep)
            if sub > len(parts):
                return None
            text = parts[sub - 1]
        elif sub > 1:
            return None
        if not text or text.isspace():
            return None
        return unescape(text, seps, self.codec) if seps.escape in text else text

    def get(self, path: str) -> str | None:
        """The value at a path relative to this segment: ``"3"``, ``"3[2].4"``, ``"3[2].4.2"``, ``"5.1.1"``."""
        return self.value(*parse_relative_path(path))

    def __repr__(self) -> str:
        return f"<Segment {self.label} #{self.position}>"


class Er7Message:
    """A parsed message: its segments in order, looked up by name or read through paths."""

    __slots__ = ("_index", "encoding", "segments", "separators", "text")

    def __init__(self, text: str, encoding: str, separators: Separators, segments: list[Segment]) -> None:
        self.text = text  # the decoded message
        self.encoding = encoding  # the Python codec MSH-18 chose
        self.separators = separators
        self.segments = segments
        self._index: dict[str, list[Segment]] = {}
        for segment in segments:
            self._index.setdefault(segment.name, []).append(segment)

    def first(self, name: str) -> Segment | None:
        found = self._index.get(name)
        return found[0] if found else None

    def all(self, name: str) -> list[Segment]:
        return list(self._index.get(name, ()))

    def get(self, path: str) -> str | None:
        """The value at a path such as ``PID-3[2].4.2`` or ``OBX[2]-5``; ``None`` when absent or empty."""
        p = parse_path(path)
        found = self._index.get(p.segment)
        if not found or p.occurrence > len(found):
            return None
        return found[p.occurrence - 1].value(p.field, p.repetition, p.component, p.subcomponent)

    def message_type(self) -> tuple[str, str, str]:
        """(MSH-9.1, MSH-9.2, MSH-9.3), e.g. ``("ADT", "A04", "ADT_A01")``; ``""`` for an absent part."""
        msh = self.segments[0]
        return (msh.value(9, 1, 1) or "", msh.value(9, 1, 2) or "", msh.value(9, 1, 3) or "")

    @property
    def control_id(self) -> str | None:
        """MSH-10."""
        return self.segments[0].value(10)

    @property
    def version(self) -> str | None:
        """MSH-12.1, e.g. ``"2.5"``."""
        return self.segments[0].value(12, 1, 1)

    @property
    def charset(self) -> str:
        """MSH-18 as written (``""`` when absent), e.g. ``"UNICODE UTF-8"``."""
        return self.segments[0].field_text(18).strip()

    def __repr__(self) -> str:
        return f"<Er7Message {'^'.join(self.message_type())} {self.control_id!r}>"


def _read_msh(body: bytes) -> tuple[Separators, str]:
    """The separators and the declared MSH-18 charset, read from the raw bytes of the MSH segment."""
    if len(body) < 4 or not _is_separator(body[3]):
        raise Hl7Error("MSH-1 (the field separator) must be an ASCII punctuation character", location="MSH-1")
    line = re.split(rb"[\r\n]", body, maxsplit=1)[0]
    parts = line.split(body[3:4])
    encoding = parts[1] if len(parts) > 1 else b""
    if not (
        len(encoding) in (4, 5)
        and len(set(encoding)) == len(encoding)
        and body[3] not in encoding
        and all(_is_separator(byte) for byte in encoding)
    ):
        raise Hl7Error(
            f"MSH-2 must hold 4 or 5 distinct punctuation characters other than MSH-1, found {encoding[:10]!r}",
            location="MSH-2",
        )
    chars = encoding.decode("ascii")
    separators = Separators(chr(body[3]), chars[0], chars[1], chars[2], chars[3], chars[4] if len(chars) > 4 else None)
    declared = parts[17].split(encoding[1:2])[0] if len(parts) > 17 else b""
    if not declared.isascii():
        raise Hl7Error(f"unsupported character set {declared[:20]!r}", location="MSH-18", code="ADP-HL7-CHARSET")
    return separators, declared.decode("ascii").strip()


def parse_message(data: bytes) -> Er7Message:
    """Read one ER7 message (segments ended by ``\\r``, ``\\n`` or ``\\r\\n``); bad input raises ``Hl7Error``."""
    body = bytes(data).lstrip(_FRAMING)
    offset = len(data) - len(body)
    if body.startswith(_BOM):
        body, offset = body[3:], offset + 3
    body = body.rstrip(_FRAMING)
    if not body.startswith(b"MSH"):
        raise Hl7Error("a message must start with an MSH segment", location="MSH")
    separators, declared = _read_msh(body)
    text, codec = decode(body, declared, offset)
    segments: list[Segment] = []
    counts: dict[str, int] = {}
    fs = separators.field
    for line in text.replace("\r\n", "\r").replace("\n", "\r").split("\r"):
        line = line.strip()
        if not line:
            continue
        name = line[:3]
        position = len(segments) + 1
        if not _SEGMENT_NAME.match(name) or (len(line) > 3 and line[3] != fs):
            why = "a segment name is a capital letter then 2 capitals or digits, then MSH-1"
            raise Hl7Error(f"invalid segment {line[:12]!r}: {why}", location=f"segment {position}")
        if name == "MSH" and position > 1:
            raise Hl7Error("a second MSH segment: split batches with split_messages", location=f"segment {position}")
        if "\x00" in line:  # no HL7 v2 value holds one, and no database text column can store it
            field = line[: line.index("\x00")].count(fs) + (1 if name == "MSH" else 0)
            raise Hl7Error(f"a NUL character (0x00) in {name}-{field}", location=f"{name}-{field}")
        counts[name] = occurrence = counts.get(name, 0) + 1
        segments.append(Segment(name, line, occurrence, position, separators, codec))
    return Er7Message(text, codec, separators, segments)


__all__ = ["Er7Message", "Field", "Path", "Repetition", "Segment", "location", "parse_message", "parse_path"]

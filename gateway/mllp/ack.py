"""HL7 v2 acknowledgements (ACK) built with hl7apy, and a tolerant reading of the MSH of raw bytes.

* The ACK keeps the original's delimiters and charset: MSH-3/4 and MSH-5/6 swapped, MSH-9 ``ACK^<trigger>^ACK``, a new
  MSH-10; MSH-11, MSH-12 (``2.5`` if absent), MSH-18 and MSH-21 echoed. An MSH-18 unknown to Python gives a UTF-8 ACK
  saying ``UNICODE UTF-8``; no MSH-18 gives UTF-8 and none. Characters the charset lacks become ``?``, control
  characters (CR, LF, MLLP blocks...) spaces.
* ERR uses the v2.5 layout whatever MSH-12 says: ERR-2 location (ERL; occurrence defaults to 1, and repetition to 1
  when a field is given), ERR-3 code (table 0357), ERR-4 severity, ERR-8 message. A location that is not an HL7 path
  ``SEG[k]-f[r].c.s`` is written before the ERR-8 text instead.
* v2.5 lengths: MSA-3 and ERR-8 keep 80 characters (cut with ``...``); a longer message also goes whole (up to 2048)
  in ERR-7, diagnostic information. Control ids are never cut.
* hl7apy renders every field (datatype structure, separator escaping); this module joins them. hl7apy leaves text that
  looks escaped (``\\F\\``) alone, so the escape character is escaped first. A field costs hl7apy ~0.15 ms, so
  renderings of low-cardinality values (header fields, codes, locations) are memoised; control ids and free texts
  (maybe patient data) are not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

from hl7apy.core import Field, is_base_datatype
from hl7apy.exceptions import ChildNotFound
from hl7apy.factories import datatype_factory

__all__ = [
    "HL7_ERROR_CODES",
    "AckCode",
    "AckError",
    "ErrorLocation",
    "MessageHeader",
    "Severity",
    "build_ack",
    "header_from_bytes",
    "parse_location",
    "python_codec",
]

AckCode = Literal["AA", "AE", "AR"]
Severity = Literal["E", "W", "I"]
Components = tuple[str, ...]
Separators = tuple[str, str, str, str, str]  # field, component, repetition, escape, subcomponent

HL7_ERROR_CODES = {  # HL7 table 0357 (v2.5)
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}
_CHARSETS = {"ASCII": "ascii", "8859/15": "iso8859-15", "UNICODE UTF-8": "utf-8"} | {
    f"8859/{n}": f"iso8859-{n}" for n in range(1, 10)
}
_VERSION = "2.5"
_DEFAULT_ENCODING = "^~\\&"
_TEXT_LENGTH, _DIAGNOSTIC_LENGTH = 80, 2048
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MSH = re.compile(rb"(?:\A(?:\xef\xbb\xbf)?[\s\x00]*|[\r\n])(MSH[^\r\n]+)")  # at the start, or a segment's
_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?)?", re.ASCII)


def python_codec(charset: str) -> str | None:
    """The Python codec for an MSH-18 value (HL7 table 0211), or None when unsupported."""
    return _CHARSETS.get(charset.strip().upper())


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """The fields of an original message's MSH that its ACK needs (values unescaped, split into components)."""

    sending_application: Components = ()  # MSH-3
    sending_facility: Components = ()  # MSH-4
    receiving_application: Components = ()  # MSH-5
    receiving_facility: Components = ()  # MSH-6
    message_type: Components = ()  # MSH-9: code, trigger event, structure
    control_id: str = ""  # MSH-10
    processing_id: Components = ()  # MSH-11
    version: Components = ()  # MSH-12, all components (e.g. 2.5, FRA, 2.1)
    charset: str = ""  # MSH-18, first repetition
    profile: tuple[Components, ...] = ()  # MSH-21 repetitions
    field_separator: str = "|"  # MSH-1
    encoding_characters: str = _DEFAULT_ENCODING  # MSH-2: component, repetition, escape, subcomponent

    @property
    def trigger_event(self) -> str:
        return self.message_type[1] if len(self.message_type) > 1 else ""


@dataclass(frozen=True, slots=True)
class ErrorLocation:
    """An HL7 error location (ERL): segment id, occurrence, field, repetition, component, sub-component."""

    segment: str
    sequence: int = 1
    field: int | None = None
    repetition: int | None = None
    component: int | None = None
    subcomponent: int | None = None

    def parts(self) -> Components:
        repetition = self.repetition or (1 if self.field else None)
        numbers = (self.sequence, self.field, repetition, self.component, self.subcomponent)
        return (self.segment, *("" if n is None else str(n) for n in numbers))


def parse_location(text: str) -> ErrorLocation | None:
    """Parse ``SEG[k]-f[r].c.s`` (every part after SEG optional, numbers from 1); None if not an HL7 path."""
    match = _LOCATION.fullmatch(text.strip())
    if match is None:
        return None
    numbers = [None if group is None else int(group) for group in match.groups()[1:]]
    if any(n == 0 for n in numbers):
        return None
    sequence, field, repetition, component, subcomponent = numbers
    return ErrorLocation(match.group(1), sequence or 1, field, repetition, component, subcomponent)


@dataclass(frozen=True, slots=True)
class AckError:
    """One ERR segment: where (an HL7 path, or any text), the table 0357 code, severity and a message."""

    location: str | None
    code: str
    severity: Severity = "E"
    message: str = ""

    def __post_init__(self) -> None:
        if self.severity not in ("E", "W", "I"):
            raise ValueError(f"severity must be E, W or I, not {self.severity!r}")


def _valid_delimiters(chars: str) -> bool:
    usable = all(c.isascii() and c.isprintable() and not (c.isalnum() or c.isspace()) for c in chars)
    return usable and len(chars) == len(set(chars)) == 5


def _separators(header: MessageHeader) -> Separators:
    chars = header.field_separator + header.encoding_characters
    chars = chars if _valid_delimiters(chars) else "|" + _DEFAULT_ENCODING
    return chars[0], chars[1], chars[2], chars[3], chars[4]


def _clean(value: str, escape: str) -> str:
    return _CONTROL.sub(" ", value).replace(escape, f"{escape}E{escape}")


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 3] + "..."


def _render(name: str, parts: Components, seps: Separators) -> str:
    """One field rendered by hl7apy with the given delimiters (components beyond the datatype's are dropped)."""
    field = Field(name, version=_VERSION)
    escape = seps[3]
    if is_base_datatype(field.datatype, _VERSION):
        if parts and parts[0]:
            field.value = datatype_factory(field.datatype, _clean(parts[0], escape), _VERSION)
    else:
        for index, value in enumerate(parts, start=1):
            if not value:
                continue
            try:
                element = getattr(field, f"{field.datatype}_{index}")
            except ChildNotFound:  # more components than the datatype has
                continue
            if not is_base_datatype(element.datatype, _VERSION):  # e.g. VID-2 is a CE: its identifier
                element = getattr(element, f"{element.datatype}_1")
            element.value = datatype_factory(element.datatype, _clean(value, escape), _VERSION)
    encoding = dict(zip(("FIELD", "COMPONENT", "REPETITION", "ESCAPE", "SUBCOMPONENT"), seps, strict=True))
    return str(field.to_er7(encoding_chars=encoding))


_render_cached = lru_cache(maxsize=4096)(_render)


def _segment(segment_id: str, fields: list[str], fs: str) -> str:
    while fields and not fields[-1]:
        fields.pop()
    return fs.join([segment_id, *fields])


def _err(error: AckError, seps: Separators) -> str:
    location = parse_location(error.location) if error.location else None
    message = error.message if location or not error.location else f"{error.location}: {error.message}"
    code = (error.code, HL7_ERROR_CODES[error.code], "HL70357") if error.code in HL7_ERROR_CODES else (error.code,)
    long_text = _CONTROL.sub(" ", message)
    fields = [
        "",
        _render_cached("ERR_2", location.parts(), seps) if location else "",
        _render_cached("ERR_3", code, seps),
        _render_cached("ERR_4", (error.severity,), seps),
        "",
        "",
        _render("ERR_7", (_truncate(long_text, _DIAGNOSTIC_LENGTH),), seps) if len(long_text) > _TEXT_LENGTH else "",
        _render("ERR_8", (_truncate(long_text, _TEXT_LENGTH),), seps),
    ]
    return _segment("ERR", fields, seps[0])


def build_ack(
    original: MessageHeader,
    code: AckCode,
    errors: Sequence[AckError] = (),
    text: str | None = None,
    *,
    control_id: str,
    timestamp: datetime | None = None,
) -> bytes:
    """The ER7 bytes (segments ended by CR) of the ACK answering ``original``, in its charset."""
    seps = _separators(original)
    codec = python_codec(original.charset)
    charset = original.charset if codec or not original.charset else "UNICODE UTF-8"
    moment = (timestamp or datetime.now()).astimezone().strftime("%Y%m%d%H%M%S%z")
    msh = [
        "".join(seps[1:]),
        _render_cached("MSH_3", original.receiving_application, seps),
        _render_cached("MSH_4", original.receiving_facility, seps),
        _render_cached("MSH_5", original.sending_application, seps),
        _render_cached("MSH_6", original.sending_facility, seps),
        _render_cached("MSH_7", (moment,), seps),
        "",
        _render_cached("MSH_9", ("ACK", original.trigger_event, "ACK"), seps),
        _render("MSH_10", (control_id,), seps),
        _render_cached("MSH_11", original.processing_id, seps),
        _render_cached("MSH_12", original.version or (_VERSION,), seps),
        *[""] * 5,
        _render_cached("MSH_18", (charset,), seps),
        "",
        "",
        seps[2].join(_render_cached("MSH_21", profile, seps) for profile in original.profile),
    ]
    msa = [
        _render_cached("MSA_1", (code,), seps),
        _render("MSA_2", (original.control_id,), seps),
        _render("MSA_3", (_truncate(_CONTROL.sub(" ", text), _TEXT_LENGTH),), seps) if text else "",
    ]
    segments = [_segment("MSH", msh, seps[0]), _segment("MSA", msa, seps[0])]
    segments += [_err(error, seps) for error in errors]
    return "".join(f"{segment}\r" for segment in segments).encode(codec or "utf-8", errors="replace")


def _unescape(value: str, seps: Separators) -> str:
    fs, component, repetition, escape, subcomponent = seps
    table = {"F": fs, "S": component, "T": subcomponent, "R": repetition, "E": escape}
    pattern = re.escape(escape) + "([FSTRE])" + re.escape(escape)
    return re.sub(pattern, lambda m: table[m.group(1)], value)


def _components(value: str, seps: Separators) -> Components:
    first = value.split(seps[2])[0]
    parts = [_unescape(part.split(seps[4])[0], seps) for part in first.split(seps[1])]
    while parts and not parts[-1]:
        parts.pop()
    return tuple(parts)


def header_from_bytes(data: bytes) -> MessageHeader | None:
    """The first MSH (at the start after blanks or a BOM, or at a segment start) read tolerantly, or None if there is
    none with usable delimiters. Segments end at CR or LF; an unknown charset decodes as UTF-8 (bad bytes replaced)."""
    match = _MSH.search(data)
    if match is None:
        return None
    segment = match.group(1)
    fs = chr(segment[3])
    raw_fields = segment.decode("latin-1").split(fs)
    encoding = next((e for e in (raw_fields[1][:4], _DEFAULT_ENCODING) if _valid_delimiters(fs + e)), None)
    if encoding is None:
        return None
    seps: Separators = (fs, encoding[0], encoding[1], encoding[2], encoding[3])
    charset = _components(raw_fields[17], seps)[:1] if len(raw_fields) > 17 else ()
    codec = python_codec(charset[0]) if charset else None
    msh = ["MSH", fs, *segment.decode(codec or "utf-8", errors="replace").split(fs)[1:], *[""] * 21]  # msh[n]: MSH-n
    return MessageHeader(
        sending_application=_components(msh[3], seps),
        sending_facility=_components(msh[4], seps),
        receiving_application=_components(msh[5], seps),
        receiving_facility=_components(msh[6], seps),
        message_type=_components(msh[9], seps),
        control_id=_unescape(msh[10].split(seps[2])[0], seps),
        processing_id=_components(msh[11], seps),
        version=_components(msh[12], seps),
        charset=charset[0] if charset else "",
        profile=tuple(_components(rep, seps) for rep in msh[21].split(seps[2]) if rep),
        field_separator=fs,
        encoding_characters=encoding,
    )

"""Which text encoding a CSV export is in: UTF-8 (with or without BOM) or Windows-1252, told from the bytes.

The rules, in order:

1. a UTF-16 or UTF-32 byte order mark: refused (centre software can export UTF-8 or Windows-1252 instead);
2. a UTF-8 byte order mark: ``utf-8-sig``; the rest must be valid UTF-8 (a BOM is a declaration, so a bad byte
   after it is an error, not a reason to try Windows-1252);
3. the whole file is valid UTF-8: ``utf-8``;
4. the whole file is valid Windows-1252 (bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D are undefined there) and holds no
   control character other than tab, CR and LF: ``cp1252`` (any byte sequence is "some" single-byte text, so
   control characters are the tell-tale of binary data or of another encoding);
5. otherwise :class:`CsvFileError` ``ADP-CSV-ENCODING`` naming, for both encodings, the byte offset and line of
   the first byte that does not fit; the error's location is the later of the two, the likelier culprit (a file
   in the right encoding decodes further before hitting its one bad byte).

A NUL character is refused in every encoding: it is the mark of UTF-16 without a BOM or of a binary file.
Lines are counted the way the reader counts them: LF, CR LF and a lone CR each end a line.
"""

from __future__ import annotations

import codecs

from adapters.csv.errors import ENCODING, CsvFileError

_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# C0 controls but tab, LF, CR; and DEL. Bytes 0x80-0x9F are printable in Windows-1252 (or undefined), never C1.
_CONTROL_BYTES = frozenset((*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
_NOT_CONTROL = bytes(byte for byte in range(256) if byte not in _CONTROL_BYTES)


def line_at(data: bytes, offset: int) -> int:
    """The 1-based line of byte ``offset`` (LF, CR LF and lone CR end lines)."""
    before = data[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


def _error(message: str, source: str, line: int) -> CsvFileError:
    return CsvFileError(message, location=f"{source}:{line}", code=ENCODING)


def _refuse_nul(text: str, data: bytes, name: str, source: str, shift: int) -> None:
    index = text.find("\x00")
    if index >= 0:
        offset = len(text[:index].encode("utf-8")) + shift
        line = line_at(data, offset)
        raise _error(
            f"{source} holds a NUL byte at offset {offset} (line {line}) although it reads as {name}: it looks like "
            "UTF-16 without a byte order mark or a binary file; export the file as UTF-8 or Windows-1252",
            source,
            line,
        )


def _cp1252(data: bytes) -> str | tuple[int, str]:
    """The Windows-1252 text, or the offset and reason of the first byte that does not fit such text."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        return exc.start, "is undefined in Windows-1252"
    controls = data.translate(None, _NOT_CONTROL)  # the control bytes, in one fast pass
    if controls:
        return min(data.index(byte) for byte in set(controls)), "is a control character, not text"
    return text


def detect_encoding(data: bytes, source: str) -> tuple[str, str]:
    """The codec name (``utf-8-sig``, ``utf-8`` or ``cp1252``) and the decoded text; raises CsvFileError."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            raise _error(
                f"{source} is encoded in {name} (it starts with the byte order mark {bom.hex(' ').upper()}); "
                "export it as UTF-8 or Windows-1252",
                source,
                1,
            )
    if data.startswith(codecs.BOM_UTF8):
        shift = len(codecs.BOM_UTF8)
        try:
            text = data[shift:].decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = exc.start + shift
            line = line_at(data, offset)
            raise _error(
                f"{source} starts with a UTF-8 byte order mark but byte 0x{data[offset]:02X} at offset {offset} "
                f"(line {line}) is not valid UTF-8",
                source,
                line,
            ) from None
        _refuse_nul(text, data, "UTF-8", source, shift)
        return "utf-8-sig", text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_offset = exc.start
    else:
        _refuse_nul(text, data, "UTF-8", source, 0)
        return "utf-8", text
    decoded = _cp1252(data)
    if isinstance(decoded, str):
        return "cp1252", decoded
    cp1252_offset, cp1252_reason = decoded
    utf8_line, cp1252_line = line_at(data, utf8_offset), line_at(data, cp1252_offset)
    raise _error(
        f"{source} is neither UTF-8 nor Windows-1252: as UTF-8, byte 0x{data[utf8_offset]:02X} at offset "
        f"{utf8_offset} (line {utf8_line}) is invalid; as Windows-1252, byte 0x{data[cp1252_offset]:02X} at offset "
        f"{cp1252_offset} (line {cp1252_line}) {cp1252_reason}",
        source,
        max(utf8_line, cp1252_line),
    )


__all__ = ["detect_encoding", "line_at"]

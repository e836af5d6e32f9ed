"""MSH-18 character sets: which Python codec decodes a message, and decoding it without guessing.

MSH-18 is read from the raw bytes (it is ASCII) before the message is decoded. ``ASCII`` and an empty MSH-18 are
decoded as UTF-8 (ASCII is a subset, and undeclared UTF-8 is common); bytes that are not valid UTF-8 then raise
``ADP-HL7-CHARSET`` rather than being guessed as Latin-1. An MSH-18 value not in :data:`CODECS` is refused.
"""

from __future__ import annotations

from adapters.errors import Hl7Error

CHARSET_ERROR = "ADP-HL7-CHARSET"

# HL7 table 0211 values (and the common non-standard ``UTF-8``) mapped to Python codecs.
CODECS: dict[str, str] = {
    "": "utf-8",
    "ASCII": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
}


def codec_for(declared: str) -> str:
    """The codec for an MSH-18 value (first repetition, surrounding spaces ignored); unknown → ``Hl7Error``."""
    codec = CODECS.get(declared.strip().upper())
    if codec is None:
        raise Hl7Error(f"unsupported character set {declared!r}", location="MSH-18", code=CHARSET_ERROR)
    return codec


def decode(data: bytes, declared: str, offset: int = 0) -> tuple[str, str]:
    """Decode a whole message with the codec MSH-18 names; returns ``(text, codec)``.

    ``offset`` is where ``data`` starts in the caller's payload, so the error names the payload's byte offset.
    """
    codec = codec_for(declared)
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        label = repr(declared) if declared.strip() else "none (read as UTF-8)"
        raise Hl7Error(
            f"byte offset {offset + exc.start} is not valid {codec}; MSH-18 declares {label}",
            location="MSH-18",
            code=CHARSET_ERROR,
        ) from None


__all__ = ["CHARSET_ERROR", "CODECS", "codec_for", "decode"]

"""Splitting a payload (a file, an HTTP body, an MLLP stream) into the HL7 v2 messages it holds.

Each message starts with an ``MSH`` segment. Batch envelope segments (``FHS``, ``BHS``, ``BTS``, ``FTS``) are
dropped, MLLP framing bytes (0x0B before a message, 0x1C after it) end segments like ``\\r`` and ``\\n`` do, and
empty lines are ignored. Each message is returned with its segments joined by ``\\r``, ready for
:func:`adapters.hl7v2.er7.parse_message`.
"""

from __future__ import annotations

import re

from adapters.errors import Hl7Error

_LINE = re.compile(rb"[^\r\n\x0b\x1c]+")
_ENVELOPE = frozenset((b"FHS", b"BHS", b"BTS", b"FTS"))
_BOM = b"\xef\xbb\xbf"


def split_messages(data: bytes) -> list[tuple[int, bytes]]:
    """The messages of a payload as ``(index, bytes)``, index 1-based; ``Hl7Error`` if there is none.

    A segment before the first ``MSH`` (or right after an envelope segment) belongs to no message: ``Hl7Error``
    located at its byte offset in the payload.
    """
    payload = bytes(data)
    messages: list[list[bytes]] = []
    current: list[bytes] | None = None
    for match in _LINE.finditer(payload, len(_BOM) if payload.startswith(_BOM) else 0):
        line = match.group()
        name = line.strip()[:3]
        if not name:
            continue
        if name in _ENVELOPE:
            current = None
        elif name == b"MSH":
            current = [line]
            messages.append(current)
        elif current is None:
            raise Hl7Error(
                f"segment {name!r} is not inside a message (no MSH before it)", location=f"byte {match.start()}"
            )
        else:
            current.append(line)
    if not messages:
        raise Hl7Error("no HL7 v2 message (MSH segment) in the payload", location="payload")
    return [(index, b"\r".join(lines)) for index, lines in enumerate(messages, 1)]


__all__ = ["split_messages"]

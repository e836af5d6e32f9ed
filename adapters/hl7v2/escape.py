r"""HL7 v2 separators (MSH-1, MSH-2) and escape sequences.

:func:`unescape` turns a leaf value (one sub-component, already split) into its text:

* ``\F\ \S\ \T\ \R\ \E\`` → the field, component, sub-component, repetition and escape characters;
  ``\P\`` → the truncation character when MSH-2 declares one (v2.7+);
* ``\Xhh..\`` → the hex bytes decoded with the message's codec (left as written if the hex or the bytes are bad);
* ``\.br\`` → ``"\n"``.

Every other sequence (``\H\ \N\ \.sp\ \.in\ \Cxxyy\ \Mxxyyzz\ \Zxx\``...) and an escape character with no closing
one are kept exactly as written, escape characters included: hl7apy 1.3.5 does not unescape anything when it
parses, so this is what it returns for them too.
"""

from __future__ import annotations

from dataclasses import dataclass

_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class Separators:
    """The encoding characters of a message: MSH-1 and the four or five characters of MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str | None = None

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as written: component, repetition, escape, sub-component (and truncation) characters."""
        return self.component + self.repetition + self.escape + self.subcomponent + (self.truncation or "")


def _translate(code: str, seps: Separators, codec: str) -> str | None:
    """The text an escape sequence's inside stands for, or None to keep the sequence as written."""
    if len(code) == 1:
        return {
            "F": seps.field,
            "S": seps.component,
            "T": seps.subcomponent,
            "R": seps.repetition,
            "E": seps.escape,
            "P": seps.truncation,
        }.get(code)
    if code == ".br":
        return "\n"
    if code[0] == "X" and len(code) % 2 == 1 and _HEX.issuperset(code[1:]):
        try:
            return bytes.fromhex(code[1:]).decode(codec)
        except UnicodeDecodeError:
            return None
    return None


def unescape(text: str, seps: Separators, codec: str = "utf-8") -> str:
    """A leaf value with its escape sequences replaced (see the module docstring); linear in ``len(text)``."""
    esc = seps.escape
    if esc not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find(esc, pos)
        end = text.find(esc, start + 1) if start >= 0 else -1
        if end < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:start])
        code = text[start + 1 : end]
        replacement = _translate(code, seps, codec) if code else None
        out.append(text[start : end + 1] if replacement is None else replacement)
        pos = end + 1


__all__ = ["Separators", "unescape"]

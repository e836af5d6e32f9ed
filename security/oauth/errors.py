"""RFC 6749 error wording: ``error_description`` may only hold printable ASCII without ``"`` and ``\\``."""

from __future__ import annotations

import unicodedata

_REPLACE = {'"': "'", "\\": "/"}


def oauth_text(text: str) -> str:
    """``text`` made acceptable as an ``error_description`` (accents dropped, quotes made single)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(_REPLACE.get(c, c) for c in folded)
    return "".join(c if 0x20 <= ord(c) <= 0x7E else " " for c in cleaned)


__all__ = ["oauth_text"]

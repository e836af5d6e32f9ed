"""Tokens verified a moment ago, so that a client sending many requests with one token pays one signature check
per renewal period instead of one per request.

A cache entry is keyed by the SHA-256 of the token (the tokens themselves are not kept) and lives until the earliest
of: the token's ``exp``, the moment the verifier would look again whether the client is still registered, and a
hard ceiling (:data:`MAX_SECONDS`). The verifier keeps every other check on a hit that costs no I/O (the signing key
still published). The cache is per process and bounded: when full it is emptied, so a flood of distinct tokens costs
their signature checks, never memory.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_ENTRIES = 10_000
MAX_SECONDS = 30.0

T = TypeVar("T")


def token_key(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    until: float  # time.monotonic() deadline


class VerifiedTokens(Generic[T]):
    """``token -> value`` for a bounded time; thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_seconds: float = MAX_SECONDS) -> None:
        self.max_entries = max_entries
        self.max_seconds = max_seconds
        self._entries: dict[bytes, _Entry[T]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> T | None:
        key = token_key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry.until:
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            return None
        return entry.value

    def put(self, token: str, value: T, seconds: float) -> None:
        """Keep ``value`` for at most ``seconds`` (and :attr:`max_seconds`); nothing is kept for ``seconds <= 0``."""
        seconds = min(seconds, self.max_seconds)
        if seconds <= 0:
            return
        entry = _Entry(value, time.monotonic() + seconds)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[token_key(token)] = entry

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["MAX_ENTRIES", "MAX_SECONDS", "VerifiedTokens", "token_key"]

"""MLLP framing: ``0x0B`` + message bytes + ``0x1C 0x0D``, and an incremental decoder for a byte stream.

Decisions (the server relies on them):

* Bytes outside a frame (before a start block, or between frames) are discarded and counted: ``discarded`` is the
  running total, so the server can log how much it dropped.
* A ``0x0B`` inside an unfinished frame starts a new frame: the partial one is discarded (its bytes, start block
  included, are counted in ``discarded``). A sender that restarts a frame is assumed to have given up on the old one.
* The end of a frame is ``0x1C 0x0D``; a ``0x1C`` followed by anything else is kept as payload. A ``0x1C`` at the
  end of one read waits for the next read to decide.
* A payload longer than ``max_frame_bytes`` sets ``error`` to a :class:`FrameTooLargeError` carrying the first bytes
  of the frame (enough to read its MSH and answer an AR). More than ``max_garbage_bytes`` discarded since the last
  complete frame sets ``error`` to a :class:`TooMuchGarbageError`. Once ``error`` is set the decoder ignores input:
  the connection is to be closed. Frames completed before the error are still returned, in order.
"""

from __future__ import annotations

__all__ = [
    "END_BLOCK",
    "START_BLOCK",
    "FrameDecoder",
    "FrameTooLargeError",
    "FramingError",
    "TooMuchGarbageError",
    "frame",
]

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
_VT = 0x0B
_FS = 0x1C
_CR = 0x0D
HEAD_BYTES = 8192  # how much of an oversized frame is kept for reading its header


def frame(payload: bytes) -> bytes:
    """Wrap one message in an MLLP frame."""
    return START_BLOCK + payload + END_BLOCK


class FramingError(Exception):
    """The byte stream broke a limit; the connection should be closed."""


class FrameTooLargeError(FramingError):
    """A frame's payload exceeded the limit; ``head`` holds its first bytes."""

    def __init__(self, limit: int, head: bytes) -> None:
        super().__init__(f"MLLP frame larger than {limit} bytes")
        self.limit = limit
        self.head = head


class TooMuchGarbageError(FramingError):
    """Too many bytes arrived outside any frame since the last complete frame."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes received outside MLLP frames")
        self.limit = limit


class FrameDecoder:
    """Incremental MLLP decoder: :meth:`feed` bytes as they arrive, get back the frames completed so far."""

    def __init__(self, max_frame_bytes: int = 1_048_576, max_garbage_bytes: int | None = None) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be positive")
        self.max_frame_bytes = max_frame_bytes
        self.max_garbage_bytes = max_frame_bytes if max_garbage_bytes is None else max_garbage_bytes
        self.discarded = 0  # total bytes dropped (outside frames, or partial frames abandoned)
        self.error: FramingError | None = None
        self._garbage_run = 0  # bytes dropped since the last complete frame
        self._buffer = bytearray()
        self._in_frame = False
        self._pending_fs = False  # the previous read ended with 0x1C inside a frame

    @property
    def in_frame(self) -> bool:
        """True while a frame has started and not ended (a peer closing now leaves a partial message)."""
        return self._in_frame

    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data``; return the payloads of the frames it completed, in order."""
        frames: list[bytes] = []
        pos, size = 0, len(data)
        while pos < size and self.error is None:
            if not self._in_frame:
                start = data.find(START_BLOCK, pos)
                self._discard((size if start < 0 else start) - pos)
                if start < 0:
                    break
                self._start_frame()
                pos = start + 1
                continue
            if self._pending_fs:
                self._pending_fs = False
                if data[pos] == _CR:
                    frames.append(self._end_frame())
                    pos += 1
                    continue
                self._append(b"\x1c")
                continue
            pos = self._scan_frame(data, pos, frames)
        return frames

    def _scan_frame(self, data: bytes, pos: int, frames: list[bytes]) -> int:
        """Inside a frame: consume up to the next start/end block; return the new position."""
        fs, vt = data.find(_FS, pos), data.find(_VT, pos)
        if vt >= 0 and (fs < 0 or vt < fs):  # a new start block: abandon the partial frame
            self._append(data[pos:vt])
            if self.error is None:
                self._discard(len(self._buffer) + 1)
                self._start_frame()
            return vt + 1
        if fs < 0:
            self._append(data[pos:])
            return len(data)
        self._append(data[pos:fs])
        if fs + 1 == len(data):
            self._pending_fs = True
        elif data[fs + 1] == _CR:
            if self.error is None:
                frames.append(self._end_frame())
            return fs + 2
        else:
            self._append(b"\x1c")
        return fs + 1

    def _start_frame(self) -> None:
        self._in_frame = True
        self._buffer.clear()

    def _end_frame(self) -> bytes:
        payload = bytes(self._buffer)
        self._buffer.clear()
        self._in_frame = False
        self._garbage_run = 0
        return payload

    def _append(self, chunk: bytes) -> None:
        if self.error is not None:
            return
        self._buffer += chunk
        if len(self._buffer) > self.max_frame_bytes:
            self.error = FrameTooLargeError(self.max_frame_bytes, bytes(self._buffer[:HEAD_BYTES]))
            self._buffer.clear()

    def _discard(self, count: int) -> None:
        self.discarded += count
        self._garbage_run += count
        if self._garbage_run > self.max_garbage_bytes and self.error is None:
            self.error = TooMuchGarbageError(self.max_garbage_bytes)

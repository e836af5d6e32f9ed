"""An asyncio MLLP server: frames in, the handler's ACK out, one message at a time per connection.

Decisions:

* Each connection is served in order: a frame is handed to the handler, its reply framed and written, then the
  next frame. Connections are served concurrently; past ``max_connections`` a new connection is closed at once.
* A handler that raises (or returns something other than bytes) gets the message an AR with ERR code 207
  (application internal error) when its MSH can be read, and the connection goes on; otherwise the connection is
  closed. Only the exception type is logged, never its text or the message (they may hold patient data).
* A frame larger than ``max_frame_bytes`` is answered with an AR, ERR 207 (table 0357 has no size code; the
  limit is this application's), when the start of the frame holds an MSH; then the connection is closed.
* Bytes outside frames are discarded (logged as a count); more than ``max_frame_bytes`` of them since the last
  frame closes the connection. Before closing after an error the server half-closes and drains the peer for a
  moment, so that the peer reads the AR rather than a reset.
* A connection waiting for bytes longer than ``idle_timeout`` is closed. A peer leaving (or resetting) mid-frame is
  logged at debug level only.
* :meth:`MllpServer.close` stops accepting, closes idle connections, lets in-flight handlers finish and their
  replies go out (up to ``timeout`` seconds, then cancels them); frames queued behind them are not processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from gateway.mllp.ack import AckError, build_ack, header_from_bytes
from gateway.mllp.framing import FrameDecoder, FrameTooLargeError, frame

__all__ = ["Handler", "MllpServer"]

Handler = Callable[[bytes], Awaitable[bytes]]
logger = logging.getLogger("gateway.mllp")
_READ_SIZE = 65536
_LINGER_SECONDS = 2.0


def _control_id() -> str:
    return uuid.uuid4().hex[:20]  # MSH-10 is 20 characters in v2.5


def _reject(data: bytes, message: str) -> bytes | None:
    """An AR (ERR 207) for ``data`` if its MSH can be read, else None."""
    header = header_from_bytes(data)
    if header is None:
        return None
    try:
        return build_ack(header, "AR", [AckError(None, "207", "E", message)], message, control_id=_control_id())
    except Exception as exc:
        logger.error("mllp could not build an AR (%s)", type(exc).__name__, extra={"error_type": type(exc).__name__})
        return None


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reading = False  # awaiting bytes from the peer: safe to cancel
        self.stopping = False
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


class MllpServer:
    """MLLP over TCP: calls ``handler(message) -> ack`` for each framed message, with the limits given."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str,
        port: int,
        max_frame_bytes: int = 1_048_576,
        idle_timeout: float = 300.0,
        max_connections: int = 256,
    ) -> None:
        self.handler = handler
        self.host = host
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._port = port
        self._server: asyncio.Server | None = None
        self._closing = False
        self._connections: dict[asyncio.Task[None], _Connection] = {}

    @property
    def port(self) -> int:
        """The bound port (the one chosen by the system when 0 was asked)."""
        return self._port

    async def start(self) -> None:
        self._closing = False
        self._server = await asyncio.start_server(self._accept, self.host, self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])
        logger.info("mllp listening on %s:%d", self.host, self.port, extra={"port": self.port})

    async def close(self, timeout: float = 10.0) -> None:
        """Stop accepting; let in-flight handlers finish (up to ``timeout`` seconds), then close every connection."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task, connection in list(self._connections.items()):
            connection.stopping = True
            if connection.reading:
                task.cancel()
        tasks = list(self._connections)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(reader, writer)
        task = asyncio.current_task()
        assert task is not None
        if self._closing or len(self._connections) >= self.max_connections:
            reason = "closing" if self._closing else f"{len(self._connections)} open"
            logger.warning("mllp connection refused (%s)", reason, extra={"peer": connection.peer})
            await self._close(connection, linger=False)
            return
        self._connections[task] = connection
        try:
            await self._serve(connection)
        except asyncio.CancelledError:
            logger.debug("mllp connection cancelled", extra={"peer": connection.peer})
        except (ConnectionError, OSError) as exc:
            logger.debug("mllp connection lost (%s)", type(exc).__name__, extra={"peer": connection.peer})
        except Exception as exc:  # never let one connection take the server down
            logger.error("mllp connection failed (%s)", type(exc).__name__, extra={"peer": connection.peer})
        finally:
            del self._connections[task]
            await self._close(connection, linger=False)

    async def _serve(self, connection: _Connection) -> None:
        decoder = FrameDecoder(self.max_frame_bytes)
        while not connection.stopping:
            connection.reading = True
            try:
                async with asyncio.timeout(self.idle_timeout):
                    data = await connection.reader.read(_READ_SIZE)
            except TimeoutError:
                logger.info("mllp idle connection closed", extra={"peer": connection.peer})
                return
            finally:
                connection.reading = False
            if not data:
                if decoder.in_frame:
                    logger.debug("mllp peer left mid-frame", extra={"peer": connection.peer})
                return
            discarded = decoder.discarded
            for message in decoder.feed(data):
                if not await self._answer(connection, message) or connection.stopping:
                    return
            if decoder.discarded > discarded:
                dropped = decoder.discarded - discarded
                logger.warning("mllp discarded %d bytes", dropped, extra={"peer": connection.peer, "bytes": dropped})
            if decoder.error is not None:
                await self._fail(connection, decoder.error)
                return

    async def _answer(self, connection: _Connection, message: bytes) -> bool:
        """Send the handler's reply (or an AR); False when the connection must end."""
        try:
            reply = await self.handler(message)
            if not isinstance(reply, bytes | bytearray):
                raise TypeError("the MLLP handler must return bytes")
        except Exception as exc:
            name = type(exc).__name__
            logger.error("mllp handler failed (%s)", name, extra={"peer": connection.peer, "error_type": name})
            rejection = _reject(message, "Application internal error")
            if rejection is None:
                return False
            reply = rejection
        connection.writer.write(frame(bytes(reply)))
        await connection.writer.drain()
        return True

    async def _fail(self, connection: _Connection, error: Exception) -> None:
        logger.warning("mllp %s; closing", error, extra={"peer": connection.peer})
        if isinstance(error, FrameTooLargeError):
            rejection = _reject(error.head, f"Message larger than {error.limit} bytes")
            if rejection is not None:
                connection.writer.write(frame(rejection))
                await connection.writer.drain()
        await self._close(connection, linger=True)

    async def _close(self, connection: _Connection, *, linger: bool) -> None:
        """Close the connection; with ``linger``, half-close and drain the peer first so it reads our last reply."""
        writer = connection.writer
        if writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            if linger and writer.can_write_eof():
                writer.write_eof()
                async with asyncio.timeout(_LINGER_SECONDS):
                    while await connection.reader.read(_READ_SIZE):
                        pass
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()

"""The MLLP server on real loopback sockets: ordering, concurrency, garbage, limits, failures, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest

from gateway.mllp.ack import build_ack, header_from_bytes
from gateway.mllp.framing import frame
from gateway.mllp.server import MllpServer

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, timeout=20))


def message(control_id: str) -> bytes:
    return (
        f"MSH|^~\\&|LIS|LABO|GW|CPTS|20260101120000||ADT^A01^ADT_A01|{control_id}|P|2.5\r"
        "PID|1||123456^^^X^PI||SECRET^PATIENT\r"
    ).encode()


def fields(ack: bytes, segment: str) -> list[str]:
    for line in ack.decode().split("\r"):
        if line.startswith(segment + "|"):
            return line.split("|")
    raise AssertionError(f"no {segment} in {ack!r}")


async def accept(data: bytes) -> bytes:
    header = header_from_bytes(data)
    assert header is not None
    return build_ack(header, "AA", control_id=f"ACK{header.control_id}")


@asynccontextmanager
async def serving(handler: Callable[[bytes], Awaitable[bytes]] = accept, **options: Any) -> AsyncIterator[MllpServer]:
    server = MllpServer(handler, host="127.0.0.1", port=0, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close(timeout=5)


@asynccontextmanager
async def connect(server: MllpServer) -> AsyncIterator[Streams]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def read_ack(reader: asyncio.StreamReader) -> bytes:
    data = await reader.readuntil(b"\x1c\x0d")
    assert data.startswith(b"\x0b")
    return data[1:-2]


async def exchange(server: MllpServer, control_id: str) -> bytes:
    async with connect(server) as (reader, writer):
        writer.write(frame(message(control_id)))
        return await read_ack(reader)


def test_round_trip_of_one_message() -> None:
    async def scenario() -> None:
        async with serving() as server:
            assert server.port > 0
            ack = await exchange(server, "M1")
            assert fields(ack, "MSH")[8:10] == ["ACK^A01^ACK", "ACKM1"]
            assert fields(ack, "MSA")[1:3] == ["AA", "M1"]

    run(scenario())


def test_two_messages_in_one_write() -> None:
    async def scenario() -> None:
        async with serving() as server, connect(server) as (reader, writer):
            writer.write(frame(message("A")) + frame(message("B")))
            assert fields(await read_ack(reader), "MSA")[2] == "A"
            assert fields(await read_ack(reader), "MSA")[2] == "B"

    run(scenario())


def test_message_split_byte_by_byte() -> None:
    async def scenario() -> None:
        async with serving() as server, connect(server) as (reader, writer):
            for byte in frame(message("SPLIT")):
                writer.write(bytes([byte]))
                await writer.drain()
            assert fields(await read_ack(reader), "MSA")[2] == "SPLIT"

    run(scenario())


def test_concurrent_connections_get_their_own_acks_in_order() -> None:
    async def slow_accept(data: bytes) -> bytes:
        await asyncio.sleep(random.random() / 500)
        return await accept(data)

    async def client(server: MllpServer, number: int) -> list[str]:
        ids = [f"C{number}-{i}" for i in range(10)]
        async with connect(server) as (reader, writer):
            writer.write(b"".join(frame(message(control_id)) for control_id in ids))
            return [fields(await read_ack(reader), "MSA")[2] for _ in ids]

    async def scenario() -> None:
        async with serving(slow_accept) as server:
            results = await asyncio.gather(*(client(server, n) for n in range(20)))
        assert results == [[f"C{n}-{i}" for i in range(10)] for n in range(20)]

    run(scenario())


def test_garbage_before_a_frame_is_discarded(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with serving() as server, connect(server) as (reader, writer):
            writer.write(b"\x00\x01\xffnoise" + frame(message("G")))
            assert fields(await read_ack(reader), "MSA")[1:3] == ["AA", "G"]

    run(scenario())
    assert [getattr(r, "bytes", None) for r in caplog.records if "discarded" in r.getMessage()] == [8]


def test_oversized_frame_gets_an_ar_then_close_and_others_are_served() -> None:
    async def scenario() -> None:
        async with serving(max_frame_bytes=2048) as server, connect(server) as (other_reader, other_writer):
            async with connect(server) as (reader, writer):
                writer.write(frame(message("BIG") + b"NTE|1||" + b"x" * 10_000 + b"\r"))
                ack = await read_ack(reader)
                assert fields(ack, "MSA")[1:3] == ["AR", "BIG"]
                assert fields(ack, "ERR")[3].startswith("207^")
                assert await reader.read() == b""
            other_writer.write(frame(message("STILL")))
            assert fields(await read_ack(other_reader), "MSA")[2] == "STILL"
            assert fields(await exchange(server, "NEW"), "MSA")[2] == "NEW"

    run(scenario())


def test_oversized_frame_without_header_is_closed() -> None:
    async def scenario() -> None:
        async with serving(max_frame_bytes=100) as server, connect(server) as (reader, writer):
            writer.write(b"\x0b" + b"y" * 500)
            assert await reader.read() == b""

    run(scenario())


def test_garbage_flood_closes_the_connection() -> None:
    async def scenario() -> None:
        async with serving(max_frame_bytes=100) as server:
            async with connect(server) as (reader, writer):
                writer.write(b"z" * 500)
                assert await reader.read() == b""
            assert fields(await exchange(server, "AFTER"), "MSA")[2] == "AFTER"

    run(scenario())


def test_failing_handler_gets_an_ar_207_and_the_server_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def fragile(data: bytes) -> bytes:
        if b"|BOOM|" in data:
            raise RuntimeError(f"cannot store {data!r}")
        return await accept(data)

    async def scenario() -> None:
        async with serving(fragile) as server, connect(server) as (reader, writer):
            writer.write(frame(message("BOOM")) + frame(message("FINE")))
            ack = await read_ack(reader)
            assert fields(ack, "MSA")[1:3] == ["AR", "BOOM"]
            assert fields(ack, "ERR")[3] == "207^Application internal error^HL70357"
            assert fields(await read_ack(reader), "MSA")[1:3] == ["AA", "FINE"]
            assert fields(await exchange(server, "NEXT"), "MSA")[2] == "NEXT"

    run(scenario())
    assert any(r.levelno == logging.ERROR and getattr(r, "error_type", "") == "RuntimeError" for r in caplog.records)
    assert "SECRET" not in caplog.text
    assert "BOOM" not in caplog.text


def test_failing_handler_without_header_closes_the_connection() -> None:
    async def broken(data: bytes) -> bytes:
        raise ValueError("nope")

    async def scenario() -> None:
        async with serving(broken) as server:
            async with connect(server) as (reader, writer):
                writer.write(frame(b"not hl7 at all"))
                assert await reader.read() == b""
            ack = await exchange(server, "STILL")
            assert fields(ack, "MSA")[1:3] == ["AR", "STILL"]

    run(scenario())


def test_peer_leaving_mid_frame(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.mllp")

    async def scenario() -> None:
        async with serving() as server:
            async with connect(server) as (_, writer):
                writer.write(frame(message("X"))[:40])
                await writer.drain()
            async with connect(server) as (_, writer):
                writer.write(frame(message("Y"))[:40])
                await writer.drain()
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
            assert fields(await exchange(server, "Z"), "MSA")[2] == "Z"

    run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("mid-frame" in r.getMessage() for r in caplog.records)


def test_idle_connection_is_closed() -> None:
    async def scenario() -> None:
        async with serving(idle_timeout=0.2) as server, connect(server) as (reader, _):
            assert await asyncio.wait_for(reader.read(), timeout=5) == b""

    run(scenario())


def test_connections_beyond_the_limit_are_closed() -> None:
    async def scenario() -> None:
        async with serving(max_connections=1) as server, connect(server) as (reader, writer):
            writer.write(frame(message("FIRST")))
            assert fields(await read_ack(reader), "MSA")[2] == "FIRST"
            async with connect(server) as (second, _):
                assert await second.read() == b""

    run(scenario())


def test_close_lets_a_running_handler_finish() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(data: bytes) -> bytes:
        started.set()
        await release.wait()
        return await accept(data)

    async def scenario() -> None:
        server = MllpServer(slow, host="127.0.0.1", port=0)
        await server.start()
        port = server.port
        async with connect(server) as (reader, writer), connect(server) as (idle_reader, _):
            writer.write(frame(message("LAST")))
            await started.wait()
            closing = asyncio.create_task(server.close(timeout=5))
            await asyncio.sleep(0.05)
            assert await idle_reader.read() == b""  # idle connections go at once
            assert not closing.done()
            release.set()
            assert fields(await read_ack(reader), "MSA")[1:3] == ["AA", "LAST"]
            assert await reader.read() == b""
            await closing
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    run(scenario())

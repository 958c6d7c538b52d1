"""A Modbus TCP server on 127.0.0.1 whose answers a test writes byte by byte.

The simulated meter (:mod:`simulator.modbus_meter`) is pymodbus's own server: it only
ever sends well-formed, matching answers. To see what the client does with a reply
that does not belong to its request (another transaction id, unit id or function
code), a broken frame or a connection closed half-way, a test needs a server that
sends exactly what it is told: this one parses each request (MBAP header + PDU) and
hands it to the test's ``answer`` coroutine together with the connection's writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
import struct
from types import TracebackType
from typing import Self

from custom_components.ev_power_share.modbus import (
    MeterProfile,
    Register,
    RegisterKind,
)

FUNCTION_OF_KIND = {RegisterKind.INPUT: 0x04, RegisterKind.HOLDING: 0x03}
KIND_OF_FUNCTION = {code: kind for kind, code in FUNCTION_OF_KIND.items()}


@dataclass(frozen=True, slots=True)
class Request:
    """One request as received (a read request's address and count, else 0)."""

    tid: int
    protocol: int
    unit: int
    function: int
    address: int
    count: int

    @property
    def kind(self) -> RegisterKind | None:
        """The register table a read request asks for (None for other functions)."""
        return KIND_OF_FUNCTION.get(self.function)


Answer = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]
"""Writes whatever the test wants in reply to one request (or nothing)."""


def frame(
    tid: int,
    unit: int,
    pdu: bytes,
    *,
    protocol: int = 0,
    length: int | None = None,
) -> bytes:
    """An MBAP header and ``pdu``; ``length`` overrides the header's length field."""
    if length is None:
        length = len(pdu) + 1
    return struct.pack(">HHHB", tid, protocol, length, unit) + pdu


def registers_pdu(
    function: int, words: Sequence[int], *, byte_count: int | None = None
) -> bytes:
    """A read-registers response PDU; ``byte_count`` overrides its byte count."""
    if byte_count is None:
        byte_count = 2 * len(words)
    return struct.pack(f">BB{len(words)}H", function, byte_count, *words)


def exception_pdu(function: int, code: int) -> bytes:
    """A Modbus exception response PDU."""
    return struct.pack(">BB", function | 0x80, code)


def register_image(
    profile: MeterProfile, values: Mapping[Register, float]
) -> dict[tuple[RegisterKind, int], int]:
    """The words a meter of ``profile`` holds for ``values`` (unlisted registers: 0)."""
    image: dict[tuple[RegisterKind, int], int] = {}
    for register in profile.registers():
        for offset, word in enumerate(register.encode(values.get(register, 0.0))):
            image[register.kind, register.address + offset] = word
    return image


def plausible_values(profile: MeterProfile) -> dict[Register, float]:
    """Figures of a healthy meter: 230 V and 10 A per phase, 2.3 kW per phase."""
    values: dict[Register, float] = {}
    for register in profile.voltages:
        values[register] = 230.0
    for register in profile.currents:
        values[register] = 10.0
    for register in profile.powers:
        values[register] = 2300.0
    if profile.total_power is not None:
        values[profile.total_power] = 2300.0 * profile.phases
    if profile.import_energy is not None:
        values[profile.import_energy] = 1234.5
    if profile.export_energy is not None:
        values[profile.export_energy] = 67.8
    return values


def words_of(
    image: Mapping[tuple[RegisterKind, int], int], request: Request
) -> list[int]:
    """The words ``request`` asks for from ``image``."""
    kind = request.kind
    assert kind is not None, request
    return [image.get((kind, request.address + i), 0) for i in range(request.count)]


class RawModbusServer:
    """Listens on 127.0.0.1; every request goes to ``answer``.

    ``requests`` keeps every request received (in order), ``errors`` whatever the
    test's ``answer`` raised (asyncio would only log it: a test should assert there
    is none). :meth:`stop` aborts the open connections, so that the port is free at
    once for another server.
    """

    def __init__(self, answer: Answer, *, port: int = 0) -> None:
        self.answer = answer
        self.requests: list[Request] = []
        self.errors: list[Exception] = []
        self.connections = 0
        """Connections accepted so far."""
        self._port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port once started (kept across restarts)."""
        return self._port

    async def start(self) -> None:
        """Listen on 127.0.0.1 (port 0: a free one)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, abort every open connection, end every pending answer."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(set(self._handlers))
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while not writer.is_closing():
                    header = await reader.readexactly(7)
                    tid, protocol, length, unit = struct.unpack(">HHHB", header)
                    pdu = await reader.readexactly(max(0, length - 1))
                    function = pdu[0] if pdu else 0
                    address = count = 0
                    if len(pdu) >= 5:
                        address, count = struct.unpack(">HH", pdu[1:5])
                    request = Request(tid, protocol, unit, function, address, count)
                    self.requests.append(request)
                    await self.answer(request, writer)
                    if not writer.is_closing():
                        await writer.drain()
        except Exception as err:  # noqa: BLE001 (the test's own bug: kept for it)
            self.errors.append(err)
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            writer.close()

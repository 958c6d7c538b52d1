"""A charger driven over Modbus TCP: :class:`ModbusCharger` and :func:`probe_charger`.

What a charger's registers mean is its :class:`~.charger_maps.ChargerMap`; this
module is the connection and its requests, on the same ground rules as the meter
client (:mod:`.client`): every reply is checked against the request that left
(:mod:`.replies`), a link failure drops the connection and backs off
(:class:`~.health.LinkHealth`: 1 s doubling to 60 s), figures that cannot be a
charger's are refused (no back-off).

* :meth:`ModbusCharger.connect` connects and **programs the failsafe** of every
  socket (current and communication timeout, where the map has them writable,
  written only where they differ: flash wear) and reads back what the charger
  will fall back to. Then each socket's limit is set to that failsafe (unless it
  holds it already), so from then on it holds a limit we know of.
* :meth:`ModbusCharger.write_limit` writes a limit (or the pause) and reads it
  back: the value read is the charger's confirmation.
* :meth:`ModbusCharger.poll` writes the life bit when it is due and reads each
  socket's state, currents, energy and limit.

No Home Assistant imports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
import logging
import math
import time
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from ._compat import UNIT_KEYWORD, read_kwargs, tcp_client
from .charger_maps import ChargerMap, Field, get_map
from .health import LinkHealth
from .profiles import MODBUS_MAX_READ, ReadBlock, RegisterKind, plan_reads
from .reading import MeterErrorReason, MeterUnavailableError
from .replies import SentRequest, reply_problem

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3.0
MAX_CHARGER_A = 500.0
"""Beyond this a current or limit is a decoding error, not a charger's."""
MAX_ENERGY_KWH = 1e9

ChargerUnavailableError = MeterUnavailableError
"""No answer, a device error or an implausible reply (``reason`` says which)."""


@dataclass(frozen=True, slots=True)
class Programmed:
    """A socket's failsafe as read back after connect."""

    failsafe_a: float | None
    """What it falls back to (None: not in its registers)."""
    timeout_s: float
    """After this long without hearing from us."""


@dataclass(frozen=True, slots=True)
class SocketReading:
    """One poll of one socket, screened."""

    limit_a: float
    """What it holds from us: the limit read back (0 while paused)."""
    connected: bool
    charging: bool
    currents_a: tuple[float, ...]
    energy_kwh: float | None
    valid: bool
    """Its limit has not lapsed to the failsafe (where the charger tells)."""


def _screened_a(value: float) -> float | None:
    return value if math.isfinite(value) and 0.0 <= value <= MAX_CHARGER_A else None


class ModbusCharger:
    """One charger (one or more sockets) over Modbus TCP. Calls are serialised."""

    def __init__(
        self,
        host: str,
        charger_map: ChargerMap | str,
        *,
        port: int = 502,
        unit: int | None = None,
        sockets: int = 1,
        failsafe_a: float = 6.0,
        watchdog_s: float | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.map = get_map(charger_map)
        if not host:
            raise ValueError("host must not be empty")
        if not 1 <= sockets <= self.map.max_sockets:
            raise ValueError(f"{self.map.name} has 1..{self.map.max_sockets} sockets")
        self.host, self.port = host, port
        self.unit = self.map.default_unit if unit is None else unit
        self.sockets = sockets
        self.failsafe_a = failsafe_a
        """The failsafe current we program (where the charger takes one)."""
        self.timeout_s = self.map.failsafe.timeout_for(watchdog_s)
        """The communication timeout it uses: ``watchdog_s`` where we program
        it (within its register), else its map's."""
        self._timeout = timeout
        self._monotonic = monotonic
        self._client: AsyncModbusTcpClient | None = None
        self._sent: SentRequest | None = None
        self._lock = asyncio.Lock()
        self._plans = {s: self._plan(s) for s in range(1, sockets + 1)}
        self.programmed: dict[int, Programmed] = {}
        """Per socket, since the last connect."""
        self.beat_at: float | None = None
        """When the life bit was last written (monotonic)."""
        self.health = LinkHealth(
            repr(self),
            _LOGGER,
            initial=backoff_initial,
            maximum=backoff_max,
            monotonic=monotonic,
        )

    def __repr__(self) -> str:
        return (
            f"ModbusCharger({self.host}:{self.port}, unit {self.unit}, {self.map.key})"
        )

    def _plan(self, socket: int) -> tuple[ReadBlock, ...]:
        values = [self.map.socket_field(f, socket) for f in self.map.fields()]
        return plan_reads(values, MODBUS_MAX_READ, self.map.max_gap)

    @property
    def connected(self) -> bool:
        """True while a connection is open and its failsafe programmed."""
        return self._client is not None and self._client.connected

    # -- public -------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and program every socket's failsafe (raises while backing off)."""
        async with self._lock:
            if self.connected and len(self.programmed) == self.sockets:
                return
            await self._open()
            for socket in range(1, self.sockets + 1):
                self.programmed[socket] = await self._program(socket)
            self.health.succeeded()

    async def close(self) -> None:
        """Close the connection and forget past failures."""
        async with self._lock:
            self._drop()
            self.health.reset()

    async def write_limit(self, socket: int, amps: float) -> float:
        """Set a socket's limit (0: pause) and return what it reads back (A)."""
        async with self._lock:
            client = self._ready()
            held = await self._write_limit(client, socket, amps)
            self.health.succeeded()
            return held

    async def poll(self) -> dict[int, SocketReading]:
        """The life bit if due, then every socket read once."""
        async with self._lock:
            client = self._ready()
            await self._beat(client)
            readings = {s: await self._read_socket(client, s) for s in self._plans}
            self.health.succeeded()
            return readings

    async def read_only(self) -> SocketReading:
        """Connect and read the first socket, programming nothing (a probe)."""
        async with self._lock:
            if not self.connected:
                await self._open()
            reading = await self._read_socket(self._ready(), 1)
            self.health.succeeded()
            return reading

    # -- requests -----------------------------------------------------------------

    def _ready(self) -> AsyncModbusTcpClient:
        if self._client is None or not self._client.connected:
            raise self.health.waiting() or self.health.failed(
                MeterErrorReason.CANNOT_CONNECT, f"{self!r}: not connected"
            )
        return self._client

    async def _open(self) -> None:
        self._drop()
        if (waiting := self.health.waiting()) is not None:
            raise waiting
        client = tcp_client(self.host, self.port, self._timeout, self._trace_pdu)
        try:
            async with asyncio.timeout(self._timeout + 1.0):
                ok = await client.connect()
        except (TimeoutError, OSError, ModbusException):
            ok = False
        except BaseException:
            client.close()
            raise
        if not ok or not client.connected:
            client.close()
            raise self._failed(MeterErrorReason.CANNOT_CONNECT, "cannot connect")
        self._client = client
        self.programmed = {}
        self.beat_at = None

    async def _program(self, socket: int) -> Programmed:
        """Write the failsafe where it differs; read back what the charger uses."""
        client, spec = self._ready(), self.map.failsafe
        failsafe: float | None = None
        if spec.current is not None:
            current = self.map.socket_field(spec.current, socket)
            failsafe = await self._read_value(client, socket, current)
            if spec.current_writable and not _same(failsafe, self.failsafe_a):
                await self._write(client, socket, current, self.failsafe_a)
                failsafe = await self._read_value(client, socket, current)
        timeout_s = self.timeout_s
        if spec.timeout is not None and spec.timeout_writable:
            await self._program_timeout(client, socket, spec.timeout)
        safe = self.failsafe_a if failsafe is None else failsafe
        limit = self.map.socket_field(self.map.limit.read, socket)
        if not _same(await self._read_value(client, socket, limit), safe):
            await self._write_limit(client, socket, safe)
        return Programmed(_screened_a(safe), timeout_s)

    async def _program_timeout(
        self, client: AsyncModbusTcpClient, socket: int, register: Field
    ) -> None:
        spec, register = self.map.failsafe, self.map.socket_field(register, socket)
        if spec.timeout_readable:
            now = await self._read_value(client, socket, register)
            if math.isfinite(now) and abs(now - self.timeout_s) < 1e-3:
                return
        await self._write(client, socket, register, self.timeout_s)

    async def _write_limit(
        self, client: AsyncModbusTcpClient, socket: int, amps: float
    ) -> float:
        spec = self.map.limit
        pause = (
            None if spec.pause is None else self.map.socket_field(spec.pause, socket)
        )
        write = self.map.socket_field(spec.write, socket)
        if pause is not None and amps <= 0.0:
            await self._write(client, socket, pause, 0.0)
        else:
            if amps > 0.0:
                await self._write(client, socket, write, amps)
            else:
                await self._write(client, socket, write, 0.0)
            if pause is not None:
                await self._write(client, socket, pause, 1.0)
        return await self._read_limit(client, socket)

    async def _read_limit(self, client: AsyncModbusTcpClient, socket: int) -> float:
        spec = self.map.limit
        if spec.pause is not None:
            pause = self.map.socket_field(spec.pause, socket)
            if await self._read_value(client, socket, pause) == 0.0:
                return 0.0
        read = self.map.socket_field(spec.read, socket)
        value = _screened_a(await self._read_value(client, socket, read))
        if value is None:
            raise self.health.refused(f"limit of socket {socket} is not a current")
        return value

    async def _beat(self, client: AsyncModbusTcpClient) -> None:
        keep = self.map.keep_alive
        if keep.how != "register" or keep.field is None:
            return
        now = self._monotonic()
        if self.beat_at is not None and now - self.beat_at < keep.period_s:
            return
        await self._write(client, 1, keep.field, float(keep.value))
        self.beat_at = now

    async def _read_socket(
        self, client: AsyncModbusTcpClient, socket: int
    ) -> SocketReading:
        words = {
            b: await self._read_block(client, socket, b) for b in self._plans[socket]
        }

        def of(value: Field) -> Sequence[int]:
            value = self.map.socket_field(value, socket)
            block = next(b for b in words if b.covers(value))
            return block.words_of(value, words[block])

        return self._decode(socket, of)

    def _decode(
        self, socket: int, of: Callable[[Field], Sequence[int]]
    ) -> SocketReading:
        cmap = self.map
        limit = _screened_a(cmap.limit.read.decode(of(cmap.limit.read)))
        if (
            cmap.limit.pause is not None
            and cmap.limit.pause.decode(of(cmap.limit.pause)) == 0.0
        ):
            limit = 0.0
        currents = tuple(_screened_a(f.decode(of(f))) for f in cmap.currents)
        if limit is None or any(c is None for c in currents):
            raise self.health.refused(
                f"socket {socket}: limit or currents not currents"
            )
        energy = None
        if cmap.energy is not None:
            kwh = cmap.energy.decode(of(cmap.energy))
            energy = kwh if math.isfinite(kwh) and 0 <= kwh <= MAX_ENERGY_KWH else None
        validity = cmap.failsafe.validity
        return SocketReading(
            limit_a=limit,
            connected=cmap.connected.matches(of(cmap.connected.field)),
            charging=cmap.charging.matches(of(cmap.charging.field)),
            currents_a=tuple(c for c in currents if c is not None),
            energy_kwh=energy,
            valid=validity is None or validity.decode(of(validity)) > 0,
        )

    async def _read_value(
        self, client: AsyncModbusTcpClient, socket: int, value: Field
    ) -> float:
        block = ReadBlock(value.kind, value.address, value.count)
        return value.decode(await self._read_block(client, socket, block))

    async def _read_block(
        self, client: AsyncModbusTcpClient, socket: int, block: ReadBlock
    ) -> list[int]:
        if block.kind is RegisterKind.INPUT:
            method = client.read_input_registers
        else:
            method = client.read_holding_registers
        unit = self.map.unit_of(self.unit, socket)
        response = await self._call(
            method(block.address, **read_kwargs(unit, block.count)), block
        )
        problem = reply_problem(self._sent, response, block.count)
        if problem is not None:
            raise self._failed(problem.reason, problem.message, block)
        return list(response.registers)

    async def _write(
        self, client: AsyncModbusTcpClient, socket: int, value: Field, amount: float
    ) -> None:
        words = list(value.encode(amount))
        unit: dict[str, Any] = {UNIT_KEYWORD: self.map.unit_of(self.unit, socket)}
        if len(words) == 1 and self.map.limit.single_write:
            request = client.write_register(value.address, words[0], **unit)
        else:
            request = client.write_registers(value.address, words, **unit)
        block = ReadBlock(value.kind, value.address, value.count)
        response = await self._call(request, block)
        # A write's reply holds no registers to count: only its pairing and
        # whether it is an exception are checked.
        problem = reply_problem(self._sent, response, len(response.registers))
        if problem is not None:
            raise self._failed(problem.reason, problem.message, block)

    async def _call(self, request: object, block: ReadBlock) -> ModbusPDU:
        self._sent = None
        try:
            async with asyncio.timeout(self._timeout + 1.0):
                response: ModbusPDU = await request  # type: ignore[misc]
        except TimeoutError:
            raise self._failed(
                MeterErrorReason.NO_RESPONSE, "no answer in time", block
            ) from None
        except (ModbusException, OSError) as err:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                self._drop()
                raise asyncio.CancelledError from err
            raise self._failed(MeterErrorReason.NO_RESPONSE, str(err), block) from err
        except asyncio.CancelledError:
            self._drop()
            raise
        return response

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            self._sent = SentRequest.of(pdu)
        return pdu

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.programmed = {}

    def _failed(
        self, reason: MeterErrorReason, message: str, block: ReadBlock | None = None
    ) -> MeterUnavailableError:
        where = "" if block is None else f" {block.kind} {block.address}+{block.count}"
        self._drop()
        return self.health.failed(reason, f"{self!r}{where}: {message}")


def _same(value: float | None, wanted: float) -> bool:
    return value is not None and math.isfinite(value) and abs(value - wanted) < 0.05


async def probe_charger(
    host: str,
    port: int,
    unit: int,
    charger_map: ChargerMap | str,
    timeout: float = DEFAULT_TIMEOUT_S,  # noqa: ASYNC109 (per request, for pymodbus)
) -> SocketReading:
    """Connect, read the first socket once, close: for a configuration step.

    Reads only (nothing is programmed); raises :class:`ChargerUnavailableError`
    whose ``reason`` fits a form's error key.
    """
    charger = ModbusCharger(host, charger_map, port=port, unit=unit, timeout=timeout)
    try:
        return await charger.read_only()
    finally:
        await charger.close()

"""Reading a meter over Modbus TCP: :class:`ModbusMeter` and :func:`probe`.

:meth:`ModbusMeter.read` either returns a complete, decoded, plausible
:class:`~.reading.MeterReading` or raises :class:`~.reading.MeterUnavailableError`
within a bounded time; it never returns stale, partial or implausible figures. What a
reading holds and how it is screened is :mod:`.reading`, how a reply is checked
:mod:`.replies`, how failures back off and are logged :mod:`.health`; this module is
the connection and its requests.

**Only answers to our own requests.** pymodbus does not reliably pair a reply with
its request (see :mod:`._compat`): a frame with another transaction id, unit id or
function code may be handed over as the answer. Its figures could be another
request's (a gateway one answer behind) or another device's, so every reply is checked
against the request as it left (:mod:`.replies`): a reply of another transaction or
unit counts as no reply (``no_response``), one with another function code as a
device error. Either way the connection is dropped, so that the real answer, if it
comes late, cannot be taken for the next request's.

**Link failures back off.** After no connection, no (matching) answer or a Modbus
exception the meter is left alone for a back-off delay (1 s, doubling up to 60 s,
reset by the next answer): a read in that window raises at once without touching the
network, so a control loop can poll freely.

**Implausible figures are refused, but neither drop the connection nor back off.**
Every reading is screened with :func:`~.reading.plausibility_problem` (voltages of a
mains supply, currents, powers and energy counters a meter can measure, every number
finite); one that fails raises ``implausible``. That is the meter's answer, not a
link failure: every reply matched its request, so the connection is in step and is
kept. A single glitch then costs one poll, not a back-off of up to a minute; a meter
that keeps sending nonsense (usually a profile that is not its model's) would not
get better for being left alone, each poll costs only a few frames, and consumers
treat the missing readings as they treat a silent meter's. Implausible readings are
counted (:attr:`ModbusMeter.implausible_readings`) and logged without flooding (at
most one line a minute, :data:`~.health.IMPLAUSIBLE_LOG_INTERVAL_S`), however often
the meter is polled; every line is logged under this module's name.

:func:`probe` is what a configuration step calls: connect, read once, close. Its
:class:`~.reading.MeterError` carries a :class:`~.reading.MeterErrorReason` that fits
a form's error key.

The names of :mod:`.reading` and :mod:`.health` that this module used to hold are
still importable from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
import logging
import time
from types import TracebackType
from typing import Self

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from ._compat import read_kwargs, tcp_client
from .health import IMPLAUSIBLE_LOG_INTERVAL_S, LinkHealth
from .profiles import MeterProfile, ReadBlock, RegisterKind, get_profile
from .reading import (
    ABSENT_PHASE_V,
    MAX_CURRENT_A,
    MAX_ENERGY_KWH,
    MAX_PHASE_POWER_W,
    MAX_POWER_W,
    VOLTAGE_RANGE_V,
    MeterError,
    MeterErrorReason,
    MeterReading,
    MeterUnavailableError,
    ReadingDecoder,
    plausibility_problem,
)
from .replies import SentRequest, reply_problem

__all__ = [
    "ABSENT_PHASE_V",
    "BACKOFF_INITIAL_S",
    "BACKOFF_MAX_S",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT_S",
    "IMPLAUSIBLE_LOG_INTERVAL_S",
    "MAX_CURRENT_A",
    "MAX_ENERGY_KWH",
    "MAX_PHASE_POWER_W",
    "MAX_POWER_W",
    "VOLTAGE_RANGE_V",
    "MeterError",
    "MeterErrorReason",
    "MeterReading",
    "MeterUnavailableError",
    "ModbusMeter",
    "plausibility_problem",
    "probe",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT = 502
DEFAULT_TIMEOUT_S = 3.0
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 60.0

_CONNECT_GRACE_S = 1.0
"""The client's connect also waits a short settle time after the TCP handshake."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _cancelling() -> bool:
    """True if the running task is being cancelled (not by an expired timeout)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class ModbusMeter:
    """An energy meter read over Modbus TCP with one of the register :mod:`.profiles`.

    Use it from one event loop; calls are serialised. ``connect`` is optional (the
    first :meth:`read` connects); :meth:`close` ends the connection and forgets past
    failures.
    """

    def __init__(
        self,
        host: str,
        profile: MeterProfile | str,
        *,
        port: int = DEFAULT_PORT,
        unit: int = 1,
        timeout: float = DEFAULT_TIMEOUT_S,
        backoff_initial: float = BACKOFF_INITIAL_S,
        backoff_max: float = BACKOFF_MAX_S,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not host:
            raise ValueError("host must not be empty")
        if not 1 <= port <= 65535:
            raise ValueError(f"port must be 1..65535, not {port}")
        if not 1 <= unit <= 247:
            raise ValueError(f"unit id must be 1..247, not {unit}")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        self._host = host
        self._port = port
        self._unit = unit
        self._timeout = timeout
        self._clock = clock
        self._decoder = ReadingDecoder(get_profile(profile))
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._sent: SentRequest | None = None
        self._health = LinkHealth(
            repr(self),
            _LOGGER,
            initial=backoff_initial,
            maximum=backoff_max,
            monotonic=monotonic,
        )

    def __repr__(self) -> str:
        return (
            f"ModbusMeter({self._host}:{self._port}, unit {self._unit}, "
            f"{self._decoder.profile.key})"
        )

    @property
    def host(self) -> str:
        """Host name or address of the meter (or its Modbus TCP gateway)."""
        return self._host

    @property
    def port(self) -> int:
        """TCP port."""
        return self._port

    @property
    def unit(self) -> int:
        """Modbus unit id (1–247)."""
        return self._unit

    @property
    def profile(self) -> MeterProfile:
        """The register map in use."""
        return self._decoder.profile

    @property
    def read_plan(self) -> tuple[ReadBlock, ...]:
        """The requests one :meth:`read` sends."""
        return self._decoder.plan

    @property
    def connected(self) -> bool:
        """True while a TCP connection is open."""
        return self._client is not None and self._client.connected

    @property
    def failures(self) -> int:
        """Consecutive failed attempts (0 after a success).

        An implausible reading is an answer: it ends the count rather than adding to it.
        """
        return self._health.failures

    @property
    def backoff(self) -> float:
        """Seconds the meter is left alone after the last failure (0 when healthy).

        It doubles with each failure in a row, from ``backoff_initial`` up to
        ``backoff_max``.
        """
        return self._health.backoff

    @property
    def retry_in(self) -> float:
        """Seconds until the next attempt is allowed (0: now).

        A :meth:`read` before then raises at once, without touching the network.
        """
        return self._health.retry_in

    @property
    def last_error(self) -> MeterUnavailableError | None:
        """Why the last read failed, until a read succeeds."""
        return self._health.last_error

    @property
    def implausible_readings(self) -> int:
        """Readings refused as implausible since this meter was created."""
        return self._health.implausible

    async def connect(self) -> None:
        """Open the connection now, whatever the back-off (MeterUnavailableError if not)."""
        async with self._lock:
            if not self.connected:
                await self._connect()

    async def close(self) -> None:
        """Close the connection and forget past failures."""
        async with self._lock:
            self._drop()
            self._health.reset()

    async def read(self) -> MeterReading:
        """Read every register of the profile once, decoded and screened.

        Raises :class:`MeterUnavailableError` if the meter cannot be connected, does not
        answer (this request) within the timeout, answers with an exception, or sends
        figures that fail :func:`plausibility_problem` (``implausible``: no back-off);
        during a back-off it raises at once.
        """
        async with self._lock:
            client = self._client
            if client is None or not client.connected:
                self._drop()
                waiting = self._health.waiting()
                if waiting is not None:
                    raise waiting
                client = await self._connect()
            words = await self._fetch(client)
            reading = self._decoder.decode(words, self._clock())
            problem = plausibility_problem(reading)
            if problem is not None:
                raise self._health.refused(problem)
            self._health.succeeded()
            return reading

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- internals ------------------------------------------------------------------

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """pymodbus's hook: note each request as it leaves, to check its answer."""
        if sending:
            self._sent = SentRequest.of(pdu)
        return pdu

    async def _connect(self) -> AsyncModbusTcpClient:
        client = tcp_client(self._host, self._port, self._timeout, self._trace_pdu)
        try:
            async with asyncio.timeout(self._timeout + _CONNECT_GRACE_S):
                ok = await client.connect()
        except (TimeoutError, OSError, ModbusException):
            ok = False
        except BaseException:  # cancelled: leave no half-open socket behind
            client.close()
            raise
        if not ok or not client.connected:
            client.close()
            raise self._failed(
                MeterErrorReason.CANNOT_CONNECT,
                f"cannot connect to {self._host}:{self._port}",
            )
        self._client = client
        return client

    async def _fetch(self, client: AsyncModbusTcpClient) -> list[list[int]]:
        results: list[list[int]] = []
        plan = self._decoder.plan
        block = plan[0]
        try:
            # pymodbus bounds each request by the timeout; this bounds the whole read
            async with asyncio.timeout(self._timeout * len(plan) + 1.0):
                for block in plan:
                    results.append(await self._request(client, block))
        except TimeoutError:
            error = self._failed(
                MeterErrorReason.NO_RESPONSE, "no answer in time", block
            )
        except (ModbusException, OSError) as err:
            # ModbusIOException: no response; ConnectionException: connection lost.
            # Newer pymodbus turns a cancellation into ModbusIOException: a cancelled
            # caller must still see CancelledError.
            if _cancelling():
                self._drop()
                raise asyncio.CancelledError from err
            error = self._failed(MeterErrorReason.NO_RESPONSE, str(err), block)
        except asyncio.CancelledError:
            self._drop()  # an answer may still come: never pair it with a later request
            raise
        else:
            return results
        raise error

    async def _request(
        self, client: AsyncModbusTcpClient, block: ReadBlock
    ) -> list[int]:
        if block.kind is RegisterKind.INPUT:
            method = client.read_input_registers
        else:
            method = client.read_holding_registers
        self._sent = None
        response = await method(block.address, **read_kwargs(self._unit, block.count))
        problem = reply_problem(self._sent, response, block.count)
        if problem is not None:
            raise self._failed(problem.reason, problem.message, block)
        return list(response.registers)

    def _text(self, block: ReadBlock, what: str) -> str:
        return (
            f"{self!r}: {block.kind} registers {block.address:#06x}+{block.count}: "
            f"{what}"
        )

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _failed(
        self, reason: MeterErrorReason, message: str, block: ReadBlock | None = None
    ) -> MeterUnavailableError:
        """A failed attempt: drop the connection (a late answer to this request must
        not be taken for the next one's) and back off."""
        if block is not None:
            message = self._text(block, message)
        self._drop()
        return self._health.failed(reason, message)


async def probe(
    host: str,
    port: int,
    unit: int,
    profile: MeterProfile | str,
    timeout: float = DEFAULT_TIMEOUT_S,  # noqa: ASYNC109 (per request, for pymodbus)
) -> MeterReading:
    """Connect, read once (which checks the figures), close: for a configuration step.

    Returns the reading, or raises :class:`MeterError` whose ``reason`` says what
    went wrong: ``cannot_connect``, ``no_response``, ``device_error`` or
    ``implausible`` (see :func:`plausibility_problem`). Bounded by about
    ``timeout`` × (1 + number of read requests).
    """
    meter = ModbusMeter(host, profile, port=port, unit=unit, timeout=timeout)
    try:
        await meter.connect()
        return await meter.read()
    finally:
        await meter.close()

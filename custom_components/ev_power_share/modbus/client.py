"""Reading a meter over Modbus TCP: :class:`ModbusMeter` and :func:`probe`.

:meth:`ModbusMeter.read` either returns a complete, decoded, plausible
:class:`MeterReading` or raises :class:`MeterUnavailableError` within a bounded time;
it never returns stale, partial or implausible figures.

**Only answers to our own requests.** pymodbus does not reliably pair a reply with
its request (see :mod:`._compat`): a frame with another transaction id, unit id or
function code may be handed over as the answer. Its figures could be another
request's (a gateway one answer behind) or another device's, so every reply is checked
against the request as it left: a reply of another transaction or unit counts as no
reply (``no_response``), one with another function code as a device error. Either
way the connection is dropped, so that the real answer, if it comes late, cannot be
taken for the next request's.

**Link failures back off.** After no connection, no (matching) answer or a Modbus
exception the meter is left alone for a back-off delay (1 s, doubling up to 60 s,
reset by the next answer): a read in that window raises at once without touching the
network, so a control loop can poll freely.

**Implausible figures are refused, but neither drop the connection nor back off.**
Every reading is screened with :func:`plausibility_problem` (voltages of a mains
supply, currents, powers and energy counters a meter can measure, every number
finite); one that fails raises ``implausible``. That is the meter's answer, not a
link failure: every reply matched its request, so the connection is in step and is
kept. A single glitch then costs one poll, not a back-off of up to a minute; a meter
that keeps sending nonsense (usually a profile that is not its model's) would not
get better for being left alone, each poll costs only a few frames, and consumers
treat the missing readings as they treat a silent meter's. Implausible readings are
counted (:attr:`ModbusMeter.implausible_readings`) and logged without flooding: the
first at WARNING with its reason, then at most once a minute
(:data:`IMPLAUSIBLE_LOG_INTERVAL_S`) with the count since the last line, however often
the meter is polled, and at DEBUG in between.

:func:`probe` is what a configuration step calls: connect, read once, close. Its
:class:`MeterError` carries a :class:`MeterErrorReason` that fits a form's error key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
import logging
import math
import time
from types import TracebackType
from typing import Self

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from ._compat import read_kwargs, tcp_client
from .profiles import MeterProfile, ReadBlock, Register, RegisterKind, get_profile

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT = 502
DEFAULT_TIMEOUT_S = 3.0
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 60.0
VOLTAGE_RANGE_V = (80.0, 300.0)
"""Line-to-neutral voltages a mains meter may plausibly show."""
ABSENT_PHASE_V = 5.0
"""Below this a phase counts as not wired (a three-phase meter on fewer phases)."""
MAX_CURRENT_A = 10_000.0
"""Beyond this a current is a decoding error, not a measurement."""
MAX_PHASE_POWER_W = MAX_CURRENT_A * VOLTAGE_RANGE_V[1]
"""3 MW: the most one phase can carry within the current and voltage bounds."""
MAX_POWER_W = 10e6
"""10 MW: beyond this a total power is a decoding error (three phases carry 9 MW)."""
MAX_ENERGY_KWH = 1e10
"""Beyond this an energy counter is a decoding error (10 MW for 100 years: 8.8e9)."""
IMPLAUSIBLE_LOG_INTERVAL_S = 60.0
"""At most one log line about implausible readings per this many seconds."""

# exception codes by which a Modbus gateway says the device behind it did not answer
_GATEWAY_PATH_UNAVAILABLE = 0x0A
_GATEWAY_TARGET_NO_RESPONSE = 0x0B
_CONNECT_GRACE_S = 1.0
"""The client's connect also waits a short settle time after the TCP handshake."""


class MeterErrorReason(StrEnum):
    """Why a meter could not be read; the values suit a config flow's error keys."""

    CANNOT_CONNECT = "cannot_connect"
    """No TCP connection (nothing listening, host unreachable, refused)."""
    NO_RESPONSE = "no_response"
    """Connected, but no answer in time (wrong unit id, device off behind a gateway)."""
    DEVICE_ERROR = "device_error"
    """The device answered with a Modbus exception (e.g. a register it lacks)."""
    IMPLAUSIBLE = "implausible"
    """It answered, but the figures cannot be a mains meter's (wrong model?)."""


class MeterError(Exception):
    """A meter that could not be read, and why (:attr:`reason`)."""

    def __init__(self, reason: MeterErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class MeterUnavailableError(MeterError):
    """:meth:`ModbusMeter.read` has no reading to give now."""

    def __init__(
        self, reason: MeterErrorReason, message: str, *, retry_in: float = 0.0
    ) -> None:
        super().__init__(reason, message)
        self.retry_in = retry_in
        """Seconds until the meter will be tried again (0: at the next read)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """One complete read of a meter, in SI-ish units, power import positive."""

    timestamp: datetime
    """When the read completed (from the meter's injectable clock)."""
    voltages_v: tuple[float, ...]
    """Line-to-neutral voltage per phase (L1, L2, L3)."""
    currents_a: tuple[float, ...]
    """Current per phase as the meter reports it (use its magnitude for limits)."""
    powers_w: tuple[float, ...]
    """Active power per phase, import positive; empty if the meter has none."""
    power_w: float
    """Total active power, import positive (the meter's total, else the phases' sum)."""
    import_kwh: float | None = None
    """Imported energy counter, if the meter has one."""
    export_kwh: float | None = None
    """Exported energy counter, if the meter has one."""

    @property
    def phases(self) -> int:
        """Number of phases the meter measures."""
        return len(self.currents_a)


def plausibility_problem(
    reading: MeterReading, voltage_range: tuple[float, float] = VOLTAGE_RANGE_V
) -> str | None:
    """Why ``reading`` cannot come from a mains meter, or None if it can.

    Every phase must be within ``voltage_range`` or below :data:`ABSENT_PHASE_V` (not
    wired), and at least one within the range; in magnitude, currents must be at most
    :data:`MAX_CURRENT_A`, phase powers :data:`MAX_PHASE_POWER_W` and the total power
    :data:`MAX_POWER_W`; energy counters must be within 0..:data:`MAX_ENERGY_KWH`.
    NaN and infinities fail every one of these (the comparisons are written so).
    """
    low, high = voltage_range
    for phase, volts in enumerate(reading.voltages_v, start=1):
        if not (low <= volts <= high or abs(volts) < ABSENT_PHASE_V):
            return f"L{phase} voltage {volts:.6g} V is outside {low:g}..{high:g} V"
    if not any(low <= volts <= high for volts in reading.voltages_v):
        return f"no phase has a voltage within {low:g}..{high:g} V"
    for phase, amps in enumerate(reading.currents_a, start=1):
        if not abs(amps) <= MAX_CURRENT_A:
            return f"L{phase} current {amps:.6g} A is not a measurement"
    for phase, watts in enumerate(reading.powers_w, start=1):
        if not abs(watts) <= MAX_PHASE_POWER_W:
            return f"L{phase} power {watts:.6g} W is not a measurement"
    if not abs(reading.power_w) <= MAX_POWER_W:
        return f"total power {reading.power_w:.6g} W is not a measurement"
    for name, kwh in (("import", reading.import_kwh), ("export", reading.export_kwh)):
        if kwh is None:
            continue
        if kwh < 0:
            return f"{name} energy {kwh:.6g} kWh is negative"
        if not kwh <= MAX_ENERGY_KWH:
            return f"{name} energy {kwh:.6g} kWh is not a counter"
    return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _total(powers: Sequence[float]) -> float:
    """The phases' sum; NaN (implausible) where ``fsum`` would raise (inf - inf)."""
    try:
        return math.fsum(powers)
    except (OverflowError, ValueError):
        return math.nan


def _cancelling() -> bool:
    """True if the running task is being cancelled (not by an expired timeout)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@dataclass(frozen=True, slots=True)
class _Sent:
    """A request as it left (pymodbus numbers a request only as it sends it)."""

    transaction_id: int
    unit: int
    function_code: int


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
        self._profile = get_profile(profile)
        self._timeout = timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._clock = clock
        self._monotonic = monotonic
        self._plan = self._profile.read_plan()
        self._where = self._index(self._plan, self._profile.registers())
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._failures = 0
        self._backoff = 0.0
        self._next_attempt = 0.0
        self._last_error: MeterUnavailableError | None = None
        self._reported_down = False
        self._sent: _Sent | None = None
        self._implausible = 0
        self._implausible_unlogged = 0
        self._implausible_logged_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"ModbusMeter({self._host}:{self._port}, unit {self._unit}, "
            f"{self._profile.key})"
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
        return self._profile

    @property
    def read_plan(self) -> tuple[ReadBlock, ...]:
        """The requests one :meth:`read` sends."""
        return self._plan

    @property
    def connected(self) -> bool:
        """True while a TCP connection is open."""
        return self._client is not None and self._client.connected

    @property
    def failures(self) -> int:
        """Consecutive failed attempts (0 after a success)."""
        return self._failures

    @property
    def backoff(self) -> float:
        """Seconds the meter is left alone after the last failure (0 when healthy)."""
        return self._backoff

    @property
    def retry_in(self) -> float:
        """Seconds until the next attempt is allowed (0: now)."""
        if not self._failures:
            return 0.0
        return max(0.0, self._next_attempt - self._monotonic())

    @property
    def last_error(self) -> MeterUnavailableError | None:
        """Why the last read failed, until a read succeeds."""
        return self._last_error

    @property
    def implausible_readings(self) -> int:
        """Readings refused as implausible since this meter was created."""
        return self._implausible

    async def connect(self) -> None:
        """Open the connection now, whatever the back-off (MeterUnavailableError if not)."""
        async with self._lock:
            if not self.connected:
                await self._connect()

    async def close(self) -> None:
        """Close the connection and forget past failures."""
        async with self._lock:
            self._drop()
            self._failures = 0
            self._backoff = 0.0
            self._next_attempt = 0.0
            self._last_error = None

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
                wait = self.retry_in
                if wait > 0 and self._last_error is not None:
                    raise MeterUnavailableError(
                        self._last_error.reason,
                        f"{self._last_error} (next attempt in {wait:.1f} s)",
                        retry_in=wait,
                    )
                client = await self._connect()
            words = await self._fetch(client)
            reading = self._decode(words)
            problem = plausibility_problem(reading)
            if problem is not None:
                raise self._refused(problem)
            self._succeeded()
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

    @staticmethod
    def _index(
        plan: Sequence[ReadBlock], registers: Sequence[Register]
    ) -> dict[Register, int]:
        where: dict[Register, int] = {}
        for register in registers:
            where[register] = next(
                i for i, block in enumerate(plan) if block.covers(register)
            )
        return where

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """pymodbus's hook: note each request as it leaves, to check its answer."""
        if sending:
            self._sent = _Sent(pdu.transaction_id, pdu.dev_id, pdu.function_code)
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
        block = self._plan[0]
        try:
            # pymodbus bounds each request by the timeout; this bounds the whole read
            async with asyncio.timeout(self._timeout * len(self._plan) + 1.0):
                for block in self._plan:
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
        self._check_pairing(response, block)
        if response.isError():
            code = getattr(response, "exception_code", None)
            if code in (_GATEWAY_PATH_UNAVAILABLE, _GATEWAY_TARGET_NO_RESPONSE):
                raise self._failed(
                    MeterErrorReason.NO_RESPONSE,
                    f"gateway exception {code:#04x}",
                    block,
                )
            raise self._failed(
                MeterErrorReason.DEVICE_ERROR, f"Modbus exception {code!r}", block
            )
        registers = list(response.registers)
        if len(registers) != block.count:
            raise self._failed(
                MeterErrorReason.DEVICE_ERROR,
                f"answered {len(registers)} registers",
                block,
            )
        return registers

    def _check_pairing(self, response: ModbusPDU, block: ReadBlock) -> None:
        """Raise unless ``response`` answers the request that just left."""
        sent = self._sent
        if sent is None or response.transaction_id != sent.transaction_id:
            asked = "none" if sent is None else sent.transaction_id
            raise self._failed(
                MeterErrorReason.NO_RESPONSE,
                f"reply with transaction id {response.transaction_id} to request {asked}",
                block,
            )
        if response.dev_id != sent.unit:
            raise self._failed(
                MeterErrorReason.NO_RESPONSE,
                f"reply from unit {response.dev_id}",
                block,
            )
        if (response.function_code & 0x7F) != sent.function_code:  # 0x80: exception
            raise self._failed(
                MeterErrorReason.DEVICE_ERROR,
                f"reply with function code {response.function_code:#04x} to "
                f"function {sent.function_code:#04x}",
                block,
            )

    def _decode(self, words: Sequence[Sequence[int]]) -> MeterReading:
        def value(register: Register) -> float:
            index = self._where[register]
            return register.decode(self._plan[index].words_of(register, words[index]))

        def optional(register: Register | None) -> float | None:
            return None if register is None else value(register)

        profile = self._profile
        powers = tuple(value(r) for r in profile.powers)
        total = profile.total_power
        return MeterReading(
            timestamp=self._clock(),
            voltages_v=tuple(value(r) for r in profile.voltages),
            currents_a=tuple(value(r) for r in profile.currents),
            powers_w=powers,
            power_w=value(total) if total is not None else _total(powers),
            import_kwh=optional(profile.import_energy),
            export_kwh=optional(profile.export_energy),
        )

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
        """Record a failed attempt: drop the connection, schedule the next attempt."""
        if block is not None:
            message = self._text(block, message)
        self._drop()
        if self._failures:
            self._backoff = min(self._backoff * 2, self._backoff_max)
        else:
            self._backoff = self._backoff_initial
        self._failures += 1
        self._next_attempt = self._monotonic() + self._backoff
        error = MeterUnavailableError(reason, message, retry_in=self._backoff)
        self._last_error = error
        if not self._reported_down:
            self._reported_down = True
            _LOGGER.warning("%s; retrying with back-off", message)
        else:
            _LOGGER.debug("%s; next attempt in %.0f s", message, self._backoff)
        return error

    def _refused(self, problem: str) -> MeterUnavailableError:
        """Record an implausible reading: counted, logged rate-limited, no back-off."""
        self._answered()
        self._implausible += 1
        self._implausible_unlogged += 1
        error = MeterUnavailableError(
            MeterErrorReason.IMPLAUSIBLE, f"{self!r}: implausible reading: {problem}"
        )
        self._last_error = error
        now = self._monotonic()
        last = self._implausible_logged_at
        if last is not None and now - last < IMPLAUSIBLE_LOG_INTERVAL_S:
            _LOGGER.debug("%s", error)
            return error
        if last is None or self._implausible_unlogged == 1:
            _LOGGER.warning("%s; refused (is the meter model right?)", error)
        else:
            _LOGGER.warning(
                "%r: %d implausible readings refused in the last %.0f s, latest: %s",
                self,
                self._implausible_unlogged,
                now - last,
                problem,
            )
        self._implausible_logged_at = now
        self._implausible_unlogged = 0
        return error

    def _answered(self) -> None:
        """The meter answered every request: the link is fine, any back-off ends."""
        if self._reported_down:
            self._reported_down = False
            _LOGGER.info("%r answers again", self)
        self._failures = 0
        self._backoff = 0.0
        self._next_attempt = 0.0

    def _succeeded(self) -> None:
        self._answered()
        self._last_error = None


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

"""A simulated energy meter served over real Modbus TCP (pymodbus's own server).

It serves one register :mod:`profile <custom_components.ev_power_share.modbus.profiles>`
(Eastron SDM630, SDM120, Carlo Gavazzi EM24, or any other ``MeterProfile``) from values
set at any time, encoded exactly as that meter would (float32 or scaled integers, its
word order). Tests read it with the real client; the demo uses it as a site's meter.

    async with SimulatedModbusMeter("sdm630") as meter:      # 127.0.0.1, free port
        meter.set(currents=(16, 12, 0), powers=(3680, 2760, 0), import_kwh=1234.5)
        reading = await ModbusMeter("127.0.0.1", "sdm630", port=meter.port).read()

Like a device on an RS485 bus behind a gateway, it stays silent for other unit ids
(pymodbus 3.8's own answer to an unknown unit id is a frame its client cannot decode),
and can be told to stop answering (``meter.respond = False``) while keeping
connections open. Registers between the profile's lowest and highest address read as
0; outside that span the answer is a Modbus "illegal data address" exception. It is
read-only.

Works with pymodbus 3.8 (a duck-typed per-unit datastore) and with the ``SimDevice``
API of newer releases (3.10 on); which one is decided once, at import.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
import inspect
import logging
from types import TracebackType
from typing import Any, Self

from pymodbus.server import ModbusTcpServer

from custom_components.ev_power_share.modbus import (
    MeterProfile,
    Register,
    RegisterKind,
    get_profile,
)

try:  # pymodbus >= 3.10: devices are described with SimDevice / SimData
    from pymodbus.constants import ExcCodes
    from pymodbus.simulator import DataType as SimType, SimData, SimDevice
except ImportError:  # pymodbus 3.8 / 3.9
    ExcCodes = SimType = SimData = SimDevice = None

try:  # the context of a device list in pymodbus 3.8 / 3.9
    from pymodbus.datastore import ModbusServerContext
except ImportError:  # pragma: no cover (removed in pymodbus 4)
    ModbusServerContext = None

_LOGGER = logging.getLogger(__name__)

_FUNCTION_KIND = {4: RegisterKind.INPUT, 3: RegisterKind.HOLDING}
_STOP_WAIT_S = 2.0


def _server_takes_sim_devices() -> bool:
    if SimDevice is None:
        return False
    context = inspect.signature(ModbusTcpServer.__init__).parameters.get("context")
    return context is not None and "SimDevice" in str(context.annotation)


USES_SIM_DEVICE = _server_takes_sim_devices()
"""True when the installed pymodbus serves ``SimDevice`` lists (3.10 on)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterValues:
    """What the simulated meter measures now (power import positive)."""

    voltages_v: tuple[float, ...]
    currents_a: tuple[float, ...]
    powers_w: tuple[float, ...]
    power_w: float
    import_kwh: float = 0.0
    export_kwh: float = 0.0


class SimulatedModbusMeter:
    """A Modbus TCP server that answers like a meter of ``profile``."""

    def __init__(
        self,
        profile: MeterProfile | str = "sdm630",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        unit: int = 1,
        voltage_v: float = 230.0,
    ) -> None:
        if not 1 <= unit <= 247:
            raise ValueError(f"unit id must be 1..247, not {unit}")
        self.profile = get_profile(profile)
        self.host = host
        self.unit = unit
        self._port = port
        phases = self.profile.phases
        self._values = MeterValues(
            voltages_v=(float(voltage_v),) * phases,
            currents_a=(0.0,) * phases,
            powers_w=(0.0,) * phases,
            power_w=0.0,
        )
        self._spans = self._spans_of(self.profile)
        self._image: dict[RegisterKind, dict[int, int]] = {}
        self._encode()
        self._respond = True
        self._stopping = False
        self._wake = asyncio.Event()
        self._held: set[asyncio.Task[Any]] = set()
        self._server: Any = None
        self.requests = 0
        """Read requests answered for our unit id (to check how a client groups)."""

    # -- values ---------------------------------------------------------------------

    @property
    def values(self) -> MeterValues:
        """The figures served now."""
        return self._values

    def set(
        self,
        *,
        voltages: float | Sequence[float] | None = None,
        currents: float | Sequence[float] | None = None,
        powers: float | Sequence[float] | None = None,
        power_w: float | None = None,
        import_kwh: float | None = None,
        export_kwh: float | None = None,
    ) -> None:
        """Change what the meter measures; what is not given stays as it was.

        A single number sets every phase. Setting per-phase ``powers`` without
        ``power_w`` makes the total their sum. Takes effect for the next request.
        """
        values = self._values
        changes: dict[str, Any] = {}
        if voltages is not None:
            changes["voltages_v"] = self._per_phase("voltages", voltages)
        if currents is not None:
            changes["currents_a"] = self._per_phase("currents", currents)
        if powers is not None:
            changes["powers_w"] = self._per_phase("powers", powers)
            if power_w is None:
                changes["power_w"] = float(sum(changes["powers_w"]))
        if power_w is not None:
            changes["power_w"] = float(power_w)
        if import_kwh is not None:
            changes["import_kwh"] = float(import_kwh)
        if export_kwh is not None:
            changes["export_kwh"] = float(export_kwh)
        self._values = replace(values, **changes)
        self._encode()

    @property
    def respond(self) -> bool:
        """False: requests are received but never answered (connections stay open)."""
        return self._respond

    @respond.setter
    def respond(self, value: bool) -> None:
        self._respond = value
        self._wake_held()

    # -- server ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (the bound one once started; kept across restarts)."""
        return self._port

    @property
    def running(self) -> bool:
        """True while the server listens."""
        return self._server is not None

    async def start(self) -> None:
        """Listen on ``host``:``port`` (port 0: a free one, then kept for restarts)."""
        if self._server is not None:
            return
        self._stopping = False
        if USES_SIM_DEVICE:
            server = ModbusTcpServer(
                self._sim_devices(), address=(self.host, self._port)
            )
        else:
            context = ModbusServerContext(
                slaves={self.unit: _UnitStore(self._covers, self._serve)}, single=False
            )
            server = ModbusTcpServer(
                context,
                address=(self.host, self._port),
                ignore_missing_slaves=True,
            )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as err:  # newer pymodbus when it cannot listen
            raise OSError(f"cannot listen on {self.host}:{self._port}: {err}") from err
        sockets = getattr(server.transport, "sockets", None)
        if not sockets:  # pymodbus 3.8 only logs a failed listen
            await server.shutdown()
            raise OSError(f"cannot listen on {self.host}:{self._port}")
        self._port = int(sockets[0].getsockname()[1])
        self._server = server
        _LOGGER.debug(
            "simulated %s meter on %s:%s", self.profile.key, self.host, self.port
        )

    async def stop(self) -> None:
        """Close the listener and every connection; unanswered requests are dropped."""
        server, self._server = self._server, None
        if server is None:
            return
        await server.shutdown()
        self._stopping = True
        self._wake_held()
        if self._held:
            await asyncio.wait(set(self._held), timeout=_STOP_WAIT_S)

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

    # -- register image ---------------------------------------------------------------

    def _per_phase(
        self, name: str, value: float | Sequence[float]
    ) -> tuple[float, ...]:
        phases = self.profile.phases
        if isinstance(value, int | float):
            return (float(value),) * phases
        numbers = tuple(float(v) for v in value)
        if len(numbers) != phases:
            raise ValueError(f"{name}: {self.profile.key} has {phases} phase(s)")
        return numbers

    @staticmethod
    def _spans_of(profile: MeterProfile) -> dict[RegisterKind, tuple[int, int]]:
        spans: dict[RegisterKind, tuple[int, int]] = {}
        for register in profile.registers():
            low, high = spans.get(register.kind, (register.address, register.end))
            spans[register.kind] = (min(low, register.address), max(high, register.end))
        return spans

    def _encode(self) -> None:
        profile, values = self.profile, self._values
        pairs: list[tuple[Register | None, float]] = [
            *zip(profile.voltages, values.voltages_v, strict=True),
            *zip(profile.currents, values.currents_a, strict=True),
            *zip(profile.powers, values.powers_w, strict=False),
            (profile.total_power, values.power_w),
            (profile.import_energy, values.import_kwh),
            (profile.export_energy, values.export_kwh),
        ]
        image: dict[RegisterKind, dict[int, int]] = {kind: {} for kind in self._spans}
        for register, value in pairs:
            if register is None:
                continue
            for offset, word in enumerate(register.encode(value)):
                image[register.kind][register.address + offset] = word
        self._image = image

    def _covers(self, kind: RegisterKind | None, address: int, count: int) -> bool:
        span = self._spans.get(kind) if kind is not None else None
        return span is not None and span[0] <= address and address + count <= span[1]

    def _words(self, kind: RegisterKind, address: int, count: int) -> list[int]:
        image = self._image.get(kind, {})
        return [image.get(address + i, 0) for i in range(count)]

    async def _serve(self, kind: RegisterKind, address: int, count: int) -> list[int]:
        """pymodbus 3.8 / 3.9: one read for our unit (held while mute)."""
        if await self._hold():
            self.requests += 1
        return self._words(kind, address, count)

    # -- holding requests while mute ----------------------------------------------------

    def _wake_held(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    async def _hold(self) -> bool:
        """Wait while mute; False if the server stopped meanwhile (answer nobody)."""
        task = asyncio.current_task()
        if task is not None:
            self._held.add(task)
        try:
            while not self._respond and not self._stopping:
                await self._wake.wait()
        finally:
            if task is not None:
                self._held.discard(task)
        return not self._stopping

    async def _hold_forever(self) -> None:
        """Another unit id: nobody answers (until the server stops)."""
        task = asyncio.current_task()
        if task is not None:
            self._held.add(task)
        try:
            while not self._stopping:
                await self._wake.wait()
        finally:
            if task is not None:
                self._held.discard(task)

    # -- pymodbus >= 3.10 -------------------------------------------------------------

    def _sim_devices(self) -> list[Any]:
        def blocks(kind: RegisterKind) -> list[Any]:
            span = self._spans.get(kind)
            if span is None:  # nothing of this kind: every address is illegal
                return [SimData(address=0, datatype=SimType.INVALID)]
            low, high = span
            return [
                SimData(
                    address=low, count=high - low, values=0, datatype=SimType.REGISTERS
                )
            ]

        def simdata() -> tuple[list[Any], ...]:
            bits = SimData(address=0, values=False, datatype=SimType.BITS)
            return (
                [bits],
                [bits],
                blocks(RegisterKind.HOLDING),
                blocks(RegisterKind.INPUT),
            )

        ours = SimDevice(id=self.unit, simdata=simdata(), action=self._action)
        # id 0 stands for every other unit id: silent, like an absent bus device
        others = SimDevice(id=0, simdata=simdata(), action=self._silent_action)
        return [ours, others]

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> Any:
        kind = _FUNCTION_KIND.get(function_code)
        if kind is None or set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # a meter: read-only, registers only
        if not await self._hold():
            return ExcCodes.GATEWAY_NO_RESPONSE  # stopped: the client is gone
        self.requests += 1
        offset = address - start_address
        registers[offset : offset + count] = self._words(kind, address, count)
        return None

    async def _silent_action(self, *_args: object) -> Any:
        await self._hold_forever()
        return ExcCodes.GATEWAY_NO_RESPONSE  # stopped: the client is gone


class _UnitStore:
    """pymodbus 3.8 / 3.9: the datastore of our unit id (a duck-typed slave context).

    The server calls ``validate`` then ``async_getValues`` for a read (writes are
    refused by ``validate``: a meter is read-only).
    """

    def __init__(
        self,
        covers: Callable[[RegisterKind | None, int, int], bool],
        serve: Callable[[RegisterKind, int, int], Awaitable[list[int]]],
    ) -> None:
        self._covers = covers
        self._serve = serve

    def validate(self, fc_as_hex: int, address: int, count: int = 1) -> bool:
        return self._covers(_FUNCTION_KIND.get(fc_as_hex), address, count)

    async def async_getValues(  # noqa: N802 (pymodbus's name)
        self, fc_as_hex: int, address: int, count: int = 1
    ) -> list[int]:
        return await self._serve(_FUNCTION_KIND[fc_as_hex], address, count)

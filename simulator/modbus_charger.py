"""A simulated Modbus TCP charger on 127.0.0.1 (pymodbus's own server).

It serves one :class:`~custom_components.ev_power_share.modbus.charger_maps.ChargerMap`
and behaves as the charger does, as far as we rely on it:

* it **holds the limit** it was written (read back where the map reads it), or
  its pause;
* it **falls back to its failsafe current** once its communication timeout passes
  without what keeps it alive (any request, a life bit, the limit written again:
  the map's ``keep_alive``), and takes our limit again when we come back;
* its failsafe current and timeout are registers where the map has them;
* with a vehicle "plugged in" (:meth:`plug`) its **currents follow** what it
  applies (up to the vehicle's maximum; nothing below 6 A), and its **energy**
  counts up;
* :meth:`override` sets its limit as someone else would (it disobeys us);
  ``respond = False`` keeps connections open but answers nothing;
* :meth:`measure` hands it what a vehicle outside draws (the site simulator's
  physics): its currents and energy then show that instead.

Works with pymodbus 3.8 (a duck-typed per-unit datastore) and with the
``SimDevice`` API of 3.10 on, as :mod:`simulator.modbus_meter` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import functools
import time
from typing import Any, Self

from pymodbus.server import ModbusTcpServer

from custom_components.ev_power_share.modbus.charger_maps import (
    ChargerMap,
    Codes,
    Field,
    get_map,
)
from custom_components.ev_power_share.modbus.profiles import RegisterKind
from simulator.modbus_meter import USES_SIM_DEVICE

if USES_SIM_DEVICE:
    from pymodbus.constants import ExcCodes
    from pymodbus.simulator import DataType as SimType, SimData, SimDevice
else:
    from pymodbus.datastore import ModbusServerContext

_HOLDING_CODES = {3, 6, 16}
_VOLTAGE_V = 230.0


@dataclass(slots=True)
class SimSocket:
    """What one socket holds and does."""

    limit_a: float = 0.0
    enabled: bool = True
    failsafe_a: float = 6.0
    contact_at: float = 0.0
    ev_max_a: float | None = None
    energy_wh: float = 0.0
    energy_at: float = 0.0
    writes: int = 0
    measured: tuple[float, ...] | None = None
    """Currents set from outside (:meth:`SimulatedCharger.measure`), if any."""


class SimulatedCharger:
    """A Modbus TCP server answering like a charger of ``charger_map``."""

    def __init__(
        self,
        charger_map: ChargerMap | str,
        *,
        sockets: int = 1,
        unit: int | None = None,
        failsafe_a: float = 6.0,
        timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.map = get_map(charger_map)
        self.unit = self.map.default_unit if unit is None else unit
        self.clock = clock
        self.timeout_s = self.map.failsafe.timeout_s if timeout_s is None else timeout_s
        now = clock()
        self.sockets = {
            s: SimSocket(failsafe_a=failsafe_a, contact_at=now, energy_at=now)
            for s in range(1, sockets + 1)
        }
        self.respond = True
        self._stopping = False
        self._stopped = asyncio.Event()
        self.writes_total = 0
        """Write requests received (any register: flash wear)."""
        self.port = 0
        self._server: Any = None
        self._image: dict[tuple[int, RegisterKind], dict[int, int]] = {}

    # -- behaviour ----------------------------------------------------------------

    def plug(self, socket: int = 1, ev_max_a: float = 32.0) -> None:
        """A vehicle that draws up to ``ev_max_a`` is connected."""
        self._count(self.sockets[socket])
        self.sockets[socket].ev_max_a = ev_max_a

    def unplug(self, socket: int = 1) -> None:
        """The vehicle leaves."""
        self._count(self.sockets[socket])
        self.sockets[socket].ev_max_a = None

    def override(self, socket: int, amps: float) -> None:
        """Someone else sets the limit (the charger no longer follows ours)."""
        self.sockets[socket].limit_a = amps

    def measure(
        self, socket: int, currents: tuple[float, ...], energy_wh: float
    ) -> None:
        """What a vehicle draws per phase and the energy register, as measured
        outside (the charger shows these, not its own vehicle's)."""
        state = self.sockets[socket]
        width = len(self.map.currents)
        state.measured = (tuple(currents) + (0.0,) * width)[:width]
        state.energy_wh, state.energy_at = energy_wh, self.clock()

    def lapsed(self, socket: int = 1) -> bool:
        """Whether the socket fell back to its failsafe (its timeout passed)."""
        if self.map.failsafe.timeout is None and self.map.keep_alive.how != "limit":
            return False  # no timeout in its registers: it never falls back
        return self.clock() - self.sockets[socket].contact_at > self.timeout_s

    def applied(self, socket: int = 1) -> float:
        """What the socket lets a vehicle draw now (A per phase)."""
        state = self.sockets[socket]
        if self.lapsed(socket):
            return state.failsafe_a
        return state.limit_a if state.enabled else 0.0

    def currents(self, socket: int = 1) -> tuple[float, ...]:
        """What the vehicle draws per phase."""
        state, applied = self.sockets[socket], self.applied(socket)
        if state.measured is not None:
            return state.measured
        if state.ev_max_a is None or applied < 6.0:
            return (0.0,) * len(self.map.currents)
        return (min(applied, state.ev_max_a),) * len(self.map.currents)

    def _count(self, state: SimSocket) -> None:
        socket = next(s for s, v in self.sockets.items() if v is state)
        now = self.clock()
        if state.measured is not None:  # the register is set from outside
            state.energy_at = now
            return
        amps = sum(self.currents(socket))
        state.energy_wh += amps * _VOLTAGE_V * (now - state.energy_at) / 3600.0
        state.energy_at = now

    # -- register image -------------------------------------------------------------

    def _field(self, value: Field, socket: int) -> Field:
        return self.map.socket_field(value, socket)

    def _put(self, unit: int, value: Field, words: tuple[int, ...]) -> None:
        table = self._image.setdefault((unit, value.kind), {})
        for i, word in enumerate(words):
            table[value.address + i] = word

    def _render(self) -> None:
        for socket, state in self.sockets.items():
            self._count(state)
            self._render_socket(socket, state)

    def _render_socket(self, socket: int, state: SimSocket) -> None:
        cmap, unit = self.map, self.map.unit_of(self.unit, socket)

        def put(value: Field, amount: float) -> None:
            self._put(unit, self._field(value, socket), value.encode(amount))

        # A limit with a validity time stays in its register (the validity tells).
        lapsed = self.lapsed(socket) and self.map.keep_alive.how != "limit"
        shown = state.failsafe_a if lapsed else state.limit_a
        put(cmap.limit.read, shown)
        if cmap.limit.pause is not None:
            put(cmap.limit.pause, 1.0 if state.enabled else 0.0)
        for value, amps in zip(cmap.currents, self.currents(socket), strict=True):
            put(value, amps)
        if cmap.energy is not None:
            put(cmap.energy, state.energy_wh / 1000.0)
        failsafe = cmap.failsafe
        if failsafe.current is not None:
            put(failsafe.current, state.failsafe_a)
        if failsafe.timeout is not None:
            put(failsafe.timeout, self.timeout_s)
        if failsafe.validity is not None:
            left = self.timeout_s - (self.clock() - state.contact_at)
            put(failsafe.validity, max(0.0, float(int(left))))
        self._render_state(unit, socket, state)

    def _render_state(self, unit: int, socket: int, state: SimSocket) -> None:
        connected, charging = self.map.connected, self.map.charging
        plugged = state.ev_max_a is not None
        drawing = plugged and max(self.currents(socket)) > 0.0

        def show(codes: Codes, code: int | str) -> None:
            self._put(unit, self._field(codes.field, socket), codes.words(code))

        if not plugged:
            show(charging, charging.off)
            show(connected, connected.off)
            return
        show(connected, sorted(connected.on, key=str)[0])
        show(charging, sorted(charging.on, key=str)[0] if drawing else charging.off)

    def words(
        self, unit: int, kind: RegisterKind, address: int, count: int
    ) -> list[int]:
        self._render()
        table = self._image.get((unit, kind), {})
        return [table.get(address + i, 0) for i in range(count)]

    def _socket_of(self, unit: int) -> int:
        if self.map.socket_units:
            return unit - self.unit + 1
        return 1

    def written(self, unit: int, address: int, words: list[int]) -> None:
        """Apply a write to holding registers from ``address`` on."""
        self.writes_total += 1
        self._render()
        for socket in self._sockets_of(unit):
            self._write_socket(socket, address, words)

    def _sockets_of(self, unit: int) -> list[int]:
        if self.map.socket_units:
            socket = self._socket_of(unit)
            return [socket] if socket in self.sockets else []
        return list(self.sockets)

    def _write_socket(self, socket: int, address: int, words: list[int]) -> None:
        cmap, state = self.map, self.sockets[socket]
        now = self.clock()

        def value(target: Field | None) -> float | None:
            if target is None:
                return None
            target = self._field(target, socket)
            if target.address != address or len(words) != target.count:
                return None
            return target.decode(words)

        if (amps := value(cmap.limit.write)) is not None:
            state.limit_a, state.writes = amps, state.writes + 1
            if cmap.keep_alive.how == "limit":
                state.contact_at = now
        if (enabled := value(cmap.limit.pause)) is not None:
            state.enabled, state.writes = enabled != 0.0, state.writes + 1
        failsafe = cmap.failsafe
        if failsafe.current_writable and (amps := value(failsafe.current)) is not None:
            state.failsafe_a = amps
        if failsafe.timeout_writable and (secs := value(failsafe.timeout)) is not None:
            self.timeout_s = secs
        if value(cmap.keep_alive.field) == float(cmap.keep_alive.value):
            state.contact_at = now

    def heard(self, unit: int) -> None:
        """Any request resets the timeout of a charger kept alive so."""
        if self.map.keep_alive.how == "any_request":
            for socket in self._sockets_of(unit):
                self.sockets[socket].contact_at = self.clock()

    # -- server ---------------------------------------------------------------------

    def _units(self) -> list[int]:
        return sorted({self.map.unit_of(self.unit, s) for s in self.sockets})

    def _spans(self) -> dict[RegisterKind, tuple[int, int]]:
        spans: dict[RegisterKind, tuple[int, int]] = {}
        cmap = self.map
        values = [*cmap.fields(), cmap.limit.write]
        failsafe = cmap.failsafe
        values += [v for v in (failsafe.current, failsafe.timeout) if v is not None]
        if cmap.keep_alive.field is not None:
            values.append(cmap.keep_alive.field)
        for socket in self.sockets:
            for raw in values:
                v = self._field(raw, socket)
                low, high = spans.get(v.kind, (v.address, v.end))
                spans[v.kind] = (min(low, v.address), max(high, v.end))
        return spans

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port, kept across restarts)."""
        if self._server is not None:
            return
        spans = self._spans()
        if USES_SIM_DEVICE:
            devices = [self._sim_device(u, spans) for u in self._units()]
            # id 0 stands for every other unit id: silent, as on a bus (pymodbus
            # 3.8 is told to ignore them)
            devices.append(self._sim_device(0, spans))
            server = ModbusTcpServer(devices, address=("127.0.0.1", self.port))
        else:
            stores = {u: _UnitStore(self, u, spans) for u in self._units()}
            server = ModbusTcpServer(
                ModbusServerContext(slaves=stores, single=False),
                address=("127.0.0.1", self.port),
                ignore_missing_slaves=True,
            )
        await server.serve_forever(background=True)
        self.port = int(server.transport.sockets[0].getsockname()[1])
        self._server = server

    async def stop(self) -> None:
        """Close the listener and every connection."""
        server, self._server = self._server, None
        if server is not None:
            self._stopping = True  # requests held while mute give up
            self._stopped.set()
            await asyncio.sleep(0.1)
            await server.shutdown()
            self._stopping = False
            self._stopped = asyncio.Event()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def held(self) -> bool:
        """Wait while mute (bounded: a test's client gives up well before)."""
        for _ in range(100):
            if self.respond or self._stopping:
                return not self._stopping
            await asyncio.sleep(0.05)
        return False

    def _sim_device(self, unit: int, spans: dict[RegisterKind, tuple[int, int]]) -> Any:
        def blocks(kind: RegisterKind) -> list[Any]:
            span = spans.get(kind)
            if span is None:
                return [SimData(address=0, datatype=SimType.INVALID)]
            return [
                SimData(
                    address=span[0],
                    count=span[1] - span[0],
                    values=0,
                    datatype=SimType.REGISTERS,
                )
            ]

        bits = SimData(address=0, values=False, datatype=SimType.BITS)
        simdata = (
            [bits],
            [bits],
            blocks(RegisterKind.HOLDING),
            blocks(RegisterKind.INPUT),
        )
        action = functools.partial(self._action, unit)
        return SimDevice(id=unit, simdata=simdata, action=action)

    async def _action(
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> Any:
        if unit == 0:
            await self._stopped.wait()  # never answered (the server stops)
            return ExcCodes.GATEWAY_NO_RESPONSE
        if not await self.held():
            return ExcCodes.GATEWAY_NO_RESPONSE
        self.heard(unit)
        if set_values is not None:
            self.written(unit, address, [int(v) for v in set_values])
            return None
        kind = (
            RegisterKind.HOLDING
            if function_code in _HOLDING_CODES
            else RegisterKind.INPUT
        )
        offset = address - start_address
        registers[offset : offset + count] = self.words(unit, kind, address, count)
        return None


class _UnitStore:
    """pymodbus 3.8: one unit id's datastore (validate, get and set values)."""

    def __init__(
        self,
        charger: SimulatedCharger,
        unit: int,
        spans: dict[RegisterKind, tuple[int, int]],
    ) -> None:
        self._charger, self._unit, self._spans = charger, unit, spans

    @staticmethod
    def _kind(fc: int) -> RegisterKind:
        return RegisterKind.HOLDING if fc in _HOLDING_CODES else RegisterKind.INPUT

    def validate(self, fc_as_hex: int, address: int, count: int = 1) -> bool:
        span = self._spans.get(self._kind(fc_as_hex))
        return span is not None and span[0] <= address and address + count <= span[1]

    async def async_getValues(  # noqa: N802 (pymodbus's name)
        self, fc_as_hex: int, address: int, count: int = 1
    ) -> list[int]:
        await self._charger.held()
        self._charger.heard(self._unit)
        kind = self._kind(fc_as_hex)
        return self._charger.words(self._unit, kind, address, count)

    async def async_setValues(  # noqa: N802 (pymodbus's name)
        self, fc_as_hex: int, address: int, values: list[int]
    ) -> None:
        await self._charger.held()
        self._charger.heard(self._unit)
        self._charger.written(self._unit, address, list(values))

"""Modbus TCP chargers as the controller's port source: one polling task each.

Each configured charger (:class:`~.modbus_charger_ports.ModbusChargerConfig`)
has its own task and client (:class:`~.modbus.charger_client.ModbusCharger`), so
a slow or failing charger never delays another or the cycle. The task connects
(programming the charger's failsafe), writes the limit it was handed last (the
commands of several cycles coalesce: only the latest is written), reads it back
(the confirmation), polls the sockets every ``poll_s`` and backs off while the
charger cannot be reached.

:meth:`ModbusChargerSource.readings` only reads what the tasks learned
(:func:`~.modbus_charger_ports.modbus_readings`: how a socket is counted while it
is unconfirmed, stale or disobeys is said there); :meth:`async_apply` only hands
the writes over and wakes the tasks, so it never blocks the cycle. It is also
the :class:`~.core.ports.PortStatus` of its subentries.

No Home Assistant imports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
import contextlib
import logging
import time

from .core.commands import Commands
from .core.ports import PortId, PortReadings, PortState
from .modbus.charger_client import ChargerUnavailableError, ModbusCharger
from .modbus_charger_ports import (
    ModbusChargerConfig,
    SocketState,
    modbus_readings,
    socket_state,
)

__all__ = ["ModbusChargerConfig", "ModbusChargerSource"]

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 3.0
MIN_RETRY_S = 0.5

type ClientFactory = Callable[[ModbusChargerConfig], ModbusCharger]


def default_client(config: ModbusChargerConfig) -> ModbusCharger:
    """The client of one charger (its failsafe is the configured one)."""
    return ModbusCharger(
        config.host,
        config.model,
        port=config.port,
        unit=config.unit,
        sockets=config.sockets,
        failsafe_a=config.failsafe_a,
        watchdog_s=config.watchdog_s,
        timeout=REQUEST_TIMEOUT_S,
    )


class ModbusChargerSource:
    """The port source for the Modbus chargers of one site."""

    def __init__(
        self,
        chargers: Iterable[ModbusChargerConfig],
        *,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        client_factory: ClientFactory = default_client,
    ) -> None:
        """``on_change()`` asks for a cycle (a vehicle came or went, a limit was
        confirmed); ``clock`` is the controller's (wall clock, seconds)."""
        self._chargers = {c.subentry_id: c for c in chargers}
        self._on_change = on_change
        self._clock = clock
        self._client_factory = client_factory
        self._states: dict[str, SocketState] = {
            pid: _new_state(c) for c in self._chargers.values() for pid in c.port_ids()
        }
        self._wake = {sid: asyncio.Event() for sid in self._chargers}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._clients: dict[str, ModbusCharger] = {}

    @property
    def chargers(self) -> Mapping[str, ModbusChargerConfig]:
        """Configured chargers by subentry id."""
        return self._chargers

    def port_ids(self) -> list[str]:
        """Every port this source serves."""
        return [pid for c in self._chargers.values() for pid in c.port_ids()]

    # -- tasks ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether its polling tasks run."""
        return bool(self._tasks)

    def start(self) -> None:
        """Start one polling task per charger (on the running loop)."""
        for sid, config in self._chargers.items():
            if sid not in self._tasks:
                client = self._clients[sid] = self._client_factory(config)
                self._tasks[sid] = asyncio.get_running_loop().create_task(
                    self._run(config, client), name=f"modbus charger {config.name}"
                )

    async def async_close(self) -> None:
        """Stop the tasks and close the connections (the chargers then fall back
        to their failsafe by themselves, once their timeout passes)."""
        tasks, self._tasks = self._tasks, {}
        for task in tasks.values():
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in self._clients.values():
            await client.close()
        self._clients = {}

    async def _run(self, config: ModbusChargerConfig, client: ModbusCharger) -> None:
        wake = self._wake[config.subentry_id]
        while True:
            delay = config.poll_s
            try:
                await self._step(config, client)
            except ChargerUnavailableError:
                delay = max(MIN_RETRY_S, min(client.health.retry_in, config.poll_s))
            except Exception:  # one charger's bug never stops its task
                _LOGGER.exception("%s: unexpected failure", config.name)
                delay = max(config.poll_s, 5.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()
            wake.clear()

    async def _step(self, config: ModbusChargerConfig, client: ModbusCharger) -> None:
        """Connect if needed, write what waits, poll once."""
        changed = False
        if len(client.programmed) < config.sockets or not client.connected:
            await client.connect()
            readings = await client.poll()
            for socket, reading in readings.items():
                failsafe = client.programmed[socket].failsafe_a
                self._state(config, socket).connected(reading, failsafe, self._clock())
            changed = True
        changed |= await self._write_wanted(config, client)
        for socket, reading in (await client.poll()).items():
            changed |= self._state(config, socket).polled(reading, self._clock())
        if changed:
            self._on_change()

    async def _write_wanted(
        self, config: ModbusChargerConfig, client: ModbusCharger
    ) -> bool:
        wrote = False
        for socket in range(1, config.sockets + 1):
            state = self._state(config, socket)
            amps, state.wanted = state.wanted, None
            if amps is None:
                continue
            try:
                read_back = await client.write_limit(socket, amps)
            except ChargerUnavailableError:
                if state.wanted is None:
                    state.wanted = amps  # written again once it answers
                raise
            state.written(amps, read_back, self._clock())
            wrote = True
        return wrote

    def _state(self, config: ModbusChargerConfig, socket: int) -> SocketState:
        return self._states[config.port_id(socket)]

    # -- the cycle ------------------------------------------------------------------

    def readings(self, now: float) -> PortReadings:
        """Every socket as its task last saw it (no I/O)."""
        return modbus_readings(self._chargers.values(), self._states, now)

    async def async_apply(self, commands: Commands) -> None:
        """Hand the writes to the chargers' tasks (coalesced; never waits)."""
        now = self._clock()
        woken: set[str] = set()
        for command in commands.writes:
            state = self._states.get(command.port)
            if state is None:
                continue
            state.commanded(command.amps, now)
            woken.add(PortId.parse(command.port).charger)
        for sid in woken:
            if sid in self._wake:
                self._wake[sid].set()

    # -- PortStatus -----------------------------------------------------------------

    def subentry_ports(self, subentry_id: str) -> list[str]:
        """The port ids of one subentry (none where it is not a Modbus charger)."""
        config = self._chargers.get(subentry_id)
        return [] if config is None else config.port_ids()

    def port_state(self, port_id: str) -> PortState:
        """What the port is doing, as far as its last poll tells."""
        config = self._config_of(port_id)
        state = self._states.get(port_id)
        if config is None or state is None:
            return "unavailable"
        return socket_state(config, state, self._clock())

    def energy_kwh(self, port_id: str) -> float | None:
        """The port's total energy (never decreasing; None: not read yet)."""
        state = self._states.get(port_id)
        return None if state is None else state.energy.total_kwh

    def port_name(self, port_id: str) -> str:
        """The charger's name (its subentry's title)."""
        config = self._config_of(port_id)
        return port_id if config is None else config.name

    def _config_of(self, port_id: str) -> ModbusChargerConfig | None:
        try:
            return self._chargers.get(PortId.parse(port_id).charger)
        except ValueError:
            return None


def _new_state(config: ModbusChargerConfig) -> SocketState:
    state = SocketState()
    state.energy.session_counter = config.map.energy_is_session
    return state

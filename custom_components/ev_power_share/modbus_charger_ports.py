"""A Modbus charger's socket as the allocator's port: what we know of it, and
how one cycle counts it.

:class:`SocketState` is what the charger's polling task learned (its last
reading, the limit it confirmed, what we asked it to take); :func:`socket_port`
and :func:`modbus_readings` turn it into the cycle's ports. No side effects, no
I/O, no Home Assistant.

How a socket is counted:

* **Online** only while its last poll is recent (within its stale time, and
  within half the charger's communication timeout: it is counted offline before
  it could have lapsed unnoticed), it follows our limit (the limit read back is
  not above the one it confirmed), and no limit we handed it has waited longer
  than the stale time for its confirmation.
* **Offline, at the most it may apply**: its failsafe current (the higher of the
  configured one and the one it reads back), the limit it confirmed, any limit
  handed to it and not yet confirmed, or what it reads back, whichever is the
  highest; until it was read once, its rating (a run before, or its own set-up,
  may have left any limit in it).
* **What it holds** (for the command writer): the limit it read back after our
  write, with when; None where the charger says its limit lapsed (it applies
  its failsafe).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .core.commands import EPS, Held, PortSteps, WriteBudget
from .core.model import CONNECTIONS, Port, Vehicle
from .core.ports import PortReadings, PortState, port_text
from .modbus.charger_client import SocketReading
from .modbus.charger_maps import ChargerMap, get_map

CHARGING_THRESHOLD_A = 1.0
"""A phase drawing more than this counts as used by the vehicle."""


@dataclass(frozen=True, slots=True)
class ModbusChargerConfig:
    """A Modbus charger as its subentry configures it."""

    subentry_id: str
    name: str
    group: str
    host: str
    model: str
    port: int = 502
    unit: int | None = None
    """None: the map's default unit id."""
    sockets: int = 1
    connection: str = "L1-L2-L3"
    max_current_a: float = 32.0
    failsafe_a: float = 6.0
    poll_s: float = 2.0
    stale_s: float = 15.0
    watchdog_s: float | None = None
    """The site's charger watchdog: programmed as its communication timeout
    where it takes one (see :attr:`timeout_s`)."""

    @property
    def map(self) -> ChargerMap:
        """Its register map."""
        return get_map(self.model)

    def port_id(self, socket: int) -> str:
        """The allocator's id of one socket."""
        return port_text(self.subentry_id, socket)

    def port_ids(self) -> list[str]:
        """The ids of all its sockets."""
        return [self.port_id(s) for s in range(1, self.sockets + 1)]

    @property
    def stale_after_s(self) -> float:
        """A reading older than this is not vouched for: the stale time, and at
        most half the charger's communication timeout."""
        return min(self.stale_s, 0.5 * self.timeout_s)

    @property
    def timeout_s(self) -> float:
        """After this long without hearing from us it falls back to its
        failsafe: the site's watchdog where we program it, else its map's."""
        return self.map.failsafe.timeout_for(self.watchdog_s)

    @property
    def margin_s(self) -> float:
        """How long the others have, from the moment the site finds it silent
        (:attr:`stale_after_s`), to make room before it falls back."""
        return self.timeout_s - self.stale_after_s


@dataclass(slots=True)
class EnergyCounter:
    """Its energy counter as a total that never decreases, and the session's."""

    total_kwh: float | None = None
    base_kwh: float = 0.0
    last_kwh: float | None = None
    session_start_kwh: float | None = None
    session_counter: bool = False

    def update(self, reading: SocketReading, now: float) -> None:
        kwh = reading.energy_kwh
        if kwh is None:
            return
        if self.last_kwh is not None and kwh < self.last_kwh - 1e-6:
            if not self.session_counter:
                return  # a total counter that went back: a glitch, ignored
            self.base_kwh += self.last_kwh
        self.last_kwh = kwh
        self.total_kwh = self.base_kwh + kwh
        if not reading.connected:
            self.session_start_kwh = None
        elif self.session_start_kwh is None:
            self.session_start_kwh = self.total_kwh

    def session_kwh(self) -> float | None:
        if self.session_counter:
            return self.last_kwh
        if self.total_kwh is None or self.session_start_kwh is None:
            return None
        return self.total_kwh - self.session_start_kwh


@dataclass(slots=True)
class SocketState:
    """What we know of one socket (changed only by its charger's task and by
    the commands handed to it)."""

    reading: SocketReading | None = None
    read_at: float | None = None
    held: Held | None = None
    """The limit it confirmed on this connection (read back after our write)."""
    wanted: float | None = None
    """The latest limit handed to it, not written yet (later ones replace it)."""
    sent: float | None = None
    """The highest limit handed to it and not yet confirmed."""
    sent_at: float | None = None
    disobeys: float | None = None
    """It reads back more than it confirmed (someone else sets it)."""
    failsafe_a: float | None = None
    """Its failsafe as read back at connect."""
    arrived_s: float | None = None
    energy: EnergyCounter = field(default_factory=EnergyCounter)

    def connected(
        self, reading: SocketReading, failsafe_a: float | None, now: float
    ) -> None:
        """A new connection: its failsafe was programmed and its limit set."""
        self.failsafe_a = failsafe_a
        self.held = Held(reading.limit_a, now)
        self.disobeys = None
        self.polled(reading, now)

    def polled(self, reading: SocketReading, now: float) -> bool:
        """A poll; True if what it does changed (a cycle is worth running)."""
        before = self.reading
        self.reading, self.read_at = reading, now
        held = self.held
        if held is not None and reading.limit_a > held.amps + EPS:
            self.disobeys = reading.limit_a
        else:
            self.disobeys = None
            if held is not None and reading.limit_a < held.amps - EPS:
                self.held = Held(reading.limit_a, held.at)
        if reading.connected and (before is None or not before.connected):
            self.arrived_s = now
        self.energy.update(reading, now)
        return before is None or (before.connected, before.charging) != (
            reading.connected,
            reading.charging,
        )

    def commanded(self, amps: float, now: float) -> None:
        """A limit handed over to be written (coalesced with any still waiting)."""
        self.wanted = amps
        if self.sent is None:
            self.sent_at = now
        self.sent = amps if self.sent is None else max(self.sent, amps)

    def written(self, amps: float, read_back: float, now: float) -> None:
        """``amps`` was written and ``read_back`` read: its confirmation."""
        if read_back <= amps + EPS:
            self.held = Held(read_back, now)
            self.disobeys = None
        else:
            self.disobeys = read_back
        if self.wanted is None:
            self.sent = self.sent_at = None

    def may_apply(self, config_failsafe_a: float, rating_a: float) -> float:
        """The most it may apply now, as far as we can tell: never read, its
        limit may be anything up to its ``rating_a`` (left by a run before)."""
        values = [self.failsafe(config_failsafe_a)]
        if self.reading is None:
            values.append(rating_a)
        if self.held is not None:
            values.append(self.held.amps)
        if self.reading is not None:
            values.append(self.reading.limit_a)
        values += [v for v in (self.sent, self.disobeys) if v is not None]
        return max(values)

    def failsafe(self, config_failsafe_a: float) -> float:
        """What it falls back to (the higher of configured and read back)."""
        return max(config_failsafe_a, self.failsafe_a or 0.0)


def is_online(config: ModbusChargerConfig, state: SocketState, now: float) -> bool:
    """Whether the source vouches for the socket now (see the module's doc)."""
    stale = config.stale_after_s
    return (
        state.reading is not None
        and state.read_at is not None
        and now - state.read_at <= stale
        and state.disobeys is None
        and (state.sent_at is None or now - state.sent_at <= stale)
    )


def held_of(state: SocketState) -> Held | None:
    """What it holds from us (None: its limit lapsed, or nothing yet).

    A higher limit handed to it and not yet confirmed may land any moment (a
    write under way, on a slow link): until it is read back, the socket is
    taken to hold it, so a lower limit sent meanwhile is not taken as
    confirmed by the older, lower read-back (the others' increases wait)."""
    if state.reading is not None and not state.reading.valid:
        return None
    held = state.held
    if held is not None and state.sent is not None and state.sent > held.amps + EPS:
        return Held(state.sent, held.at)
    return held


def socket_steps(config: ModbusChargerConfig, state: SocketState) -> PortSteps:
    """How the socket takes a limit."""
    cmap = config.map
    return PortSteps(
        charger=config.subentry_id,
        unit="A",
        step=cmap.limit.step_a,
        minimum_a=cmap.limit.minimum_a,
        refresh_s=cmap.refresh_s,
        # A limit kept alive by writing it again lapses to the failsafe after
        # the charger's validity time.
        lapse_s=config.timeout_s if cmap.keep_alive.how == "limit" else None,
        budget=None if cmap.budget is None else WriteBudget(*cmap.budget),
        failsafe_a=state.failsafe(config.failsafe_a),
    )


def max_a_of(config: ModbusChargerConfig) -> float:
    """The most the socket may be given (its rating and the charger's)."""
    return min(config.max_current_a, config.map.limit.maximum_a)


def socket_port(
    config: ModbusChargerConfig, socket: int, state: SocketState, now: float
) -> Port:
    """One socket as the allocator sees it."""
    online = is_online(config, state, now)
    ev: Vehicle | None = None
    reading = state.reading
    if online and reading is not None and reading.connected:
        measured = [a for a in reading.currents_a if a > CHARGING_THRESHOLD_A]
        # What it was offered is what it confirmed (not a raise under way).
        held = state.held if reading.valid else None
        ev = Vehicle(
            phases=len(measured) or len(CONNECTIONS[config.connection].legs),
            max_a=max_a_of(config),
            draw_a=max(reading.currents_a) if reading.currents_a else None,
            offered_a=None if held is None else held.amps,
            arrived_s=state.arrived_s or now,
        )
    return Port(
        id=config.port_id(socket),
        group=config.group,
        connection=config.connection,
        max_a=max_a_of(config),
        online=online,
        failsafe_a=state.may_apply(config.failsafe_a, max_a_of(config)),
        ev=ev,
    )


def modbus_readings(
    chargers: Iterable[ModbusChargerConfig],
    states: Mapping[str, SocketState],
    now: float,
) -> PortReadings:
    """Every socket of ``chargers`` at ``now``."""
    ports: list[Port] = []
    steps: dict[str, PortSteps] = {}
    held: dict[str, Held | None] = {}
    failsafe: dict[str, float] = {}
    currents: dict[str, tuple[float, ...]] = {}
    energy: dict[str, float] = {}
    for config in chargers:
        for socket in range(1, config.sockets + 1):
            pid = config.port_id(socket)
            state = states.get(pid) or SocketState()
            ports.append(socket_port(config, socket, state, now))
            steps[pid] = socket_steps(config, state)
            held[pid] = held_of(state)
            failsafe[pid] = state.failsafe(config.failsafe_a)
            if state.reading is not None and is_online(config, state, now):
                currents[pid] = state.reading.currents_a
            if (kwh := state.energy.session_kwh()) is not None:
                energy[pid] = kwh
    return PortReadings(tuple(ports), steps, held, failsafe, currents, energy)


def socket_state(
    config: ModbusChargerConfig, state: SocketState, now: float
) -> PortState:
    """What the socket's entities show."""
    reading = state.reading
    if reading is None or not is_online(config, state, now):
        return "unavailable"
    if reading.charging:
        return "charging"
    if reading.connected:
        held = held_of(state)
        return "off" if held is not None and held.amps == 0.0 else "connected"
    return "idle"


def too_slow(
    chargers: Iterable[ModbusChargerConfig],
    sheds: Mapping[str, float],
    interval_s: float,
) -> dict[str, tuple[str, float]]:
    """Chargers that may fall back to their failsafe before the site's slowest
    load has shed: by subentry id, that load's name and how long it takes.

    ``sheds``: every load that takes long to lower what it draws (a vendor
    cloud's latency, an outlet's relay), by name, in seconds. The site notices a
    silent charger at its next cycle and the lowered limits go out in the one
    after, so a load has ``margin_s - 2 × interval_s`` to shed. A charger whose
    failsafe is 0 A only ever falls to less: it is never too fast."""
    if not sheds:
        return {}
    name, slowest = max(sheds.items(), key=lambda item: item[1])
    return {
        config.subentry_id: (name, slowest)
        for config in chargers
        if config.failsafe_a > 0.0 and slowest + 2 * interval_s > config.margin_s
    }

"""Smart outlets as on/off ports: how one is counted, when it may switch, its energy.

An outlet is a switch, optionally with a power and an energy sensor, and a
nominal current per phase on one connection. To the allocator it is a port
whose own minimum is its whole current (``Port.min_a = max_a``): it gets all of
it or 0, and takes turns with the others in the allocator's rotation. No Home
Assistant imports: the source (``outlets.py``) screens the entities' states
into an :class:`OutletSample` and carries out what is decided here.

How an outlet is counted (:func:`outlet_reading`):

* **Known off**: online, drawing nothing; it asks for its nominal current,
  except within its minimum off-time (then it does not ask: no vehicle).
* **Known on**: online at its *whole current*, the larger of its nominal and
  what its power sensor measures (nothing on an outlet limits what the load
  draws, so a measurement below the nominal never lowers what it is counted
  at, and one above it raises it); within its minimum on-time it is pinned
  (served first: a rotation or a newcomer cannot switch it off, a limit it no
  longer fits under can, at once).
* **Unknown** (the switch unavailable, unknown, missing), **disobeying**
  (asked off ``CONFIRM_S`` ago and still on), or off while its power sensor
  sees a load drawing (a stuck relay): offline, counted at its nominal or the
  current measured (now, or last while on), if higher.

A power sensor that is unavailable (or reads nonsense) while the switch answers
does not take the outlet offline: it is counted at its nominal or the last
current measured while it was on, if higher, exactly what it would be counted
at offline, and it can still be switched off when the limit drops.

Energy per outlet (:class:`EnergyCounter`): its energy sensor if it has one
(never decreasing: a reset is added on), else integrated from its power
(trapezoids; a gap over ``MAX_GAP_S`` is not integrated), else from its nominal
power while it is known on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math

from .commands import Held, PortSteps, WriteBudget
from .model import CONNECTIONS, Port, Supply, Vehicle
from .ports import PortState, port_text

MOST_A = 80.0
"""A measured current above this (per phase) is a fault, not a measurement."""
CONFIRM_S = 30.0
"""An outlet asked off that still reports on this long after disobeys."""
RETRY_S = 30.0
"""An outlet's switch is asked the same thing at most this often."""
MAX_GAP_S = 180.0
"""Power samples further apart than this are not integrated (energy)."""
DRAWING_A = 0.5
"""An outlet measured drawing more than this is charging."""
RESET_SHARE = 0.9
"""An energy sensor dropping below this share of its last value was reset;
a smaller drop is noise and is ignored (as Home Assistant's statistics do)."""
BUDGET = WriteBudget(writes=4, window_s=60.0)
"""At most this many switchings (on, or a re-sent on) per outlet: relays wear.
Decreases (off) always go out."""


@dataclass(frozen=True, slots=True)
class OutletConfig:
    """An outlet as its subentry configures it."""

    id: str
    """The subentry's id: the port is ``PortId(id, 1)``."""
    name: str
    group: str
    connection: str
    switch: str
    """The switch entity."""
    nominal_a: float
    """The most its load draws, per phase."""
    power_entity: str | None = None
    energy_entity: str | None = None
    min_on_s: float = 300.0
    min_off_s: float = 300.0

    @property
    def port_id(self) -> str:
        """Its one port."""
        return port_text(self.id, 1)

    def watts_per_amp(self, supply: Supply) -> float:
        """Its power per ampere (per phase) on its connection."""
        conn = CONNECTIONS[self.connection]
        return supply.watts_per_amp(conn, conn.legs)


@dataclass(frozen=True, slots=True)
class OutletSample:
    """What Home Assistant shows of an outlet at one moment, screened."""

    on: bool | None
    """The switch: on, off, or None (unavailable, unknown, missing)."""
    changed_at: float = 0.0
    """When the switch last changed state (its state's ``last_changed``)."""
    power_w: float | None = None
    """Its power sensor's reading (None: none usable)."""
    energy_kwh: float | None = None
    """Its energy sensor's reading (None: none usable)."""


@dataclass(frozen=True, slots=True)
class Asked:
    """What the outlet's switch was last asked, and when."""

    on: bool
    at: float


@dataclass(slots=True)
class EnergyCounter:
    """An outlet's energy, never decreasing (kWh since it is counted)."""

    total_kwh: float | None = None
    last_sensor_kwh: float | None = None
    offset_kwh: float = 0.0
    """What the energy sensor showed before its resets."""
    last_power: tuple[float, float] | None = None
    """The last power sample (when, W) integrated from."""

    def sensor(self, kwh: float) -> None:
        """A reading of its energy sensor."""
        last = self.last_sensor_kwh
        if last is not None and kwh < last:
            if kwh >= RESET_SHARE * last:
                return  # noise
            self.offset_kwh += last
        self.last_sensor_kwh = kwh
        self._reach(self.offset_kwh + kwh)

    def power(self, watts: float | None, now: float) -> None:
        """A power sample (None: no usable one: a gap)."""
        if watts is None:
            self.last_power = None
            return
        last, self.last_power = self.last_power, (now, watts)
        if self.total_kwh is None:
            self.total_kwh = 0.0
        if last is None or not 0.0 < now - last[0] <= MAX_GAP_S:
            return
        self._reach(self.total_kwh + (last[1] + watts) / 2.0 * (now - last[0]) / 3.6e6)

    def _reach(self, kwh: float) -> None:
        if math.isfinite(kwh) and (self.total_kwh is None or kwh > self.total_kwh):
            self.total_kwh = kwh


@dataclass(slots=True)
class OutletMemory:
    """What is kept of an outlet between cycles (updated by :func:`observe`)."""

    recent_a: float | None = None
    """The last current measured while it was on (None: off, or none)."""
    asked: Asked | None = None
    asked_on_at: float | None = None
    """When it was last asked on: within ``CONFIRM_S`` it may switch on, even if
    it was asked off since (the two may cross)."""
    asked_off_at: float | None = None
    """When it was first asked off since it was last asked on (asking again
    does not move it)."""
    energy: EnergyCounter = field(default_factory=EnergyCounter)
    session_from_kwh: float | None = None
    """Its energy when it was last switched on."""
    was_on: bool = False


@dataclass(frozen=True, slots=True)
class OutletReading:
    """One outlet as the cycle counts it."""

    port: Port
    steps: PortSteps
    held: Held | None
    """What it holds: its whole current while on, 0 while off; None: unknown."""
    measured_a: float | None
    """What it measures (A per phase), if it can tell."""


def measured_a(
    config: OutletConfig, supply: Supply, power_w: float | None
) -> float | None:
    """The current its power reading is (None: none, or not plausible)."""
    if power_w is None or not math.isfinite(power_w) or power_w < 0:
        return None
    amps = power_w / config.watts_per_amp(supply)
    return amps if amps <= MOST_A else None


def disobeys(sample: OutletSample, memory: OutletMemory, now: float) -> bool:
    """Asked off ``CONFIRM_S`` ago or more (and not on since), and still on."""
    asked, since = memory.asked, memory.asked_off_at
    return (
        sample.on is True
        and asked is not None
        and not asked.on
        and since is not None
        and now - since >= CONFIRM_S
    )


def outlet_reading(
    config: OutletConfig,
    supply: Supply,
    sample: OutletSample,
    memory: OutletMemory,
    now: float,
) -> OutletReading:
    """An outlet at ``now`` (see the module's docstring); changes nothing."""
    amps = measured_a(config, supply, sample.power_w)
    last = amps if amps is not None else memory.recent_a
    whole = max(config.nominal_a, last or 0.0)
    steps = PortSteps(
        step=config.nominal_a,
        minimum_a=config.nominal_a,
        watts_per_amp=config.watts_per_amp(supply),
        budget=BUDGET,
        failsafe_a=whole,
    )
    if _unsure(sample, amps, memory, now):
        port = Port(
            id=config.port_id,
            group=config.group,
            connection=config.connection,
            max_a=whole,
            online=False,
            failsafe_a=whole,
        )
        return OutletReading(port, steps, None, amps)
    if not sample.on:
        whole = config.nominal_a
        if amps is None:
            amps = 0.0  # known off: it draws nothing
    since = now - sample.changed_at
    resting = not sample.on and since < config.min_off_s
    port = Port(
        id=config.port_id,
        group=config.group,
        connection=config.connection,
        max_a=whole,
        min_a=whole,
        failsafe_a=steps.failsafe_a,
        pinned=bool(sample.on) and since < config.min_on_s,
        ev=None
        if resting
        else Vehicle(phases=len(CONNECTIONS[config.connection].legs), max_a=whole),
    )
    held = Held(
        steps.whole(whole) if sample.on or may_switch_on(memory, now) else 0.0,
        sample.changed_at,
    )
    return OutletReading(port, steps, held, amps)


def may_switch_on(memory: OutletMemory, now: float) -> bool:
    """Whether it was asked on less than ``CONFIRM_S`` ago: a relay acts within
    that of being asked, or not at all, so until then an outlet that shows off
    holds its whole current (a decrease to 0 is not confirmed)."""
    return memory.asked_on_at is not None and now - memory.asked_on_at < CONFIRM_S


def _unsure(
    sample: OutletSample, amps: float | None, memory: OutletMemory, now: float
) -> bool:
    """Whether an outlet may draw what it cannot be counted at online: its
    switch cannot tell, ignores being switched off, or is off but its power
    sensor sees a load drawing."""
    if sample.on is None or disobeys(sample, memory, now):
        return True
    return sample.on is False and amps is not None and amps > DRAWING_A


def observe(
    config: OutletConfig,
    supply: Supply,
    sample: OutletSample,
    memory: OutletMemory,
    now: float,
) -> None:
    """Keep what is needed of a sample: the current last measured while on,
    the energy, when a session began (once per cycle)."""
    amps = measured_a(config, supply, sample.power_w)
    if sample.on is False:
        memory.recent_a = None
    elif sample.on and amps is not None:
        memory.recent_a = amps
    counter = memory.energy
    if config.energy_entity is not None:
        if sample.energy_kwh is not None and sample.energy_kwh >= 0:
            counter.sensor(sample.energy_kwh)
    elif config.power_entity is not None:
        counter.power(None if amps is None else sample.power_w, now)
    elif sample.on is None:
        counter.power(None, now)
    else:
        watts = config.nominal_a * config.watts_per_amp(supply) if sample.on else 0.0
        counter.power(watts, now)
    if sample.on and not memory.was_on:
        memory.session_from_kwh = counter.total_kwh
    if sample.on is not None:
        memory.was_on = sample.on


def session_kwh(memory: OutletMemory) -> float | None:
    """The energy since it was last switched on (None: not known)."""
    total, start = memory.energy.total_kwh, memory.session_from_kwh
    if total is None:
        return None
    return max(0.0, total - (start if start is not None else total))


def port_state(reading: OutletReading, has_power: bool) -> PortState:
    """What an outlet is doing, as far as it can tell."""
    if not reading.port.online:
        return "unavailable"
    if reading.held is None or reading.held.amps == 0.0:
        return "off"
    if not has_power or (reading.measured_a or 0.0) > DRAWING_A:
        return "charging"
    return "connected"


def switch_to(
    wanted_on: bool, sample: OutletSample, memory: OutletMemory, now: float
) -> bool:
    """Whether to ask the switch for ``wanted_on`` now: it is not in that state
    (or cannot tell), and it was not asked the same within ``RETRY_S``; or it
    is wanted off and was asked on since its last off (it may still switch on:
    the off is sent after it)."""
    asked = memory.asked
    if not wanted_on and asked is not None and asked.on and may_switch_on(memory, now):
        return True
    if sample.on is wanted_on:
        return False
    return asked is None or asked.on is not wanted_on or now - asked.at >= RETRY_S


def switch_for(
    commands: Mapping[str, float],
    port_id: str,
    sample: OutletSample,
    memory: OutletMemory,
    now: float,
) -> bool | None:
    """What to ask an outlet's switch now, from the cycle's ``commands`` (on:
    more than 0 A); one not commanded (offline) that ignored being switched
    off is asked off again. None: nothing to ask (see :func:`switch_to`)."""
    if port_id in commands:
        wanted = commands[port_id] > 0.0
    elif sample.on and memory.asked is not None and not memory.asked.on:
        wanted = False  # offline: it ignored being switched off
    else:
        return None
    return wanted if switch_to(wanted, sample, memory, now) else None


def asked_to(memory: OutletMemory, wanted_on: bool, now: float) -> None:
    """Note that the switch was asked for ``wanted_on`` at ``now``."""
    if wanted_on:
        memory.asked_on_at = now
        memory.asked_off_at = None
    elif memory.asked is None or memory.asked.on or memory.asked_off_at is None:
        memory.asked_off_at = now
    memory.asked = Asked(wanted_on, now)

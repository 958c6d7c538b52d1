"""The port source of chargers already in Home Assistant (through their maker's
integration): it reads their entities' states, and writes limits with
``number.set_value`` or their profile's service action, and their pause switch.

What a port is counted at, how it takes limits and what to write is
``ha_charger_logic`` (free of Home Assistant); this only turns states into
observations and runs the writes. A write never blocks the cycle: each runs as
a task, one at a time per charger, with a timeout; a failure is logged and
counted, never raised (the charger is counted at what it may still hold until
its entity shows the limit, and the limit is written again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import logging
import time

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import async_track_state_change_event

from .core.commands import Command, Commands, Held, PortSteps
from .core.model import Port
from .core.ports import PortReadings, PortState
from .ha_charger_logic import (
    Counted,
    HaCharger,
    LimitScale,
    Observation,
    Track,
    Write,
    accumulate,
    coalesced,
    count,
    finite,
    measured_a,
    observe,
    port,
    resend_due,
    restarted,
    settled,
    steps,
    worth_writing,
    write_for,
    wrote,
)
from .ha_profiles import (
    ROLE_CURRENTS,
    ROLE_ENERGY,
    ROLE_LIMIT,
    ROLE_PAUSE,
    ROLE_PLUGGED,
    ROLE_POWER,
)
from .sensor_values import CURRENT, POWER, Quantity, sensor_value

_LOGGER = logging.getLogger(__name__)
CALL_TIMEOUT_S = 20.0
"""A service call that has not returned by then is given up (and counted)."""
ENERGY = Quantity({"kWh": 1.0, "Wh": 0.001, "MWh": 1000.0}, 1e9)
_SCALES: dict[str | None, tuple[str, float]] = {
    None: ("A", 1.0),
    "A": ("A", 1.0),
    "W": ("W", 1.0),
    "kW": ("W", 1000.0),
}

type DisobeysCallback = Callable[[HaCharger, bool], None]


def _now() -> float:
    # Looked up at each call (a test's frozen clock replaces time.time).
    return time.time()


def _number(value: object) -> float | None:
    try:
        return finite(float(str(value)))
    except ValueError:
        return None


def limit_scale(state: State | None, unit: str) -> LimitScale | None:
    """How a limit entity's numbers read (None: a unit that is no limit)."""
    attributes = {} if state is None else state.attributes
    found = _SCALES.get(attributes.get(ATTR_UNIT_OF_MEASUREMENT) or unit)
    if found is None:
        return None
    return LimitScale(
        unit="A" if found[0] == "A" else "W",
        factor=found[1],
        minimum=_number(attributes.get("min")),
        maximum=_number(attributes.get("max")),
        step=_number(attributes.get("step")) or None,
    )


def _on(state: State | None) -> bool | None:
    if state is None or state.state not in ("on", "off"):
        return None
    return state.state == "on"


def _age_s(state: State, now: float) -> float:
    reported = getattr(state, "last_reported", None) or state.last_updated
    return max(0.0, now - reported.timestamp())


class HaChargerSource:
    """Chargers already in Home Assistant (one port each): a port source."""

    def __init__(
        self,
        hass: HomeAssistant,
        chargers: Iterable[HaCharger],
        *,
        voltage_v: float,
        site_failsafe_a: float,
        on_change: Callable[[], None],
        on_disobeys: DisobeysCallback,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._hass = hass
        self.voltage_v = voltage_v
        self.site_failsafe_a = site_failsafe_a
        self._on_change = on_change
        self._on_disobeys = on_disobeys
        self._clock = clock or _now
        self.chargers: dict[str, HaCharger] = {}
        self._tracks: dict[str, Track] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._energy: dict[str, tuple[float, float]] = {}
        """Per port: its energy sensor's last reading, and the total so far."""
        self.failures: dict[str, int] = {}
        """Writes that failed or timed out, per port (since the start)."""
        self._unsub: CALLBACK_TYPE | None = None
        self.update_chargers(chargers)
        now = self._clock()
        self._tracks = {pid: restarted(c, now) for pid, c in self.chargers.items()}

    # -- configuration -----------------------------------------------------

    def update_chargers(self, chargers: Iterable[HaCharger]) -> None:
        """New chargers (what is known of those kept stays)."""
        before, self.chargers = self.chargers, {c.port_id: c for c in chargers}
        for pid in [p for p in self._tracks if p not in self.chargers]:
            self._energy.pop(pid, None)
            if self._tracks.pop(pid).disobeys:
                self._on_disobeys(before[pid], False)
        if self._unsub is not None:
            self.async_start()

    def port_ids(self) -> list[str]:
        """Every port this source serves."""
        return list(self.chargers)

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Ask for a cycle whenever one of the chargers' entities changes;
        returns what stops that."""
        self.async_stop()
        entity_ids = sorted(
            {e for c in self.chargers.values() for e in c.entities.values()}
        )
        if entity_ids:

            @callback
            def changed(_event: Event[EventStateChangedData]) -> None:
                self._on_change()

            self._unsub = async_track_state_change_event(
                self._hass, entity_ids, changed
            )
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Stop listening to the chargers' entities."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    # -- what the entities show --------------------------------------------

    def observation(self, charger: HaCharger, now: float) -> Observation:
        """The charger's entities now, screened."""
        states = self._hass.states
        entities = charger.entities
        limit_state = states.get(entities.get(ROLE_LIMIT, ""))
        scale = limit_scale(limit_state, charger.profile.unit)
        limit = None
        if limit_state is not None and scale is not None:
            limit = _number(limit_state.state)
        currents = [
            sensor_value(states.get(entities[role]), CURRENT)
            for role in ROLE_CURRENTS
            if role in entities
        ]
        power = entities.get(ROLE_POWER)
        energy = entities.get(ROLE_ENERGY)
        return Observation(
            limit=limit,
            scale=scale or LimitScale(),
            limit_age_s=None if limit_state is None else _age_s(limit_state, now),
            currents_a=tuple(a for a in currents if a is not None and a >= 0.0),
            power_w=None
            if power is None
            else finite(sensor_value(states.get(power), POWER)),
            switch_on=_on(states.get(entities.get(ROLE_PAUSE, ""))),
            plugged=_on(states.get(entities.get(ROLE_PLUGGED, ""))),
            energy_kwh=None
            if energy is None
            else finite(sensor_value(states.get(energy), ENERGY)),
        )

    def _counted(self, pid: str, now: float) -> tuple[Counted, Observation]:
        charger = self.chargers[pid]
        obs = self.observation(charger, now)
        track = self._tracks.get(pid, Track())
        return count(charger, obs, track, now, self.voltage_v), obs

    def readings(self, now: float) -> PortReadings:
        """Every charger's port, as its entities show it at ``now``."""
        ports: list[Port] = []
        port_steps: dict[str, PortSteps] = {}
        held: dict[str, Held | None] = {}
        failsafe: dict[str, float] = {}
        currents: dict[str, tuple[float, ...]] = {}
        for pid, charger in self.chargers.items():
            counted, obs = self._counted(pid, now)
            ports.append(port(charger, counted, obs))
            port_steps[pid] = steps(charger, obs.scale, self.voltage_v, charger.rated_a)
            held[pid] = counted.held
            failsafe[pid] = min(self.site_failsafe_a, charger.rated_a)
            if obs.currents_a:
                currents[pid] = obs.currents_a
        return PortReadings(tuple(ports), port_steps, held, failsafe, currents)

    # -- PortStatus ----------------------------------------------------------

    def subentry_ports(self, subentry_id: str) -> list[str]:
        """The port of one subentry (none where it is not one of these)."""
        return [p for p, c in self.chargers.items() if c.subentry_id == subentry_id]

    def port_state(self, port_id: str) -> PortState:
        """What the port is doing, as far as its entities tell."""
        if port_id not in self.chargers:
            return "unavailable"
        counted, _ = self._counted(port_id, self._clock())
        return counted.state

    def energy_kwh(self, port_id: str) -> float | None:
        """The charger's energy, never decreasing (its sensor may be a
        session's: each new session adds on); None: not read yet."""
        total = self._energy.get(port_id)
        return None if total is None else total[1]

    def port_name(self, port_id: str) -> str:
        """The charger's name (its subentry's title)."""
        charger = self.chargers.get(port_id)
        return port_id if charger is None else charger.name

    def disobeys(self, port_id: str) -> bool:
        """Whether the charger is flagged for not following its limit."""
        track = self._tracks.get(port_id)
        return track is not None and track.disobeys

    # -- writing -------------------------------------------------------------

    async def async_apply(self, commands: Commands) -> None:
        """Note what each charger shows (flagging one that does not follow),
        then send the writes due (decreases first) and again any lowered limit
        that does not show yet. Returns at once: the writes run as tasks."""
        now = self._clock()
        for pid, charger in self.chargers.items():
            self._observe(pid, charger, now)
        sent: set[str] = set()
        for command in commands.writes:
            if command.port in self.chargers and self._send(command, now):
                sent.add(command.port)
        for pid, charger in self.chargers.items():
            if pid not in sent:
                self._resend(pid, charger, now)

    def _observe(self, pid: str, charger: HaCharger, now: float) -> None:
        obs = self.observation(charger, now)
        before = self._tracks.get(pid, Track())
        after = observe(charger, obs, before, now, self.voltage_v)
        self._tracks[pid] = after
        energy = accumulate(self._energy.get(pid), obs.energy_kwh)
        if energy is not None:
            self._energy[pid] = energy
        if after.disobeys != before.disobeys:
            _LOGGER.warning(
                "%s %s its limit",
                charger.name,
                "ignores" if after.disobeys else "follows",
            )
            self._on_disobeys(charger, after.disobeys)

    def _send(self, command: Command, now: float) -> bool:
        """Write one command, unless it is on its way already or not worth it."""
        charger = self.chargers[command.port]
        if charger.profile.read_only:
            return False
        counted, obs = self._counted(command.port, now)
        track = self._tracks.get(command.port, Track())
        if coalesced(track, command.amps, now, charger.latency_s) or not worth_writing(
            charger, command.amps, counted.holds_a, command.decrease
        ):
            return False
        self._write(charger, command.amps, command.value, obs, now)
        return True

    def _resend(self, pid: str, charger: HaCharger, now: float) -> None:
        counted, obs = self._counted(pid, now)
        track = self._tracks.get(pid, Track())
        if track.written is None or not resend_due(
            track, counted.holds_a, now, charger.latency_s
        ):
            return
        amps = track.written.amps
        value = steps(charger, obs.scale, self.voltage_v, charger.rated_a).value(amps)
        self._write(charger, amps, value, obs, now)

    def _write(
        self,
        charger: HaCharger,
        amps: float,
        value: float,
        obs: Observation,
        now: float,
    ) -> None:
        pid = charger.port_id
        draw, from_phases = measured_a(charger, obs, self.voltage_v)
        track = self._tracks.get(pid, Track())
        self._tracks[pid] = wrote(
            track, amps, now, draw if from_phases else None, charger.latency_s
        )
        write = write_for(charger, amps, value, obs)
        self._hass.async_create_task(
            self._async_write(charger, write, amps, now), f"ev_power_share limit {pid}"
        )

    async def _async_write(
        self, charger: HaCharger, write: Write, amps: float, sent_at: float
    ) -> None:
        """Send one limit (the value, then the pause switch), after the
        charger's write before it; a failure is logged and counted. On the LAN
        a write whose calls returned has arrived."""
        pid = charger.port_id
        lock = self._locks.setdefault(pid, asyncio.Lock())
        async with lock:
            try:
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    for domain, service, data in _calls(charger, write):
                        await self._hass.services.async_call(
                            domain, service, data, blocking=True
                        )
                if charger.link == "local" and pid in self._tracks:
                    self._tracks[pid] = settled(self._tracks[pid], amps, sent_at)
            except Exception as err:  # noqa: BLE001 - one charger never stops the others
                self.failures[pid] = self.failures.get(pid, 0) + 1
                _LOGGER.warning("Could not set the limit of %s: %r", charger.name, err)


def _calls(
    charger: HaCharger, write: Write
) -> list[tuple[str, str, dict[str, object]]]:
    """The service calls of one write: the limit, then the pause switch."""
    calls: list[tuple[str, str, dict[str, object]]] = []
    if write.value is not None:
        service = charger.profile.service
        if service is not None:
            calls.append(
                (
                    service.domain,
                    service.service,
                    dict(service.data(write.value, charger.device_id)),
                )
            )
        else:
            entity_id = charger.entities[ROLE_LIMIT]
            domain = entity_id.partition(".")[0]
            calls.append(
                (domain, "set_value", {"entity_id": entity_id, "value": write.value})
            )
    switch = charger.entities.get(ROLE_PAUSE)
    if write.switch_on is not None and switch is not None:
        turn = "turn_on" if write.switch_on else "turn_off"
        calls.append((switch.partition(".")[0], turn, {"entity_id": switch}))
    return calls

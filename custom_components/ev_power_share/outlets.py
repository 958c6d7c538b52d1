"""Smart outlets as on/off ports: the Home Assistant side (states in, switching out).

How an outlet is counted, when it may switch and its energy are decided in
:mod:`.core.outlets`; this reads the switch, power and energy states (screened
at the edge) and turns the switches on and off. A switching is a background
task with a timeout: the cycle never waits for a relay. The switch's state is
what the outlet holds (:class:`Held`: on = its whole current, off = 0).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
import logging
import time
from typing import Any

from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    UnitOfEnergy,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_state_change_event

from .core.commands import Commands, Held, PortSteps
from .core.model import Supply
from .core.outlets import (
    OutletConfig,
    OutletMemory,
    OutletReading,
    OutletSample,
    asked_to,
    observe,
    outlet_reading,
    port_state,
    session_kwh,
    switch_for,
)
from .core.ports import PortReadings, PortState, charger_of
from .sensor_values import POWER, Quantity, sensor_value

_LOGGER = logging.getLogger(__name__)
SWITCH_TIMEOUT_S = 10.0
"""How long a switching may take before it is given up (and asked again)."""
ENERGY = Quantity(
    {
        UnitOfEnergy.WATT_HOUR: 0.001,
        UnitOfEnergy.KILO_WATT_HOUR: 1.0,
        UnitOfEnergy.MEGA_WATT_HOUR: 1000.0,
    },
    1e9,
)
"""An energy sensor's reading, in kWh."""

type Spawn = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]
"""Starts a background task (the entry's ``async_create_background_task``)."""


def outlet_sample(hass: HomeAssistant, outlet: OutletConfig) -> OutletSample:
    """What Home Assistant shows of an outlet now, screened."""
    switch = hass.states.get(outlet.switch)
    on: bool | None = None
    changed_at = 0.0
    if switch is not None and switch.state in (STATE_ON, STATE_OFF):
        on = switch.state == STATE_ON
        changed_at = switch.last_changed.timestamp()
    return OutletSample(
        on=on,
        changed_at=changed_at,
        power_w=_value(hass, outlet.power_entity, POWER),
        energy_kwh=_value(hass, outlet.energy_entity, ENERGY),
    )


def _value(
    hass: HomeAssistant, entity_id: str | None, quantity: Quantity
) -> float | None:
    if entity_id is None:
        return None
    return sensor_value(hass.states.get(entity_id), quantity)


def _now() -> float:
    """The time now (looked up at each call: a test's frozen clock too)."""
    return time.time()


class OutletSource:
    """The site's smart outlets: a port source (``core.ports.PortSource``) and
    what their entities show (``core.ports.PortStatus``)."""

    def __init__(
        self,
        hass: HomeAssistant,
        outlets: Iterable[OutletConfig],
        supply: Supply,
        *,
        on_change: Callable[[], None],
        spawn: Spawn,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._hass = hass
        self.supply = supply
        self._on_change = on_change
        self._spawn = spawn
        self._clock = clock or _now
        self.outlets: dict[str, OutletConfig] = {}
        self._memory: dict[str, OutletMemory] = {}
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._unsub: Callable[[], None] | None = None
        self.update_outlets(outlets)

    # -- configuration ------------------------------------------------------

    def update_outlets(self, outlets: Iterable[OutletConfig]) -> None:
        """The outlets as configured now (an outlet kept keeps its memory); one
        removed is switched off (nothing counts it any more)."""
        before, self.outlets = self.outlets, {o.port_id: o for o in outlets}
        now = self._clock()
        for pid, gone in before.items():
            if pid not in self.outlets and self._maybe_on(gone):
                self._switch(pid, gone, False, now)
        self._memory = {
            pid: self._memory.get(pid) or OutletMemory() for pid in self.outlets
        }
        if self._unsub is not None:
            self._listen()

    def port_ids(self) -> list[str]:
        """Every outlet's port."""
        return list(self.outlets)

    @callback
    def async_start(self) -> None:
        """Ask for a cycle whenever an outlet's switch or sensors change."""
        self._listen()

    @callback
    def async_stop(self) -> None:
        """Stop listening."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    def _listen(self) -> None:
        self.async_stop()
        entities = {
            entity
            for o in self.outlets.values()
            for entity in (o.switch, o.power_entity)
            if entity is not None
        }
        self._unsub = async_track_state_change_event(
            self._hass, sorted(entities), self._changed
        )

    @callback
    def _changed(self, _event: Event[EventStateChangedData]) -> None:
        self._on_change()

    # -- the cycle ------------------------------------------------------------

    def _reading(self, pid: str, now: float) -> tuple[OutletReading, OutletSample]:
        outlet = self.outlets[pid]
        sample = outlet_sample(self._hass, outlet)
        memory = self._memory[pid]
        return outlet_reading(outlet, self.supply, sample, memory, now), sample

    def readings(self, now: float) -> PortReadings:
        """Every outlet at ``now``; reading changes nothing."""
        ports = []
        steps: dict[str, PortSteps] = {}
        held: dict[str, Held | None] = {}
        currents: dict[str, tuple[float, ...]] = {}
        energy: dict[str, float] = {}
        for pid in self.outlets:
            reading, _sample = self._reading(pid, now)
            ports.append(reading.port)
            steps[pid] = reading.steps
            held[pid] = reading.held
            if reading.measured_a is not None:
                legs = len(reading.port.conn.legs)
                currents[pid] = (reading.measured_a,) * legs
            if (kwh := session_kwh(self._memory[pid])) is not None:
                energy[pid] = kwh
        # An outlet has no failsafe current: when the load is not known, off.
        failsafe = dict.fromkeys(self.outlets, 0.0)
        return PortReadings(tuple(ports), steps, held, failsafe, currents, energy)

    async def async_apply(self, commands: Commands) -> None:
        """Switch each outlet as commanded (on: more than 0 A), in the
        background; an outlet that ignored being switched off is asked again."""
        now = self._clock()
        for pid, outlet in self.outlets.items():
            memory = self._memory[pid]
            sample = outlet_sample(self._hass, outlet)
            observe(outlet, self.supply, sample, memory, now)
            wanted = switch_for(commands, pid, sample, memory, now)
            if wanted is not None:
                self._switch(pid, outlet, wanted, now)

    def _switch(self, pid: str, outlet: OutletConfig, on: bool, now: float) -> None:
        """Ask the switch for ``on`` in the background (not twice at once)."""
        memory = self._memory.setdefault(pid, OutletMemory())
        busy = self._busy.get(pid)
        asked = memory.asked
        if (
            busy is not None
            and not busy.done()
            and asked is not None
            and asked.on == on
        ):
            return
        asked_to(memory, on, now)
        domain = outlet.switch.split(".", 1)[0]
        service = SERVICE_TURN_ON if on else SERVICE_TURN_OFF
        self._busy[pid] = self._spawn(
            self._async_call(domain, service, outlet.switch),
            f"outlet {outlet.name} {service}",
        )

    async def _async_call(self, domain: str, service: str, entity_id: str) -> None:
        try:
            async with asyncio.timeout(SWITCH_TIMEOUT_S):
                await self._hass.services.async_call(
                    domain, service, {ATTR_ENTITY_ID: entity_id}, blocking=True
                )
        except (HomeAssistantError, TimeoutError) as err:
            _LOGGER.warning("%s.%s of %s failed: %r", domain, service, entity_id, err)

    def _maybe_on(self, outlet: OutletConfig) -> bool:
        return outlet_sample(self._hass, outlet).on is not False

    async def async_close(self) -> None:
        """Switch every outlet that may be on off (an outlet's failsafe: nothing
        counts it while the site is stopped), and stop listening."""
        self.async_stop()
        offs = [
            self._async_call(o.switch.split(".", 1)[0], SERVICE_TURN_OFF, o.switch)
            for o in self.outlets.values()
            if self._maybe_on(o)
        ]
        await asyncio.gather(*offs)

    # -- what the outlets' entities show ----------------------------------------

    def port_name(self, port_id: str) -> str:
        """An outlet as the user knows it: its subentry's title."""
        outlet = self.outlets.get(port_id)
        return port_id if outlet is None else outlet.name

    def subentry_ports(self, subentry_id: str) -> list[str]:
        """The port of an outlet's subentry (none for another subentry)."""
        return [pid for pid in self.outlets if charger_of(pid) == subentry_id]

    def port_state(self, port_id: str) -> PortState:
        """What an outlet is doing, as far as it can tell."""
        outlet = self.outlets.get(port_id)
        if outlet is None:
            return "unavailable"
        reading, _sample = self._reading(port_id, self._clock())
        return port_state(reading, outlet.power_entity is not None)

    def energy_kwh(self, port_id: str) -> float | None:
        """An outlet's energy since it is counted (never decreasing)."""
        memory = self._memory.get(port_id)
        return None if memory is None else memory.energy.total_kwh

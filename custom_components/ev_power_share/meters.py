"""Meters of a site in Home Assistant: readings in, each metered group's non-EV load out.

A meter (a config subentry) measures the total current through one power group,
from sensor entities Home Assistant already has or from a Modbus TCP meter read
here. Every control cycle :meth:`SiteMeters.adjust` turns the latest readings and
the chargers' own reports into the group's non-EV load (``core.load_estimate``: raising
headroom is smoothed, lowering it acts at once, a stale meter holds then fails to
failsafe currents) and puts it into the site before it is allocated.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
from datetime import datetime
import logging
import time
from typing import Any

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, State, callback
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
)

from .core.load_estimate import (
    EvDraw,
    LoadEstimate,
    MeterConfig,
    MeterSample,
    MeterState,
    UnmanagedLoad,
    ev_draws,
    with_measurements,
)
from .core.model import Site, Supply
from .core.ports import CycleInputs, Published
from .modbus import MeterError, MeterReading, ModbusMeter
from .sensor_values import CURRENT, POWER, garbage, sensor_value

_LOGGER = logging.getLogger(__name__)
LOG_INTERVAL_S = 300.0
"""A meter's fault of one kind is logged at most once in this time."""


@dataclass(frozen=True, slots=True)
class MeterSettings:
    """A meter as its subentry stores it (the id is the subentry's)."""

    id: str
    name: str
    group: str
    source: str
    stale_s: float
    current_entities: tuple[str | None, ...] = ()
    """Per supply leg (L1, L2, L3): the current sensor, if any."""
    power_entity: str | None = None
    export_positive: bool = False
    host: str = ""
    port: int = 502
    unit: int = 1
    profile: str = "sdm630"
    poll_s: float = 2.0

    @property
    def entities(self) -> list[str]:
        """The sensor entities it reads."""
        return [e for e in (*self.current_entities, self.power_entity) if e]


def sensor_sample(
    hass: HomeAssistant,
    meter: MeterSettings,
    legs: int,
    rejected: list[State] | None = None,
) -> MeterSample | None:
    """The meter's reading from its sensors, stamped with the oldest of them.

    Currents count only when every leg that has a sensor reports; then legs
    without one are those the group does not carry (0 A). Otherwise the power
    sensor is used, if it reports. None: nothing usable. The sensors whose
    state was garbage (see :func:`garbage`) are added to ``rejected``.
    """
    if rejected is None:
        rejected = []
    stamps: list[float] = []
    currents: list[float] | None = [0.0] * legs
    configured = [(i, e) for i, e in enumerate(meter.current_entities[:legs]) if e]
    for leg, entity_id in configured:
        state = hass.states.get(entity_id)
        if state is not None and garbage(state, CURRENT):
            rejected.append(state)
        amps = sensor_value(state, CURRENT)
        if amps is None or state is None or currents is None:
            currents = None
            continue
        currents[leg] = abs(amps)
        stamps.append(state.last_reported.timestamp())
    if configured and currents is not None:
        return MeterSample(at_s=min(stamps), currents_a=tuple(currents))
    if meter.power_entity:
        state = hass.states.get(meter.power_entity)
        if state is not None and garbage(state, POWER):
            rejected.append(state)
        watts = sensor_value(state, POWER)
        if watts is not None and state is not None:
            return MeterSample(
                at_s=state.last_reported.timestamp(),
                power_w=-watts if meter.export_positive else watts,
            )
    return None


def modbus_sample(
    reading: MeterReading, phases: Sequence[int], legs: int
) -> MeterSample:
    """A Modbus reading on the group's legs (the meter's phase i on ``phases[i]``)."""
    currents = [0.0] * legs
    for i, amps in enumerate(reading.currents_a[: len(phases)]):
        currents[phases[i]] = abs(amps)
    return MeterSample(at_s=reading.timestamp.timestamp(), currents_a=tuple(currents))


class _Poller:
    """Reads one Modbus meter every ``poll_s`` in the background."""

    def __init__(self, meter: MeterSettings, on_reading: Callable[[], None]) -> None:
        self.meter = meter
        self.client = ModbusMeter(
            meter.host, meter.profile, port=meter.port, unit=meter.unit
        )
        self.reading: MeterReading | None = None
        self._on_reading = on_reading
        self._task: asyncio.Task[None] | None = None

    def start(self, hass: HomeAssistant) -> None:
        self._task = hass.async_create_background_task(
            self._run(), f"ev_power_share meter {self.meter.name}"
        )

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                self.reading = await self.client.read()
            except MeterError:
                pass  # the client logs going down and coming back; stale is judged later
            else:
                self._on_reading()
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.1, self.meter.poll_s - elapsed))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.close()


class SiteMeters:
    """The meters of a site: what each reads, and each metered group's non-EV load.

    It adjusts every cycle's site before allocation (:meth:`adjust`); the
    controller calls it exactly once per cycle.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        supply: Supply,
        group_phases: Mapping[str, Sequence[int]],
        meters: Iterable[MeterSettings],
        *,
        on_reading: Callable[[], None],
        on_problem: Callable[[MeterSettings, bool], None],
    ) -> None:
        self.hass = hass
        self.supply = supply
        self.group_phases = dict(group_phases)
        self._on_reading = on_reading
        self._on_problem = on_problem
        self.meters: dict[str, MeterSettings] = {}
        self.estimates: dict[str, LoadEstimate] = {}
        """The last estimate of each meter (by meter id)."""
        self._estimators: dict[str, UnmanagedLoad] = {}
        self._pollers: dict[str, _Poller] = {}
        self._problems: set[str] = set()
        self.rejected: Counter[str] = Counter()
        """Sensor states not used because they were garbage, by meter id."""
        self._seen: dict[str, datetime] = {}
        """When each sensor's last garbage state was reported (counted once)."""
        self._logged: dict[str, float] = {}
        self._unsub: CALLBACK_TYPE | None = None
        self._started = False
        self._pending = list(meters)

    # -- life cycle ----------------------------------------------------------

    async def async_start(self) -> None:
        """Start reading (Modbus pollers, sensor state changes)."""
        self._started = True
        await self.async_update_meters(self._pending, self.group_phases)

    async def async_stop(self) -> None:
        """Stop reading; withdraw nothing (the caller removes issues)."""
        self._started = False
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        await asyncio.gather(*(p.stop() for p in self._pollers.values()))
        self._pollers.clear()

    async def async_update_meters(
        self, meters: Iterable[MeterSettings], group_phases: Mapping[str, Sequence[int]]
    ) -> None:
        """Apply a new set of meters; unchanged ones keep their state."""
        new = {m.id: m for m in meters}
        self.group_phases = dict(group_phases)
        for mid, old in list(self.meters.items()):
            if new.get(mid) != old:
                poller = self._pollers.pop(mid, None)
                if poller is not None:
                    await poller.stop()
                self._estimators.pop(mid, None)
                self.estimates.pop(mid, None)
                if mid in self._problems:
                    self._problems.discard(mid)
                    self._on_problem(old, False)
        for mid, meter in new.items():
            if mid not in self._estimators:
                self._estimators[mid] = UnmanagedLoad(
                    self.supply, MeterConfig(timeout_s=meter.stale_s)
                )
            if meter.source == "modbus" and mid not in self._pollers and self._started:
                poller = _Poller(meter, self._on_reading)
                poller.start(self.hass)
                self._pollers[mid] = poller
        self.meters = new
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        entities = sorted({e for m in new.values() for e in m.entities})
        if entities and self._started:
            self._unsub = async_track_state_change_event(
                self.hass, entities, self._state_changed
            )

    @callback
    def _state_changed(self, _event: Event[EventStateChangedData]) -> None:
        self._on_reading()

    # -- the controller's adjustment -----------------------------------------

    def sample(self, meter: MeterSettings) -> MeterSample | None:
        """The meter's latest reading (None: none usable)."""
        legs = self.supply.legs
        if meter.source == "modbus":
            poller = self._pollers.get(meter.id)
            if poller is None or poller.reading is None:
                return None
            phases = self.group_phases.get(meter.group, tuple(range(legs)))
            return modbus_sample(poller.reading, phases, legs)
        rejected: list[State] = []
        sample = sensor_sample(self.hass, meter, legs, rejected)
        new = [s for s in rejected if self._seen.get(s.entity_id) != s.last_reported]
        if new:
            self._seen.update((s.entity_id, s.last_reported) for s in new)
            self.rejected[meter.id] += len(new)
            self._log_once(
                f"{meter.id} garbage",
                "Meter %s: %s is not a usable reading (ignored)",
                meter.name,
                ", ".join(f"{s.entity_id} = {s.state[:40]!r}" for s in new),
            )
        return sample

    def _log_once(self, kind: str, msg: str, *args: object, **kwargs: Any) -> None:
        """Log ``msg`` unless the same kind was logged in the last 5 minutes."""
        now = time.monotonic()
        if now - self._logged.get(kind, -LOG_INTERVAL_S) >= LOG_INTERVAL_S:
            self._logged[kind] = now
            _LOGGER.warning(msg, *args, **kwargs)

    def reading(self, meter_id: str) -> MeterReading | None:
        """A Modbus meter's latest reading, for its entities."""
        poller = self._pollers.get(meter_id)
        return None if poller is None else poller.reading

    def site_power_w(self, now: float) -> float | None:
        """The site meter's total power (W, import positive), if it has a fresh
        one: a Modbus meter's, or a sensor meter's power sensor."""
        meter = next((m for m in self.meters.values() if m.group == "site"), None)
        if meter is None:
            return None
        if meter.source == "modbus":
            reading = self.reading(meter.id)
            if reading is None or now - reading.timestamp.timestamp() > meter.stale_s:
                return None
            return reading.power_w
        if not meter.power_entity:
            return None
        state = self.hass.states.get(meter.power_entity)
        watts = sensor_value(state, POWER)
        if (
            watts is None
            or state is None
            or now - state.last_reported.timestamp() > meter.stale_s
        ):
            return None
        return -watts if meter.export_positive else watts

    def adjust(
        self, site: Site, inputs: CycleInputs, now: float
    ) -> tuple[Site, Published]:
        """``site`` with each metered group's non-EV load (from what its meter
        reads and what its chargers measure, ``inputs.phase_currents``), and
        failsafe caps under a failed meter."""
        if not self.meters:
            return site, Published()
        draws = ev_draws(
            site, inputs.phase_currents, {m.group for m in self.meters.values()}
        )
        by_group: dict[str, LoadEstimate] = {}
        for mid, meter in self.meters.items():
            if meter.group not in draws:
                continue  # its group is being removed
            try:
                estimate = self._estimators[mid].update(
                    self.sample(meter), draws.get(meter.group, EvDraw()), now
                )
            except Exception:  # noqa: BLE001 - one meter never stops the cycle
                # Its group's load is not known: as for a meter that failed.
                self._log_once(
                    f"{mid} error",
                    "Meter %s could not be read; the chargers under it fall back "
                    "to their failsafe current",
                    meter.name,
                    exc_info=True,
                )
                estimate = LoadEstimate(
                    (0.0,) * self.supply.legs, MeterState.FAILED, None, True
                )
            self.estimates[mid] = estimate
            by_group[meter.group] = estimate
            if estimate.problem and mid not in self._problems:
                self._problems.add(mid)
                _LOGGER.warning(
                    "Meter %s has no fresh reading: the chargers under it fall back "
                    "to their failsafe current",
                    meter.name,
                )
                self._on_problem(meter, True)
            elif not estimate.problem and mid in self._problems:
                self._problems.discard(mid)
                _LOGGER.info("Meter %s reads again", meter.name)
                self._on_problem(meter, False)
        return (
            with_measurements(site, by_group, inputs.failsafe_a),
            Published(estimates=dict(self.estimates)),
        )

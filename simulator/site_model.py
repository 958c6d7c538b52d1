"""The physics of a simulated site, without any I/O: who is plugged in where, what
each vehicle draws under the limit its charger holds, and what the site's meter
measures on each leg.

Time is scenario time: seconds from midnight of day 0 (the scenario starts at
``config.start_s``). The caller (:mod:`.site`) advances it, tells each step which
limit every port holds and whether a transaction runs on it, and turns the
arrivals and departures :meth:`SiteModel.take_events` hands out into OCPP messages.

Per leg (L1, L2, L3), signed, import positive:

    net = households on that leg + common load / legs
          − PV / (legs the inverter feeds)
          + the vehicles' draw on that leg

A vehicle using ``k`` phases on a charger connected ``L2-L3-L1`` draws on the
charger's first ``k`` phases, i.e. legs L2 (k = 1) or L2, L3, L1 (k = 3); on a
line-to-line charger (``L1-L2``, 208/240 V) its one current flows through both legs
(:meth:`Connection.active_legs`). The meter shows each leg's magnitude (a current
transformer has no sign), powers keep the sign.

Household and PV traces come from :mod:`.solar_day` (5 s steps), one seeded day per
scenario day, so every day differs and every run of a seed is the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
import random

from custom_components.ev_power_share.const import SUPPLIES
from custom_components.ev_power_share.core.model import CONNECTIONS, Supply

from .site_config import SITE, ChargerSpec, PlacedVehicle, SiteConfig
from .solar_day import STEP_S, PvConfig, load_trace, pv_trace
from .vehicles import DAY_S, Vehicle

_SAMPLES = int(DAY_S / STEP_S)


@dataclass(frozen=True, slots=True)
class SiteEvent:
    """A vehicle arrives at or leaves a port (at scenario time ``at_s``)."""

    kind: str
    """``arrive`` or ``depart``."""
    charger: str
    connector: int
    vehicle: str
    id_tag: str
    at_s: float


@dataclass(slots=True)
class PortState:
    """One charging port, as of the last step."""

    charger: ChargerSpec
    connector: int
    placed: PlacedVehicle | None = None
    vehicle: Vehicle | None = None
    leave_s: float = 0.0
    limit_a: float = 0.0
    transaction: bool = False
    currents_a: tuple[float, ...] = ()
    """Per charger phase (its own L1, L2, L3), as its meter reports them."""
    register_wh: float = 0.0
    """The charger's energy register (every session's energy)."""

    @property
    def id(self) -> str:
        """``charger/connector``."""
        return f"{self.charger.id}/{self.connector}"

    @property
    def power_w(self) -> float:
        """What the vehicle draws now."""
        return 0.0 if self.vehicle is None else self.vehicle.power_w


@dataclass(slots=True)
class _Day:
    index: int
    pv_w: tuple[float, ...] = ()
    households_w: tuple[tuple[float, ...], ...] = ()


@dataclass(slots=True)
class LegFigures:
    """Currents per leg (A, signed, import positive) of the last step."""

    base_a: list[float] = field(default_factory=list)
    pv_a: list[float] = field(default_factory=list)
    ev_a: list[float] = field(default_factory=list)

    @property
    def net_a(self) -> list[float]:
        """What flows through the site's main breaker on each leg."""
        return [
            b - p + e for b, p, e in zip(self.base_a, self.pv_a, self.ev_a, strict=True)
        ]


class SiteModel:
    """The site's state in scenario time; :meth:`advance` moves it on."""

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        choice = SUPPLIES[config.site.supply]
        self.legs = choice.legs
        self.voltage_v = choice.voltage_ln_v
        self.voltage_ll_v = Supply(choice.system, choice.voltage_ln_v).voltage_ll_v
        self.time_s = config.start_s
        self.ports: dict[str, PortState] = {}
        for charger, connector in config.ports():
            port = PortState(charger, connector)
            self.ports[port.id] = port
        self.pv_w = 0.0
        self.households_w = 0.0
        self.common_w = config.base_load.common_w
        self.legs_now = LegFigures()
        self.import_kwh = config.meter.import_kwh if config.meter else 0.0
        self.export_kwh = config.meter.export_kwh if config.meter else 0.0
        self._day: _Day | None = None
        self._events: list[SiteEvent] = []
        self._metered = self._metered_chargers()
        meter_group = config.meter.group if config.meter else SITE
        self._fixed_a = next(
            (g.fixed_load_a for g in config.groups if g.id == meter_group), 0.0
        )
        # Vehicles present when the scenario starts are plugged in at once.
        self._arrivals(self.time_s, self.time_s, present=True)
        self._measure()

    # --- time -----------------------------------------------------------------------

    def take_events(self) -> list[SiteEvent]:
        """The arrivals and departures since the last call, in time order."""
        events, self._events = self._events, []
        return events

    def advance(
        self,
        dt_s: float,
        limits_a: Mapping[str, float],
        transactions: Mapping[str, bool],
    ) -> None:
        """Move on by ``dt_s`` scenario seconds: each port holds ``limits_a[port]``
        and its vehicle charges only while ``transactions[port]`` is true."""
        if dt_s < 0 or not math.isfinite(dt_s):
            raise ValueError(f"dt_s must be a finite time, not {dt_s}")
        start, end = self.time_s, self.time_s + dt_s
        for port in self.ports.values():
            port.limit_a = float(limits_a.get(port.id, 0.0))
            port.transaction = bool(transactions.get(port.id, False))
            vehicle = port.vehicle
            if vehicle is None:
                port.currents_a = (0.0,) * port.charger.phases
                continue
            until = min(end, port.leave_s)
            before = vehicle.energy_wh
            if port.transaction:
                voltage = (
                    self.voltage_ll_v if port.charger.line_to_line else self.voltage_v
                )
                vehicle.draw(
                    port.limit_a,
                    max(0.0, until - start),
                    phases=port.charger.phases,
                    voltage_v=voltage,
                )
            else:  # contactor open: nothing flows
                vehicle.rest(max(0.0, until - start))
            port.register_wh += vehicle.energy_wh - before
            if port.leave_s <= end:
                self._depart(port)
            port.currents_a = self._charger_currents(port)
        self._arrivals(start, end, present=False)
        self.time_s = end
        self._measure()
        self._integrate_meter(dt_s)

    def _depart(self, port: PortState) -> None:
        assert port.placed is not None  # noqa: S101 - a vehicle is there
        self._events.append(
            SiteEvent(
                "depart",
                port.charger.id,
                port.connector,
                port.placed.spec.name,
                port.placed.spec.tag,
                port.leave_s,
            )
        )
        port.placed = port.vehicle = None

    def _arrivals(self, start: float, end: float, *, present: bool) -> None:
        """Vehicles arriving in ``(start, end]`` (or, ``present``: there at ``start``)."""
        found: list[tuple[float, float, PlacedVehicle]] = []
        for placed in self.config.vehicles:
            for arrive, leave in placed.spec.visits(start, end + 1e-9):
                if (present and arrive <= start < leave) or (
                    not present and start < arrive <= end
                ):
                    found.append((arrive, leave, placed))
        for arrive, leave, placed in sorted(found, key=lambda item: item[0]):
            port = self.ports[placed.port]
            if port.vehicle is not None:  # the config forbids it; be safe anyway
                self._depart(port)
            port.placed = placed
            port.leave_s = leave
            port.vehicle = Vehicle(
                placed.spec, seed=f"{self.config.seed}/{placed.spec.name}/{arrive}"
            )
            self._events.append(
                SiteEvent(
                    "arrive",
                    port.charger.id,
                    port.connector,
                    placed.spec.name,
                    placed.spec.tag,
                    max(arrive, start),
                )
            )
            if leave <= end:  # a visit shorter than the step
                self._depart(port)

    # --- electricity ----------------------------------------------------------------

    def _charger_currents(self, port: PortState) -> tuple[float, ...]:
        """The vehicle's current on each of the charger's own phases."""
        phases = port.charger.phases
        vehicle = port.vehicle
        if vehicle is None or vehicle.current_a <= 0:
            return (0.0,) * phases
        active = min(vehicle.active_phases, phases)
        return tuple(vehicle.current_a if i < active else 0.0 for i in range(phases))

    def ev_leg_currents(self, chargers: set[str] | None = None) -> list[float]:
        """The vehicles' draw on each supply leg (optionally of some chargers only)."""
        legs = [0.0] * self.legs
        for port in self.ports.values():
            vehicle = port.vehicle
            if vehicle is None or vehicle.current_a <= 0:
                continue
            if chargers is not None and port.charger.id not in chargers:
                continue
            connection = CONNECTIONS[port.charger.connection]
            for leg in connection.active_legs(vehicle.active_phases):
                legs[leg] += vehicle.current_a
        return legs

    def _day_traces(self, day: int) -> _Day:
        if self._day is not None and self._day.index == day:
            return self._day
        config, seed = self.config, self.config.seed
        solar = config.solar
        pv: tuple[float, ...] = (0.0,) * _SAMPLES
        if solar.kwp > 0:
            pv_config = PvConfig(
                kwp=solar.kwp,
                inverter_kw=solar.inverter_kw or solar.kwp,
                sunrise_h=solar.sunrise_h,
                sunset_h=solar.sunset_h,
                cloud_rate_per_h=solar.cloud_rate_per_h,
            )
            rnd = random.Random(f"{seed}/pv/{day}")  # noqa: S311 - reproducible
            pv = tuple(pv_trace(rnd, pv_config, _SAMPLES, STEP_S))
        households = tuple(
            tuple(
                load_trace(
                    random.Random(f"{seed}/household/{i}/{day}"),  # noqa: S311
                    _SAMPLES,
                    STEP_S,
                )
            )
            for i in range(config.base_load.households)
        )
        self._day = _Day(day, pv, households)
        return self._day

    def _metered_chargers(self) -> set[str] | None:
        """Chargers behind the meter (None: the whole site)."""
        meter = self.config.meter
        if meter is None or meter.group == SITE:
            return None
        below = {meter.group}
        changed = True
        while changed:
            changed = False
            for group in self.config.groups:
                if group.parent in below and group.id not in below:
                    below.add(group.id)
                    changed = True
        return {c.id for c in self.config.chargers if c.group in below}

    def _measure(self) -> None:
        """Household, PV and vehicle currents per leg at the current time."""
        day = self._day_traces(math.floor(self.time_s / DAY_S))
        index = min(_SAMPLES - 1, int((self.time_s % DAY_S) / STEP_S))
        v, legs = self.voltage_v, self.legs
        base = [self.common_w / legs / v] * legs
        self.households_w = 0.0
        for i, trace in enumerate(day.households_w):
            base[i % legs] += trace[index] / v
            self.households_w += trace[index]
        self.pv_w = day.pv_w[index]
        pv_legs = CONNECTIONS[self.config.solar.connection].legs
        pv = [0.0] * legs
        for leg in pv_legs:
            pv[leg] = self.pv_w / len(pv_legs) / v
        if self._metered is None:
            self.legs_now = LegFigures(base, pv, self.ev_leg_currents())
        else:  # a meter on a panel or circuit: its chargers and its fixed load
            self.legs_now = LegFigures(
                [self._fixed_a] * legs,
                [0.0] * legs,
                self.ev_leg_currents(self._metered),
            )

    @property
    def base_w(self) -> float:
        """The building's load besides the chargers (households and common)."""
        return self.households_w + self.common_w

    @property
    def meter_powers_w(self) -> list[float]:
        """Per-leg power at the meter (signed, import positive)."""
        return [a * self.voltage_v for a in self.legs_now.net_a]

    def _integrate_meter(self, dt_s: float) -> None:
        """Add ``dt_s`` at the present power to the meter's energy counters."""
        power = sum(self.meter_powers_w)
        kwh = abs(power) * dt_s / 3_600_000
        if power >= 0:
            self.import_kwh += kwh
        else:
            self.export_kwh += kwh

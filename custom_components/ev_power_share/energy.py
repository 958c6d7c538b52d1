"""Charge modes that follow the sun and the price of power (a site adjuster).

Every control cycle, before allocation:

- ports in ``solar`` / ``min_solar`` mode get caps from the core's
  :class:`~.core.solar.SolarController`, fed with the site's grid power (a
  sensor of the user's choice, else the site's meter) and the home battery's
  discharge (which, by default, is not surplus);
- ports in ``scheduled`` mode get caps from the core planner: the energy still
  to add by the next departure, in the cheapest hours of the price sensor's
  forecast (as fast as allowed when there is no forecast).

Caps only ever lower what a port may get; the allocator still enforces every
group limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import datetime as dt

from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util

from .core.model import Site
from .core.planner import ChargePlan, ChargeRequest, PlanError, plan_charging
from .core.ports import CycleInputs, Published
from .core.solar import (
    SOLAR_MODES,
    ChargeMode,
    SolarController,
    SolarDecision,
    apply_caps,
    drawn_power_w,
    solar_ports,
)
from .core.tariffs import price_forecast
from .sensor_values import POWER, sensor_value

STALE_S = 60.0
"""A grid or battery power older than this is not trusted (no surplus then)."""


@dataclass(frozen=True, slots=True)
class EnergySettings:
    """The site's solar and tariff options."""

    grid_power_entity: str | None = None
    grid_export_positive: bool = False
    battery_power_entity: str | None = None
    battery_charge_positive: bool = False
    battery_is_surplus: bool = False
    price_entity: str | None = None


def power_w(state: State | None, now: float) -> float | None:
    """A power sensor's value in W, if it is fresh and numeric."""
    if state is None or now - state.last_reported.timestamp() > STALE_S:
        return None
    return sensor_value(state, POWER)


def next_departure(departure: dt.time, now: float) -> float:
    """The next time of day ``departure`` after ``now`` (local time), as a timestamp."""
    local = dt_util.as_local(dt_util.utc_from_timestamp(now))
    when = local.replace(
        hour=departure.hour, minute=departure.minute, second=0, microsecond=0
    )
    if when.timestamp() <= now:
        when = (local + dt.timedelta(days=1)).replace(
            hour=departure.hour, minute=departure.minute, second=0, microsecond=0
        )
    return when.timestamp()


class EnergyModes:
    """Caps for the ports in solar, min_solar and scheduled modes."""

    def __init__(
        self,
        hass: HomeAssistant,
        settings: EnergySettings,
        site_power_w: Callable[[float], float | None],
    ) -> None:
        """``site_power_w(now)``: the site meter's power (import positive) if it
        has a fresh one, used when no grid power sensor is set."""
        self.hass = hass
        self.settings = settings
        self._site_power_w = site_power_w
        self.solar = SolarController()
        self.decision: SolarDecision | None = None
        """The solar controller's last decision (None: no solar port)."""
        self.plans: dict[str, ChargePlan] = {}
        """The plan of each port in scheduled mode."""

    def grid_w(self, now: float) -> float | None:
        """The site's grid power now, import positive; None: unknown."""
        entity = self.settings.grid_power_entity
        if entity is None:
            return self._site_power_w(now)
        watts = power_w(self.hass.states.get(entity), now)
        if watts is None:
            return None
        return -watts if self.settings.grid_export_positive else watts

    def battery_discharge_w(self, now: float) -> float:
        """What the home battery gives now (W), unless that counts as surplus."""
        entity = self.settings.battery_power_entity
        if entity is None or self.settings.battery_is_surplus:
            return 0.0
        watts = power_w(self.hass.states.get(entity), now)
        if watts is None:
            return 0.0
        discharge = -watts if self.settings.battery_charge_positive else watts
        return max(0.0, discharge)

    def adjust(
        self, site: Site, inputs: CycleInputs, now: float
    ) -> tuple[Site, Published]:
        """Caps for this cycle, by each port's mode (``inputs.settings``; in
        scheduled mode its energy and departure, against the energy its
        session has, ``inputs.session_kwh``)."""
        modes = {p.id: inputs.port_settings(p.id).mode for p in site.ports}
        solar = {pid: m for pid, m in modes.items() if m in SOLAR_MODES}
        if solar:
            ports = solar_ports(site, solar)
            self.decision = self.solar.update(
                now,
                self.grid_w(now),
                drawn_power_w(site, [p.id for p in ports]),
                ports,
                battery_discharge_w=self.battery_discharge_w(now),
            )
            site = apply_caps(site, self.decision.caps)
        else:
            self.decision = None
        scheduled = {pid for pid, m in modes.items() if m is ChargeMode.SCHEDULED}
        self.plans = {pid: p for pid, p in self.plans.items() if pid in scheduled}
        if scheduled:
            caps = self._scheduled_caps(site, inputs, scheduled, now)
            site = apply_caps(site, caps)
        return site, Published(solar=self.decision, plans=dict(self.plans))

    def _scheduled_caps(
        self, site: Site, inputs: CycleInputs, scheduled: set[str], now: float
    ) -> dict[str, float]:
        prices = []
        if self.settings.price_entity is not None:
            state = self.hass.states.get(self.settings.price_entity)
            if state is not None:
                prices = price_forecast(
                    state.attributes, dt_util.get_default_time_zone()
                )
        caps: dict[str, float] = {}
        if not prices:
            # Nothing to choose between: charge now, as in fast mode.
            self.plans.clear()
            return caps
        for port in site.ports:
            ev = port.ev
            if port.id not in scheduled or ev is None:
                continue
            controls = inputs.port_settings(port.id)
            session_kwh = inputs.session_kwh.get(port.id, 0.0)
            need = max(0.0, controls.energy_kwh - session_kwh)
            conn = port.conn
            request = ChargeRequest(
                energy_kwh=need,
                departure_s=next_departure(controls.departure, now),
                max_a=min(port.max_a, ev.max_a),
                watts_per_amp=site.supply.watts_per_amp(
                    conn, conn.active_legs(ev.phases)
                ),
                min_a=site.min_current_a,
            )
            try:
                plan = plan_charging(request, now, prices)
            except PlanError:
                continue  # nothing to plan with: the port charges as in fast mode
            self.plans[port.id] = plan
            caps[port.id] = plan.current_cap_at(now)
        return caps

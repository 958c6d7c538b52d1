"""Replay a day of PV and household load through the solar charging chain.

Each 5 s step while the EV is plugged in (07:00–20:00 by default; it never
fills up): the grid meter reads household load − PV + EV; the
:class:`SolarController` turns it into a cap; the cap limits ``Vehicle.max_a`` of
the only port of a one-group site; the core allocator allocates;
``commands.plan_commands`` (1 A hysteresis) decides the command; the vehicle
follows it: a decrease within one cycle, an increase to within 2 A of the
command after one cycle and fully after two. The meter and the vehicle's draw
are read at the same instant.

Figures (see :class:`ReplayFigures`) are what ``bench/solar.py`` prints and the
solar replay tests check, all over the plugged-in period:

* **surplus available**: the export there would be without the EV (PV −
  household load), counted at the steps where it is at least the EV's minimum
  power, and at most its maximum power: what this EV could have charged from
  the sun;
* **EV energy from surplus**: the EV's energy not taken from the grid (at each
  step the lesser of its power and the surplus without it); the *share used*
  counts it only at the steps counted as available, so it cannot exceed 100 %;
  the *whole-amp ideal* is what a controller without any delay, bound to whole
  amps and to no import, could have taken at those steps;
* **grid import caused by the EV**: at each step, what the EV draws beyond the
  surplus without it;
* **longest import**: the longest stretch in which the EV imports more than
  the controller's tolerance plus its round-up allowance (``round_up_w``);
* **setpoint changes**: commands that differ from the previous one (starts and
  stops included), per hour with a non-zero command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

from custom_components.ev_power_share.core.allocator import RotationState, allocate
from custom_components.ev_power_share.core.commands import (
    CommandState,
    SetpointRules,
    plan_commands,
)
from custom_components.ev_power_share.core.model import Group, Port, Site, Vehicle
from custom_components.ev_power_share.core.solar import (
    ChargeMode,
    SolarController,
    SolarPort,
    SolarSettings,
)

from .solar_day import DayTrace

PORT = "ev"


@dataclass(frozen=True, slots=True)
class EvSpec:
    """The vehicle (and charger) of a replay."""

    name: str
    phases: int = 3
    min_a: float = 6.0
    max_a: float = 16.0
    voltage_v: float = 230.0

    @property
    def watts_per_amp(self) -> float:
        """Power per ampere."""
        return self.phases * self.voltage_v


@dataclass(slots=True)
class ReplayFigures:
    """What a replay measured (energies in kWh)."""

    surplus_total_kwh: float = 0.0
    """All export there would be without the EV, usable or not."""
    surplus_available_kwh: float = 0.0
    """Surplus at steps where it is ≥ the EV's minimum power, capped at its max."""
    ev_kwh: float = 0.0
    ev_from_surplus_kwh: float = 0.0
    ev_from_available_kwh: float = 0.0
    """EV energy from surplus at the steps counted in ``surplus_available_kwh``."""
    whole_amp_kwh: float = 0.0
    """What an ideal controller bound only by whole amps could have taken: at
    each usable step the highest whole-amp power within the surplus."""
    grid_import_kwh: float = 0.0
    """What the EV drew beyond the surplus without it."""
    changes: int = 0
    """Setpoint changes (commands that differ from the previous one)."""
    charging_h: float = 0.0
    """Hours with a non-zero command."""
    starts: int = 0
    longest_import_s: float = 0.0
    """Longest stretch in which the EV imported more than the tolerance plus the
    round-up allowance."""
    commands: list[float] = field(default_factory=list)
    draws: list[float] = field(default_factory=list)

    @property
    def share_used(self) -> float:
        """Share of the available surplus the EV used (0–1)."""
        if self.surplus_available_kwh <= 0:
            return math.nan
        return self.ev_from_available_kwh / self.surplus_available_kwh

    @property
    def share_of_whole_amp(self) -> float:
        """EV energy from surplus against the whole-amp ideal (0–1)."""
        if self.whole_amp_kwh <= 0:
            return math.nan
        return self.ev_from_available_kwh / self.whole_amp_kwh

    @property
    def changes_per_hour(self) -> float:
        """Setpoint changes per charging hour."""
        return self.changes / self.charging_h if self.charging_h > 0 else 0.0


class _Vehicle:
    """Follows its command: down within a cycle, up within two."""

    def __init__(self) -> None:
        self.draw_a = 0.0
        self.target_a = 0.0
        self.age = 0

    def step(self, command_a: float) -> None:
        if command_a != self.target_a:
            self.target_a, self.age = command_a, 0
        self.age += 1
        if command_a <= self.draw_a or self.age >= 2:
            self.draw_a = command_a
        else:
            self.draw_a = max(self.draw_a, command_a - 2.0)


def replay(
    trace: DayTrace,
    ev: EvSpec,
    mode: ChargeMode,
    settings: SolarSettings | None = None,
    hysteresis_a: float = 1.0,
    record: bool = False,
    plugged_s: tuple[float, float] = (7 * 3600.0, 20 * 3600.0),
) -> ReplayFigures:
    """Replay ``trace`` for one EV in ``mode``, plugged in during ``plugged_s``
    (times of the trace); the EV never fills up. Figures cover that period."""
    controller = SolarController(settings)
    s = controller.settings
    tol_w = s.import_tolerance_w + s.round_up_w  # import beyond it: "imported"
    rules = SetpointRules(
        step_a=s.step_a, hysteresis_a=min(hysteresis_a, s.step_a), settle_s=5.0
    )
    group = Group("site", rating_a=40.0)  # 32 A continuous: never binding here
    car = _Vehicle()
    commands = CommandState()
    rotation: RotationState | None = None
    wpa = ev.watts_per_amp
    p_min, p_max = ev.min_a * wpa, ev.max_a * wpa
    fig = ReplayFigures()
    dt = trace.step_s
    to_kwh = dt / 3.6e6
    importing_since: float | None = None
    sp = SolarPort(PORT, mode, wpa, ev.min_a, ev.max_a)
    last_cmd = 0.0
    first, last = int(plugged_s[0] / dt), min(len(trace), int(plugged_s[1] / dt))
    for i in range(first, last):
        now = i * dt
        surplus = trace.surplus_w(i)  # without the EV
        ev_w = car.draw_a * wpa
        decision = controller.update(now, -surplus + ev_w, {PORT: ev_w}, [sp])
        cap = decision.caps.get(PORT, ev.max_a)
        port = Port(
            PORT,
            "site",
            "L1-L2-L3",
            max_a=ev.max_a,
            ev=Vehicle(
                phases=ev.phases,
                max_a=min(ev.max_a, cap),
                draw_a=car.draw_a,
                offered_a=last_cmd,
            ),
        )
        site = Site(groups=(group,), ports=(port,), min_current_a=ev.min_a, now_s=now)
        result = allocate(site, rotation)
        rotation = result.rotation
        cmds, commands = plan_commands(
            {PORT: result.ports[PORT].current_a}, commands, now, rules
        )
        cmd = cmds[PORT]

        # Figures for the step [now, now + dt) at the EV's present draw.
        usable = surplus >= p_min
        fig.surplus_total_kwh += max(0.0, surplus) * to_kwh
        fig.ev_kwh += ev_w * to_kwh
        from_sun = min(ev_w, max(0.0, surplus))
        fig.ev_from_surplus_kwh += from_sun * to_kwh
        if usable:
            fig.surplus_available_kwh += min(surplus, p_max) * to_kwh
            fig.ev_from_available_kwh += from_sun * to_kwh
            whole = min(ev.max_a, math.floor(surplus / wpa)) * wpa
            fig.whole_amp_kwh += whole * to_kwh
        imported = ev_w - from_sun
        fig.grid_import_kwh += imported * to_kwh
        if imported > tol_w:
            if importing_since is None:
                importing_since = now
            fig.longest_import_s = max(fig.longest_import_s, now + dt - importing_since)
        else:
            importing_since = None
        if cmd != last_cmd:
            fig.changes += 1
            if last_cmd == 0.0:
                fig.starts += 1
        if cmd > 0:
            fig.charging_h += dt / 3600.0
        if record:
            fig.commands.append(cmd)
            fig.draws.append(car.draw_a)
        last_cmd = cmd
        car.step(cmd)
    return fig

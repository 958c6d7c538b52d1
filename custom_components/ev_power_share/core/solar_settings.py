"""Solar charging's modes, the states of its ports, and its tuning.

:class:`SolarSettings` holds the tuning of :class:`.solar_controller.SolarController`
(the rules it tunes are described in :mod:`.solar`). No Home Assistant imports;
no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChargeMode(StrEnum):
    """What a port's vehicle is charged for."""

    FAST = "fast"
    """As fast as the limits allow."""
    SOLAR = "solar"
    """Only surplus; paused when there is not enough for the minimum current."""
    MIN_SOLAR = "min_solar"
    """The minimum current always, surplus on top."""
    SCHEDULED = "scheduled"
    """Cheapest hours that deliver the energy by departure (see ``planner``)."""
    OFF = "off"
    """Not at all: the port is held at 0 A."""


SOLAR_MODES = frozenset({ChargeMode.SOLAR, ChargeMode.MIN_SOLAR})


class SolarState(StrEnum):
    """Where a port stands in the solar controller."""

    WAITING = "waiting"
    """Solar mode, not charging: not enough surplus (yet)."""
    STARTING = "starting"
    """Enough surplus: waiting for the enable delay (or the minimum off time)."""
    CHARGING = "charging"
    """Charging on surplus."""
    SHORT = "short"
    """Charging at the minimum current on too little surplus: stops after the
    disable delay (``min_solar``: keeps charging)."""
    OFF = "off"
    """Mode ``off``: held at 0 A."""


@dataclass(frozen=True, slots=True)
class SolarSettings:
    """Tuning of :class:`SolarController`; defaults tuned on ``bench/solar.py``.

    Whatever the settings: caps change in whole ``step_a``; a cap is 0 or
    between the port's minimum and maximum; ``min_on_s`` is capped at
    ``disable_delay_s``.
    """

    # -- measuring the surplus
    smoothing_s: float = 10.0
    """Time constant of the surplus's moving average. Two cycles: it hides
    single-sample noise and a compressor's start-up spike, and follows a kettle
    or a cloud within 10–15 s. 20 s: 2–4 % less surplus used."""
    sustain_s: float = 30.0
    """Increases and starts use the lowest moving average over this window.
    With ``round_up_w`` 150 W and ``oscillation_window_s`` 180 s (1-phase
    EV): 30 s uses 91.4 % of the surplus for 11.2 changes per hour (12.6 on
    the worst day), 20 s 92.2 % for 11.5 (12.9). Without the allowance, 45 s
    was the default (30 s: 0.7 % more surplus for 0.3 more changes per hour).
    No effect on a 3-phase EV, whose cap rarely leaves its minimum."""
    reserve_w: float = 0.0
    """Surplus kept for export (> 0), or grid import accepted on purpose (< 0)."""
    round_up_w: float = 150.0
    """Grid import accepted on purpose so that a cap may round up to the next
    whole step (like evcc's residual power): a port starts, stays on, and goes
    up a step when the surplus is within this of the power needed, and the
    import that then lasts (this plus ``import_tolerance_w``) does not lower
    the caps. 0 restores strict rounding down. Measured (``bench/solar.py``, 5
    summer days, ``solar`` mode) against 0: 3-phase EV 83.6 → 87.0 % of the
    surplus used for +0.38 kWh a day of import and 0.9 more changes per hour
    (it mostly starts sooner and stops later while the surplus hovers around
    its 4.14 kW minimum); 1-phase EV 87.8 → 91.1 % for +0.55 kWh a day and 0.9
    fewer changes per hour. 100 W: 86.5 / 90.1 % for +0.19 / +0.34 kWh; 250 W:
    88.9 / 91.4 % for +0.68 / +0.89 kWh; the 3-phase EV reaches 90 % on those
    days only at ~350 W (90.8 %, +0.97 kWh a day, 12.9 changes per hour on
    the worst day)."""
    battery_discharge_is_surplus: bool = False
    """False: a home battery discharging into the cars is not surplus (its
    discharge power is subtracted)."""

    # -- going down
    import_tolerance_w: float = 80.0
    """Import the running ports may cause indefinitely (meter and charger
    inaccuracy); about an eighth of a 3-phase amp, a third of a 1-phase one."""
    import_budget_j: float = 30000.0
    """Grid energy (8.3 Wh) the running ports may import beyond the tolerance
    before the caps go down (a leaky bucket that export drains): a kettle cuts
    them after ~15 s, a hob's pulses of 10–30 s mostly not. 20 or 40 kJ
    change little (±0.1 changes per hour, ∓0.07 kWh import a day)."""
    decrease_delay_s: float = 60.0
    """However small, an import beyond the tolerance lowers the caps after this."""

    # -- going up
    settled_w: float = 300.0
    """Increases wait while the surplus is still rising: the moving average at
    most this far above the sustained value. Without it: 1.6 more changes per
    hour (a staircase at every cloud's end)."""
    increase_margin_w: float = 0.0
    """Extra surplus (beyond one more whole step) needed to go up."""
    ramp_up_a: float = 10.0
    """Largest increase of one port's cap in one cycle: 6 → 16 A at once after a
    cloud. 6 A: 0.8 more changes per hour, 0.7 % less surplus used."""
    increase_interval_s: float = 60.0
    """An increase waits this long after the port's previous change."""
    min_increase_w: float = 460.0
    """A gain below this (one 3-phase amp is 690 W, one 1-phase amp 230 W) waits
    ``small_increase_interval_s`` instead: slow drifts follow in rare steps.
    0: 1.9 more changes per hour for 0.5 % more surplus used (1-phase EV)."""
    small_increase_interval_s: float = 600.0
    """How long the cap must have been unchanged for a small increase."""
    increase_after_decrease_s: float = 60.0
    """The least an increase waits after a decrease."""
    oscillation_window_s: float = 240.0
    """A decrease within this time of an increase is a bounce: the wait for the
    next increase doubles (up to ``max_holdoff_s``); further steps down keep
    it; a decrease long after an increase resets it to
    ``increase_after_decrease_s``. 240 s (with ``round_up_w`` 150 W, 1-phase
    EV): at most 12.0 changes per hour on every bench day, 0.4 % less surplus
    used than 180 s (12.6 on the worst day)."""
    max_holdoff_s: float = 600.0
    """Longest wait for an increase after a decrease. Letting a large increase
    (≥ 1 kW) skip the doubled hold-off uses 0.9–1.7 % more surplus (1-phase EV)
    but makes 1.4 more changes per hour (14 on the worst day); 60 s (no
    doubling) likewise."""

    # -- starting and stopping (``solar`` mode)
    enable_delay_s: float = 10.0
    """The surplus's moving average (``smoothing_s``) covers the minimum power
    for this long before a port starts: about 20 s of real surplus, since the
    average itself lags. A 3-phase EV's minimum (4.14 kW) is near the peak of a
    6 kWp roof, so it can only use the surplus in short windows, and every
    second spent waiting to start is lost: measured (``bench/solar.py``, 5
    days each) against 30 s, 3-phase EV 87.0 → 90.1 % of the surplus used on
    summer days and 89.0 → 91.8 % on spring days, for +0.19 kWh a day of
    import and 0.4 more starts a day, with no more changes per hour; 1-phase
    EV unchanged (±0.3 %). ``min_on_s`` still keeps a started port on for 5
    minutes. (Measured before, without ``round_up_w``, 60 s against 30 s:
    78.8 % instead of 83.6 % for the 3-phase EV, with no fewer changes.)"""
    disable_delay_s: float = 300.0
    """Surplus below the minimum power (by more than the tolerance) for this long
    before a port stops: most cloud shadows last less, and each pause costs two
    changes (and is hard on some vehicles). Without ``round_up_w``, 180 s: 1.7 (1-phase) to 2.7
    (3-phase) more changes per hour and 2 % less surplus used, for 0.3–0.55 kWh
    a day less import."""
    min_on_s: float = 300.0
    """A started port charges at least this long (capped at the disable delay)."""
    min_off_s: float = 60.0
    """A stopped port waits at least this long before it starts again."""
    useful_a: float = 10.0
    """Another ``solar`` port starts only once the running ones could have this
    much (or their maximum): fill one vehicle usefully before starting the next."""

    # -- resolution
    step_a: float = 1.0
    """Cap resolution (the chargers' step)."""

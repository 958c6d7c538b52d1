"""Solar surplus charging: per-port current caps from the site's grid meter.

Charge modes (per port):

* ``fast``: as fast as the limits allow (no cap from here);
* ``solar``: only surplus. A port starts once the surplus left for it has been
  at least its minimum power (minimum current × watts per ampere) for
  ``enable_delay_s``, and stops once it has been below that for
  ``disable_delay_s``; in between it keeps at least its minimum current (so it
  imports a little while a cloud passes);
* ``min_solar``: the minimum current always, surplus on top;
* ``scheduled``: capped by a charging plan (:mod:`.planner`), not by this module;
* ``off``: 0 A.

:class:`SolarController` is stateful and deterministic: time is what the caller
passes in. Each control cycle it takes the site's grid power (import positive,
export negative), the power each solar-mode port draws now, optionally a home
battery's discharge power, and the ports; it returns a current cap per port,
which the controller applies to ``Vehicle.max_a`` *before* allocation, so the
allocator still enforces every group limit. A cap is 0 or at least the port's
minimum current.

**Surplus available to the EVs** = export + what the solar-mode ports draw now
(− the home battery's discharge, unless it may feed the cars; − ``reserve_w``).
Fast- and scheduled-mode vehicles count as house load here: they take the sun
first.

**No oscillation.** The rules, with the defaults of :class:`SolarSettings`
(tuned on ``bench/solar.py``: partly cloudy days with kettle, hob, oven and
washing machine, one 3-phase or 1-phase EV):

1. *Smoothing*: an exponential moving average of the surplus (10 s) drives
   the stop timer; its lowest value over the last 30 s (the *sustained*
   surplus) drives increases and starts.
   A cap rounds up to the next whole step (a port starts) when the surplus is
   within ``round_up_w`` (150 W) of it: grid import accepted on purpose, and not
   counted against the import budget below.
2. *Decreases when the import has used its budget*: the import the running
   ports cause (their draw beyond the surplus) beyond ``import_tolerance_w``
   fills a leaky bucket that export drains; when it holds ``import_budget_j``
   (or the import has lasted ``decrease_delay_s``) the caps drop to what the
   latest surplus supports, in one step. A kettle cuts them after ~10 s; a
   cloud's edge takes two steps rather than one per amp; a hob's short pulses
   are ridden through.
3. *Increases once the surplus has settled*: the sustained surplus must cover
   at least one more whole step, the smoothed value must not be rising (within
   ``settled_w`` of the sustained one, so a cloud's end is one step, not a
   staircase), at most ``ramp_up_a`` at once, and the cap must have been
   unchanged for ``increase_interval_s`` — ``small_increase_interval_s`` for a
   gain below ``min_increase_w``, and after a decrease a hold-off that starts at
   ``increase_after_decrease_s`` and doubles (to ``max_holdoff_s``) each time
   a decrease follows an increase within ``oscillation_window_s`` (an oven's
   thermostat keeps the cap down rather than making it follow every cycle).
4. *Hysteresis*: between the decrease threshold (caps' power > surplus +
   tolerance) and the increase threshold (surplus ≥ one more whole step) the
   cap holds.
5. *Minimum on and off times*: ``min_on_s`` (never more than the disable delay)
   and ``min_off_s``. The disable delay counts from when the import began, so a
   ``solar`` port never imports more than the tolerance for longer than the
   disable delay (plus the smoothing lag and the vehicle's response).

**Several ports share the surplus by filling, not splitting**: ``min_solar``
ports first (they draw their minimum anyway), then ``solar`` ports in the order
they started (then by id). Each running port is given its minimum, then the rest
fills them one after the other up to their maximum. A waiting port starts only
when the surplus left after giving every running port ``useful_a`` (or its
maximum, if lower) covers its minimum power; when the surplus shrinks, the port
that started last is cut back first, and stopped.

A missing grid reading counts as no surplus: caps shrink, never grow.

Where the parts live: :mod:`.solar_settings` (the modes, the ports'
states, the settings), :mod:`.solar_caps` (the controller's inputs and outputs,
and the site's side of them), :mod:`.solar_controller` (the controller),
:mod:`.surplus_filter` (its smoothing of the surplus); every name is importable
from here.

No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from .solar_caps import (
    SolarDecision,
    SolarPort,
    SolarPortStatus,
    apply_caps,
    drawn_power_w,
    solar_port,
    solar_ports,
)
from .solar_controller import SolarController
from .solar_settings import SOLAR_MODES, ChargeMode, SolarSettings, SolarState

__all__ = [
    "SOLAR_MODES",
    "ChargeMode",
    "SolarController",
    "SolarDecision",
    "SolarPort",
    "SolarPortStatus",
    "SolarSettings",
    "SolarState",
    "apply_caps",
    "drawn_power_w",
    "solar_port",
    "solar_ports",
]

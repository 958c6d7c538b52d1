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

No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
import math

from .model import Port, Site, Supply

_EPS = 1e-6


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


@dataclass(frozen=True, slots=True)
class SolarPort:
    """A port with a vehicle, as the solar controller sees it."""

    id: str
    mode: ChargeMode
    watts_per_amp: float
    """Power per ampere of the vehicle on this port (phases × V, or V line-line)."""
    min_a: float = 6.0
    max_a: float = 16.0

    @property
    def min_w(self) -> float:
        """Power at the minimum current."""
        return self.min_a * self.watts_per_amp


def solar_port(
    port: Port, supply: Supply, mode: ChargeMode, min_a: float
) -> SolarPort | None:
    """The solar view of a site port; None without a vehicle.

    ``min_a`` is the least current the vehicle may be given: at least the site's
    minimum current (the allocator pauses a port capped below it).
    """
    ev = port.ev
    if ev is None:
        return None
    conn = port.conn
    wpa = supply.watts_per_amp(conn, conn.active_legs(ev.phases))
    return SolarPort(port.id, mode, wpa, min_a, min(port.max_a, ev.max_a))


def solar_ports(site: Site, modes: Mapping[str, ChargeMode]) -> list[SolarPort]:
    """Every port of ``site`` with a vehicle and a mode in ``modes`` (by id)."""
    found = []
    for port in site.ports:
        mode = modes.get(port.id)
        if mode is None:
            continue
        sp = solar_port(port, site.supply, mode, site.min_current_a)
        if sp is not None:
            found.append(sp)
    return found


def drawn_power_w(site: Site, port_ids: Iterable[str]) -> dict[str, float]:
    """Power each of ``port_ids`` draws now (W), from its vehicle's measured
    current; 0 for a port without a vehicle or a measurement."""
    wanted = set(port_ids)
    out: dict[str, float] = {}
    for port in site.ports:
        if port.id not in wanted:
            continue
        ev = port.ev
        if ev is None or ev.draw_a is None:
            out[port.id] = 0.0
            continue
        conn = port.conn
        out[port.id] = ev.draw_a * site.supply.watts_per_amp(
            conn, conn.active_legs(ev.phases)
        )
    return out


def apply_caps(site: Site, caps: Mapping[str, float]) -> Site:
    """``site`` with each capped port's ``Vehicle.max_a`` lowered to its cap
    (never raised); ports without a vehicle or a cap are unchanged. The
    allocator then still enforces every group limit."""
    if not caps:
        return site

    def capped(port: Port) -> Port:
        cap, ev = caps.get(port.id), port.ev
        if cap is None or ev is None or cap >= ev.max_a:
            return port
        return replace(port, ev=replace(ev, max_a=max(0.0, cap)))

    return replace(site, ports=tuple(capped(p) for p in site.ports))


@dataclass(frozen=True, slots=True)
class SolarPortStatus:
    """One port's outcome of a cycle."""

    cap_a: float
    state: SolarState
    since_s: float | None
    """When the current on/off state began (None: mode off)."""


@dataclass(frozen=True, slots=True)
class SolarDecision:
    """What one cycle decided."""

    caps: Mapping[str, float]
    """Current cap per port (A), for ``solar``, ``min_solar`` and ``off`` ports."""
    ports: Mapping[str, SolarPortStatus]
    surplus_w: float
    """Surplus available to the solar-mode EVs this cycle (raw)."""
    smoothed_w: float
    """Its moving average (used for decreases and stopping)."""
    sustained_w: float
    """Lowest moving average over ``sustain_s`` (used for increases)."""


@dataclass(slots=True)
class _PortState:
    on: bool
    since_s: float
    cap_a: float = 0.0
    started_s: float = 0.0
    stopped_s: float | None = None
    above_since: float | None = None
    short_since: float | None = None
    changed_s: float | None = None
    lowered: bool = False
    """The last change of the cap was a decrease."""
    holdoff_s: float = 0.0
    """Time an increase waits after a decrease (grows while the cap bounces)."""


@dataclass(slots=True)
class _Filter:
    """Moving average of the surplus and its running minimum over a window."""

    tau_s: float
    window_s: float
    value: float | None = None
    at_s: float | None = None
    mins: deque[tuple[float, float]] = field(default_factory=deque)

    def update(self, now_s: float, sample: float) -> tuple[float, float]:
        if self.value is None or self.at_s is None:
            self.value = sample
        else:
            dt = max(0.0, now_s - self.at_s)
            alpha = 1.0 if self.tau_s <= 0 else 1.0 - math.exp(-dt / self.tau_s)
            self.value += alpha * (sample - self.value)
        self.at_s = now_s
        mins = self.mins
        while mins and mins[-1][1] >= self.value:
            mins.pop()
        mins.append((now_s, self.value))
        while mins[0][0] < now_s - self.window_s - _EPS:
            mins.popleft()
        # The window's minimum includes the value in force at its start.
        return self.value, mins[0][1]


class SolarController:
    """Current caps for ports in solar modes, from the site's grid power."""

    def __init__(self, settings: SolarSettings | None = None) -> None:
        """Start with no history: the first sample initialises the average."""
        self.settings = settings or SolarSettings()
        s = self.settings
        self._filter = _Filter(s.smoothing_s, s.sustain_s)
        self._ports: dict[str, _PortState] = {}
        self._bucket = 0.0
        self._over_since: float | None = None
        self._import_since: float | None = None
        self._last_s: float | None = None

    def reset(self) -> None:
        """Forget the surplus history and every port's state."""
        s = self.settings
        self._filter = _Filter(s.smoothing_s, s.sustain_s)
        self._ports.clear()
        self._bucket = 0.0
        self._over_since = self._import_since = None
        self._last_s = None

    def update(
        self,
        now_s: float,
        grid_w: float | None,
        ev_w: Mapping[str, float],
        ports: Iterable[SolarPort],
        battery_discharge_w: float = 0.0,
    ) -> SolarDecision:
        """One cycle: the caps for ``ports`` at ``now_s``.

        ``grid_w``: the site's grid power, import positive (None: no fresh
        reading, counted as no surplus). ``ev_w``: power each port in a solar
        mode draws now (W). ``battery_discharge_w``: a home battery's discharge
        power (W, ≥ 0; charging counts as 0). Ports absent from ``ports`` are
        forgotten; ``fast`` and ``scheduled`` ports get no cap.
        """
        s = self.settings
        given = {p.id: p for p in ports}
        solar = sorted(
            (p for p in given.values() if p.mode in SOLAR_MODES), key=lambda p: p.id
        )
        drawn = sum(max(0.0, ev_w.get(p.id, 0.0)) for p in solar)
        if grid_w is None or not math.isfinite(grid_w):
            raw = 0.0
        else:
            raw = drawn - grid_w
            if not s.battery_discharge_is_surplus:
                raw -= max(0.0, battery_discharge_w)
        raw -= s.reserve_w
        smooth, sustained = self._filter.update(now_s, raw)

        solar_ids = {p.id for p in solar}
        for pid in [pid for pid in self._ports if pid not in solar_ids]:
            del self._ports[pid]
        for p in solar:
            if p.id not in self._ports:
                self._ports[p.id] = _PortState(on=False, since_s=now_s)
            st = self._ports[p.id]
            if p.mode is ChargeMode.MIN_SOLAR and not st.on:
                st.on, st.since_s, st.started_s = True, now_s, -math.inf
                st.cap_a = self._clamp(p.min_a, p)
                st.changed_s = now_s
            elif st.on:  # a port's bounds may change (a vehicle's or user's limit)
                st.cap_a = self._clamp(st.cap_a, p)

        running = sorted(
            (p for p in solar if self._ports[p.id].on),
            key=lambda p: (
                p.mode is not ChargeMode.MIN_SOLAR,
                self._ports[p.id].started_s,
                p.id,
            ),
        )
        states: dict[str, SolarState] = {}
        self._adjust(now_s, running, raw, smooth, sustained, ev_w, states)
        self._last_s = now_s
        self._start_stop(now_s, solar, running, smooth, sustained, states)

        caps: dict[str, float] = {}
        status: dict[str, SolarPortStatus] = {}
        for p in given.values():
            if p.mode is ChargeMode.OFF:
                caps[p.id] = 0.0
                status[p.id] = SolarPortStatus(0.0, SolarState.OFF, None)
            elif p.mode in SOLAR_MODES:
                st = self._ports[p.id]
                cap = st.cap_a if st.on else 0.0
                caps[p.id] = cap
                status[p.id] = SolarPortStatus(cap, states[p.id], st.since_s)
        return SolarDecision(caps, status, raw, smooth, sustained)

    # -- internals ---------------------------------------------------------

    def _clamp(self, amps: float, p: SolarPort) -> float:
        """Whole steps (down), between the port's minimum and maximum."""
        step = self.settings.step_a
        top = math.floor(p.max_a / step + _EPS) * step
        low = math.ceil(p.min_a / step - _EPS) * step
        if top < low:  # a maximum below the minimum: it cannot charge
            return 0.0
        return round(min(top, max(low, math.floor(amps / step + _EPS) * step)), 6)

    @staticmethod
    def _fill(budget_w: float, ports: Sequence[SolarPort]) -> list[float]:
        """Currents for ``ports`` (in order) from ``budget_w``: minimum each, then
        the rest fills them one after the other; unclamped where it falls short."""
        rest = budget_w - sum(p.min_w for p in ports)
        out = []
        for p in ports:
            room = max(0.0, (p.max_a - p.min_a) * p.watts_per_amp)
            extra = min(max(rest, 0.0), room)
            rest -= extra
            out.append(p.min_a + extra / p.watts_per_amp)
        return out

    def _adjust(
        self,
        now_s: float,
        running: Sequence[SolarPort],
        raw: float,
        smooth: float,
        sustained: float,
        drawn: Mapping[str, float],
        states: dict[str, SolarState],
    ) -> None:
        """Move the caps of running ports: down when the import they cause has
        used its budget, up on the sustained surplus once it has settled; mark
        short ports (the stop timer)."""
        s = self.settings
        # Import the running ports may cause indefinitely: the tolerance, plus the
        # allowance that lets a cap round up to the next step.
        tol = s.import_tolerance_w + s.round_up_w
        # Import caused by the running ports: what they draw (at most their caps:
        # a decrease on its way is not counted twice) beyond the surplus.
        ev_w = sum(
            min(
                max(0.0, drawn.get(p.id, 0.0)),
                self._ports[p.id].cap_a * p.watts_per_amp,
            )
            for p in running
        )
        over = ev_w - raw
        dt = 0.0 if self._last_s is None else max(0.0, now_s - self._last_s)
        self._bucket = max(0.0, self._bucket + (over - tol) * dt)
        if over > tol:
            if self._over_since is None:
                self._over_since = now_s
            if self._import_since is None:
                self._import_since = now_s
        else:
            self._over_since = self._import_since = None
        cut = self._bucket >= s.import_budget_j - _EPS or (
            self._over_since is not None
            and now_s - self._over_since >= s.decrease_delay_s - _EPS
        )
        down = self._fill(min(raw, smooth) + tol, running)
        up = self._fill(sustained - s.increase_margin_w + s.round_up_w, running)
        settled = smooth - sustained <= s.settled_w + _EPS
        left = smooth + tol
        for p, want_dn, want_up in zip(running, down, up, strict=True):
            st = self._ports[p.id]
            left -= p.min_w
            short = left < -_EPS
            if p.mode is ChargeMode.SOLAR:
                if not short:
                    st.short_since = None
                elif st.short_since is None:
                    # The disable delay counts from when the import began.
                    began = self._import_since
                    st.short_since = now_s if began is None else min(now_s, began)
            new = st.cap_a
            target_dn = self._clamp(want_dn, p)
            target_up = self._clamp(want_up, p)
            if cut and target_dn < st.cap_a - _EPS:
                new = target_dn
            elif (
                not cut
                and settled
                and target_up >= st.cap_a + s.step_a - _EPS
                and self._may_increase(
                    now_s, st, (target_up - st.cap_a) * p.watts_per_amp
                )
            ):
                new = min(target_up, self._clamp(st.cap_a + s.ramp_up_a, p))
            if abs(new - st.cap_a) > _EPS:
                self._changed(st, new, now_s)
            states[p.id] = SolarState.SHORT if short else SolarState.CHARGING
        if cut:  # what is left at the minimum is the stop timer's business
            self._bucket = 0.0
            self._over_since = None

    def _changed(self, st: _PortState, new: float, now_s: float) -> None:
        """Record a change of a running port's cap (and back off if it
        oscillates: a decrease soon after an increase doubles the hold-off)."""
        s = self.settings
        lowered = new < st.cap_a
        if lowered:
            base = s.increase_after_decrease_s
            recent = (
                st.changed_s is not None
                and now_s - st.changed_s < s.oscillation_window_s
            )
            if st.lowered:  # a further step down: the hold-off stands
                st.holdoff_s = max(st.holdoff_s, base)
            elif recent:  # down soon after up: a bounce
                st.holdoff_s = min(s.max_holdoff_s, 2.0 * max(st.holdoff_s, base))
            else:
                st.holdoff_s = base
        st.lowered = lowered
        st.cap_a = new
        st.changed_s = now_s

    def _may_increase(self, now_s: float, st: _PortState, gain_w: float) -> bool:
        """Whether the port's cap has been unchanged long enough to rise by
        ``gain_w``: small increases wait longer."""
        if st.changed_s is None:
            return True
        s = self.settings
        wait = (
            s.increase_interval_s
            if gain_w >= s.min_increase_w - _EPS
            else s.small_increase_interval_s
        )
        if st.lowered:
            wait = max(wait, st.holdoff_s)
        return now_s - st.changed_s >= wait - _EPS

    def _start_stop(
        self,
        now_s: float,
        solar: Sequence[SolarPort],
        running: Sequence[SolarPort],
        smooth: float,
        sustained: float,
        states: dict[str, SolarState],
    ) -> None:
        s = self.settings
        # Stop: short for the disable delay, and on for the minimum on time.
        min_on = min(s.min_on_s, s.disable_delay_s)
        still: list[SolarPort] = []
        for p in running:
            st = self._ports[p.id]
            if (
                p.mode is ChargeMode.SOLAR
                and st.short_since is not None
                and now_s - st.short_since >= s.disable_delay_s - _EPS
                and now_s - st.since_s >= min_on - _EPS
            ):
                st.on, st.since_s, st.stopped_s, st.cap_a = False, now_s, now_s, 0.0
                st.short_since = st.above_since = None
                st.changed_s = now_s
                states[p.id] = SolarState.WAITING
            else:
                still.append(p)
        # Start: a waiting port starts once what is left, when every running port
        # has a useful current, has covered its minimum power for the enable
        # delay. The running ports make room at once (decreases go out first).
        for p in solar:
            st = self._ports[p.id]
            if st.on:
                continue
            busy = sum(
                min(q.max_a, max(s.useful_a, q.min_a)) * q.watts_per_amp for q in still
            )
            if smooth - busy + s.round_up_w >= p.min_w:
                if st.above_since is None:
                    st.above_since = now_s
            else:
                st.above_since = None
            ready = (
                st.above_since is not None
                and now_s - st.above_since >= s.enable_delay_s - _EPS
                and (st.stopped_s is None or now_s - st.stopped_s >= s.min_off_s - _EPS)
                and self._clamp(p.min_a, p) > 0
            )
            if not ready:
                states[p.id] = (
                    SolarState.STARTING
                    if st.above_since is not None
                    else SolarState.WAITING
                )
                continue
            fill = self._fill(sustained + s.round_up_w, [*still, p])
            for q, amps in zip(still, fill, strict=False):
                qs = self._ports[q.id]
                lower = self._clamp(amps, q)
                if lower < qs.cap_a - _EPS:
                    self._changed(qs, lower, now_s)
            st.on, st.since_s, st.started_s = True, now_s, now_s
            st.cap_a, st.changed_s, st.lowered = self._clamp(fill[-1], p), now_s, False
            st.above_since = st.short_since = None
            states[p.id] = SolarState.CHARGING
            still.append(p)

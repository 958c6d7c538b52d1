"""The solar controller: per-port current caps from the site's grid power.

:class:`SolarController` keeps the surplus's moving average (a
:class:`.surplus_filter.SurplusFilter`) and every solar port's state, and
follows the rules described in :mod:`.solar`. No Home
Assistant imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import math

from .solar_caps import SolarDecision, SolarPort, SolarPortStatus
from .solar_settings import SOLAR_MODES, ChargeMode, SolarSettings, SolarState
from .surplus_filter import SurplusFilter

_EPS = 1e-6


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


class SolarController:
    """Current caps for ports in solar modes, from the site's grid power."""

    def __init__(self, settings: SolarSettings | None = None) -> None:
        """Start with no history: the first sample initialises the average."""
        self.settings = settings or SolarSettings()
        s = self.settings
        self._filter = SurplusFilter(s.smoothing_s, s.sustain_s)
        self._ports: dict[str, _PortState] = {}
        self._bucket = 0.0
        self._over_since: float | None = None
        self._import_since: float | None = None
        self._last_s: float | None = None

    def reset(self) -> None:
        """Forget the surplus history and every port's state."""
        s = self.settings
        self._filter = SurplusFilter(s.smoothing_s, s.sustain_s)
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
        given = {p.id: p for p in ports}
        solar = sorted(
            (p for p in given.values() if p.mode in SOLAR_MODES), key=lambda p: p.id
        )
        raw = self._surplus(grid_w, ev_w, solar, battery_discharge_w)
        smooth, sustained = self._filter.update(now_s, raw)
        self._track(now_s, solar)
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
        caps, status = self._outcome(given.values(), states)
        return SolarDecision(caps, status, raw, smooth, sustained)

    # -- internals ---------------------------------------------------------

    def _surplus(
        self,
        grid_w: float | None,
        ev_w: Mapping[str, float],
        solar: Sequence[SolarPort],
        battery_discharge_w: float,
    ) -> float:
        """The surplus available to the solar-mode ports (raw, this cycle)."""
        s = self.settings
        drawn = sum(max(0.0, ev_w.get(p.id, 0.0)) for p in solar)
        if grid_w is None or not math.isfinite(grid_w):
            raw = 0.0
        else:
            raw = drawn - grid_w
            if not s.battery_discharge_is_surplus:
                raw -= max(0.0, battery_discharge_w)
        return raw - s.reserve_w

    def _track(self, now_s: float, solar: Sequence[SolarPort]) -> None:
        """Forget the ports no longer in a solar mode, start tracking new ones
        (a ``min_solar`` port charges at once), and keep running ports' caps
        within their bounds (a vehicle's or user's limit may change)."""
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
            elif st.on:
                st.cap_a = self._clamp(st.cap_a, p)

    def _outcome(
        self, given: Iterable[SolarPort], states: Mapping[str, SolarState]
    ) -> tuple[dict[str, float], dict[str, SolarPortStatus]]:
        """The caps and statuses of the ``off`` and solar-mode ports."""
        caps: dict[str, float] = {}
        status: dict[str, SolarPortStatus] = {}
        for p in given:
            if p.mode is ChargeMode.OFF:
                caps[p.id] = 0.0
                status[p.id] = SolarPortStatus(0.0, SolarState.OFF, None)
            elif p.mode in SOLAR_MODES:
                st = self._ports[p.id]
                cap = st.cap_a if st.on else 0.0
                caps[p.id] = cap
                status[p.id] = SolarPortStatus(cap, states[p.id], st.since_s)
        return caps, status

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
        cut = self._import_used(now_s, running, raw, drawn, tol)
        down = self._fill(min(raw, smooth) + tol, running)
        up = self._fill(sustained - s.increase_margin_w + s.round_up_w, running)
        settled = smooth - sustained <= s.settled_w + _EPS
        left = smooth + tol
        for p, want_dn, want_up in zip(running, down, up, strict=True):
            st = self._ports[p.id]
            left -= p.min_w
            short = left < -_EPS
            if p.mode is ChargeMode.SOLAR:
                self._mark_short(st, short, now_s)
            new = self._moved(
                now_s, p, st, (want_dn, want_up), cut=cut, settled=settled
            )
            if abs(new - st.cap_a) > _EPS:
                self._changed(st, new, now_s)
            states[p.id] = SolarState.SHORT if short else SolarState.CHARGING
        if cut:  # what is left at the minimum is the stop timer's business
            self._bucket = 0.0
            self._over_since = None

    def _import_used(
        self,
        now_s: float,
        running: Sequence[SolarPort],
        raw: float,
        drawn: Mapping[str, float],
        tol: float,
    ) -> bool:
        """Fill the import bucket with what the running ports import beyond
        ``tol``; whether the caps are to go down (the budget is used, or the
        import has lasted the decrease delay)."""
        s = self.settings
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
        return self._bucket >= s.import_budget_j - _EPS or (
            self._over_since is not None
            and now_s - self._over_since >= s.decrease_delay_s - _EPS
        )

    def _mark_short(self, st: _PortState, short: bool, now_s: float) -> None:
        """Start or end a ``solar`` port's stop timer."""
        if not short:
            st.short_since = None
        elif st.short_since is None:
            # The disable delay counts from when the import began.
            began = self._import_since
            st.short_since = now_s if began is None else min(now_s, began)

    def _moved(
        self,
        now_s: float,
        p: SolarPort,
        st: _PortState,
        wanted: tuple[float, float],
        *,
        cut: bool,
        settled: bool,
    ) -> float:
        """A running port's new cap, from what the surplus supports going down
        and going up (``wanted``)."""
        s = self.settings
        target_dn = self._clamp(wanted[0], p)
        target_up = self._clamp(wanted[1], p)
        if cut and target_dn < st.cap_a - _EPS:
            return target_dn
        if (
            not cut
            and settled
            and target_up >= st.cap_a + s.step_a - _EPS
            and self._may_increase(now_s, st, (target_up - st.cap_a) * p.watts_per_amp)
        ):
            return min(target_up, self._clamp(st.cap_a + s.ramp_up_a, p))
        return st.cap_a

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

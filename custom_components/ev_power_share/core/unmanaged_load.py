"""The estimator of one metered group's non-EV load (:class:`UnmanagedLoad`).

It follows the rules described in :mod:`.load_estimate`: lowering headroom acts
at once, raising it is smoothed; a charger's reports are matched to the meter's
samples by time, on a safe and an optimistic side; a stale reading is held,
then fails. No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
from typing import NamedTuple

from .ev_draws import EvDraw, PortDraw, finite_or_zero
from .meter_data import (
    LoadEstimate,
    MeterConfig,
    MeterSample,
    MeterState,
    TotalPowerSplit,
)
from .model import ModelError, Supply


class _Report(NamedTuple):
    start_s: float
    end_s: float
    high_a: tuple[float, ...]
    high_w: float
    low_a: tuple[float, ...]
    low_w: float
    known: frozenset[str]
    ports: Mapping[str, PortDraw]


@dataclass(slots=True)
class _Sample:
    at_s: float
    safe_a: tuple[float, ...]
    measured_opt_a: tuple[float, ...]
    """Its optimistic value from the reports in force when it was taken."""
    known: frozenset[str]
    """Ports whose draw its optimistic value subtracted."""
    total_per_a: float | None
    """For a total-power reading: how much one leg-ampere of EV current lowers
    each leg's ``optimistic_a`` (None: per-leg values, ampere for ampere)."""
    ports: dict[str, tuple[tuple[float, ...], float]]
    """Per known port: the most it reported around the sample, per leg, and the
    most it may have drawn then (the limit in force)."""
    credit_a: dict[str, tuple[float, ...]] = field(default_factory=dict)
    """Per port, per leg: how much more a later report shows it drawing, up to
    the limit in force at the sample (the EV current the sample missed)."""
    optimistic_a: tuple[float, ...] = ()

    def correct(self, ports: Mapping[str, PortDraw]) -> None:
        """Take a later report of each port into account (see :mod:`.load_estimate`)."""
        changed = False
        for pid, draw in ports.items():
            before = self.ports.get(pid)
            if before is None:
                continue
            base, cap = before
            old = self.credit_a.get(pid, (0.0,) * len(base))
            new = tuple(
                max(o, min(now, cap) - was)
                for o, now, was in zip(old, draw.currents_a, base, strict=True)
            )
            if new != old:
                self.credit_a[pid] = new
                changed = True
        if changed:
            self.apply()

    def apply(self) -> None:
        """``optimistic_a``: the measured value less what later reports explain."""
        legs = len(self.measured_opt_a)
        credit = [0.0] * legs
        for per_leg in self.credit_a.values():
            for leg in range(legs):
                credit[leg] += per_leg[leg]
        if self.total_per_a is not None:  # a total: what the legs missed, spread
            credit = [self.total_per_a * sum(credit)] * legs
        self.optimistic_a = tuple(
            max(0.0, o - c) for o, c in zip(self.measured_opt_a, credit, strict=True)
        )


class UnmanagedLoad:
    """The non-EV load of one metered group, updated once per control cycle."""

    def __init__(self, supply: Supply, config: MeterConfig | None = None) -> None:
        """An estimator for a group on ``supply``; it has no reading yet."""
        self.supply = supply
        self.config = config or MeterConfig()
        self._legs = supply.legs
        self._reports: list[_Report] = []
        self._samples: list[_Sample] = []
        self._first_update_s: float | None = None
        self._last_update_s: float | None = None
        self._latest_at_s: float | None = None
        self._current: tuple[float, ...] | None = None
        """The estimate at the latest usable sample (held when stale)."""
        self.estimate: LoadEstimate | None = None
        """The result of the last :meth:`update`."""

    def update(
        self, sample: MeterSample | None, ev: EvDraw, now_s: float
    ) -> LoadEstimate:
        """Take this cycle's reading (None: unavailable) and EV reports.

        ``ev`` is what the chargers under the group reported since the previous
        update; a sample that is not newer than the last one used, or already
        older than ``timeout_s``, is ignored. Raises :class:`ModelError` if a
        sample's per-leg values do not match the supply's legs.
        """
        cfg = self.config
        if self._last_update_s is not None and now_s < self._last_update_s:
            self._clock_went_back(now_s)
        self._record(ev, now_s)

        if sample is not None:
            measured = self._measured(sample)
            at_s = min(sample.at_s, now_s)
            newer = self._latest_at_s is None or at_s > self._latest_at_s
            if measured is not None and newer and now_s - at_s <= cfg.timeout_s:
                self._accept(at_s, *measured)
        self._prune(now_s)

        latest = self._latest_at_s
        age = None if latest is None else max(0.0, float(now_s - latest))
        held = self._current
        if age is not None and held is not None and age <= cfg.timeout_s:
            state, unmanaged = MeterState.FRESH, held
        else:
            if age is not None and age <= cfg.timeout_s + cfg.hold_s:
                state = MeterState.HOLDING
            else:
                state = MeterState.FAILED
            unmanaged = (
                tuple(a + cfg.margin_a for a in held)
                if held is not None
                else (0.0,) * self._legs
            )
        first = self._first_update_s if self._first_update_s is not None else now_s
        problem = state is MeterState.FAILED and (
            held is not None or now_s - first >= cfg.timeout_s + cfg.hold_s
        )
        latest_a = self._samples[-1].safe_a if self._samples else None
        self.estimate = LoadEstimate(unmanaged, state, age, problem, latest_a)
        return self.estimate

    # -- internals ----------------------------------------------------------

    def _clock_went_back(self, now_s: float) -> None:
        """The wall clock jumped back: keep the estimate, forget the timeline.

        The held estimate stays but counts as just gone stale, so a held
        margin applies until a reading stamped on the new clock comes in.
        """
        self._reports.clear()
        self._samples.clear()
        self._first_update_s = now_s
        self._last_update_s = None
        if self._latest_at_s is not None:
            self._latest_at_s = now_s - self.config.timeout_s - 1e-9

    def _record(self, ev: EvDraw, now_s: float) -> None:
        """Remember ``ev`` as in force from the previous update until now."""
        legs = self._legs
        high = tuple(
            finite_or_zero(ev.currents_a[leg]) if leg < len(ev.currents_a) else 0.0
            for leg in range(legs)
        )
        low_src = ev.at_least_a if ev.at_least_a is not None else ev.currents_a
        low = tuple(
            min(high[leg], finite_or_zero(low_src[leg])) if leg < len(low_src) else 0.0
            for leg in range(legs)
        )
        high_w = self._power_of(high, ev.power_w)
        if ev.at_least_w is not None:
            low_w = self._power_of(low, ev.at_least_w)
        elif ev.at_least_a is not None:
            low_w = self._power_of(low, None)
        else:
            low_w = high_w
        low_w = min(low_w, high_w)
        start = self._last_update_s if self._last_update_s is not None else now_s
        ports = {
            pid: draw
            for pid, draw in ev.ports.items()
            if pid in ev.known and len(draw.currents_a) == legs
        }
        self._reports.append(
            _Report(start, now_s, high, high_w, low, low_w, frozenset(ev.known), ports)
        )
        # A report newer than the smoothed samples: what they missed of its port.
        for smoothed in self._samples:
            smoothed.correct(ports)
        self._last_update_s = now_s
        if self._first_update_s is None:
            self._first_update_s = now_s

    def _power_of(self, currents: tuple[float, ...], power_w: float | None) -> float:
        """EV power: as reported, else a lower bound from the per-leg currents.

        Line-to-line chargers draw √3 × V(L-N) per ampere on a wye supply but
        load two legs, so the sum of the legs times V(L-N) over-states their
        power; ``V(L-L) / 2`` per leg-ampere is low enough for any charger.
        """
        if power_w is not None and math.isfinite(power_w):
            return max(0.0, power_w)
        supply = self.supply
        per_leg_amp = min(supply.voltage_ln_v, supply.voltage_ll_v / 2.0)
        return per_leg_amp * sum(currents)

    def _measured(
        self, sample: MeterSample
    ) -> tuple[tuple[float, ...] | None, float] | None:
        """Per-leg currents (A), else a total (VA): None if the sample is unusable."""
        legs = self._legs
        volts = self.supply.voltage_ln_v
        pf = self.config.power_factor
        values: tuple[float, ...] | None = None
        if sample.currents_a is not None:
            values = sample.currents_a
            name = "currents_a"
        elif sample.powers_w is not None:
            values = tuple(w / (volts * pf) for w in sample.powers_w)
            name = "powers_w"
        if values is not None:
            if len(values) != legs:
                raise ModelError(f"sample.{name}", f"needs one value per leg ({legs})")
            if not all(math.isfinite(v) for v in values):
                return None
            return values, 0.0
        total = sample.power_w
        if total is None or not math.isfinite(total):
            return None
        return None, total / pf

    def _in_force(self, at_s: float) -> tuple[list[_Report], bool, list[_Report]]:
        """Reports in force during ``[at_s - ev_skew_s, at_s]``, whether they
        cover all of it, and those plus the one before (for the optimistic
        estimate, which also allows for a meter lagging by one update)."""
        since = at_s - self.config.ev_skew_s
        reports = self._reports
        first = next(
            (
                i
                for i, r in enumerate(reports)
                if r.start_s <= at_s and r.end_s >= since
            ),
            None,
        )
        if first is None:
            return [], False, reports[:1]
        found = [r for r in reports[first:] if r.start_s <= at_s]
        covered = self._first_update_s is not None and since >= self._first_update_s
        return found, covered, reports[max(0, first - 1) : first] + found

    def _accept(
        self, at_s: float, currents: tuple[float, ...] | None, total_va: float
    ) -> None:
        legs = self._legs
        found, covered, nearby = self._in_force(at_s)
        # Safe: the least EV current that may have been in the reading (none
        # where the reports do not cover its time). Optimistic: the most.
        zero = (0.0,) * legs
        total_per_a: float | None
        if covered:
            safe_ev = tuple(min(r.low_a[leg] for r in found) for leg in range(legs))
            safe_w = min(r.low_w for r in found)
        else:
            safe_ev, safe_w = zero, 0.0
        opt_ev = tuple(max(r.high_a[leg] for r in nearby) for leg in range(legs))
        opt_w = max(r.high_w for r in nearby)

        if currents is not None:
            safe = tuple(
                max(0.0, m - e) for m, e in zip(currents, safe_ev, strict=True)
            )
            optimistic = tuple(
                max(0.0, m - e) for m, e in zip(currents, opt_ev, strict=True)
            )
            total_per_a = None
        else:
            share = self.supply.voltage_ln_v
            if self.config.total_power is TotalPowerSplit.BALANCED:
                share *= legs
            safe = (max(0.0, total_va - safe_w) / share,) * legs
            optimistic = (max(0.0, total_va - opt_w) / share,) * legs
            # EV power per leg-ampere, on the low side (see _power_of).
            total_per_a = self._power_of((1.0,), None) / share
        optimistic = tuple(min(o, s) for o, s in zip(optimistic, safe, strict=True))
        # A port known now but not to an earlier sample: that sample counted its
        # current as non-EV load. It leaves the window (for good).
        known = frozenset().union(*(r.known for r in nearby))
        self._samples = [s for s in self._samples if s.known >= known]
        # What each port may have drawn at most while the sample was taken: the
        # limit in force all through its time (none known: not correctable).
        ports: dict[str, tuple[tuple[float, ...], float]] = {}
        for pid in known if covered else ():
            draws = [r.ports[pid] for r in nearby if pid in r.ports]
            caps = [r.ports[pid].cap_a for r in found if pid in r.ports]
            if len(draws) == len(nearby) and len(caps) == len(found):
                ports[pid] = (
                    tuple(max(d.currents_a[leg] for d in draws) for leg in range(legs)),
                    min(caps),
                )
        sample = _Sample(at_s, safe, optimistic, known, total_per_a, ports)
        sample.apply()
        self._samples.append(sample)
        self._latest_at_s = at_s

        # Smoothing: the highest optimistic value in force during the window
        # (each sample is in force until the next), and the latest safe value.
        start = at_s - self.config.smoothing_s
        first = 0
        for i, s in enumerate(self._samples):
            if s.at_s <= start:
                first = i
        del self._samples[:first]
        self._current = tuple(
            max(safe[leg], *(s.optimistic_a[leg] for s in self._samples))
            for leg in range(legs)
        )

    def _prune(self, now_s: float) -> None:
        """Drop reports no usable sample can be matched to any more."""
        cfg = self.config
        oldest = now_s - cfg.timeout_s
        if self._latest_at_s is not None:
            oldest = max(oldest, self._latest_at_s)
        cutoff = oldest - cfg.ev_skew_s
        reports = self._reports
        first = next(
            (i for i, r in enumerate(reports) if r.end_s >= cutoff), len(reports) - 1
        )
        del reports[: max(0, first - 1)]  # and one before, for the optimistic side

"""Dynamic load management: a power group's non-EV load, from a meter on it.

A CT clamp or a site meter on a power group measures everything that flows
through it: the building's own loads *and* the chargers under the group. The
allocator wants only the first part (:attr:`Group.unmanaged_a`): the group's
non-EV load is the meter reading minus the EV current the chargers under it
report, and its headroom is what the limit leaves of it.

:class:`UnmanagedLoad` turns a meter's samples into that estimate, one instance
per metered group, updated every control cycle; :func:`with_measurements` puts
the estimates into a :class:`Site` before it is allocated. The rules:

* **Lowering headroom acts at once, raising it is smoothed.** A higher load
  counts from the first sample that shows it; a lower one only once it has
  lasted ``smoothing_s`` (the estimate is the highest value in force during the
  last ``smoothing_s`` of samples), so a kettle switching off and on does not
  make every charger hunt.
* **A charger's first report is news about the charger, not the building.**
  While a charging port's draw is not reported yet (a charger that just came
  online, a vehicle whose first meter values have not arrived), nothing is
  subtracted for it: its current counts as non-EV load (the safe side). Once
  its draw is reported, the samples taken without it over-state the building's
  load by what it drew then; they are dropped from the smoothing window at once
  instead of holding that over-estimate for ``smoothing_s``. Each sample
  remembers which ports' draws it could subtract (:attr:`EvDraw.known`), and
  only samples that knew at least the ports the latest one knows stay in the
  window (a port that leaves or stops reporting drops nothing). This cannot
  make a cycle unsafe: the estimate is never below the latest sample's own
  safe value, which is what keeps the one cycle after a reading within every
  limit; smoothing only keeps noise from making the chargers hunt, and it
  starts again from the first sample that knows the new port.
* **A later report is news about the charger too.** A charger reports its draw
  now and then (say every 10 s) while the meter is read every cycle: after a
  raise of its limit, or a start, the vehicle draws more while its report still
  shows the old current, and until the next report the rise counts as non-EV
  load (the safe side: it could be). Once a newer report of that port comes in,
  each sample still in the smoothing window is corrected by what the report
  explains: its optimistic value is lowered, per leg, by how much more the port
  reported later than it did around the sample, but only up to the limit the
  port held all through the sample's time (:attr:`PortDraw.cap_a`; none known:
  no correction). The part of a rise beyond what the vehicle could have drawn
  then (a load that came with a later raise, or one the car's own report does
  not explain) stays in the window. A correction is a guess (the vehicle may
  have ramped only after the sample, while a short house load came and went),
  so it only shortens how long smoothing holds a load; it cannot make a cycle
  unsafe, as the latest sample's own safe value, which is never corrected,
  still bounds the estimate from below.
* **A stale or missing reading never widens headroom.** A reading is fresh for
  ``timeout_s`` after it was taken. Then the last fresh estimate is held plus
  ``margin_a`` (*holding*) for ``hold_s``; after that the group has *failed*:
  the held value stays and every port under the group (at any depth) is capped
  at its failsafe current, and :attr:`LoadEstimate.problem` asks for a repair
  issue. A fresh reading ends both at once.
* **Export never creates headroom:** a negative non-EV load counts as 0.
* **Timing skew between the meter and the chargers' reports** is the subtle part.
  Subtracting more EV current than the meter actually saw under-estimates the
  building's load (unsafe); subtracting less over-estimates it (safe, but it
  takes capacity from the vehicles, and at a binding limit an over-estimate
  that follows every increase makes the allocation oscillate). Each charger
  report covers the time since the previous update; a sample is matched to the
  reports in force at its own timestamp, widened back by ``ev_skew_s`` for a
  meter whose value lags its timestamp. Two estimates are made per sample: a
  *safe* one that subtracts the lowest EV current that may have been in the
  reading (the reports in the skew window at their lowest, each capped by the
  limit in force: :attr:`EvDraw.at_least_a`), and an *optimistic* one that
  subtracts the highest (looking one report further back, as if the meter
  lagged an update). The group's estimate is the larger of the latest sample's
  safe value and the smoothed optimistic values: the safe value protects this
  very cycle and, as it is not smoothed, its over-estimate after a change lasts
  only as long as the doubt (one sample); smoothing the optimistic value holds a
  real load for ``smoothing_s`` even when a report that leads its meter briefly
  hides it. What remains: a report that says *more* than the vehicle draws (it
  lags a vehicle that slowed down by itself, or the charger's meter
  over-states it, up to the limit in force) can hide a load that rose at the
  same moment, by at most that difference, for as long as the report says so
  (``tests/core/test_over_reporting.py``: with a steady load nothing is over,
  as the hidden current is the port's own unused offer); and with
  ``ev_skew_s`` every EV change stays in doubt for that long (set it to the
  meter's real lag, no more:
  a skew of a whole control interval on a meter that does not lag makes every
  increase look like new house load, and the allocation hunts).

Meters that give per-leg currents are the primary source (signed or as
magnitudes: a magnitude is never below the signed value, so it is safe too).
Per-leg power is converted with the supply's line-to-neutral voltage and a floor
on the power factor (``power_factor``; a line-to-line charger on a wye supply
shows only cos 30° ≈ 0.87 of V × I on each leg's power, so such sites need a
floor of 0.85 or per-leg currents). A meter that gives only a total power
cannot say how it is split between legs: by default
(:attr:`TotalPowerSplit.WORST_CASE`) the whole non-EV total is assumed on
*every* leg, which is safe for any imbalance of consumption but costs headroom
(and a group power limit counts it once per leg);
:attr:`TotalPowerSplit.BALANCED` divides it evenly, which is only right for a
load known to be balanced. Neither is safe where one leg can export while
another draws (a single-phase inverter): the total nets them out.

No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
import math
from typing import NamedTuple

from .model import ModelError, Port, Site, Supply


class MeterState(StrEnum):
    """How far a metered group's estimate can be trusted."""

    FRESH = "fresh"
    """The last reading is at most ``timeout_s`` old: it is used as it is."""
    HOLDING = "holding"
    """No fresh reading: the last fresh estimate plus ``margin_a`` is held."""
    FAILED = "failed"
    """No fresh reading for ``timeout_s + hold_s`` (or none yet): ports under the
    group fall back to their failsafe currents."""


class TotalPowerSplit(StrEnum):
    """How a meter that gives only a total power is spread over the legs."""

    WORST_CASE = "worst_case"
    """All of the non-EV total could be on any one leg (safe for any imbalance)."""
    BALANCED = "balanced"
    """The non-EV total is spread evenly (only for a load known to be balanced)."""


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """How a metered group's readings are trusted and smoothed."""

    timeout_s: float = 15.0
    """A reading older than this is stale."""
    hold_s: float = 45.0
    """How long a stale group holds its last estimate before it fails."""
    margin_a: float = 2.0
    """Added on every leg to a held estimate (the load may have risen since)."""
    smoothing_s: float = 30.0
    """A lower load counts only once it has lasted this long (0: at once)."""
    ev_skew_s: float = 0.0
    """How far the meter's value may lag its timestamp, relative to the chargers'
    reports (e.g. one control interval for a meter whose reading is stamped when
    it is received rather than when it was taken)."""
    total_power: TotalPowerSplit = TotalPowerSplit.WORST_CASE
    """How a total-power-only reading is spread over the legs."""
    power_factor: float = 1.0
    """Lowest power factor of the loads, to turn watts into amperes (1: W = VA)."""

    def __post_init__(self) -> None:
        """Raise :class:`ModelError` naming the first bad field."""
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ModelError("timeout_s", "must be a positive number")
        for name in ("hold_s", "margin_a", "smoothing_s", "ev_skew_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ModelError(name, "must be a number >= 0")
        if not (math.isfinite(self.power_factor) and 0 < self.power_factor <= 1):
            raise ModelError("power_factor", "must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One reading of the meter on a group; signed: import > 0, export < 0.

    Give per-leg currents where the meter has them; otherwise per-leg power, and
    only failing that a total power. Per-leg values have one entry per leg of
    the supply (L1, L2, L3). A non-finite value makes the sample unusable (it
    counts as no reading).
    """

    at_s: float
    """When the reading was taken (the meter's or the sensor's own timestamp)."""
    currents_a: tuple[float, ...] | None = None
    powers_w: tuple[float, ...] | None = None
    power_w: float | None = None
    """Total active power of all legs."""

    def __post_init__(self) -> None:
        """A sample must carry something."""
        if self.currents_a is None and self.powers_w is None and self.power_w is None:
            raise ModelError("sample", "needs currents_a, powers_w or power_w")


@dataclass(frozen=True, slots=True)
class EvDraw:
    """What the online chargers under a group reported drawing since the last
    update, summed per leg (see :func:`ev_draws`)."""

    currents_a: tuple[float, ...] = ()
    """Per leg (L1, L2, L3), as the chargers reported it."""
    power_w: float | None = None
    """Their total power; None: derived from the currents on the safe side."""
    at_least_a: tuple[float, ...] | None = None
    """Per leg, the part of ``currents_a`` that is certain: each report capped by
    the limit in force (a vehicle told to slow down may have done so already
    while its report still shows the old current); None: ``currents_a``."""
    at_least_w: float | None = None
    """Likewise for ``power_w``."""
    known: frozenset[str] = frozenset()
    """The ports whose draw these figures include because it was reported (0 A
    included); a charging port missing here (its draw not reported yet) counts
    as non-EV load. A sample whose reports know a port that earlier samples did
    not know ends those samples' smoothing (see the module's rules)."""
    ports: Mapping[str, PortDraw] = field(default_factory=dict)
    """Each known port's own figures, for the smoothed samples' correction by
    later reports (see the module's rules); empty: no correction."""


class PortDraw(NamedTuple):
    """One port's reported draw, as :class:`EvDraw` sums it."""

    currents_a: tuple[float, ...]
    """Per leg of the supply (L1, L2, L3), as the charger reported it."""
    cap_a: float
    """The most it may draw on a leg: the limit in force (0: none of ours is
    known, so a later report corrects nothing)."""


class LoadEstimate(NamedTuple):
    """A metered group's non-EV load, for :attr:`Group.unmanaged_a`."""

    unmanaged_a: tuple[float, ...]
    """Per leg of the supply; every value >= 0."""
    state: MeterState
    age_s: float | None
    """Age of the last usable reading; None: none yet."""
    problem: bool
    """Raise a repair issue: failed, and not merely because no reading came yet
    since the estimator started (that gets ``timeout_s + hold_s`` of grace)."""
    latest_a: tuple[float, ...] | None = None
    """The latest usable sample's own (safe, unsmoothed) estimate, for display."""


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
        """Take a later report of each port into account (see the module's rules)."""
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


def _finite_or_zero(value: float) -> float:
    return value if math.isfinite(value) and value > 0 else 0.0


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
            _finite_or_zero(ev.currents_a[leg]) if leg < len(ev.currents_a) else 0.0
            for leg in range(legs)
        )
        low_src = ev.at_least_a if ev.at_least_a is not None else ev.currents_a
        low = tuple(
            min(high[leg], _finite_or_zero(low_src[leg])) if leg < len(low_src) else 0.0
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


def ev_draws(
    site: Site, phase_currents: Mapping[str, Sequence[float]] | None = None
) -> dict[str, EvDraw]:
    """What the online chargers under each group draw, from ``site``'s ports.

    A port's draw is ``phase_currents[port.id]`` when given (the charger's
    measured current per phase, in the order of its connection's legs; a
    line-to-line charger's current flows on both of its legs), else its
    vehicle's ``draw_a`` on the legs the vehicle uses. ``draw_a`` is a single
    figure: if it is the largest of the phases, or the vehicle's phase count is
    a guess, it may count current on a leg that does not carry it, so pass the
    per-phase currents where the charger has them. Unknown draws count as 0 and
    offline ports are not subtracted at all (their current stays in the non-EV
    load, which over-states it: the safe side). A report above what the port may
    draw at all (``port.max_a``) is suspect: it counts at that maximum, never as
    headroom. ``at_least_a`` caps each port by its vehicle's ``offered_a`` (the
    limit in force). ``known`` names the online
    ports with a vehicle whose draw is given (0 A included), under each group,
    and ``ports`` gives each one's draw and the most it may draw.
    """
    supply = site.supply
    legs = supply.legs
    parent = {g.id: g.parent for g in site.groups}
    high = {g.id: [0.0] * legs for g in site.groups}
    low = {g.id: [0.0] * legs for g in site.groups}
    high_w = dict.fromkeys(parent, 0.0)
    low_w = dict.fromkeys(parent, 0.0)
    known: dict[str, set[str]] = {gid: set() for gid in parent}
    own: dict[str, dict[str, PortDraw]] = {gid: {} for gid in parent}
    for port in site.ports:
        ev = port.ev
        if not port.online or ev is None:
            continue
        per_leg = _port_draw(port, phase_currents)
        cap = ev.offered_a if ev.offered_a is not None else math.inf
        if (phase_currents is not None and port.id in phase_currents) or (
            ev.draw_a is not None
        ):
            figures = PortDraw(
                tuple(per_leg.get(leg, 0.0) for leg in range(legs)),
                # No limit of ours known: nothing says what it may draw.
                min(cap, port.max_a, ev.max_a) if ev.offered_a is not None else 0.0,
            )
            gid: str | None = port.group
            while gid is not None:
                known[gid].add(port.id)
                own[gid][port.id] = figures
                gid = parent[gid]
        if not per_leg:
            continue
        conn = port.conn
        capped = {leg: min(a, cap) for leg, a in per_leg.items()}
        if conn.line_to_line:
            # One current through both legs, at the line-to-line voltage.
            w_high = supply.voltage_ll_v * min(per_leg.values())
            w_low = supply.voltage_ll_v * min(capped.values())
        else:
            w_high = supply.voltage_ln_v * sum(per_leg.values())
            w_low = supply.voltage_ln_v * sum(capped.values())
        gid = port.group
        while gid is not None:
            for leg, amps in per_leg.items():
                high[gid][leg] += amps
                low[gid][leg] += capped[leg]
            high_w[gid] += w_high
            low_w[gid] += w_low
            gid = parent[gid]
    return {
        gid: EvDraw(
            currents_a=tuple(high[gid]),
            power_w=high_w[gid],
            at_least_a=tuple(low[gid]),
            at_least_w=low_w[gid],
            known=frozenset(known[gid]),
            ports=own[gid],
        )
        for gid in parent
    }


def _port_draw(
    port: Port, phase_currents: Mapping[str, Sequence[float]] | None
) -> dict[int, float]:
    """Leg -> current a port draws (only legs with a known current)."""
    conn = port.conn
    ev = port.ev
    measured = None if phase_currents is None else phase_currents.get(port.id)
    most = _finite_or_zero(port.max_a)
    if measured is not None:
        values = [min(most, _finite_or_zero(a)) for a in measured[: len(conn.legs)]]
        if conn.line_to_line and values:
            # The same current flows through both legs: trust the lower figure.
            return dict.fromkeys(conn.legs, min(values))
        return {conn.legs[i]: a for i, a in enumerate(values) if a > 0}
    if ev is None or ev.draw_a is None:
        return {}
    amps = min(most, _finite_or_zero(ev.draw_a))
    return dict.fromkeys(conn.active_legs(ev.phases), amps) if amps > 0 else {}


def with_measurements(
    site: Site,
    estimates: Mapping[str, LoadEstimate],
    failsafe_a: Mapping[str, float] | None = None,
) -> Site:
    """``site`` with the metered groups' non-EV loads, ready to allocate.

    Each group in ``estimates`` gets its ``unmanaged_a`` (replacing any it had).
    Under a group whose meter has *failed*, every online port, at any depth, is
    capped at its failsafe current — ``failsafe_a[port.id]`` when given, else
    :meth:`Site.failsafe_of` — so a failsafe below the site's minimum current
    (0 included) means it does not charge. Pass the configured failsafe currents
    when the ports' ``failsafe_a`` carries something else (such as a limit a
    charger may still hold). Raises :class:`ModelError` for an unknown group.
    """
    known = {g.id for g in site.groups}
    for gid in estimates:
        if gid not in known:
            raise ModelError(f"estimates[{gid!r}]", "unknown group")
    groups = tuple(
        replace(g, unmanaged_a=estimates[g.id].unmanaged_a) if g.id in estimates else g
        for g in site.groups
    )
    failed = [gid for gid, e in estimates.items() if e.state is MeterState.FAILED]
    return capped_at_failsafe(replace(site, groups=groups), failed, failsafe_a)


def capped_at_failsafe(
    site: Site, roots: Iterable[str], failsafe_a: Mapping[str, float] | None = None
) -> Site:
    """``site`` with every online port under the groups ``roots`` (at any depth)
    capped at its failsafe current: ``failsafe_a[port.id]`` when given, else
    :meth:`Site.failsafe_of`. What is done when a group's load is not known."""
    roots = list(roots)
    if not roots:
        return site
    under = _under(site, roots)
    ports = tuple(
        replace(p, max_a=min(p.max_a, _failsafe(site, p, failsafe_a)))
        if p.online and p.group in under
        else p
        for p in site.ports
    )
    return replace(site, ports=ports)


def _failsafe(site: Site, port: Port, failsafe_a: Mapping[str, float] | None) -> float:
    if failsafe_a is not None and port.id in failsafe_a:
        return max(0.0, failsafe_a[port.id])
    return site.failsafe_of(port)


def _under(site: Site, roots: Iterable[str]) -> set[str]:
    """The groups ``roots`` and every group below them."""
    wanted = set(roots)
    return {
        g.id for g in site.groups if any(a.id in wanted for a in site.ancestors(g.id))
    }

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

Where the parts live: :mod:`.meter_data` (the settings, the meter's samples
and the estimate), :mod:`.ev_draws` (what the chargers under each group report
drawing), :mod:`.unmanaged_load` (the estimator); this module puts the
estimates into a site, and every name is importable from here.

No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from .ev_draws import EvDraw, PortDraw, ev_draws
from .meter_data import (
    LoadEstimate,
    MeterConfig,
    MeterSample,
    MeterState,
    TotalPowerSplit,
)
from .model import ModelError, Port, Site
from .unmanaged_load import UnmanagedLoad

__all__ = [
    "EvDraw",
    "LoadEstimate",
    "MeterConfig",
    "MeterSample",
    "MeterState",
    "PortDraw",
    "TotalPowerSplit",
    "UnmanagedLoad",
    "capped_at_failsafe",
    "ev_draws",
    "with_measurements",
]


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

"""The meter's side of a metered group's load estimate: its settings, the
meter's samples, and the estimate itself.

The rules these follow are described in :mod:`.load_estimate`. No Home Assistant
imports; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math
from typing import NamedTuple

from .model import ModelError


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

"""A simulated electric vehicle behind an AC charger: what it draws, and its battery.

Pure and deterministic (no I/O, no clock: time is what :meth:`Vehicle.draw` is
told; the only randomness is a :class:`random.Random` seeded by the caller).

What the vehicle does with the current a charger offers it (the pilot signal of
IEC 61851, here the limit the charger holds):

* **below 6 A** offered it does not charge (it pauses, and resumes when offered
  6 A or more again);
* a **lowered** offer is followed after ``follow_s`` (IEC 61851 allows up to 5 s):
  until then it keeps drawing what it drew; its own reductions (taper, full) are
  immediate;
* a **raised** offer is followed by a ramp of ``ramp_a_per_s`` (a few seconds from
  0 to full current);
* it never draws more than its onboard charger's ``max_a`` per phase, on at most
  ``phases`` phases (and at most the phases the charger supplies);
* above ``taper_soc_pct`` (80 %) its current tapers linearly with the state of
  charge (constant current, then constant voltage), down to ``min_taper_ratio`` of
  its maximum; at ``target_soc_pct`` it stops (full);
* it draws a little under what it may (``jitter_a``: a fixed offset per vehicle plus
  noise), as real cars do.

Energy is integrated in sub-steps of at most :data:`MAX_STEP_S`, each at a constant
current (the one :meth:`Vehicle.draw` returns for that sub-step), so the energy is
exactly the integral of the power drawn; the battery gets ``efficiency`` of it.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import random

MIN_OFFER_A = 6.0
"""IEC 61851: an offer below 6 A means "do not charge"."""
MAX_FOLLOW_S = 5.0
"""IEC 61851: the longest an EV may take to follow a lowered offer."""
MAX_STEP_S = 1.0
"""Longest sub-step of the integration (s)."""
DAY_S = 86400.0
VOLTAGE_V = 230.0


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleSpec:
    """A vehicle: its battery, onboard charger and daily schedule."""

    name: str
    capacity_kwh: float = 60.0
    max_a: float = 16.0
    """Onboard charger limit, per phase."""
    phases: int = 3
    """Phases the onboard charger uses (1 or 3; 2 for a few cars)."""
    soc_pct: float = 30.0
    """State of charge at arrival."""
    target_soc_pct: float = 100.0
    """Where it stops charging (its own setting)."""
    arrival_s: float = 0.0
    """Time of day it arrives (s after midnight)."""
    departure_s: float = DAY_S
    """Time of day it leaves; at or before ``arrival_s``: the next day."""
    id_tag: str = ""
    """The RFID tag it starts with (default: its name)."""
    reports_soc: bool = False
    """True if the charger learns its state of charge (ISO 15118)."""
    taper_soc_pct: float = 80.0
    min_taper_ratio: float = 0.1
    follow_s: float = 3.0
    ramp_a_per_s: float = 4.0
    efficiency: float = 0.9
    """Share of the energy drawn that ends up in the battery."""
    jitter_a: float = 0.3

    def __post_init__(self) -> None:
        """Refuse a vehicle that cannot be."""
        checks = (
            (bool(self.name), "name", "must not be empty"),
            (self.capacity_kwh > 0, "capacity_kwh", "must be positive"),
            (self.max_a > 0, "max_a", "must be positive"),
            (self.phases in (1, 2, 3), "phases", "must be 1, 2 or 3"),
            (0 <= self.soc_pct <= 100, "soc_pct", "must be 0–100"),
            (0 < self.target_soc_pct <= 100, "target_soc_pct", "must be 0–100"),
            (0 < self.taper_soc_pct <= 100, "taper_soc_pct", "must be 0–100"),
            (0 < self.min_taper_ratio <= 1, "min_taper_ratio", "must be 0–1"),
            (0 <= self.follow_s <= MAX_FOLLOW_S, "follow_s", "must be 0–5 s"),
            (self.ramp_a_per_s > 0, "ramp_a_per_s", "must be positive"),
            (0 < self.efficiency <= 1, "efficiency", "must be 0–1"),
            (self.jitter_a >= 0, "jitter_a", "must not be negative"),
            (0 <= self.arrival_s < DAY_S, "arrival_s", "must be a time of day"),
            (0 <= self.departure_s <= DAY_S, "departure_s", "must be a time of day"),
        )
        for ok, field, message in checks:
            if not ok:
                raise ValueError(f"vehicle {self.name!r}: {field} {message}")

    @property
    def tag(self) -> str:
        """The id tag it starts transactions with."""
        return self.id_tag or self.name

    @property
    def stay_s(self) -> float:
        """How long it stays plugged in each day."""
        stay = (self.departure_s - self.arrival_s) % DAY_S
        return stay or DAY_S

    def visits(self, start_s: float, end_s: float) -> list[tuple[float, float]]:
        """Its daily visits (arrival, departure) that overlap ``[start_s, end_s)``,
        in seconds from the midnight before time 0 (day ``d`` starts at ``d × DAY``)."""
        out = []
        day = math.floor((start_s - self.stay_s - self.arrival_s) / DAY_S)
        while (arrive := day * DAY_S + self.arrival_s) < end_s:
            leave = arrive + self.stay_s
            if leave > start_s:
                out.append((arrive, leave))
            day += 1
        return out


class Vehicle:
    """One visit of a vehicle: its state while plugged in."""

    def __init__(
        self, spec: VehicleSpec, *, seed: int | str = 0, soc_pct: float | None = None
    ) -> None:
        self.spec = spec
        self.soc_pct = spec.soc_pct if soc_pct is None else soc_pct
        self.energy_wh = 0.0
        """Drawn from the charger since plug-in (grid side)."""
        self.elapsed_s = 0.0
        """Time since plug-in."""
        self.level_a = 0.0
        """The current its onboard charger aims at (per phase), before the jitter."""
        self.current_a = 0.0
        """What it draws now, per active phase."""
        self.active_phases = 0
        self.offered_a = 0.0
        self._over_since: float | None = None
        self._rng = random.Random(seed)  # noqa: S311 - a reproducible simulation
        self._offset = self._rng.uniform(0.0, spec.jitter_a)

    @property
    def full(self) -> bool:
        """True once it reached its target state of charge."""
        return self.soc_pct >= self.spec.target_soc_pct

    @property
    def state(self) -> str:
        """``charging``, ``suspended_ev`` (full, or not drawing although offered
        enough) or ``suspended_evse`` (offered less than 6 A)."""
        if self.current_a > 0:
            return "charging"
        if self.full or self.offered_a >= MIN_OFFER_A:
            return "suspended_ev"
        return "suspended_evse"

    @property
    def power_w(self) -> float:
        """Power drawn now at the nominal 230 V per phase."""
        return self.current_a * self.active_phases * VOLTAGE_V

    def own_limit_a(self) -> float:
        """What its onboard charger allows now (per phase): taper and full."""
        spec = self.spec
        if self.full:
            return 0.0
        if self.soc_pct <= spec.taper_soc_pct or spec.taper_soc_pct >= 100:
            return spec.max_a
        ratio = (100.0 - self.soc_pct) / (100.0 - spec.taper_soc_pct)
        return spec.max_a * min(1.0, max(spec.min_taper_ratio, ratio))

    def draw(
        self,
        limit_a: float,
        dt_s: float,
        *,
        phases: int = 3,
        voltage_v: float = VOLTAGE_V,
    ) -> tuple[float, ...]:
        """Charge for ``dt_s`` under an offer of ``limit_a`` per phase, from a charger
        that supplies ``phases`` phases at ``voltage_v`` each; returns the current
        drawn (per active phase) at the end of it."""
        if dt_s < 0 or not math.isfinite(dt_s):
            raise ValueError(f"dt_s must be a finite time, not {dt_s}")
        if phases < 1:
            raise ValueError(f"phases must be at least 1, not {phases}")
        self.active_phases = min(self.spec.phases, phases)
        self.offered_a = limit_a if math.isfinite(limit_a) else 0.0
        remaining = dt_s
        while remaining > 1e-12:
            step = min(MAX_STEP_S, remaining)
            self._step(self.offered_a, step, voltage_v)
            remaining -= step
        return (self.current_a,) * self.active_phases

    def _step(self, limit_a: float, h: float, voltage_v: float) -> None:
        spec = self.spec
        start, end = self.elapsed_s, self.elapsed_s + h
        offered = limit_a if limit_a >= MIN_OFFER_A else 0.0
        # Its own reductions (taper, full) apply at once.
        own = self.own_limit_a()
        level = min(self.level_a, own)
        if offered < level:
            if self._over_since is None:
                self._over_since = start
            if end - self._over_since >= spec.follow_s - 1e-9:
                level = offered
                self._over_since = None
        else:
            self._over_since = None
            level = min(offered, own, level + spec.ramp_a_per_s * h)
        self.level_a = max(0.0, level)
        if self.level_a > 0:
            below = self._offset + self._rng.uniform(0.0, spec.jitter_a / 3)
            current = self.level_a - min(below, self.level_a / 4)
        else:
            current = 0.0
        self.current_a = current
        energy_wh = current * self.active_phases * voltage_v * h / 3600.0
        self.energy_wh += energy_wh
        stored_pct = energy_wh * spec.efficiency / (spec.capacity_kwh * 10.0)
        self.soc_pct = min(100.0, self.soc_pct + stored_pct)
        self.elapsed_s = end

    def rest(self, dt_s: float) -> None:
        """``dt_s`` without supply (no transaction: the charger's contactor is open)."""
        self.elapsed_s += dt_s
        self.level_a = self.current_a = self.offered_a = 0.0
        self._over_since = None

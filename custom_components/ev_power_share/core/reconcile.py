"""Reconciliation over a period: each charger's sessions against its energy
register, and the site meter against the chargers. No Home Assistant imports.

A session's energy within a period is read from its meter samples, linear
between two readings (the register is known only where it was read), so a
session across the period's edge counts the part inside it, and the parts of
consecutive periods add up to the session's energy.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import math

from .sessions import MeterSample, SessionRecord


def register_at(samples: Sequence[MeterSample], at: float) -> float:
    """The register at this time, linear between readings, held before the
    first and after the last (``samples`` oldest first, not empty)."""
    times = [s.at for s in samples]
    i = bisect_right(times, at)
    if i == 0:
        return samples[0].wh
    if i == len(samples):
        return samples[-1].wh
    a, b = samples[i - 1], samples[i]
    return a.wh + (b.wh - a.wh) * (at - a.at) / (b.at - a.at)


def energy_in(session: SessionRecord, start: float, end: float) -> float:
    """The session's energy within [start, end) (Wh)."""
    if not session.samples or end <= start:
        return 0.0
    delivered = register_at(session.samples, end) - register_at(session.samples, start)
    return max(0.0, delivered)


def _known_change(reading: tuple[float, float] | None) -> float | None:
    """A register's change from two readings, or None when it cannot be told
    (missing, not numbers, negative, or going backwards: a reset)."""
    if reading is None:
        return None
    first, last = reading
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in reading):
        return None
    if first < 0 or last < first:
        return None
    return float(last - first)


@dataclass(frozen=True, slots=True)
class ChargerBalance:
    """One charger over a period."""

    charger: str
    sessions_wh: float
    """What its sessions delivered within the period."""
    register_wh: float | None
    """What its energy register counted (None: unknown)."""

    @property
    def unbooked_wh(self) -> float | None:
        """Counted by the register but in no session (negative: the sessions
        count more than the register did)."""
        if self.register_wh is None:
            return None
        return self.register_wh - self.sessions_wh

    @property
    def counted_wh(self) -> float:
        """What it drew: its register's count, or its sessions' if unknown."""
        return self.sessions_wh if self.register_wh is None else self.register_wh


def charger_balances(
    sessions: Iterable[SessionRecord],
    registers: Mapping[str, tuple[float, float]],
    start: float,
    end: float,
) -> list[ChargerBalance]:
    """Per charger (by name), its sessions' energy within [start, end) and its
    register's change (``registers``: the charger's register at the start and
    at the end, Wh)."""
    booked: dict[str, float] = dict.fromkeys(registers, 0.0)
    for session in sessions:
        booked[session.charger] = booked.get(session.charger, 0.0) + energy_in(
            session, start, end
        )
    return [
        ChargerBalance(charger, wh, _known_change(registers.get(charger)))
        for charger, wh in sorted(booked.items())
    ]


@dataclass(frozen=True, slots=True)
class SiteBalance:
    """The site meter against its chargers over a period."""

    site_wh: float | None
    """What the site meter counted (None: unknown)."""
    chargers_wh: float
    """What the chargers drew (each by its register, or its sessions)."""

    @property
    def other_wh(self) -> float | None:
        """Losses and other loads: the site's count minus the chargers'."""
        return None if self.site_wh is None else self.site_wh - self.chargers_wh


def site_balance(
    site: tuple[float, float] | None, chargers: Iterable[ChargerBalance]
) -> SiteBalance:
    """The site meter (its register at the start and the end of the period,
    Wh) against the chargers' balances of that period."""
    return SiteBalance(_known_change(site), sum(c.counted_wh for c in chargers))

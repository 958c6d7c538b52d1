"""A charging session as the ledger keeps it and billing reads it. No Home
Assistant imports.

A session runs on one port (a charger's connector, an outlet, a charger already
in Home Assistant) for one user (or none: "unassigned"). What it cost is worked
out from its meter samples, never from a running total: the charger's energy
register at its start, at every reading and at its stop. Times are UTC
timestamps (s); energy is the charger's register in Wh.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math


class ClosedBy(StrEnum):
    """How a session ended."""

    OPEN = "open"
    """It has not ended (yet)."""
    CHARGER = "charger"
    """By the charger's own stop message (StopTransaction, TransactionEvent
    Ended), or the port's end as its source saw it (a car unplugged)."""
    METER = "meter"
    """No stop ever came: closed at the last meter reading that belongs to it
    (flagged in statements)."""


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One reading of a port's energy register."""

    at: float
    """When the charger took it (its own timestamp where it gives one)."""
    wh: float
    """The energy register (Wh, never decreasing within a session)."""
    w: float | None = None
    """The power at that moment, if known (W)."""

    def __post_init__(self) -> None:
        if not math.isfinite(self.at):
            raise ValueError("at: must be a number")
        if not (math.isfinite(self.wh) and self.wh >= 0):
            raise ValueError("wh: must be a number >= 0")
        if self.w is not None and not (math.isfinite(self.w) and self.w >= 0):
            raise ValueError("w: must be a number >= 0 or None")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session: who charged where, when, and the meter samples in it."""

    id: str
    """Unique and stable (the ledger's key)."""
    charger: str
    """The charger's id (an OCPP charge point id, a subentry id)."""
    connector: int
    port_id: str
    """The allocator's port id (``charger:connector``)."""
    started_at: float
    meter_start_wh: float
    user_id: str | None = None
    """The user it is booked to; None: unassigned."""
    token: str | None = None
    """The card or id token that started it, if any."""
    transaction_id: str | None = None
    """The charger's transaction id, if it has one."""
    stopped_at: float | None = None
    meter_stop_wh: float | None = None
    closed_by: ClosedBy = ClosedBy.OPEN
    peak_w: float | None = None
    samples: tuple[MeterSample, ...] = ()
    """Every reading in it, oldest first (the first at its start, the last at
    its stop once closed)."""

    @property
    def energy_wh(self) -> float:
        """Energy so far: the last register reading minus the first."""
        last = self.meter_stop_wh
        if last is None:
            last = self.samples[-1].wh if self.samples else self.meter_start_wh
        return max(0.0, last - self.meter_start_wh)

    @property
    def is_open(self) -> bool:
        """Whether it has not ended."""
        return self.closed_by is ClosedBy.OPEN

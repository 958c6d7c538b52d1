"""An OCPP charger as its subentry configures it, and how its ports take a limit.

What a charger takes is data (``core.commands.PortSteps``): the unit it says it
takes after its boot (``ChargingScheduleAllowedChargingRateUnit``; 2.0.1:
``SmartChargingCtrlr.RateUnit``) unless its options set one, its step, its own
minimum current and a write budget from its options.
"""

from __future__ import annotations

from dataclasses import dataclass

from .core.commands import PortSteps, Unit, WriteBudget
from .core.model import CONNECTIONS
from .core.ports import port_text


@dataclass(frozen=True, slots=True)
class ChargerConfig:
    """A charger as its subentry configures it."""

    charge_point_id: str
    name: str
    group: str
    connectors: int = 1
    connection: str = "L1-L2-L3"
    max_current_a: float = 32.0
    failsafe_a: float | None = None
    """None: the site's failsafe current."""
    password: str | None = None
    limit_unit: Unit | None = None
    """A or W; None: what the charger says it takes (after its boot)."""
    limit_step: float = 1.0
    """The smallest change it takes, in its unit (1 A, 0.1 A, 1 W, 100 W)."""
    min_current_a: float = 0.0
    """Below this (A per phase) it is paused (some chargers fault on less)."""
    writes_per_minute: int | None = None
    """At most this many limits a minute (flash wear, cloud rate limits);
    decreases always go out. None: no budget."""

    def port_id(self, connector: int) -> str:
        """The allocator's id of one connector."""
        return port_text(self.charge_point_id, connector)

    def steps(
        self,
        said: Unit | None,
        *,
        voltage_v: float,
        refresh_s: float,
        failsafe_a: float,
        lapse_s: float | None = None,
    ) -> PortSteps:
        """How its ports take a limit: in the unit set in its options, else the
        one it ``said`` it takes (A until it said), in its steps, paused under
        its minimum, within its write budget."""
        phases = len(CONNECTIONS[self.connection].legs)
        return PortSteps(
            charger=self.charge_point_id,
            unit=self.limit_unit or said or "A",
            step=self.limit_step,
            minimum_a=self.min_current_a,
            watts_per_amp=phases * voltage_v,
            refresh_s=refresh_s,
            lapse_s=lapse_s,
            budget=None
            if self.writes_per_minute is None
            else WriteBudget(self.writes_per_minute, 60.0),
            failsafe_a=failsafe_a,
        )

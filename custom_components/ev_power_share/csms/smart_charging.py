"""What a station says of its smart charging, and limits in the unit it takes.

A station that takes only W gets everything in W: its limits, its failsafe and our
questions about what it applies. W are A per phase × phases × line voltage, as
the command writer converts them (``core.commands.PortSteps``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .profiles import RateUnit

NOMINAL_VOLTAGE_V = 230.0
"""Line to neutral, where the caller does not say."""


@dataclass(frozen=True, slots=True)
class SmartCharging:
    """What a station says of its smart charging (read after its boot)."""

    rate_units: frozenset[RateUnit] | None = None
    """``ChargingScheduleAllowedChargingRateUnit`` (1.6) / ``SmartChargingCtrlr
    RateUnit`` (2.0.1): the units its schedules take; None: it did not say."""
    max_stack_level: int | None = None
    """``ChargeProfileMaxStackLevel`` (1.6) / ``SmartChargingCtrlr
    ProfileStackLevel`` (2.0.1); None: it did not say."""

    @property
    def unit(self) -> RateUnit:
        """The unit to send limits in: W only for a station that takes only W."""
        return "W" if self.rate_units == frozenset({"W"}) else "A"


def rate_units(value: object) -> frozenset[RateUnit] | None:
    """The units of a configuration value ("Current,Power" in 1.6, "A,W" in 2.0.1)."""
    if not isinstance(value, str):
        return None
    names = {"current": "A", "a": "A", "power": "W", "w": "W"}
    units: set[RateUnit] = set()
    for item in value.split(","):
        unit = names.get(item.strip().lower())
        if unit == "A":
            units.add("A")
        elif unit == "W":
            units.add("W")
    return frozenset(units) or None


def stack_level(value: object) -> int | None:
    """A configured maximum stack level, if it is one."""
    try:
        level = int(str(value).strip())
    except ValueError:
        return None
    return level if level >= 0 else None

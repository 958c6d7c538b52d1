"""Home Assistant sensor states as readings, screened where they enter.

A sensor that serves as a CT clamp, a site meter, a grid or battery power, is
read here: its value in the base unit (A, W), or None where it has none usable
(unavailable, not a number, an implausible number, a unit not known). So the
core only sees finite, plausible numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.core import State


@dataclass(frozen=True, slots=True)
class Quantity:
    """What a sensor measures: its units (and their scale to the base unit), and
    the largest magnitude a mains sensor may show. Beyond it a reading is a
    fault (``-1e38`` is a common "no value" marker), not a measurement."""

    scales: Mapping[str, float]
    bound: float


CURRENT = Quantity(
    {UnitOfElectricCurrent.AMPERE: 1.0, UnitOfElectricCurrent.MILLIAMPERE: 0.001},
    10_000.0,
)
POWER = Quantity(
    {
        UnitOfPower.WATT: 1.0,
        UnitOfPower.KILO_WATT: 1000.0,
        UnitOfPower.MEGA_WATT: 1_000_000.0,
    },
    10_000_000.0,
)
_NO_VALUE = frozenset({"unknown", "unavailable", ""})


def sensor_value(state: State | None, quantity: Quantity) -> float | None:
    """A sensor's value in the base unit (A, W), or None if it has none usable
    now (unavailable, not a number, an implausible number, a unit not known)."""
    if state is None:
        return None
    scale = quantity.scales.get(str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)))
    if scale is None:
        return None
    try:
        value = float(state.state) * scale
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and abs(value) <= quantity.bound else None


def garbage(state: State | None, quantity: Quantity) -> bool:
    """Whether a sensor has a state that is neither a usable value nor one of
    Home Assistant's "no value" states: a string, NaN, ``-1e38``, a wrong unit."""
    return (
        state is not None
        and state.state not in _NO_VALUE
        and sensor_value(state, quantity) is None
    )

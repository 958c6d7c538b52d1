"""Reading OCPP meter values (1.6 and 2.0.1) into plain numbers.

The payloads arrive snake_cased by the ``ocpp`` library. A 1.6 sampled value has a
string ``value`` and a ``unit``; a 2.0.1 one a numeric ``value`` and a
``unit_of_measure`` with ``unit`` and a power-of-ten ``multiplier``. Energy comes in
Wh or kWh, power in W or kW; anything unreadable is skipped, never guessed.

Readings are screened here, at the edge, so that no value a charger sends can stop
the control of the others (see :data:`PLAUSIBLE`):

* a current or power below zero (meter noise around 0 A, or an export reported as
  a negative import) counts as 0;
* a value that is not a number, not finite (``1e400``, or a 2.0.1 multiplier that
  overflows), in a unit that does not fit its measurand, or beyond what a
  charger's meter can show (a current of 10⁶ A, an energy register below zero, a
  state of charge of 300 %) is discarded and named in
  :attr:`MeterReading.discarded`, for the station to count and log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import math
from typing import Any

from ._ocpp import parse_time
from .logs import clip

CURRENT_IMPORT = "Current.Import"
POWER_IMPORT = "Power.Active.Import"
ENERGY_IMPORT = "Energy.Active.Import.Register"
SOC = "SoC"

_PHASES = {"L1": 0, "L2": 1, "L3": 2, "L1-N": 0, "L2-N": 1, "L3-N": 2}
_UNITS: dict[str, dict[str | None, float]] = {
    # measurand: {unit (lower case; None: not given): scale to A, W, Wh, %}
    CURRENT_IMPORT: {None: 1.0, "a": 1.0},
    POWER_IMPORT: {None: 1.0, "w": 1.0, "kw": 1000.0},
    ENERGY_IMPORT: {None: 1.0, "wh": 1.0, "kwh": 1000.0},
    SOC: {None: 1.0, "percent": 1.0},
}
PLAUSIBLE: dict[str, tuple[float, float]] = {
    # measurand: (lowest, highest) value a charger's meter can show; a current or
    # power below 0 but above the lowest is noise and counts as 0.
    CURRENT_IMPORT: (-1000.0, 1000.0),
    POWER_IMPORT: (-1e6, 1e6),
    ENERGY_IMPORT: (0.0, 1e12),
    SOC: (0.0, 100.0),
}
_CLAMPED_AT_ZERO = frozenset({CURRENT_IMPORT, POWER_IMPORT})


@dataclass(slots=True)
class MeterReading:
    """What one MeterValues (or transaction event) said; ``None`` = not reported."""

    current_a: dict[int, float] = field(default_factory=dict)
    """Per phase index (0 = L1); a reading without a phase is stored at index 0."""
    power_w: float | None = None
    energy_wh: float | None = None
    soc: float | None = None
    timestamp: datetime | None = None
    discarded: list[str] = field(default_factory=list)
    """The sampled values that were dropped, and why (for the station's log)."""

    @property
    def empty(self) -> bool:
        """True if nothing we use was in it."""
        return (
            not self.current_a
            and self.power_w is None
            and self.energy_wh is None
            and self.soc is None
        )

    def currents(self) -> tuple[float, ...]:
        """Per-phase currents as a tuple L1, L2, L3 (missing phases as 0)."""
        if not self.current_a:
            return ()
        return tuple(self.current_a.get(i, 0.0) for i in range(max(self.current_a) + 1))


def _number(sample: Mapping[str, Any], measurand: str) -> float | str:
    """The sample's value in A, W, Wh or %; or why it cannot be used."""
    value = sample.get("value")
    if isinstance(value, bool):
        return f"{measurand} value {value!r} is not a number"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return f"{measurand} value {clip(value, 40)!r} is not a number"
    unit_of_measure = sample.get("unit_of_measure")
    if isinstance(unit_of_measure, Mapping):  # 2.0.1
        unit = unit_of_measure.get("unit")
        multiplier = unit_of_measure.get("multiplier", 0)
        if isinstance(multiplier, bool) or not isinstance(multiplier, int):
            return f"{measurand} multiplier {clip(multiplier, 40)!r} is not an integer"
        try:
            number *= 10.0**multiplier
        except OverflowError:
            number = math.inf
    else:
        unit = sample.get("unit")
    scales = _UNITS[measurand]
    scale = scales.get(unit.lower() if isinstance(unit, str) else None)
    if scale is None or (unit is not None and not isinstance(unit, str)):
        return f"{measurand} in unit {clip(unit, 40)!r}"
    number *= scale
    low, high = PLAUSIBLE[measurand]
    if not (math.isfinite(number) and low <= number <= high):
        return f"{measurand} value {number:.6g} is beyond {low:g}..{high:g}"
    if measurand in _CLAMPED_AT_ZERO:
        return max(0.0, number)
    return number


def parse_meter_values(meter_values: object) -> MeterReading:
    """Fold a list of MeterValue entries into one reading (later entries win)."""
    reading = MeterReading()
    if not isinstance(meter_values, list):
        return reading
    for entry in meter_values:
        if not isinstance(entry, Mapping):
            continue
        timestamp = parse_time(entry.get("timestamp"))
        if timestamp is not None:
            reading.timestamp = timestamp
        samples = entry.get("sampled_value")
        for sample in samples if isinstance(samples, list) else ():
            if isinstance(sample, Mapping):
                _fold(reading, sample)
    return reading


def _fold(reading: MeterReading, sample: Mapping[str, Any]) -> None:
    """Fold one sampled value into ``reading``: one we use, and can read (else
    it is named in :attr:`MeterReading.discarded`)."""
    measurand = sample.get("measurand", ENERGY_IMPORT)
    if not isinstance(measurand, str) or measurand not in _UNITS:
        return  # voltage, temperature, ...: not used
    phase = sample.get("phase")
    if phase is not None and measurand != CURRENT_IMPORT:
        return  # per-phase power/energy: the totals are what we use
    number = _number(sample, measurand)
    if isinstance(number, str):
        reading.discarded.append(number)
    elif measurand == CURRENT_IMPORT:
        _store_current(reading, phase, number)
    elif measurand == POWER_IMPORT:
        reading.power_w = number
    elif measurand == ENERGY_IMPORT:
        reading.energy_wh = number
    elif measurand == SOC:
        reading.soc = number


def _store_current(reading: MeterReading, phase: object, amps: float) -> None:
    """A current of one phase; one without a phase is stored as L1's."""
    if phase is None:
        reading.current_a[0] = amps
    elif isinstance(phase, str) and phase in _PHASES:
        reading.current_a[_PHASES[phase]] = amps

"""Reading OCPP meter values (1.6 and 2.0.1) into plain numbers.

The payloads arrive snake_cased by the ``ocpp`` library. A 1.6 sampled value has a
string ``value`` and a ``unit``; a 2.0.1 one a numeric ``value`` and a
``unit_of_measure`` with ``unit`` and a power-of-ten ``multiplier``. Energy comes in
Wh or kWh, power in W or kW; anything unreadable is skipped, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
import math
from typing import Any

from ._ocpp import parse_time

CURRENT_IMPORT = "Current.Import"
POWER_IMPORT = "Power.Active.Import"
ENERGY_IMPORT = "Energy.Active.Import.Register"
SOC = "SoC"

_PHASES = {"L1": 0, "L2": 1, "L3": 2, "L1-N": 0, "L2-N": 1, "L3-N": 2}
_SCALE = {"wh": 1.0, "kwh": 1000.0, "w": 1.0, "kw": 1000.0, "a": 1.0, "percent": 1.0}


@dataclass(slots=True)
class MeterReading:
    """What one MeterValues (or transaction event) said; ``None`` = not reported."""

    current_a: dict[int, float] = field(default_factory=dict)
    """Per phase index (0 = L1); a reading without a phase is stored at index 0."""
    power_w: float | None = None
    energy_wh: float | None = None
    soc: float | None = None
    timestamp: datetime | None = None

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


def _number(sample: Mapping[str, Any]) -> float | None:
    value = sample.get("value")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    unit_of_measure = sample.get("unit_of_measure")
    if isinstance(unit_of_measure, Mapping):  # 2.0.1
        unit = unit_of_measure.get("unit")
        multiplier = unit_of_measure.get("multiplier", 0)
        if isinstance(multiplier, int) and -3 <= multiplier <= 3:
            number *= 10.0**multiplier
    else:
        unit = sample.get("unit")
    if isinstance(unit, str):
        scale = _SCALE.get(unit.lower())
        if scale is None:
            return None
        number *= scale
    return number


def parse_meter_values(meter_values: Iterable[Any]) -> MeterReading:
    """Fold a list of MeterValue entries into one reading (later entries win)."""
    reading = MeterReading()
    for entry in meter_values:
        if not isinstance(entry, Mapping):
            continue
        timestamp = parse_time(entry.get("timestamp"))
        if timestamp is not None:
            reading.timestamp = timestamp
        for sample in entry.get("sampled_value") or ():
            if not isinstance(sample, Mapping):
                continue
            number = _number(sample)
            if number is None:
                continue
            measurand = sample.get("measurand", ENERGY_IMPORT)
            phase = sample.get("phase")
            if measurand == CURRENT_IMPORT:
                if phase is None:
                    reading.current_a[0] = number
                elif isinstance(phase, str) and phase in _PHASES:
                    reading.current_a[_PHASES[phase]] = number
            elif phase is not None:
                continue  # per-phase power/energy: the totals are what we use
            elif measurand == POWER_IMPORT:
                reading.power_w = number
            elif measurand == ENERGY_IMPORT:
                reading.energy_wh = number
            elif measurand == SOC:
                reading.soc = number
    return reading

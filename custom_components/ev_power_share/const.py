"""Constants of the EV Power Share integration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .core.model import SupplySystem

DOMAIN: Final = "ev_power_share"

CONF_SUPPLY: Final = "supply"
CONF_MAIN_BREAKER_A: Final = "main_breaker_a"
CONF_CONTINUOUS_FACTOR: Final = "continuous_factor"
"""Stored as a fraction (0.8); the forms show a percentage (80)."""

MAIN_BREAKER_MIN_A: Final = 1.0
MAIN_BREAKER_MAX_A: Final = 2000.0
CONTINUOUS_PCT_MIN: Final = 50.0
CONTINUOUS_PCT_MAX: Final = 100.0
CONTINUOUS_PCT_DEFAULT: Final = 80.0


@dataclass(frozen=True, slots=True)
class SupplyChoice:
    """A supply the user can pick, in the core's terms."""

    system: SupplySystem
    voltage_ln_v: float


SUPPLIES: Final[dict[str, SupplyChoice]] = {
    "three_phase_400": SupplyChoice(SupplySystem.THREE_PHASE_WYE, 230.0),
    "three_phase_208": SupplyChoice(SupplySystem.THREE_PHASE_WYE, 120.0),
    "split_phase_240": SupplyChoice(SupplySystem.SPLIT_PHASE, 120.0),
    "single_phase_230": SupplyChoice(SupplySystem.SINGLE_PHASE, 230.0),
}
DEFAULT_SUPPLY: Final = "three_phase_400"

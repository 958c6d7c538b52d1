"""Runtime data of a site entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME

from .const import CONF_CONTINUOUS_FACTOR, CONF_MAIN_BREAKER_A, CONF_SUPPLY, SUPPLIES
from .core.model import Supply

type EvPowerShareConfigEntry = ConfigEntry[SiteRuntime]


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """The site as configured in the entry's data."""

    name: str
    supply_key: str
    supply: Supply
    main_breaker_a: float
    continuous_factor: float

    @property
    def site_limit_a(self) -> float:
        """Current the site may carry continuously on each phase."""
        return self.main_breaker_a * self.continuous_factor

    @classmethod
    def from_entry_data(cls, data: Mapping[str, Any]) -> SiteSettings:
        """Parse what the config flow stored."""
        choice = SUPPLIES[data[CONF_SUPPLY]]
        return cls(
            name=data[CONF_NAME],
            supply_key=data[CONF_SUPPLY],
            supply=Supply(choice.system, choice.voltage_ln_v),
            main_breaker_a=float(data[CONF_MAIN_BREAKER_A]),
            continuous_factor=float(data[CONF_CONTINUOUS_FACTOR]),
        )


@dataclass(slots=True)
class SiteRuntime:
    """What a loaded site entry holds while it runs."""

    settings: SiteSettings

"""Runtime data of a site entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME

from .const import (
    CONF_CONTINUOUS_FACTOR,
    CONF_FAILSAFE_A,
    CONF_HYSTERESIS_A,
    CONF_INTERVAL_S,
    CONF_MAIN_BREAKER_A,
    CONF_MIN_CURRENT_A,
    CONF_POLICY,
    CONF_ROTATION_MIN,
    CONF_SUPPLY,
    DEFAULT_OPTIONS,
    SITE_GROUP_ID,
    SUPPLIES,
)
from .controller import ControlSettings, SiteController
from .core.model import Policy, Supply
from .core.topology import GroupConfig

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

    def groups(self) -> list[GroupConfig]:
        """The site's power groups: for now the site (main breaker) itself."""
        return [
            GroupConfig(
                id=SITE_GROUP_ID,
                name=self.name,
                parent=None,
                rating_a=self.main_breaker_a,
                continuous_factor=self.continuous_factor,
            )
        ]


def control_settings(options: Mapping[str, Any]) -> ControlSettings:
    """The controller's settings from the entry's options (defaults filled in)."""
    merged = {**DEFAULT_OPTIONS, **options}
    return ControlSettings(
        policy=Policy(str(merged[CONF_POLICY])),
        min_current_a=float(merged[CONF_MIN_CURRENT_A]),
        failsafe_a=float(merged[CONF_FAILSAFE_A]),
        rotation_period_s=60.0 * float(merged[CONF_ROTATION_MIN]),
        interval_s=float(merged[CONF_INTERVAL_S]),
        hysteresis_a=float(merged[CONF_HYSTERESIS_A]),
    )


@dataclass(slots=True)
class SiteRuntime:
    """What a loaded site entry holds while it runs."""

    settings: SiteSettings
    controller: SiteController

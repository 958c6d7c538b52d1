"""Numbers: the site's limit override (what an automation lowers for demand
response); per connector, its current cap and the energy to add."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
    RestoreNumber,
)
from homeassistant.const import UnitOfElectricCurrent, UnitOfEnergy

from .const import SITE_GROUP_ID
from .controller import SiteController
from .core.settings import LimitOverride
from .data import EvPowerShareConfigEntry
from .entity import ConnectorSetting, ConnectorView, SettingFns, SiteSetting


@dataclass(frozen=True, kw_only=True)
class BoxNumberDescription(NumberEntityDescription):
    """A number typed in (a box), in whole units: every number here."""

    native_step: float | None = 1.0
    mode: NumberMode | None = NumberMode.BOX


@dataclass(frozen=True, kw_only=True)
class SiteNumberDescription(
    BoxNumberDescription, SettingFns[SiteController, float | None]
):
    """A number of the site; its maximum is the site's continuous limit.

    ``value_fn`` gives the value in force (None: at the maximum); ``set_fn``
    writes it (None: back to the maximum)."""


def _site_limit(controller: SiteController) -> float | None:
    override = controller.overrides.get(SITE_GROUP_ID)
    return None if override is None else override.current_a


def _set_site_limit(controller: SiteController, value: float | None) -> None:
    controller.set_override(
        SITE_GROUP_ID, None if value is None else LimitOverride(current_a=value)
    )


SITE_LIMIT = SiteNumberDescription(
    key="limit_override",
    translation_key="site_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_min_value=0.0,
    value_fn=_site_limit,
    set_fn=_set_site_limit,
)


@dataclass(frozen=True, kw_only=True)
class ConnectorNumberDescription(
    BoxNumberDescription, SettingFns[ConnectorView, float]
):
    """A number the user sets for one connector."""

    min_fn: Callable[[SiteController, ConnectorView], float] | None = None
    """The minimum, when it depends on the site or charger."""
    max_fn: Callable[[SiteController, ConnectorView], float] | None = None
    """The maximum, when it depends on the site or charger."""


def _max_current(view: ConnectorView) -> float:
    cap = view.controls.max_current_a
    return view.max_current_a if cap is None else cap


def _set_max_current(view: ConnectorView, cap: float) -> None:
    view.controls.max_current_a = None if cap >= view.max_current_a else cap


def _set_energy(view: ConnectorView, kwh: float) -> None:
    view.controls.energy_kwh = float(kwh)


CONNECTOR_NUMBERS: tuple[ConnectorNumberDescription, ...] = (
    # The most the connector may be given: from the site's minimum current
    # (below it a vehicle cannot charge) up to the charger's maximum.
    ConnectorNumberDescription(
        key="max",
        translation_key="max_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        min_fn=lambda controller, _view: controller.settings.min_current_a,
        max_fn=lambda _controller, view: view.max_current_a,
        value_fn=_max_current,
        set_fn=_set_max_current,
    ),
    # Scheduled mode: the energy to add in a session, by the departure time.
    ConnectorNumberDescription(
        key="energy_to_add",
        translation_key="energy_to_add",
        device_class=NumberDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        native_min_value=0.0,
        native_max_value=200.0,
        value_fn=lambda view: view.controls.energy_kwh,
        set_fn=_set_energy,
    ),
)


class SiteNumber(SiteSetting[float | None], NumberEntity):
    """A number of the site, such as its current limit per phase (lower it to
    shed EV load): from 0 up to the main breaker's continuous limit, where the
    override is cleared."""

    entity_description: SiteNumberDescription

    def __init__(
        self,
        controller: SiteController,
        description: SiteNumberDescription,
        maximum: float,
    ) -> None:
        """Attach to the site."""
        super().__init__(controller, description)
        self._attr_native_max_value = maximum

    @property
    def native_value(self) -> float:
        """The value in force (the override, or the maximum)."""
        value = self.setting.value_fn(self.coordinator)
        return (
            self.native_max_value
            if value is None
            else min(value, self.native_max_value)
        )

    async def async_set_native_value(self, value: float) -> None:
        """Lower (or restore) it and re-allocate at once."""
        self.setting.set_fn(
            self.coordinator, None if value >= self.native_max_value else value
        )
        await self.coordinator.async_request_refresh()


class ConnectorNumber(ConnectorSetting[float], RestoreNumber):
    """A number the user sets for one connector; kept across restarts."""

    entity_description: ConnectorNumberDescription

    @property
    def native_min_value(self) -> float:
        """The description's minimum, or what the site or charger allows."""
        if (fn := self.entity_description.min_fn) is not None:
            return fn(self.coordinator, self.view)
        return super().native_min_value

    @property
    def native_max_value(self) -> float:
        """The description's maximum, or what the site or charger allows."""
        if (fn := self.entity_description.max_fn) is not None:
            return fn(self.coordinator, self.view)
        return super().native_max_value

    def _bounded(self, value: float) -> float:
        return min(max(value, self.native_min_value), self.native_max_value)

    async def _async_last_value(self) -> float | None:
        last = await self.async_get_last_number_data()
        if last is None or last.native_value is None:
            return None
        return self._bounded(float(last.native_value))

    @property
    def native_value(self) -> float:
        """The value in force."""
        return self.setting_value

    async def async_set_native_value(self, value: float) -> None:
        """Set it and re-allocate (or re-plan) at once."""
        await self.async_write_setting(self._bounded(value))


def _site_numbers(entry: EvPowerShareConfigEntry) -> list[SiteNumber]:
    runtime = entry.runtime_data
    return [SiteNumber(runtime.controller, SITE_LIMIT, runtime.settings.site_limit_a)]


async_setup_entry = ConnectorNumber.setup_entry(
    per_connector=CONNECTOR_NUMBERS, site_entities=_site_numbers
)
"""The limit override of a site; the numbers of every connector."""

# Every state comes from the controller's cycle: nothing to limit.
PARALLEL_UPDATES = 0

"""Runtime data of a site entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_NAME

from .const import (
    CONF_BATTERY_IS_SURPLUS,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_POWER_SIGN,
    CONF_CHARGE_POINT_ID,
    CONF_CHARGER_MIN_A,
    CONF_CHARGER_PROFILE,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_CONTINUOUS_FACTOR,
    CONF_CURRENT_A,
    CONF_CURRENT_ENTITIES,
    CONF_DEVICE_ID,
    CONF_FAILSAFE_A,
    CONF_FIXED_LOAD_A,
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_GROUP,
    CONF_HOST,
    CONF_HYSTERESIS_A,
    CONF_INTERVAL_S,
    CONF_LIMIT_STEP,
    CONF_LIMIT_UNIT,
    CONF_LINK,
    CONF_MAIN_BREAKER_A,
    CONF_MAX_CURRENT_A,
    CONF_MAX_POWER_KW,
    CONF_MIN_CURRENT_A,
    CONF_MODEL,
    CONF_OUTLET_ENERGY,
    CONF_OUTLET_MIN_OFF_MIN,
    CONF_OUTLET_MIN_ON_MIN,
    CONF_OUTLET_NOMINAL_A,
    CONF_OUTLET_POWER,
    CONF_OUTLET_SWITCH,
    CONF_PARENT,
    CONF_PASSWORD,
    CONF_PHASES,
    CONF_POLICY,
    CONF_POLL_S,
    CONF_PORT,
    CONF_POWER_ENTITY,
    CONF_POWER_KW,
    CONF_POWER_SIGN,
    CONF_PRICE_ENTITY,
    CONF_PROFILE,
    CONF_RATING_A,
    CONF_ROTATION_MIN,
    CONF_SCHEDULE_ENTITY,
    CONF_SOCKETS,
    CONF_SOURCE,
    CONF_STALE_S,
    CONF_SUPPLY,
    CONF_UNIT,
    CONF_WRITES_PER_MIN,
    DEFAULT_OPTIONS,
    LIMIT_UNITS,
    OUTLET_DEFAULT_MIN,
    SITE_GROUP_ID,
    SUBENTRY_CHARGER,
    SUBENTRY_GROUP,
    SUBENTRY_HA_CHARGER,
    SUBENTRY_METER,
    SUBENTRY_MODBUS_CHARGER,
    SUBENTRY_OUTLET,
    SUBENTRY_SCHEDULE,
    SUPPLIES,
)
from .controller import ControlSettings, SiteController
from .core.model import LEG_NAMES, Policy, Supply
from .core.outlets import OutletConfig
from .core.topology import GroupConfig
from .csms import CentralSystem
from .energy import EnergyModes, EnergySettings
from .ha_charger_logic import HaCharger
from .ha_chargers import HaChargerSource
from .ha_profiles import GENERIC, PROFILES, ROLES
from .ledger import Ledger
from .meters import MeterSettings, SiteMeters
from .modbus_chargers import ModbusChargerConfig, ModbusChargerSource
from .ocpp_source import ChargerConfig, OcppSource
from .outlets import OutletSource
from .schedules import ScheduledLimit, ScheduledLimits

if TYPE_CHECKING:
    from .site_sessions import SiteSessions
    from .user_figures import SiteFigures
    from .users import SiteTokens

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

    def site_group(self) -> GroupConfig:
        """The site (main breaker) as the root power group."""
        return GroupConfig(
            id=SITE_GROUP_ID,
            name=self.name,
            parent=None,
            rating_a=self.main_breaker_a,
            continuous_factor=self.continuous_factor,
            phases=tuple(range(self.supply.legs)),
        )


def group_config(subentry: ConfigSubentry) -> GroupConfig:
    """A panel or circuit as its subentry stores it (the id is the subentry's)."""
    data = subentry.data
    power = data.get(CONF_MAX_POWER_KW)
    return GroupConfig(
        id=subentry.subentry_id,
        name=subentry.title,
        parent=data[CONF_PARENT],
        rating_a=float(data[CONF_RATING_A]),
        continuous_factor=float(data[CONF_CONTINUOUS_FACTOR]),
        max_power_kw=None if power is None else float(power),
        fixed_load_a=float(data.get(CONF_FIXED_LOAD_A, 0.0)),
        phases=tuple(LEG_NAMES.index(leg) for leg in data[CONF_PHASES]),
    )


def charger_config(subentry: ConfigSubentry) -> ChargerConfig:
    """A charger as its subentry stores it."""
    data = subentry.data
    failsafe = data.get(CONF_FAILSAFE_A)
    return ChargerConfig(
        charge_point_id=data[CONF_CHARGE_POINT_ID],
        name=subentry.title,
        group=data[CONF_GROUP],
        connectors=int(data[CONF_CONNECTORS]),
        connection=data[CONF_CONNECTION],
        max_current_a=float(data[CONF_MAX_CURRENT_A]),
        failsafe_a=None if failsafe is None else float(failsafe),
        password=data.get(CONF_PASSWORD) or None,
        limit_unit=LIMIT_UNITS.get(str(data.get(CONF_LIMIT_UNIT))),
        limit_step=float(data.get(CONF_LIMIT_STEP) or 1.0),
        min_current_a=float(data.get(CONF_CHARGER_MIN_A) or 0.0),
        writes_per_minute=None
        if (writes := data.get(CONF_WRITES_PER_MIN)) is None
        else int(writes),
    )


def site_chargers(subentries: Mapping[str, ConfigSubentry]) -> list[ChargerConfig]:
    """Every OCPP charger of a site."""
    return [
        charger_config(s)
        for s in subentries.values()
        if s.subentry_type == SUBENTRY_CHARGER
    ]


def outlet_config(subentry: ConfigSubentry) -> OutletConfig:
    """A smart outlet as its subentry stores it."""
    data = subentry.data
    return OutletConfig(
        id=subentry.subentry_id,
        name=subentry.title,
        group=data[CONF_GROUP],
        connection=data[CONF_CONNECTION],
        switch=data[CONF_OUTLET_SWITCH],
        nominal_a=float(data[CONF_OUTLET_NOMINAL_A]),
        power_entity=data.get(CONF_OUTLET_POWER) or None,
        energy_entity=data.get(CONF_OUTLET_ENERGY) or None,
        min_on_s=60.0 * float(data.get(CONF_OUTLET_MIN_ON_MIN, OUTLET_DEFAULT_MIN)),
        min_off_s=60.0 * float(data.get(CONF_OUTLET_MIN_OFF_MIN, OUTLET_DEFAULT_MIN)),
    )


def site_outlets(subentries: Mapping[str, ConfigSubentry]) -> list[OutletConfig]:
    """Every smart outlet of a site."""
    return [
        outlet_config(s)
        for s in subentries.values()
        if s.subentry_type == SUBENTRY_OUTLET
    ]


def modbus_charger_config(
    subentry: ConfigSubentry, watchdog_s: float | None = None
) -> ModbusChargerConfig:
    """A Modbus charger as its subentry stores it (its id is the subentry's),
    with the site's charger watchdog."""
    data = subentry.data
    unit = data.get(CONF_UNIT)
    return ModbusChargerConfig(
        subentry_id=subentry.subentry_id,
        name=subentry.title,
        group=data[CONF_GROUP],
        host=data[CONF_HOST],
        model=data[CONF_MODEL],
        port=int(data[CONF_PORT]),
        unit=None if unit is None else int(unit),
        sockets=int(data.get(CONF_SOCKETS) or 1),
        connection=data[CONF_CONNECTION],
        max_current_a=float(data[CONF_MAX_CURRENT_A]),
        failsafe_a=float(data[CONF_FAILSAFE_A]),
        watchdog_s=watchdog_s,
    )


def site_modbus_chargers(
    subentries: Mapping[str, ConfigSubentry], watchdog_s: float | None = None
) -> list[ModbusChargerConfig]:
    """Every Modbus charger of a site (``watchdog_s``: the site's)."""
    return [
        modbus_charger_config(s, watchdog_s)
        for s in subentries.values()
        if s.subentry_type == SUBENTRY_MODBUS_CHARGER
    ]


def ha_charger_config(subentry: ConfigSubentry) -> HaCharger:
    """A charger already in Home Assistant as its subentry stores it (an
    unknown profile: the generic one)."""
    data = subentry.data
    profile = PROFILES.get(str(data.get(CONF_CHARGER_PROFILE))) or PROFILES[GENERIC]
    return HaCharger(
        subentry_id=subentry.subentry_id,
        name=subentry.title,
        group=data[CONF_GROUP],
        profile=profile,
        entities={r: str(data[r]) for r in ROLES if data.get(r)},
        connection=data[CONF_CONNECTION],
        rated_a=float(data[CONF_MAX_CURRENT_A]),
        link="cloud" if data.get(CONF_LINK) == "cloud" else "local",
        device_id=data.get(CONF_DEVICE_ID) or None,
    )


def site_ha_chargers(subentries: Mapping[str, ConfigSubentry]) -> list[HaCharger]:
    """Every charger of a site already in Home Assistant."""
    return [
        ha_charger_config(s)
        for s in subentries.values()
        if s.subentry_type == SUBENTRY_HA_CHARGER
    ]


def site_groups(
    settings: SiteSettings, subentries: Mapping[str, ConfigSubentry]
) -> list[GroupConfig]:
    """Every power group of a site: the site first, then its panels and circuits."""
    return [settings.site_group()] + [
        group_config(s)
        for s in subentries.values()
        if s.subentry_type == SUBENTRY_GROUP
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


def meter_settings(subentry: ConfigSubentry) -> MeterSettings:
    """A meter from its subentry."""
    data = subentry.data
    common = {
        "id": subentry.subentry_id,
        "name": subentry.title,
        "group": data[CONF_GROUP],
        "source": data[CONF_SOURCE],
        "stale_s": float(data[CONF_STALE_S]),
    }
    if data[CONF_SOURCE] == "modbus":
        return MeterSettings(
            **common,
            host=data[CONF_HOST],
            port=int(data[CONF_PORT]),
            unit=int(data[CONF_UNIT]),
            profile=data[CONF_PROFILE],
            poll_s=float(data[CONF_POLL_S]),
        )
    return MeterSettings(
        **common,
        current_entities=tuple(data.get(key) for key in CONF_CURRENT_ENTITIES),
        power_entity=data.get(CONF_POWER_ENTITY),
        export_positive=data.get(CONF_POWER_SIGN) == "export_positive",
    )


def site_meters(subentries: Mapping[str, ConfigSubentry]) -> list[MeterSettings]:
    """Every meter of a site."""
    return [
        meter_settings(s)
        for s in subentries.values()
        if s.subentry_type == SUBENTRY_METER
    ]


def scheduled_limit(subentry: ConfigSubentry) -> ScheduledLimit:
    """A time-of-use limit as its subentry stores it."""
    data = subentry.data
    amps, kw = data.get(CONF_CURRENT_A), data.get(CONF_POWER_KW)
    return ScheduledLimit(
        id=subentry.subentry_id,
        name=subentry.title,
        group=data[CONF_GROUP],
        entity_id=data[CONF_SCHEDULE_ENTITY],
        current_a=None if amps is None else float(amps),
        power_kw=None if kw is None else float(kw),
    )


def site_scheduled_limits(
    subentries: Mapping[str, ConfigSubentry],
) -> list[ScheduledLimit]:
    """Every time-of-use limit of a site."""
    return [
        scheduled_limit(s)
        for s in subentries.values()
        if s.subentry_type == SUBENTRY_SCHEDULE
    ]


def energy_settings(options: Mapping[str, Any]) -> EnergySettings:
    """The solar and tariff settings from a site's options."""
    return EnergySettings(
        grid_power_entity=options.get(CONF_GRID_POWER_ENTITY) or None,
        grid_export_positive=options.get(CONF_GRID_POWER_SIGN) == "export_positive",
        battery_power_entity=options.get(CONF_BATTERY_POWER_ENTITY) or None,
        battery_charge_positive=options.get(CONF_BATTERY_POWER_SIGN)
        == "charge_positive",
        battery_is_surplus=bool(options.get(CONF_BATTERY_IS_SURPLUS, False)),
        price_entity=options.get(CONF_PRICE_ENTITY) or None,
    )


@dataclass(slots=True)
class SiteRuntime:
    """What a loaded site entry holds while it runs."""

    settings: SiteSettings
    controller: SiteController
    ocpp: OcppSource
    central: CentralSystem
    meters: SiteMeters
    schedules: ScheduledLimits
    energy: EnergyModes
    ocpp_port: int
    """The port the central system was asked to listen on."""
    ledger: Ledger | None
    """The site's session ledger (open while the entry is loaded; None while
    its file cannot be used: see :mod:`.site_sessions`)."""
    data: dict[str, Any] = field(default_factory=dict)
    """The entry's data it runs with: new data (a reconfigure) reloads it."""
    subentries: dict[str, ConfigSubentry] = field(default_factory=dict)
    """The subentries as last applied: what changed is what differs from this."""
    outlets: OutletSource | None = None
    """The site's smart outlets."""
    modbus_chargers: ModbusChargerSource | None = None
    """The site's Modbus chargers (a port source)."""
    ha_chargers: HaChargerSource | None = None
    """The chargers already in Home Assistant (their port source)."""
    tokens: SiteTokens | None = None
    """Who may charge: the site's users as the chargers' id token authority."""
    figures: SiteFigures | None = None
    """Each user's figures this month (None: the ledger cannot be read)."""
    sessions: SiteSessions | None = None
    """What books the site's sessions in its ledger."""

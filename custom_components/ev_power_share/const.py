"""Constants of the EV Power Share integration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from .core.model import Supply, SupplySystem

DOMAIN: Final = "ev_power_share"

CONF_SUPPLY: Final = "supply"
CONF_MAIN_BREAKER_A: Final = "main_breaker_a"
CONF_CONTINUOUS_FACTOR: Final = "continuous_factor"
"""Stored as a fraction (0.8); the forms show a percentage (80)."""

CONTINUOUS_PCT_DEFAULT: Final = 80.0


@dataclass(frozen=True, slots=True)
class SupplyChoice:
    """A supply the user can pick, in the core's terms."""

    system: SupplySystem
    voltage_ln_v: float

    @property
    def legs(self) -> int:
        """Number of legs (phases) of this supply."""
        return Supply(self.system, self.voltage_ln_v).legs


SUPPLIES: Final[dict[str, SupplyChoice]] = {
    "three_phase_400": SupplyChoice(SupplySystem.THREE_PHASE_WYE, 230.0),
    "three_phase_208": SupplyChoice(SupplySystem.THREE_PHASE_WYE, 120.0),
    "split_phase_240": SupplyChoice(SupplySystem.SPLIT_PHASE, 120.0),
    "single_phase_230": SupplyChoice(SupplySystem.SINGLE_PHASE, 230.0),
}
DEFAULT_SUPPLY: Final = "three_phase_400"

# Options of a site (the options flow); defaults are what a new site starts with.
CONF_POLICY: Final = "policy"
CONF_MIN_CURRENT_A: Final = "min_current_a"
CONF_FAILSAFE_A: Final = "failsafe_a"
CONF_ROTATION_MIN: Final = "rotation_period_min"
CONF_INTERVAL_S: Final = "control_interval_s"
CONF_HYSTERESIS_A: Final = "hysteresis_a"

DEFAULT_OPTIONS: Final[dict[str, object]] = {
    CONF_POLICY: "equal_share",
    CONF_MIN_CURRENT_A: 6.0,
    CONF_FAILSAFE_A: 6.0,
    CONF_ROTATION_MIN: 15.0,
    CONF_INTERVAL_S: 5.0,
    CONF_HYSTERESIS_A: 1.0,
}
FAILSAFE_MAX_A: Final = 32.0
SITE_GROUP_ID: Final = "site"

# Power groups (panels, circuits): config subentries of the site entry. The
# subentry id is the group's id; the site itself is the group SITE_GROUP_ID.
SUBENTRY_GROUP: Final = "group"
CONF_KIND: Final = "kind"
CONF_PARENT: Final = "parent"
CONF_RATING_A: Final = "rating_a"
CONF_PHASES: Final = "phases"
CONF_MAX_POWER_KW: Final = "max_power_kw"
CONF_FIXED_LOAD_A: Final = "fixed_load_a"
GROUP_KINDS: Final = ("panel", "circuit")
GROUP_POWER_MAX_KW: Final = 10000.0
REFERENCE_KEYS: Final = (CONF_PARENT, "group")
"""Subentry data keys that name the power group a subentry hangs under (a group's
parent; a charger's or meter's group)."""

# Chargers: config subentries of the site; each connector is a charging port.
SUBENTRY_CHARGER: Final = "charger"
CONF_CHARGE_POINT_ID: Final = "charge_point_id"
CONF_GROUP: Final = "group"
CONF_CONNECTORS: Final = "connectors"
CONF_CONNECTION: Final = "connection"
CONF_MAX_CURRENT_A: Final = "max_current_a"
CONF_PASSWORD: Final = "password"  # noqa: S105 - the option's name
CHARGE_POINT_ID_MAX: Final = 48
PASSWORD_LENGTH_RANGE: Final = (8, 64)
"""A charger's HTTP Basic password (OCPP asks for 16-40; some chargers take
shorter or longer ones). Generated ones have 24 characters."""

# Chargers already in Home Assistant (through their maker's integration):
# config subentries of the site, one port each (``ha_profiles``).
SUBENTRY_HA_CHARGER: Final = "ha_charger"
CONF_DEVICE_ID: Final = "device_id"
CONF_CHARGER_PROFILE: Final = "charger_profile"
CONF_LINK: Final = "link"
LINKS: Final = ("local", "cloud")

# The embedded OCPP central system (site option).
CONF_OCPP_PORT: Final = "ocpp_port"
DEFAULT_OCPP_PORT: Final = 9000
OCPP_HOST: Final = "0.0.0.0"  # noqa: S104 - chargers on the LAN connect to Home Assistant
CONF_WATCHDOG_S: Final = "ocpp_watchdog_s"
DEFAULT_WATCHDOG_S: Final = 120.0
CONF_REJECTED_CHARGERS: Final = "rejected_chargers"
"""Charge point ids the user rejected (site option): refused at once, not announced."""
REJECTED_MAX: Final = 100

# TLS of the central system (site data, set in the site's reconfigure flow).
CONF_SSL_CERTIFICATE: Final = "ssl_certificate"
CONF_SSL_KEY: Final = "ssl_key"

# Meters (CT clamps, site meters): config subentries of the site, each measuring
# the total current through one power group.
SUBENTRY_METER: Final = "meter"
CONF_SOURCE: Final = "source"
METER_SOURCES: Final = ("sensors", "modbus")
CONF_CURRENT_ENTITIES: Final = ("current_l1", "current_l2", "current_l3")
CONF_POWER_ENTITY: Final = "power"
CONF_POWER_SIGN: Final = "power_sign"
POWER_SIGNS: Final = ("import_positive", "export_positive")
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_UNIT: Final = "unit"
CONF_PROFILE: Final = "profile"
CONF_POLL_S: Final = "poll_interval_s"
CONF_STALE_S: Final = "stale_after_s"
DEFAULT_POLL_S: Final = 2.0
DEFAULT_STALE_S: Final = 15.0

# Modbus TCP chargers: config subentries of the site, each one charger (one or
# more sockets) driven through its register map (modbus/charger_maps.py).
SUBENTRY_MODBUS_CHARGER: Final = "modbus_charger"
CONF_MODEL: Final = "model"
CONF_SOCKETS: Final = "sockets"
CONF_TEST_CONNECTION: Final = "test_connection"
MODBUS_CHARGER_UNIT_RANGE: Final = (1, 255)
"""Unit ids a charger may answer on (Vestel/Webasto: 255)."""

# Time-of-use limits: config subentries of the site. While a schedule entity
# (HA's schedule helper, or any on/off entity) is on, a group's limit is lower.
SUBENTRY_SCHEDULE: Final = "schedule_limit"
CONF_SCHEDULE_ENTITY: Final = "schedule"
CONF_CURRENT_A: Final = "current_a"
CONF_POWER_KW: Final = "power_kw"
SCHEDULE_DOMAINS: Final = ["schedule", "input_boolean", "binary_sensor", "switch"]

# Solar and tariffs (site options).
CONF_GRID_POWER_ENTITY: Final = "grid_power_entity"
CONF_GRID_POWER_SIGN: Final = "grid_power_sign"
CONF_BATTERY_POWER_ENTITY: Final = "battery_power_entity"
CONF_BATTERY_POWER_SIGN: Final = "battery_power_sign"
BATTERY_SIGNS: Final = ("discharge_positive", "charge_positive")
CONF_BATTERY_IS_SURPLUS: Final = "battery_counts_as_surplus"
CONF_PRICE_ENTITY: Final = "price_entity"
ENERGY_OPTION_KEYS: Final = (
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_IS_SURPLUS,
    CONF_PRICE_ENTITY,
)
DEFAULT_ENERGY_KWH: Final = 20.0
DEFAULT_DEPARTURE: Final = "07:00:00"

# What the forms accept for their numbers (ends included), by field; each form
# says where a number is outside with a message on the field.
# How a charger takes a limit (its options; empty: what the charger says).
CONF_LIMIT_UNIT: Final = "limit_unit"
LIMIT_UNITS: Final[dict[str, Literal["A", "W"] | None]] = {
    "auto": None,
    "amperes": "A",
    "watts": "W",
}
"""The form's choices (translation keys) and the unit each stands for."""
CONF_LIMIT_STEP: Final = "limit_step"
CONF_CHARGER_MIN_A: Final = "charger_min_current_a"
CONF_WRITES_PER_MIN: Final = "writes_per_minute"

FORM_RANGES: Final[dict[str, tuple[float, float]]] = {
    CONF_LIMIT_STEP: (0.1, 1000.0),  # in the charger's unit: 0.1 A to 1 kW
    CONF_CHARGER_MIN_A: (0.0, 32.0),
    CONF_WRITES_PER_MIN: (1, 60),
    CONF_MAIN_BREAKER_A: (1.0, 2000.0),
    CONF_CONTINUOUS_FACTOR: (50.0, 100.0),  # a percentage, as the forms show it
    CONF_MIN_CURRENT_A: (6.0, 16.0),
    CONF_ROTATION_MIN: (1.0, 240.0),
    CONF_INTERVAL_S: (1.0, 60.0),
    CONF_HYSTERESIS_A: (0.0, 5.0),
    CONF_RATING_A: (1.0, 2000.0),
    CONF_MAX_CURRENT_A: (6.0, 80.0),
    CONF_CONNECTORS: (1, 4),
    CONF_WATCHDOG_S: (30.0, 900.0),
    CONF_OCPP_PORT: (1024, 65535),
    CONF_POLL_S: (1.0, 60.0),
    CONF_STALE_S: (5.0, 300.0),
    CONF_UNIT: (1, 247),  # a Modbus unit id
}

# Smart outlets: config subentries of the site; each is one on/off port (a
# switch, optionally a power and an energy sensor) with a nominal current.
SUBENTRY_OUTLET: Final = "outlet"
CONF_OUTLET_SWITCH: Final = "switch"
CONF_OUTLET_POWER: Final = "power_sensor"
CONF_OUTLET_ENERGY: Final = "energy_sensor"
CONF_OUTLET_NOMINAL_A: Final = "nominal_current_a"
CONF_OUTLET_MIN_ON_MIN: Final = "min_on_min"
CONF_OUTLET_MIN_OFF_MIN: Final = "min_off_min"
OUTLET_DEFAULT_MIN: Final = 5.0
"""Default minimum on-time and off-time of an outlet, in minutes."""
OUTLET_RANGES: Final[dict[str, tuple[float, float]]] = {
    CONF_OUTLET_NOMINAL_A: (1.0, 80.0),
    CONF_OUTLET_MIN_ON_MIN: (0.0, 240.0),
    CONF_OUTLET_MIN_OFF_MIN: (0.0, 240.0),
}

# Tariff plans: config subentries of the site; each is one plan
# (core.tariff_plans), its id the subentry's id.
SUBENTRY_TARIFF: Final = "tariff"
# Users (issue 15): who may charge, with their cards; the site's access mode.
SUBENTRY_USER: Final = "user"
CONF_USER_PERSON: Final = "person"
CONF_USER_TOKENS: Final = "tokens"
CONF_USER_TARIFF: Final = "tariff_plan"
CONF_USER_PRIORITY: Final = "priority_tier"
CONF_USER_CAP_KWH: Final = "monthly_cap_kwh"
CONF_USER_ALLOWED: Final = "allowed"
CONF_ACCESS_MODE: Final = "access_mode"
USER_RANGES: Final[dict[str, tuple[float, float]]] = {
    CONF_USER_PRIORITY: (0.0, 9.0),
    CONF_USER_CAP_KWH: (1.0, 100000.0),
}
USER_MAX_TOKENS: Final = 20
"""Cards per user at most."""


def signal_sessions_changed(entry_id: str) -> str:
    """Dispatcher signal: the site's ledger booked something (a session started,
    read or ended; its id is the signal's argument): per-user figures follow."""
    return f"{DOMAIN}_{entry_id}_sessions_changed"


# Statements (issue 15): the plan of sessions no user's own plan prices.
CONF_DEFAULT_TARIFF: Final = "default_tariff_plan"

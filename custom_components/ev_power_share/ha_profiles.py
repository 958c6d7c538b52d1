"""Profiles of chargers already in Home Assistant: which of their maker's
integration's entities (or service actions) this integration reads and drives.

Data, not code: one :class:`Profile` per integration domain says how to find
each role's entity on the charger's device (by the entity registry's
``translation_key``, else the end of its ``unique_id``, else of its entity id),
how the charger takes a limit (a ``number`` entity or a service action with its
fields; A or W; range and step; whether 0 A pauses or a pause switch is
needed), whether it is driven through a vendor cloud or on the LAN (its write
budget, the smallest change worth writing, the latency to expect), and where
each fact came from. No Home Assistant imports: the flow and the port source
hand in registry entries as :class:`RegistryEntity`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from .core.commands import WriteBudget

ROLE_LIMIT: Final = "limit"
"""The charger's current limit: a ``number`` we write (or, for a profile that
writes through a service action, the entity that reports the limit)."""
ROLE_PAUSE: Final = "pause"
"""A ``switch`` that is on while the charger may charge."""
ROLE_PLUGGED: Final = "plugged"
"""On while a vehicle is connected (a ``binary_sensor``)."""
ROLE_POWER: Final = "power"
ROLE_CURRENTS: Final = ("current_l1", "current_l2", "current_l3")
ROLE_ENERGY: Final = "energy"
ROLES: Final = (
    ROLE_LIMIT,
    ROLE_PAUSE,
    ROLE_PLUGGED,
    ROLE_POWER,
    *ROLE_CURRENTS,
    ROLE_ENERGY,
)
ROLE_DOMAINS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        ROLE_LIMIT: ("number", "input_number", "sensor"),
        ROLE_PAUSE: ("switch", "input_boolean"),
        ROLE_PLUGGED: ("binary_sensor", "input_boolean"),
        ROLE_POWER: ("sensor",),
        **dict.fromkeys(ROLE_CURRENTS, ("sensor",)),
        ROLE_ENERGY: ("sensor",),
    }
)
"""The entity domains each role may be (input helpers stand in for tests and
for chargers driven by the user's own automations)."""

GENERIC: Final = "generic"

CLOUD_BUDGET: Final = WriteBudget(1, 30.0)
"""A vendor cloud: one limit per 30 s (coalesced); decreases always go out."""
LOCAL_BUDGET: Final = WriteBudget(6, 60.0)
"""On the LAN: six limits a minute."""
CLOUD_LATENCY_S: Final = 30.0
LOCAL_LATENCY_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class RegistryEntity:
    """An entity of the charger's device as the entity registry knows it."""

    entity_id: str
    translation_key: str | None = None
    unique_id: str = ""

    @property
    def domain(self) -> str:
        """The entity's domain (``number``, ``switch``, …)."""
        return self.entity_id.partition(".")[0]

    def matches(self, key: str) -> bool:
        """Whether this is the entity an integration names ``key``: its
        translation key, or the end of its unique id or of its entity id."""
        if self.translation_key is not None:
            return self.translation_key == key
        object_id = self.entity_id.partition(".")[2]
        return any(
            text == key or text.endswith(f"_{key}")
            for text in (self.unique_id.lower(), object_id)
        )


@dataclass(frozen=True, slots=True)
class Match:
    """How a role's entity is found on the device: its domain and the keys its
    integration gives it (the first that matches wins)."""

    domain: str
    keys: tuple[str, ...]

    def find(self, entities: Iterable[RegistryEntity]) -> str | None:
        """The entity id of the first entity that matches (None: none does)."""
        candidates = [e for e in entities if e.domain == self.domain]
        for key in self.keys:
            for entity in candidates:
                if entity.matches(key):
                    return entity.entity_id
        return None


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """A service action that sets the limit (A): ``domain.service`` with the
    value in ``value_field``, the charger's device id in ``device_field`` (if
    the action takes one) and fixed ``extra`` fields."""

    domain: str
    service: str
    value_field: str
    device_field: str | None = None
    extra: Mapping[str, float | str] = field(default_factory=dict)

    def data(self, value: float, device_id: str | None) -> dict[str, float | str]:
        """The action's fields to set ``value``."""
        fields: dict[str, float | str] = dict(self.extra)
        fields[self.value_field] = value
        if self.device_field is not None and device_id is not None:
            fields[self.device_field] = device_id
        return fields


type Link = Literal["cloud", "local"]


@dataclass(frozen=True, slots=True)
class Profile:
    """How one integration's chargers are read and driven (see the module)."""

    key: str
    name: str
    domain: str
    """The integration's domain (the config entry's of the device)."""
    link: Link
    matches: Mapping[str, Match] = field(default_factory=dict)
    """By role."""
    service: ServiceCall | None = None
    """Set: limits go through this action, not ``number.set_value``."""
    unit: Literal["A", "W"] = "A"
    min_a: float = 0.0
    max_a: float = 32.0
    step: float = 1.0
    zero_pauses: bool = True
    """0 A pauses it; else pausing needs the pause switch."""
    read_only: bool = False
    """Never commanded: counted at its rating."""
    min_change_a: float = 1.0
    """A raise smaller than this is not worth a write (a decrease always is)."""
    latency_s: float = LOCAL_LATENCY_S
    """How long a written limit takes to show in its entity."""
    stale_s: float | None = None
    """A limit entity not reported for this long counts as unknown (None: its
    integration reports only changes, so age says nothing)."""
    budget: WriteBudget | None = LOCAL_BUDGET
    source: str = ""
    """Where the facts above came from."""

    @property
    def commanded(self) -> bool:
        """Whether limits are written to it (else it is counted at its rating)."""
        return not self.read_only

    def find_entities(self, entities: Iterable[RegistryEntity]) -> dict[str, str]:
        """Each role's entity on a device (roles it has none for are left out)."""
        listed = list(entities)
        found = {role: m.find(listed) for role, m in self.matches.items()}
        return {role: entity_id for role, entity_id in found.items() if entity_id}


def _m(domain: str, *keys: str) -> Match:
    return Match(domain, keys)


PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(
    {
        p.key: p
        for p in (
            Profile(
                key="easee",
                name="Easee",
                domain="easee",
                link="cloud",
                matches={
                    ROLE_LIMIT: _m("sensor", "dynamic_charger_limit"),
                    ROLE_POWER: _m("sensor", "power"),
                    ROLE_CURRENTS[0]: _m("sensor", "in_current_l1", "current_l1"),
                    ROLE_CURRENTS[1]: _m("sensor", "in_current_l2", "current_l2"),
                    ROLE_CURRENTS[2]: _m("sensor", "in_current_l3", "current_l3"),
                    ROLE_ENERGY: _m("sensor", "lifetime_energy"),
                },
                service=ServiceCall(
                    "easee",
                    "set_charger_dynamic_limit",
                    "current",
                    device_field="device_id",
                    extra={"time_to_live": 0},
                ),
                latency_s=CLOUD_LATENCY_S,
                budget=CLOUD_BUDGET,
                source="nordicopen/easee_hass (HACS): services.yaml "
                "set_charger_dynamic_limit (device_id, current 0-32 A, "
                "time_to_live min, 0: none); the sensor dynamic_charger_limit "
                "reports it. Easee Cloud API: 0 A pauses the charger.",
            ),
            Profile(
                key="zaptec",
                name="Zaptec",
                domain="zaptec",
                link="cloud",
                matches={
                    ROLE_LIMIT: _m("number", "charger_max_current"),
                    ROLE_POWER: _m("sensor", "total_charge_power"),
                    ROLE_ENERGY: _m("sensor", "total_charge_power_session"),
                },
                latency_s=60.0,
                budget=WriteBudget(1, 60.0),
                source="custom-components/zaptec (HACS) number.py: "
                "charger_max_current, 0-32 A (setting maxChargeCurrent); the "
                "Zaptec cloud throttles setting changes: one a minute here.",
            ),
            Profile(
                key="wallbox",
                name="Wallbox",
                domain="wallbox",
                link="cloud",
                matches={
                    ROLE_LIMIT: _m("number", "maximum_charging_current"),
                    ROLE_PAUSE: _m("switch", "pause_resume"),
                    ROLE_POWER: _m("sensor", "charging_power"),
                    ROLE_ENERGY: _m("sensor", "added_energy"),
                },
                min_a=6.0,
                zero_pauses=False,
                latency_s=CLOUD_LATENCY_S,
                budget=CLOUD_BUDGET,
                source="Home Assistant core wallbox (myWallbox cloud): number "
                "maximum_charging_current (min from the charger, 6 A; step 1); "
                "switch pause_resume.",
            ),
            Profile(
                key="goecharger",
                name="go-e",
                domain="goecharger_api2",
                link="local",
                matches={
                    ROLE_LIMIT: _m("number", "amp"),
                    ROLE_POWER: _m("sensor", "nrg_11"),
                    ROLE_ENERGY: _m("sensor", "wh"),
                },
                min_a=6.0,
                zero_pauses=False,
                source="marq24/ha-goecharger-api2 (HACS, local HTTP API v2): "
                "number amp (requested current, 6-32 A); go-e API v2 "
                "apikeys: amp, nrg (power), wh (energy). It takes no 0 A: "
                "pausing needs a switch (the user picks one).",
            ),
            Profile(
                key="openevse",
                name="OpenEVSE",
                domain="openevse",
                link="local",
                matches={
                    ROLE_LIMIT: _m("number", "max_current_soft"),
                    ROLE_POWER: _m("sensor", "current_power_usage"),
                    ROLE_ENERGY: _m("sensor", "usage_session"),
                },
                min_a=6.0,
                max_a=48.0,
                zero_pauses=False,
                source="firstof9/openevse (HACS): number max_current_soft "
                "(charge rate, command set_current; services.yaml charge "
                "current 1-48 A; the EVSE's own minimum is 6 A). No 0 A.",
            ),
            Profile(
                key="keba",
                name="Keba",
                domain="keba",
                link="local",
                matches={
                    ROLE_LIMIT: _m("sensor", "max_current"),
                    ROLE_POWER: _m("sensor", "charging_power"),
                    ROLE_ENERGY: _m("sensor", "session_energy"),
                },
                service=ServiceCall("keba", "set_current", "current"),
                max_a=63.0,
                source="Home Assistant core keba (UDP smart home interface): "
                "action keba.set_current (current, 6-63 A; 0 stops charging; "
                "no target); it reads the station every 5 s.",
            ),
            Profile(
                key="lektrico",
                name="Lektrico",
                domain="lektrico",
                link="local",
                matches={
                    ROLE_LIMIT: _m("number", "dynamic_limit"),
                    ROLE_POWER: _m("sensor", "instant_power"),
                    ROLE_ENERGY: _m("sensor", "session_energy"),
                },
                source="Home Assistant core lektrico number.py: dynamic_limit, "
                "0-32 A, step 1 (set_dynamic_current).",
            ),
            Profile(
                key="peblar",
                name="Peblar",
                domain="peblar",
                link="local",
                matches={
                    ROLE_LIMIT: _m("number", "charge_current_limit"),
                    ROLE_PAUSE: _m("switch", "charge"),
                    ROLE_POWER: _m("sensor", "power_total"),
                    ROLE_ENERGY: _m("sensor", "energy_session"),
                },
                min_a=6.0,
                zero_pauses=False,
                source="Home Assistant core peblar number.py: "
                "charge_current_limit (min 6 A, step 1, local REST API); "
                "switch charge pauses it.",
            ),
            Profile(
                key="ocpp",
                name="OCPP (lbbrhzn/ocpp)",
                domain="ocpp",
                link="local",
                matches={
                    ROLE_LIMIT: _m("number", "maximum_current"),
                    ROLE_PAUSE: _m("switch", "charge_control"),
                    ROLE_POWER: _m("sensor", "power_active_import"),
                    ROLE_ENERGY: _m("sensor", "energy_session"),
                },
                latency_s=10.0,
                source="lbbrhzn/ocpp (HACS) number.py: maximum_current, 0-32 A "
                "(DEFAULT_MAX_CURRENT), step 1 (a charging profile); switch "
                "charge_control starts/stops the transaction.",
            ),
            Profile(
                key="tesla_wall_connector",
                name="Tesla Wall Connector",
                domain="tesla_wall_connector",
                link="local",
                matches={
                    ROLE_PLUGGED: _m("binary_sensor", "vehicle_connected"),
                    ROLE_CURRENTS[0]: _m("sensor", "current_a_a"),
                    ROLE_CURRENTS[1]: _m("sensor", "current_b_a"),
                    ROLE_CURRENTS[2]: _m("sensor", "current_c_a"),
                    ROLE_ENERGY: _m("sensor", "energy_kwh"),
                },
                read_only=True,
                budget=None,
                source="Home Assistant core tesla_wall_connector: read-only "
                "(vitals: current_a_a/current_b_a/current_c_a, "
                "vehicle_connected); it takes no limit, so it is counted at "
                "its rating.",
            ),
            Profile(
                key=GENERIC,
                name="Other (any number entity)",
                domain="",
                link="local",
                source="Any number entity in A, W or kW; its min, max and step "
                "attributes say what it takes.",
            ),
        )
    }
)


def profile_for_domain(domains: Iterable[str]) -> Profile:
    """The profile of the first of a device's config-entry domains that has
    one; else the generic profile."""
    by_domain = {p.domain: p for p in PROFILES.values() if p.domain}
    for domain in domains:
        if domain in by_domain:
            return by_domain[domain]
    return PROFILES[GENERIC]


def budget_of(profile: Profile, link: Link) -> WriteBudget | None:
    """The write budget for a charger of ``profile`` reached over ``link`` (the
    user may say a generic charger is a cloud one)."""
    if profile.key == GENERIC or profile.link != link:
        return CLOUD_BUDGET if link == "cloud" else LOCAL_BUDGET
    return profile.budget


def latency_of(profile: Profile, link: Link) -> float:
    """How long a limit takes to show over ``link``."""
    if profile.link == link:
        return profile.latency_s
    return CLOUD_LATENCY_S if link == "cloud" else LOCAL_LATENCY_S

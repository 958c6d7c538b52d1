"""Config flow of EV Power Share: one entry per site."""

from __future__ import annotations

from collections.abc import Mapping
import secrets
import socket
from typing import Any
from uuid import uuid4

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_NAME,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .compat import async_update_and_abort, vol
from .const import (
    BATTERY_SIGNS,
    CHARGE_POINT_ID_MAX,
    CHARGER_MAX_CURRENT_RANGE_A,
    CONF_BATTERY_IS_SURPLUS,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_POWER_SIGN,
    CONF_CHARGE_POINT_ID,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_CONTINUOUS_FACTOR,
    CONF_FAILSAFE_A,
    CONF_FIXED_LOAD_A,
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_GROUP,
    CONF_HYSTERESIS_A,
    CONF_INTERVAL_S,
    CONF_KIND,
    CONF_MAIN_BREAKER_A,
    CONF_MAX_CURRENT_A,
    CONF_MAX_POWER_KW,
    CONF_MIN_CURRENT_A,
    CONF_OCPP_PORT,
    CONF_PARENT,
    CONF_PASSWORD,
    CONF_PHASES,
    CONF_POLICY,
    CONF_POWER_SIGN,
    CONF_PRICE_ENTITY,
    CONF_RATING_A,
    CONF_REJECTED_CHARGERS,
    CONF_ROTATION_MIN,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    CONF_SUPPLY,
    CONF_WATCHDOG_S,
    CONNECTORS_RANGE,
    CONTINUOUS_PCT_DEFAULT,
    CONTINUOUS_PCT_MAX,
    CONTINUOUS_PCT_MIN,
    DEFAULT_OCPP_PORT,
    DEFAULT_OPTIONS,
    DEFAULT_SUPPLY,
    DEFAULT_WATCHDOG_S,
    DOMAIN,
    FAILSAFE_MAX_A,
    GROUP_KINDS,
    GROUP_POWER_MAX_KW,
    GROUP_RATING_RANGE_A,
    HYSTERESIS_RANGE_A,
    INTERVAL_RANGE_S,
    MAIN_BREAKER_MAX_A,
    MAIN_BREAKER_MIN_A,
    MIN_CURRENT_RANGE,
    OCPP_HOST,
    OCPP_PORT_RANGE,
    PASSWORD_LENGTH_RANGE,
    POWER_SIGNS,
    ROTATION_RANGE_MIN,
    SITE_GROUP_ID,
    SUBENTRY_CHARGER,
    SUBENTRY_GROUP,
    SUBENTRY_METER,
    SUBENTRY_SCHEDULE,
    SUPPLIES,
    WATCHDOG_RANGE_S,
)
from .core.model import CONNECTIONS, LEG_NAMES, Policy
from .core.topology import GroupConfig, possible_parents
from .csms.tls import TlsError, server_ssl_context
from .data import SiteSettings, control_settings, site_chargers, site_groups
from .form_parts import (
    SiteForm,
    SiteSubentryFlow,
    box,
    group_picker,
    stored_values,
)
from .meter_flow import POWER_UNITS, MeterSubentryFlow
from .schedule_flow import ScheduleLimitSubentryFlow

SITE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME, default="Home"): TextSelector(),
        vol.Required(CONF_SUPPLY, default=DEFAULT_SUPPLY): SelectSelector(
            SelectSelectorConfig(
                options=list(SUPPLIES),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_SUPPLY,
            )
        ),
        # Bounds are checked in the flow, so a mistake gets a message on the field.
        vol.Required(CONF_MAIN_BREAKER_A): NumberSelector(
            NumberSelectorConfig(
                mode=NumberSelectorMode.BOX,
                step=1,
                unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            )
        ),
        vol.Required(
            CONF_CONTINUOUS_FACTOR, default=CONTINUOUS_PCT_DEFAULT
        ): NumberSelector(
            NumberSelectorConfig(
                mode=NumberSelectorMode.BOX, step=1, unit_of_measurement="%"
            )
        ),
    }
)


USER_SCHEMA = SITE_SCHEMA.extend(
    {vol.Required(CONF_OCPP_PORT, default=DEFAULT_OCPP_PORT): box("", 1)}
)


def _port_bindable(host: str, port: int) -> bool:
    """Whether a server could listen on ``port`` now (run off the event loop)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the central system binds (asyncio sets it): a port that only has
        # connections closing (TIME_WAIT) is free, a listening one is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def configured_port(entry: ConfigEntry) -> int:
    """The OCPP port a site's central system listens on (or will)."""
    return int(entry.options.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT))


async def async_port_errors(
    hass: HomeAssistant, port: Any, entry: ConfigEntry | None
) -> dict[str, str]:
    """Form errors for the OCPP port of ``entry`` (None: a new site).

    In range; not another site's of this integration; free to bind on this
    machine, unless it is the one this site's running central system listens on.
    """
    errors: dict[str, str] = {}
    if port is None:
        return errors
    if float(port) % 1 or not _within(port, OCPP_PORT_RANGE):
        errors[CONF_OCPP_PORT] = "port_out_of_range"
        return errors
    port = int(float(port))
    for other in hass.config_entries.async_entries(DOMAIN):
        if other.source == SOURCE_IGNORE or (
            entry is not None and other.entry_id == entry.entry_id
        ):
            continue
        if configured_port(other) == port:
            errors[CONF_OCPP_PORT] = "port_taken_by_site"
            return errors
    if entry is not None and entry.state is ConfigEntryState.LOADED:
        runtime = getattr(entry, "runtime_data", None)
        if runtime is not None and (
            port == runtime.ocpp_port
            or (runtime.central.running and port == runtime.central.port)
        ):
            return errors  # its own server
    if not await hass.async_add_executor_job(_port_bindable, OCPP_HOST, port):
        errors[CONF_OCPP_PORT] = "port_in_use"
    return errors


def _name_taken(
    hass: HomeAssistant, name: str, entry: ConfigEntry | None = None
) -> bool:
    """Another site has this very name (letter case and spaces aside)."""
    wanted = name.strip().casefold()
    return any(
        str(other.data.get(CONF_NAME, other.title)).strip().casefold() == wanted
        for other in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        if entry is None or other.entry_id != entry.entry_id
    )


def _validate(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors by field for a site's settings."""
    errors: dict[str, str] = {}
    if not str(user_input[CONF_NAME]).strip():
        errors[CONF_NAME] = "name_required"
    breaker = float(user_input[CONF_MAIN_BREAKER_A])
    if breaker < MAIN_BREAKER_MIN_A:
        errors[CONF_MAIN_BREAKER_A] = "breaker_not_positive"
    elif breaker > MAIN_BREAKER_MAX_A:
        errors[CONF_MAIN_BREAKER_A] = "breaker_too_high"
    pct = float(user_input[CONF_CONTINUOUS_FACTOR])
    if not CONTINUOUS_PCT_MIN <= pct <= CONTINUOUS_PCT_MAX:
        errors[CONF_CONTINUOUS_FACTOR] = "factor_out_of_range"
    return errors


def _entry_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored: the factor as a fraction, the name trimmed."""
    return {
        CONF_NAME: str(user_input[CONF_NAME]).strip(),
        CONF_SUPPLY: user_input[CONF_SUPPLY],
        CONF_MAIN_BREAKER_A: float(user_input[CONF_MAIN_BREAKER_A]),
        CONF_CONTINUOUS_FACTOR: float(user_input[CONF_CONTINUOUS_FACTOR]) / 100.0,
    }


def _form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored data shown back in the form (factor as a percentage)."""
    return {
        CONF_NAME: data[CONF_NAME],
        CONF_SUPPLY: data[CONF_SUPPLY],
        CONF_MAIN_BREAKER_A: data[CONF_MAIN_BREAKER_A],
        CONF_CONTINUOUS_FACTOR: round(data[CONF_CONTINUOUS_FACTOR] * 100.0, 1),
    }


class EvPowerShareConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up or reconfigure a site."""

    VERSION = 1
    MINOR_VERSION = 2
    """1.2: the unique id is generated (1.1 had the name's slug)."""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """How the site shares power: policy, minimum current, timing."""
        return EvPowerShareOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Panels, circuits, chargers and meters are added to a site as subentries."""
        return {
            SUBENTRY_GROUP: PowerGroupSubentryFlow,
            SUBENTRY_CHARGER: ChargerSubentryFlow,
            SUBENTRY_METER: MeterSubentryFlow,
            SUBENTRY_SCHEDULE: ScheduleLimitSubentryFlow,
        }

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the site's name, supply and main breaker."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate(user_input)
            if not errors and _name_taken(self.hass, user_input[CONF_NAME]):
                return self.async_abort(reason="already_configured")
            errors |= await async_port_errors(
                self.hass, user_input.get(CONF_OCPP_PORT), None
            )
            if not errors:
                data = _entry_data(user_input)
                # Not the name: a site may be renamed, and names may look alike.
                await self.async_set_unique_id(uuid4().hex)
                return self.async_create_entry(
                    title=data[CONF_NAME],
                    data=data,
                    options={CONF_OCPP_PORT: int(float(user_input[CONF_OCPP_PORT]))},
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a site's name, supply, main breaker, or how its chargers
        connect: the OCPP port and TLS (OCPP security profile 2)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate(user_input)
            legs = SUPPLIES[user_input[CONF_SUPPLY]].legs
            if any(
                max(g.phases) >= legs
                for g in site_groups(
                    SiteSettings.from_entry_data(entry.data), entry.subentries
                )[1:]
            ):
                errors[CONF_SUPPLY] = "supply_phases_in_use"
            tls = await self._async_validate_tls(user_input, errors)
            port = user_input.get(CONF_OCPP_PORT)
            errors |= await async_port_errors(self.hass, port, entry)
            if not errors:
                data = _entry_data(user_input) | tls
                if _name_taken(self.hass, data[CONF_NAME], entry):
                    return self.async_abort(reason="already_configured")
                changes: dict[str, Any] = {"title": data[CONF_NAME], "data": data}
                if port is not None:
                    changes["options"] = {
                        **entry.options,
                        CONF_OCPP_PORT: int(float(port)),
                    }
                # The entry's update listener reloads the site for new data.
                return async_update_and_abort(self, entry, **changes)
        current = (
            _form_values(entry.data)
            | {key: entry.data[key] for key in TLS_KEYS if entry.data.get(key)}
            | {CONF_OCPP_PORT: configured_port(entry)}
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA, user_input or current
            ),
            errors=errors,
        )

    async def _async_validate_tls(
        self, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> dict[str, str | None]:
        """Certificate and key paths: both or neither, and loadable (off the loop)."""
        cert, key = (str(user_input.get(k) or "").strip() or None for k in TLS_KEYS)
        if cert is None and key is None:
            return dict.fromkeys(TLS_KEYS)
        if cert is None or key is None:
            errors[CONF_SSL_CERTIFICATE if cert is None else CONF_SSL_KEY] = (
                "tls_pair_required"
            )
            return {}
        try:
            await self.hass.async_add_executor_job(server_ssl_context, cert, key)
        except TlsError as err:
            field = CONF_SSL_KEY if err.reason == "invalid" else CONF_SSL_CERTIFICATE
            if err.reason == "missing" and err.detail == key:
                field = CONF_SSL_KEY
            errors[field] = f"tls_{err.reason}"
            return {}
        return {CONF_SSL_CERTIFICATE: cert, CONF_SSL_KEY: key}


TLS_KEYS = (CONF_SSL_CERTIFICATE, CONF_SSL_KEY)
RECONFIGURE_SCHEMA = SITE_SCHEMA.extend(
    {
        vol.Optional(CONF_OCPP_PORT): box("", 1),
        vol.Optional(CONF_SSL_CERTIFICATE): TextSelector(),
        vol.Optional(CONF_SSL_KEY): TextSelector(),
    }
)


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_POLICY): SelectSelector(
            SelectSelectorConfig(
                options=[p.value for p in Policy],
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_POLICY,
            )
        ),
        vol.Required(CONF_MIN_CURRENT_A): box(UnitOfElectricCurrent.AMPERE, 1),
        vol.Required(CONF_FAILSAFE_A): box(UnitOfElectricCurrent.AMPERE, 1),
        vol.Required(CONF_ROTATION_MIN): box("min", 1),
        vol.Required(CONF_INTERVAL_S): box("s", 1),
        vol.Required(CONF_HYSTERESIS_A): box(UnitOfElectricCurrent.AMPERE, 0.5),
        vol.Optional(CONF_OCPP_PORT): box("", 1),
        vol.Optional(CONF_WATCHDOG_S): box("s", 10),
        vol.Optional(CONF_GRID_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        vol.Optional(CONF_GRID_POWER_SIGN, default="import_positive"): SelectSelector(
            SelectSelectorConfig(
                options=list(POWER_SIGNS),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_POWER_SIGN,
            )
        ),
        vol.Optional(CONF_BATTERY_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        vol.Optional(
            CONF_BATTERY_POWER_SIGN, default="discharge_positive"
        ): SelectSelector(
            SelectSelectorConfig(
                options=list(BATTERY_SIGNS),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_BATTERY_POWER_SIGN,
            )
        ),
        vol.Optional(CONF_BATTERY_IS_SURPLUS, default=False): BooleanSelector(),
        vol.Optional(CONF_PRICE_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor")
        ),
    }
)
NUMERIC_OPTIONS = (
    CONF_MIN_CURRENT_A,
    CONF_FAILSAFE_A,
    CONF_ROTATION_MIN,
    CONF_INTERVAL_S,
    CONF_HYSTERESIS_A,
    CONF_WATCHDOG_S,
)


def _within(value: Any, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= float(value) <= bounds[1]


def _validate_options(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors by field for a site's options."""
    errors: dict[str, str] = {}
    minimum = float(user_input[CONF_MIN_CURRENT_A])
    if not _within(minimum, MIN_CURRENT_RANGE):
        errors[CONF_MIN_CURRENT_A] = "min_current_out_of_range"
        minimum = MIN_CURRENT_RANGE[0]  # judge the failsafe on its own then
    failsafe = float(user_input[CONF_FAILSAFE_A])
    if failsafe != 0 and not _within(failsafe, (minimum, FAILSAFE_MAX_A)):
        errors[CONF_FAILSAFE_A] = "failsafe_out_of_range"
    if not _within(user_input[CONF_ROTATION_MIN], ROTATION_RANGE_MIN):
        errors[CONF_ROTATION_MIN] = "rotation_out_of_range"
    if not _within(user_input[CONF_INTERVAL_S], INTERVAL_RANGE_S):
        errors[CONF_INTERVAL_S] = "interval_out_of_range"
    if not _within(user_input[CONF_HYSTERESIS_A], HYSTERESIS_RANGE_A):
        errors[CONF_HYSTERESIS_A] = "hysteresis_out_of_range"
    watchdog = user_input.get(CONF_WATCHDOG_S)
    if watchdog is not None and not _within(watchdog, WATCHDOG_RANGE_S):
        errors[CONF_WATCHDOG_S] = "watchdog_out_of_range"
    return errors


def _validate_energy(
    hass: HomeAssistant, user_input: Mapping[str, Any]
) -> dict[str, str]:
    """The power sensors must be power sensors; the price sensor must exist."""
    errors: dict[str, str] = {}
    for key in (CONF_GRID_POWER_ENTITY, CONF_BATTERY_POWER_ENTITY):
        entity_id = user_input.get(key)
        if not entity_id:
            continue
        state = hass.states.get(entity_id)
        if state is None:
            errors[key] = "entity_missing"
        elif state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) not in POWER_UNITS:
            errors[key] = "entity_not_power"
    price = user_input.get(CONF_PRICE_ENTITY)
    if price and hass.states.get(price) is None:
        errors[CONF_PRICE_ENTITY] = "entity_missing"
    return errors


class EvPowerShareOptionsFlow(OptionsFlow):
    """Change how a site shares power; applied at once, without a restart."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form with every option (and the rejected chargers, if any)."""
        options = self.config_entry.options
        rejected = list(options.get(CONF_REJECTED_CHARGERS, ()))
        schema = OPTIONS_SCHEMA
        if rejected:
            schema = schema.extend(
                {
                    vol.Optional(CONF_REJECTED_CHARGERS): SelectSelector(
                        SelectSelectorConfig(
                            options=rejected,
                            multiple=True,
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            )
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = (
                _validate_options(user_input)
                | _validate_energy(self.hass, user_input)
                | await async_port_errors(
                    self.hass, user_input.get(CONF_OCPP_PORT), self.config_entry
                )
            )
            if not errors:
                data: dict[str, Any] = {
                    key: (
                        int(value)
                        if key == CONF_OCPP_PORT
                        else float(value)
                        if key in NUMERIC_OPTIONS
                        else value
                    )
                    for key, value in user_input.items()
                    if key != CONF_REJECTED_CHARGERS
                }
                # Unticking a rejected charger lets it connect again (as unknown).
                kept = set(user_input.get(CONF_REJECTED_CHARGERS, ()))
                if still := [i for i in rejected if i in kept]:
                    data[CONF_REJECTED_CHARGERS] = still
                return self.async_create_entry(data=data)
        current = {
            CONF_OCPP_PORT: DEFAULT_OCPP_PORT,
            CONF_WATCHDOG_S: DEFAULT_WATCHDOG_S,
            **DEFAULT_OPTIONS,
            **options,
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or current
            ),
            errors=errors,
        )


def _group_schema(
    groups: list[GroupConfig], parents: list[str], legs: int
) -> vol.Schema:
    """The form of a panel or circuit; ``parents`` are the groups it may hang under."""
    names = {g.id: g.name for g in groups}
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_KIND, default=GROUP_KINDS[0]): SelectSelector(
                SelectSelectorConfig(
                    options=list(GROUP_KINDS),
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_KIND,
                )
            ),
            vol.Required(CONF_PARENT, default=SITE_GROUP_ID): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=gid, label=names[gid]) for gid in parents
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_RATING_A): box(UnitOfElectricCurrent.AMPERE, 1),
            vol.Required(CONF_PHASES, default=list(LEG_NAMES[:legs])): SelectSelector(
                SelectSelectorConfig(
                    options=list(LEG_NAMES[:legs]),
                    multiple=True,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Required(CONF_CONTINUOUS_FACTOR, default=CONTINUOUS_PCT_DEFAULT): box(
                "%", 1
            ),
            vol.Optional(CONF_MAX_POWER_KW): box(UnitOfPower.KILO_WATT, 0.1),
            vol.Optional(CONF_FIXED_LOAD_A, default=0): box(
                UnitOfElectricCurrent.AMPERE, 0.1
            ),
        }
    )


def _validate_group(
    user_input: Mapping[str, Any],
    groups: list[GroupConfig],
    group_id: str | None,
) -> dict[str, str]:
    """Form errors by field for a panel or circuit (``group_id``: the one edited)."""
    errors: dict[str, str] = {}
    others = [g for g in groups if g.id != group_id]
    name = str(user_input[CONF_NAME]).strip()
    if not name:
        errors[CONF_NAME] = "name_required"
    elif name.casefold() in {g.name.casefold() for g in others}:
        errors[CONF_NAME] = "name_taken"
    parent = next(
        (g for g in groups if g.id == user_input[CONF_PARENT]),
        None,
    )
    if parent is None or user_input[CONF_PARENT] not in possible_parents(
        groups, group_id
    ):
        errors[CONF_PARENT] = "parent_invalid"
    rating = float(user_input[CONF_RATING_A])
    if not _within(rating, GROUP_RATING_RANGE_A):
        errors[CONF_RATING_A] = "rating_out_of_range"
    pct = float(user_input[CONF_CONTINUOUS_FACTOR])
    if not _within(pct, (CONTINUOUS_PCT_MIN, CONTINUOUS_PCT_MAX)):
        errors[CONF_CONTINUOUS_FACTOR] = "factor_out_of_range"
    power = user_input.get(CONF_MAX_POWER_KW)
    if power is not None and not 0 < float(power) <= GROUP_POWER_MAX_KW:
        errors[CONF_MAX_POWER_KW] = "power_out_of_range"
    fixed = float(user_input.get(CONF_FIXED_LOAD_A) or 0.0)
    if fixed < 0:
        errors[CONF_FIXED_LOAD_A] = "fixed_load_negative"
    elif CONF_RATING_A not in errors and fixed >= rating * pct / 100.0:
        errors[CONF_FIXED_LOAD_A] = "fixed_load_too_high"
    phases = {LEG_NAMES.index(leg) for leg in user_input[CONF_PHASES]}
    if not phases:
        errors[CONF_PHASES] = "phases_required"
    elif parent is not None and not phases <= set(parent.phases):
        errors[CONF_PHASES] = "phases_not_in_parent"
    elif group_id is not None and any(
        not set(g.phases) <= phases for g in groups if g.parent == group_id
    ):
        errors[CONF_PHASES] = "phases_used_below"
    return errors


def _group_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a group subentry stores: fractions, legs in supply order."""
    power = user_input.get(CONF_MAX_POWER_KW)
    return {
        CONF_KIND: user_input[CONF_KIND],
        CONF_PARENT: user_input[CONF_PARENT],
        CONF_RATING_A: float(user_input[CONF_RATING_A]),
        CONF_PHASES: [leg for leg in LEG_NAMES if leg in user_input[CONF_PHASES]],
        CONF_CONTINUOUS_FACTOR: float(user_input[CONF_CONTINUOUS_FACTOR]) / 100.0,
        CONF_MAX_POWER_KW: None if power is None else float(power),
        CONF_FIXED_LOAD_A: float(user_input.get(CONF_FIXED_LOAD_A) or 0.0),
    }


class PowerGroupSubentryFlow(SiteSubentryFlow):
    """Add or change a panel or circuit of a site."""

    names_site = True

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """Name, kind, parent, rating, phases, limits."""
        groups = site.groups
        return _group_schema(
            groups, possible_parents(groups, site.subentry_id), site.legs
        )

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site's other groups."""
        return _validate_group(user_input, site.groups, site.subentry_id)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """Fractions, legs in supply order."""
        return _group_data(user_input)

    def form_suggested(self, site: SiteForm) -> Mapping[str, Any] | None:
        """The stored group, its continuous factor as a percentage."""
        if site.subentry is None:
            return None
        factor = site.subentry.data[CONF_CONTINUOUS_FACTOR]
        return stored_values(site.subentry) | {
            CONF_CONTINUOUS_FACTOR: round(factor * 100.0, 1)
        }


def generate_password() -> str:
    """A password for a new charger: 24 characters a charger's form accepts."""
    return secrets.token_urlsafe(18)


def charger_schema(
    groups: list[GroupConfig], legs: int, *, new: bool = False
) -> vol.Schema:
    """The form of an OCPP charger; a ``new`` one shows its (generated)
    password, to be copied into the charger; later it is masked."""
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_CHARGE_POINT_ID): TextSelector(),
            vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(groups),
            vol.Required(CONF_CONNECTORS, default=1): box("", 1),
            vol.Required(
                CONF_CONNECTION, default="L1-L2-L3" if legs == 3 else "L1"
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        name for name, c in CONNECTIONS.items() if max(c.legs) < legs
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_MAX_CURRENT_A, default=32): box(
                UnitOfElectricCurrent.AMPERE, 1
            ),
            vol.Optional(CONF_FAILSAFE_A): box(UnitOfElectricCurrent.AMPERE, 1),
            vol.Optional(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(
                    type=TextSelectorType.TEXT if new else TextSelectorType.PASSWORD
                )
            ),
        }
    )


def validate_charger(
    user_input: Mapping[str, Any],
    entry: ConfigEntry,
    groups: list[GroupConfig],
    subentry_id: str | None,
) -> dict[str, str]:
    """Form errors by field for a charger (``subentry_id``: the one edited)."""
    errors: dict[str, str] = {}
    if not str(user_input[CONF_NAME]).strip():
        errors[CONF_NAME] = "name_required"
    cp_id = str(user_input[CONF_CHARGE_POINT_ID]).strip()
    others = site_chargers(
        {k: v for k, v in entry.subentries.items() if k != subentry_id}
    )
    if (
        not cp_id
        or len(cp_id) > CHARGE_POINT_ID_MAX
        or any(ch.isspace() or ch in "/?#%" for ch in cp_id)
    ):
        errors[CONF_CHARGE_POINT_ID] = "charge_point_id_invalid"
    elif cp_id in {c.charge_point_id for c in others}:
        errors[CONF_CHARGE_POINT_ID] = "charge_point_id_taken"
    group = next((g for g in groups if g.id == user_input[CONF_GROUP]), None)
    if group is None:
        errors[CONF_GROUP] = "group_invalid"
    elif not set(CONNECTIONS[user_input[CONF_CONNECTION]].legs) <= set(group.phases):
        errors[CONF_CONNECTION] = "connection_not_in_group"
    if not _within(user_input[CONF_CONNECTORS], CONNECTORS_RANGE) or (
        float(user_input[CONF_CONNECTORS]) % 1
    ):
        errors[CONF_CONNECTORS] = "connectors_out_of_range"
    max_a = float(user_input[CONF_MAX_CURRENT_A])
    if not _within(max_a, CHARGER_MAX_CURRENT_RANGE_A):
        errors[CONF_MAX_CURRENT_A] = "max_current_out_of_range"
    password = str(user_input.get(CONF_PASSWORD) or "")
    if password and (
        not _within(len(password), PASSWORD_LENGTH_RANGE)
        or any(ch.isspace() for ch in password)
    ):
        errors[CONF_PASSWORD] = "password_invalid"
    failsafe = user_input.get(CONF_FAILSAFE_A)
    minimum = control_settings(entry.options).min_current_a
    if (
        failsafe is not None
        and float(failsafe) != 0
        and not (minimum <= float(failsafe) <= max_a)
    ):
        errors[CONF_FAILSAFE_A] = "failsafe_out_of_range"
    return errors


def charger_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    failsafe = user_input.get(CONF_FAILSAFE_A)
    return {
        CONF_CHARGE_POINT_ID: str(user_input[CONF_CHARGE_POINT_ID]).strip(),
        CONF_GROUP: user_input[CONF_GROUP],
        CONF_CONNECTORS: int(float(user_input[CONF_CONNECTORS])),
        CONF_CONNECTION: user_input[CONF_CONNECTION],
        CONF_MAX_CURRENT_A: float(user_input[CONF_MAX_CURRENT_A]),
        CONF_FAILSAFE_A: None if failsafe is None else float(failsafe),
        CONF_PASSWORD: user_input.get(CONF_PASSWORD) or None,
    }


class ChargerSubentryFlow(SiteSubentryFlow):
    """Add or change an OCPP charger of a site."""

    names_site = True

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """A new charger's password is shown; a stored one masked."""
        return charger_schema(site.groups, site.legs, new=site.subentry is None)

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site's groups and other chargers."""
        return validate_charger(user_input, site.entry, site.groups, site.subentry_id)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What a charger stores."""
        return charger_data(user_input)

    def form_unique_id(self, data: Mapping[str, Any]) -> str | None:
        """Its charge point id."""
        return str(data[CONF_CHARGE_POINT_ID])

    def form_suggested(self, site: SiteForm) -> Mapping[str, Any] | None:
        """A new charger starts with a generated password."""
        if site.subentry is None:
            return {CONF_PASSWORD: generate_password()}
        return super().form_suggested(site)

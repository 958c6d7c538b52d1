"""EV Power Share: share a site's electrical capacity between EV chargers."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
import ssl
from typing import Any, Protocol
from uuid import uuid4

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_OCPP_PORT,
    CONF_REJECTED_CHARGERS,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    CONF_WATCHDOG_S,
    DEFAULT_OCPP_PORT,
    DEFAULT_WATCHDOG_S,
    DOMAIN,
    OCPP_HOST,
    SUBENTRY_CHARGER,
    SUBENTRY_MODBUS_CHARGER,
)
from .controller import SiteController
from .csms import CentralSystem, StationConfig
from .csms.tls import TlsError, server_ssl_context
from .data import (
    EvPowerShareConfigEntry,
    SiteRuntime,
    SiteSettings,
    control_settings,
    energy_settings,
    site_chargers,
    site_groups,
    site_ha_chargers,
    site_meters,
    site_modbus_chargers,
    site_outlets,
    site_scheduled_limits,
)
from .devices import async_sync_devices
from .energy import EnergyModes
from .entity_setup import signal_subentries_added
from .ha_chargers import HaChargerSource
from .issues import (
    async_announce_unknown_charger,
    async_charger_disobeys,
    async_forget_unknown_charger,
    async_ha_charger_disobeys,
    async_meter_problem,
    async_refused_removals,
    async_sync_failsafe_margin_issues,
    async_sync_password_issues,
    async_update_charger_device,
)
from .ledger_setup import async_remove_ledger
from .meters import SiteMeters
from .modbus_chargers import ModbusChargerSource
from .ocpp_source import OcppSource
from .outlets import OutletSource
from .schedules import ScheduledLimits
from .services import async_setup_services
from .site_sessions import SiteSessions
from .user_figures import async_start_figures
from .users import SiteTokens

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: its service actions."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> bool:
    """Bring a site entry up to the current version.

    1.1 → 1.2: the unique id was the name's slug (renaming a site changed it, and
    names that look alike clashed); it is now generated, as for new sites.
    """
    if entry.version > 1:
        return False  # from a newer release
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(
            entry, unique_id=uuid4().hex, minor_version=2
        )
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> bool:
    """Set up a site: its devices, its controller, its entities."""
    settings = SiteSettings.from_entry_data(entry.data)
    # What the site is set up from; a change made meanwhile is applied at the end.
    data = dict(entry.data)
    subentries = dict(entry.subentries)
    options = dict(entry.options)
    async_sync_devices(hass, entry)
    async_sync_password_issues(hass, entry)
    async_sync_failsafe_margin_issues(hass, entry)
    control = control_settings(options)
    controller = SiteController(
        hass,
        entry,
        settings.supply,
        site_groups(settings, subentries),
        control,
    )
    await controller.async_load()

    @callback
    def changed() -> None:
        entry.async_create_background_task(
            hass, controller.async_request_refresh(), f"{DOMAIN} charger event"
        )

    sessions = SiteSessions(
        hass,
        entry,
        controller,
        lambda station, connector: _ocpp_port_of(ocpp, station, connector),
    )
    ocpp = OcppSource(
        site_chargers(subentries),
        config=StationConfig(watchdog_s=_watchdog_s(entry)),
        site_failsafe_a=control.failsafe_a,
        on_change=changed,
        on_unknown=lambda cp_id: async_announce_unknown_charger(hass, entry, cp_id),
        on_boot=lambda station: async_update_charger_device(hass, entry, station),
        on_disobeys=lambda cp_id, disobeys: async_charger_disobeys(
            hass, entry, cp_id, disobeys
        ),
        voltage_v=settings.supply.voltage_ln_v,
        on_transaction=sessions.transaction,
    )
    outlets = OutletSource(
        hass,
        site_outlets(subentries),
        settings.supply,
        on_change=changed,
        spawn=lambda coro, name: entry.async_create_background_task(hass, coro, name),
    )
    modbus_chargers = ModbusChargerSource(
        site_modbus_chargers(subentries, _watchdog_s(entry)), on_change=changed
    )
    ha_chargers = HaChargerSource(
        hass,
        site_ha_chargers(subentries),
        voltage_v=settings.supply.voltage_ln_v,
        site_failsafe_a=control.failsafe_a,
        on_change=changed,
        on_disobeys=lambda charger, disobeys: async_ha_charger_disobeys(
            hass, entry, charger.subentry_id, charger.name, disobeys
        ),
    )
    controller.forget_ports(_port_ids((ocpp, outlets, modbus_chargers, ha_chargers)))
    await sessions.async_start(
        ((ha_chargers, False), (outlets, True), (modbus_chargers, False))
    )
    port = _ocpp_port(entry)
    tokens = SiteTokens(hass, entry, ocpp, sessions.month_kwh)
    await tokens.async_update()
    central = CentralSystem(
        host=OCPP_HOST,
        port=port,
        authorize=ocpp.authorize,
        has_password=ocpp.has_password,
        listener=ocpp,
        config=ocpp.config,
        ssl_context=await _async_ssl_context(hass, entry),
        tokens=tokens.authority,
        on_transaction=ocpp.transaction,
    )
    try:
        await central.start()
    except OSError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ocpp_port_unavailable",
            translation_placeholders={"port": str(port), "error": str(err)},
        ) from err

    # Whether the last run cleared the chargers' live limits when it ended: if
    # it did not (it crashed, or some were offline), they may hold them a while,
    # and are counted at what they may hold until then.
    limits_store: Store[dict[str, Any]] = Store(
        hass, 1, f"{DOMAIN}.{entry.entry_id}.charger_limits"
    )
    last_run = await limits_store.async_load()
    if last_run is not None:
        held_until = last_run.get("held_until")
        if last_run.get("state") != "stopped":
            # (Not time.time(): in this package's namespace "time" is the time
            # platform module once it is loaded.)
            held_until = dt_util.utcnow().timestamp() + ocpp.config.watchdog_s
        ocpp.held_until_unknown = float(held_until or 0.0)
    await limits_store.async_save({"state": "running"})

    closed = False

    async def close(_event: Event | None = None) -> None:
        # Chargers drop to their failsafe at once, rather than when the live
        # limit lapses; then the sockets close. (Once: Home Assistant stopping
        # and the entry unloading both ask.)
        nonlocal closed
        if closed:
            return
        closed = True
        await outlets.async_close()  # outlets: off (their failsafe)
        held_until = await ocpp.async_close()
        await central.stop()
        await limits_store.async_save({"state": "stopped", "held_until": held_until})

    meters = SiteMeters(
        hass,
        settings.supply,
        _group_phases(controller),
        site_meters(subentries),
        on_reading=changed,
        on_problem=lambda meter, problem: async_meter_problem(
            hass, entry, meter.id, meter.name, problem
        ),
    )
    await meters.async_start()
    entry.async_on_unload(meters.async_stop)
    entry.async_on_unload(controller.add_adjuster(meters))
    schedules = ScheduledLimits(hass, site_scheduled_limits(subentries), changed)
    entry.async_on_unload(schedules.stop)
    entry.async_on_unload(controller.add_adjuster(schedules))
    energy = EnergyModes(hass, energy_settings(options), meters.site_power_w)
    entry.async_on_unload(controller.add_adjuster(energy))
    entry.async_on_unload(close)
    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, close))
    entry.async_on_unload(controller.add_source(ocpp))
    outlets.async_start()
    entry.async_on_unload(outlets.async_stop)
    entry.async_on_unload(controller.add_source(outlets))
    entry.async_on_unload(controller.add_source(modbus_chargers))
    modbus_chargers.start()
    entry.async_on_unload(modbus_chargers.async_close)

    async def stop_modbus_chargers(_event: Event) -> None:
        await modbus_chargers.async_close()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop_modbus_chargers)
    )
    entry.async_on_unload(ha_chargers.async_start())
    entry.async_on_unload(controller.add_source(ha_chargers))
    await controller.async_config_entry_first_refresh()
    figures = await async_start_figures(hass, entry, sessions.ledger)
    entry.runtime_data = SiteRuntime(
        settings=settings,
        meters=meters,
        schedules=schedules,
        energy=energy,
        controller=controller,
        ocpp=ocpp,
        central=central,
        ocpp_port=port,
        data=data,
        subentries=subentries,
        outlets=outlets,
        modbus_chargers=modbus_chargers,
        ha_chargers=ha_chargers,
        ledger=sessions.ledger,
        tokens=tokens,
        figures=figures,
        sessions=sessions,
    )
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    if entry.data != data or entry.subentries != subentries or entry.options != options:
        # Changed while the site was being set up (a subentry added while it
        # reloads), before it listened: apply that now, as an update would.
        await _async_entry_updated(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _chargers_reshaped(
    before: Mapping[str, ConfigSubentry], entry: EvPowerShareConfigEntry
) -> bool:
    """A charger's id or connectors changed: its entities must be made anew."""
    shape = (CONF_CHARGE_POINT_ID, CONF_CONNECTORS, CONF_CONNECTION)
    return any(
        sid in before
        and sub.subentry_type == SUBENTRY_CHARGER
        and any(sub.data.get(k) != before[sid].data.get(k) for k in shape)
        for sid, sub in entry.subentries.items()
    )


def _modbus_chargers_changed(
    before: Mapping[str, ConfigSubentry], entry: EvPowerShareConfigEntry
) -> bool:
    """A Modbus charger was added, removed or changed: the site is reloaded
    (its polling task and connection are made anew)."""

    def modbus(subentries: Mapping[str, ConfigSubentry]) -> dict[str, Any]:
        return {
            sid: (s.title, dict(s.data))
            for sid, s in subentries.items()
            if s.subentry_type == SUBENTRY_MODBUS_CHARGER
        }

    return modbus(before) != modbus(entry.subentries)


async def _async_ssl_context(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> ssl.SSLContext | None:
    """The TLS context of the central system (wss://), if the site has one.

    Never falls back to plain ws:// when the files cannot be used: the site
    waits (and retries) with a message saying why.
    """
    cert, key = entry.data.get(CONF_SSL_CERTIFICATE), entry.data.get(CONF_SSL_KEY)
    if not cert or not key:
        return None
    try:
        return await hass.async_add_executor_job(server_ssl_context, cert, key)
    except TlsError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="tls_unavailable",
            translation_placeholders={"error": str(err)},
        ) from err


class _ServesPorts(Protocol):
    def port_ids(self) -> list[str]: ...


def _port_ids(sources: Iterable[_ServesPorts | None]) -> list[str]:
    """Every port the site's sources serve (the ports whose settings are kept)."""
    return [
        pid for source in sources if source is not None for pid in source.port_ids()
    ]


def _ocpp_port_of(ocpp: OcppSource, station: str, connector: int) -> str | None:
    """The port of one of an OCPP charger's connectors (None: not the site's)."""
    charger = ocpp.chargers.get(station)
    if charger is None or not 1 <= connector <= charger.connectors:
        return None
    return charger.port_id(connector)


def _group_phases(controller: SiteController) -> dict[str, tuple[int, ...]]:
    return {g.id: g.phases for g in controller.groups}


def _ocpp_port(entry: EvPowerShareConfigEntry) -> int:
    return int(entry.options.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT))


def _watchdog_s(entry: EvPowerShareConfigEntry) -> float:
    return float(entry.options.get(CONF_WATCHDOG_S, DEFAULT_WATCHDOG_S))


def _forget_removed_users(
    runtime: SiteRuntime,
    before: Mapping[str, ConfigSubentry],
    entry: EvPowerShareConfigEntry,
) -> None:
    """A removed user's past sessions stay in the ledger under a pseudonym."""
    if runtime.sessions is not None:
        runtime.sessions.forget_removed_users(before, entry.subentries)


async def _async_entry_updated(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> None:
    """Apply new options or power groups to the running site, keeping its state.

    New data (the site reconfigured: its name, supply, breaker or TLS) reloads
    it; this listener is the only one to do so, the reconfigure flow does not.
    A group that was removed while others still hang under it is put back (with a
    repair issue) and the site reloaded, since Home Assistant already dropped its
    device and entities.
    """
    runtime: SiteRuntime | None = getattr(entry, "runtime_data", None)
    if runtime is None or entry.state not in (
        ConfigEntryState.LOADED,
        ConfigEntryState.SETUP_IN_PROGRESS,
    ):
        # Being unloaded (a reload's next set-up reads the entry afresh).
        return
    if dict(entry.data) != runtime.data:
        runtime.data = dict(entry.data)
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    before = runtime.subentries
    if refused := async_refused_removals(hass, entry, before):

        @callback
        def restore() -> None:
            # Home Assistant drops the subentry's device and entities right after
            # telling us, so put it back once it has, then reload to recreate
            # them. The running site never stopped counting the group.
            for subentry in refused:
                hass.config_entries.async_add_subentry(entry, subentry)
            hass.config_entries.async_schedule_reload(entry.entry_id)

        hass.loop.call_soon(restore)
        return
    runtime.subentries = dict(entry.subentries)
    _forget_removed_users(runtime, before, entry)
    if (
        _ocpp_port(entry) != runtime.ocpp_port
        or _watchdog_s(entry) != runtime.ocpp.config.watchdog_s
        or _chargers_reshaped(before, entry)
        or _modbus_chargers_changed(before, entry)
    ):
        hass.config_entries.async_schedule_reload(entry.entry_id)  # rebind
        return
    async_sync_devices(hass, entry)
    async_sync_password_issues(hass, entry)
    async_sync_failsafe_margin_issues(hass, entry)
    control = control_settings(entry.options)
    runtime.ocpp.site_failsafe_a = control.failsafe_a
    runtime.ocpp.update_chargers(site_chargers(entry.subentries))
    await _async_update_tokens(runtime)
    if runtime.outlets is not None:
        runtime.outlets.update_outlets(site_outlets(entry.subentries))
    if runtime.ha_chargers is not None:
        runtime.ha_chargers.site_failsafe_a = control.failsafe_a
        runtime.ha_chargers.update_chargers(site_ha_chargers(entry.subentries))
    runtime.controller.forget_ports(
        _port_ids(
            (
                runtime.ocpp,
                runtime.outlets,
                runtime.modbus_chargers,
                runtime.ha_chargers,
            )
        )
    )
    runtime.controller.reconfigure(
        runtime.settings.supply,
        site_groups(runtime.settings, entry.subentries),
        control,
    )
    runtime.schedules.update_limits(site_scheduled_limits(entry.subentries))
    runtime.energy.settings = energy_settings(entry.options)
    await runtime.meters.async_update_meters(
        site_meters(entry.subentries), _group_phases(runtime.controller)
    )
    await runtime.controller.async_refresh()
    _async_admit_added_chargers(hass, entry, runtime.ocpp.chargers)
    if added := [sid for sid in entry.subentries if sid not in before]:
        async_dispatcher_send(hass, signal_subentries_added(entry.entry_id), added)


async def _async_update_tokens(runtime: SiteRuntime) -> None:
    """Answer cards from the users as they are now; chargers get new lists."""
    if runtime.tokens is not None and await runtime.tokens.async_update():
        runtime.central.refresh_local_lists()


@callback
def _async_admit_added_chargers(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry, chargers: Collection[str]
) -> None:
    """The site's chargers (by charge point id) are neither unknown nor rejected
    any more: one that connected unannounced, or was once rejected, was added."""
    for charger in chargers:
        async_forget_unknown_charger(hass, entry, charger)
    rejected = list(entry.options.get(CONF_REJECTED_CHARGERS, ()))
    if added_back := set(rejected) & set(chargers):
        options = {
            k: v for k, v in entry.options.items() if k != CONF_REJECTED_CHARGERS
        }
        if still := [i for i in rejected if i not in added_back]:
            options[CONF_REJECTED_CHARGERS] = still
        hass.config_entries.async_update_entry(entry, options=options)


async def async_unload_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> bool:
    """Unload a site (the controller's shutdown is registered on unload)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> None:
    """A site was deleted: withdraw the issues it raised, forget what it kept."""
    for key in (
        f"{DOMAIN}.{entry.entry_id}",
        f"{DOMAIN}.{entry.entry_id}.charger_limits",
        f"{DOMAIN}.{entry.entry_id}.local_list",
    ):
        await Store[dict[str, Any]](hass, 1, key).async_remove()
    await async_remove_ledger(hass, entry.entry_id)
    registry = ir.async_get(hass)
    ids = {entry.entry_id, *entry.subentries}
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and any(i in issue_id for i in ids):
            ir.async_delete_issue(hass, DOMAIN, issue_id)

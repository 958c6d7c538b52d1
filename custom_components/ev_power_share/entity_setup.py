"""How platforms add their entities: the site's own first, then each subentry's,
also of subentries added while the site runs (on their devices, made first)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, SUBENTRY_CHARGER
from .controller import SiteController
from .core.ports import PortStatus
from .data import EvPowerShareConfigEntry, charger_config
from .devices import async_sync_devices
from .ocpp_source import ChargerConfig
from .port_links import OcppLink, PortLink, StatusLink


def signal_subentries_added(entry_id: str) -> str:
    """Dispatcher signal: new subentries (their ids) need entities."""
    return f"{DOMAIN}_{entry_id}_subentries_added"


@callback
def async_add_subentry_entities(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    make: Callable[[ConfigSubentry], Iterable[Entity]],
) -> None:
    """Add ``make(subentry)``'s entities for every subentry, now and when added.

    Their devices are created (or brought up to date) first, so that entities
    always attach to a device that exists with its name and parent, whichever
    way the subentry came (set-up, added while running, or during a reload).
    """
    added: set[str] = set()

    @callback
    def add(subentry_ids: Iterable[str]) -> None:
        new = [
            sid for sid in subentry_ids if sid in entry.subentries and sid not in added
        ]
        if not new:
            return
        async_sync_devices(hass, entry)
        for sid in new:
            added.add(sid)
            entities = list(make(entry.subentries[sid]))
            if entities:
                async_add_entities(entities, config_subentry_id=sid)

    add(list(entry.subentries))
    entry.async_on_unload(
        async_dispatcher_connect(hass, signal_subentries_added(entry.entry_id), add)
    )


type ChargerEntityFactory = Callable[
    [SiteController, PortLink, str, EntityDescription, int | None],
    Entity,
]
"""An entity class of a charger or connector: (controller, link to the charger,
subentry id, description, connector or None)."""


def charger_entities(
    entry: EvPowerShareConfigEntry,
    factory: ChargerEntityFactory,
    *,
    per_charger: Sequence[EntityDescription] = (),
    per_connector: Sequence[EntityDescription]
    | Callable[[ChargerConfig], Sequence[EntityDescription]] = (),
    per_port: Sequence[EntityDescription] = (),
) -> Callable[[ConfigSubentry], list[Entity]]:
    """For :func:`async_add_subentry_entities`: an OCPP charger subentry's
    entities, one per ``per_charger`` description and one per connector and
    ``per_connector`` description (or what it gives for the charger); for a
    subentry whose ports another source serves (:class:`~.core.ports.PortStatus`:
    a charger already in Home Assistant, an outlet, a Modbus charger), one per
    port and ``per_port`` description."""
    runtime = entry.runtime_data

    def make(sub: ConfigSubentry) -> list[Entity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return _port_entities(runtime.controller, sub, factory, per_port)
        charger = charger_config(sub)
        link = OcppLink(runtime.ocpp, charger)
        args = (runtime.controller, link, sub.subentry_id)
        connector = per_connector(charger) if callable(per_connector) else per_connector
        return [
            *(factory(*args, d, None) for d in per_charger),
            *(
                factory(*args, d, n)
                for n in range(1, charger.connectors + 1)
                for d in connector
            ),
        ]

    return make


def _port_entities(
    controller: SiteController,
    sub: ConfigSubentry,
    factory: ChargerEntityFactory,
    descriptions: Sequence[EntityDescription],
) -> list[Entity]:
    """The entities of a subentry's ports, if a source of the site serves it."""
    for source in controller.sources:
        if not isinstance(source, PortStatus):
            continue
        if ports := source.subentry_ports(sub.subentry_id):
            link = StatusLink(controller, source, sub.subentry_id, ports)
            return [
                factory(controller, link, sub.subentry_id, d, n)
                for n in range(1, len(ports) + 1)
                for d in descriptions
            ]
    return []


type SetupEntry = Callable[
    [HomeAssistant, EvPowerShareConfigEntry, AddConfigEntryEntitiesCallback],
    Coroutine[Any, Any, None],
]
"""A platform's ``async_setup_entry``."""


def platform_setup(
    subentry_entities: Callable[
        [EvPowerShareConfigEntry], Callable[[ConfigSubentry], Iterable[Entity]]
    ],
    site_entities: Callable[[EvPowerShareConfigEntry], Iterable[Entity]] | None = None,
) -> SetupEntry:
    """The set-up every platform shares: the site's own entities first, then
    those of each subentry (``subentry_entities(entry)`` makes them), also of
    subentries added while the site runs."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: EvPowerShareConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        if site_entities is not None:
            async_add_entities(site_entities(entry))
        make = subentry_entities(entry)
        async_add_subentry_entities(hass, entry, async_add_entities, make)

    return async_setup_entry

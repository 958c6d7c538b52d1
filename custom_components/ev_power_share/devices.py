"""The devices of a site: the site, its power groups, chargers and meters.

Each panel or circuit is a device under its parent group's device (the site's at
the top), and each charger and meter a device under its group's: ``via_device_id``
follows the wiring. They are created (or updated) before any entity is attached
to them, whichever way the entities come: the site's setup, a subentry added
while it runs, or one added while it reloads.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .compat import async_get_or_create_device
from .const import (
    CONF_CHARGER_PROFILE,
    CONF_GROUP,
    CONF_KIND,
    CONF_MODEL,
    CONF_PARENT,
    CONF_PROFILE,
    CONF_SOURCE,
    DOMAIN,
    SITE_GROUP_ID,
    SUBENTRY_CHARGER,
    SUBENTRY_GROUP,
    SUBENTRY_HA_CHARGER,
    SUBENTRY_METER,
    SUBENTRY_MODBUS_CHARGER,
    SUBENTRY_OUTLET,
)
from .ha_profiles import GENERIC, PROFILES as HA_PROFILES
from .modbus import PROFILES
from .modbus.charger_maps import CHARGER_MAPS

MANUFACTURER = "EV Power Share"


def group_device_identifier(entry_id: str, group_id: str) -> tuple[str, str]:
    """The device registry identifier of a power group (the site: the entry's)."""
    if group_id == SITE_GROUP_ID:
        return (DOMAIN, entry_id)
    return (DOMAIN, f"{entry_id}_{group_id}")


def charger_device_identifier(entry_id: str, subentry_id: str) -> tuple[str, str]:
    """The device registry identifier of a charger."""
    return (DOMAIN, f"{entry_id}_{subentry_id}")


def meter_device_identifier(entry_id: str, subentry_id: str) -> tuple[str, str]:
    """The device registry identifier of a meter."""
    return (DOMAIN, f"{entry_id}_{subentry_id}")


def outlet_device_identifier(entry_id: str, subentry_id: str) -> tuple[str, str]:
    """The device registry identifier of a smart outlet."""
    return (DOMAIN, f"{entry_id}_{subentry_id}")


def _depth(subentries: Mapping[str, ConfigSubentry], subentry_id: str) -> int:
    depth, parent = 0, str(subentries[subentry_id].data.get(CONF_PARENT))
    while parent in subentries and depth <= len(subentries):
        depth, parent = depth + 1, str(subentries[parent].data.get(CONF_PARENT))
    return depth


@callback
def async_sync_devices(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Create or update the site's device, one device per power group (parents
    before children), and one per charger and meter (under its group)."""
    registry = dr.async_get(hass)
    entry_id = entry.entry_id
    site = registry.async_get_or_create(
        config_entry_id=entry_id,
        identifiers={group_device_identifier(entry_id, SITE_GROUP_ID)},
        name=entry.data[CONF_NAME],
        manufacturer=MANUFACTURER,
        model="Site",
    )
    group_devices = {SITE_GROUP_ID: site.id}
    groups = {
        sid: s
        for sid, s in entry.subentries.items()
        if s.subentry_type == SUBENTRY_GROUP
    }
    for sid in sorted(groups, key=lambda sid: _depth(groups, sid)):
        subentry = groups[sid]
        group_devices[sid] = async_get_or_create_device(
            registry,
            config_entry_id=entry_id,
            config_subentry_id=sid,
            identifiers={group_device_identifier(entry_id, sid)},
            name=subentry.title,
            manufacturer=MANUFACTURER,
            model=str(subentry.data[CONF_KIND]).capitalize(),
            via_device_id=group_devices.get(subentry.data[CONF_PARENT]),
        ).id
    for sid, subentry in entry.subentries.items():
        if subentry.subentry_type == SUBENTRY_CHARGER:
            identifier = charger_device_identifier(entry_id, sid)
            # Vendor and model come from the charger itself (its BootNotification).
            details: dict[str, str | None] = {}
        elif subentry.subentry_type == SUBENTRY_HA_CHARGER:
            identifier = charger_device_identifier(entry_id, sid)
            details = _ha_charger_details(subentry)
        elif subentry.subentry_type == SUBENTRY_METER:
            identifier = meter_device_identifier(entry_id, sid)
            details = _meter_details(subentry)
        elif subentry.subentry_type == SUBENTRY_OUTLET:
            identifier = outlet_device_identifier(entry_id, sid)
            details = {"manufacturer": None, "model": "Smart outlet"}
        elif subentry.subentry_type == SUBENTRY_MODBUS_CHARGER:
            identifier = charger_device_identifier(entry_id, sid)
            details = _modbus_charger_details(subentry)
        else:
            continue
        async_get_or_create_device(
            registry,
            config_entry_id=entry_id,
            config_subentry_id=sid,
            identifiers={identifier},
            name=subentry.title,
            via_device_id=group_devices.get(subentry.data[CONF_GROUP]),
            **details,
        )


def _meter_details(subentry: ConfigSubentry) -> dict[str, str | None]:
    """A Modbus meter's maker and model, from its profile ("Eastron SDM630");
    a meter of Home Assistant sensors is just that."""
    profile = PROFILES.get(str(subentry.data.get(CONF_PROFILE)))
    if subentry.data.get(CONF_SOURCE) != "modbus" or profile is None:
        return {"manufacturer": None, "model": "Sensors"}
    manufacturer, model = profile.name.rsplit(" ", 1)
    return {"manufacturer": manufacturer, "model": model}


def _modbus_charger_details(subentry: ConfigSubentry) -> dict[str, str | None]:
    """A Modbus charger's maker and model, from its register map."""
    cmap = CHARGER_MAPS.get(str(subentry.data.get(CONF_MODEL)))
    if cmap is None:
        return {"manufacturer": None, "model": None}
    return {"manufacturer": cmap.maker, "model": cmap.model}


def _ha_charger_details(subentry: ConfigSubentry) -> dict[str, str | None]:
    """A charger already in Home Assistant: driven through its maker's
    integration (its profile's name; none for the generic profile)."""
    profile = HA_PROFILES.get(str(subentry.data.get(CONF_CHARGER_PROFILE)))
    maker = None if profile is None or profile.key == GENERIC else profile.name
    return {"manufacturer": maker, "model": "Charger in Home Assistant"}

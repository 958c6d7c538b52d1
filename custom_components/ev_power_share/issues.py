"""The site's repair issues: group removals that are refused, unknown chargers,
chargers that do not follow their limits or have no password, meter problems (and
a charger's device details from its BootNotification).

Each panel or circuit is a config subentry of the site and a device under its
parent's device (see :mod:`.devices`). Home Assistant lets a user
delete any subentry and offers no veto, so a group that still has groups,
chargers or meters under it is put back at once, with a repair issue that says
why: dropping it would leave them dangling, and re-hanging them under its parent
silently would widen their limits.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.util import slugify

from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_PASSWORD,
    CONF_REJECTED_CHARGERS,
    CONF_WATCHDOG_S,
    DEFAULT_WATCHDOG_S,
    DOMAIN,
    REFERENCE_KEYS,
    SUBENTRY_CHARGER,
    SUBENTRY_GROUP,
)
from .core.outlets import CONFIRM_S
from .csms import Station
from .data import control_settings, site_ha_chargers, site_modbus_chargers, site_outlets
from .devices import charger_device_identifier
from .modbus_charger_ports import too_slow

ISSUE_REMOVAL_REFUSED = "group_removal_refused"


def dependents(subentries: Mapping[str, ConfigSubentry], group_id: str) -> list[str]:
    """Titles of the subentries that hang directly under ``group_id``, sorted."""
    return sorted(
        s.title
        for s in subentries.values()
        if any(s.data.get(key) == group_id for key in REFERENCE_KEYS)
    )


@callback
def async_update_charger_device(
    hass: HomeAssistant, entry: ConfigEntry, station: Station
) -> None:
    """What the charger said of itself at boot: vendor, model, firmware, serial."""
    for sid, subentry in entry.subentries.items():
        if (
            subentry.subentry_type == SUBENTRY_CHARGER
            and subentry.data[CONF_CHARGE_POINT_ID] == station.id
        ):
            registry = dr.async_get(hass)
            device = registry.async_get_or_create(
                config_entry_id=entry.entry_id,
                config_subentry_id=sid,
                identifiers={charger_device_identifier(entry.entry_id, sid)},
            )
            info = station.info
            registry.async_update_device(
                device.id,
                manufacturer=info.vendor,
                model=info.model,
                sw_version=info.firmware,
                serial_number=info.serial,
                hw_version=f"OCPP {station.version}",
            )


@callback
def async_refused_removals(
    hass: HomeAssistant,
    entry: ConfigEntry,
    before: Mapping[str, ConfigSubentry],
) -> list[ConfigSubentry]:
    """Removed groups that others still hang under, each with its repair issue.

    ``before`` holds the subentries as they were before this change. The caller
    puts the returned subentries back.
    """
    refused: list[ConfigSubentry] = []
    for sid, subentry in before.items():
        if sid in entry.subentries or subentry.subentry_type != SUBENTRY_GROUP:
            continue
        blocking = dependents(entry.subentries, sid)
        if not blocking:
            # A legitimate removal: an earlier refusal of it is moot now.
            ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_REMOVAL_REFUSED}_{sid}")
            continue
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{ISSUE_REMOVAL_REFUSED}_{sid}",
            is_fixable=True,
            is_persistent=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_REMOVAL_REFUSED,
            translation_placeholders={
                "group": subentry.title,
                "site": entry.title,
                "dependents": ", ".join(blocking),
            },
        )
        refused.append(subentry)
    return refused


ISSUE_UNKNOWN_CHARGER = "unknown_charger"
MAX_ANNOUNCED = 10
"""Unknown chargers announced per site at most; more are refused (a flood)."""


@callback
def async_announce_unknown_charger(
    hass: HomeAssistant, entry: ConfigEntry, charge_point_id: str
) -> bool:
    """Tell the user a charger nobody configured is connecting; True: hold it.

    It is held as pending (BootNotification answered Pending, never commanded,
    never allowed to charge under our control) until it is added as a charger or
    rejected, from the repair issue's fix flow. A rejected one is refused at once.
    """
    if charge_point_id in entry.options.get(CONF_REJECTED_CHARGERS, ()):
        return False
    registry = ir.async_get(hass)
    prefix = f"{ISSUE_UNKNOWN_CHARGER}_{entry.entry_id}_"
    issue_id = prefix + slugify(charge_point_id)
    announced = [
        i
        for (domain, i) in registry.issues
        if domain == DOMAIN and i.startswith(prefix)
    ]
    if issue_id not in announced and len(announced) >= MAX_ANNOUNCED:
        return False
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        data={"entry_id": entry.entry_id, "charge_point_id": charge_point_id},
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_UNKNOWN_CHARGER,
        translation_placeholders={"charger": charge_point_id, "site": entry.title},
    )
    return True


@callback
def async_forget_unknown_charger(
    hass: HomeAssistant, entry: ConfigEntry, charge_point_id: str
) -> None:
    """The charger was added: withdraw its announcement."""
    ir.async_delete_issue(
        hass,
        DOMAIN,
        f"{ISSUE_UNKNOWN_CHARGER}_{entry.entry_id}_{slugify(charge_point_id)}",
    )


ISSUE_CHARGER_DISOBEYS = "charger_ignores_limits"


@callback
def async_charger_disobeys(
    hass: HomeAssistant, entry: ConfigEntry, charge_point_id: str, disobeys: bool
) -> None:
    """Raise (or withdraw) the issue of a charger that applies more than we set.

    It is counted at what it applies meanwhile, so the site stays within its
    limits; but the others get less, and the user can fix it (switch off the
    charger's own load management or its vendor cloud's control).
    """
    issue_id = f"{ISSUE_CHARGER_DISOBEYS}_{entry.entry_id}_{slugify(charge_point_id)}"
    title = next(
        (
            s.title
            for s in entry.subentries.values()
            if s.subentry_type == SUBENTRY_CHARGER
            and s.data.get(CONF_CHARGE_POINT_ID) == charge_point_id
        ),
        charge_point_id,
    )
    _async_problem_issue(
        hass,
        issue_id,
        disobeys,
        ir.IssueSeverity.WARNING,
        ISSUE_CHARGER_DISOBEYS,
        {"charger": title, "site": entry.title},
    )


ISSUE_HA_CHARGER_DISOBEYS = "ha_charger_ignores_limits"


@callback
def async_ha_charger_disobeys(
    hass: HomeAssistant,
    entry: ConfigEntry,
    subentry_id: str,
    name: str,
    disobeys: bool,
) -> None:
    """Raise (or withdraw) the issue of a charger already in Home Assistant that
    does not follow its limit (it draws more, or its limit entity does not take
    ours). It is counted at its rating meanwhile."""
    _async_problem_issue(
        hass,
        f"{ISSUE_HA_CHARGER_DISOBEYS}_{entry.entry_id}_{subentry_id}",
        disobeys,
        ir.IssueSeverity.WARNING,
        ISSUE_HA_CHARGER_DISOBEYS,
        {"charger": name, "site": entry.title},
    )


ISSUE_METER_UNAVAILABLE = "meter_unavailable"


@callback
def async_meter_problem(
    hass: HomeAssistant, entry: ConfigEntry, meter_id: str, name: str, problem: bool
) -> None:
    """Raise (or withdraw) the issue of a meter without a fresh reading."""
    _async_problem_issue(
        hass,
        f"{ISSUE_METER_UNAVAILABLE}_{entry.entry_id}_{meter_id}",
        problem,
        ir.IssueSeverity.ERROR,
        ISSUE_METER_UNAVAILABLE,
        {"meter": name, "site": entry.title},
    )


@callback
def _async_problem_issue(
    hass: HomeAssistant,
    issue_id: str,
    problem: bool,
    severity: ir.IssueSeverity,
    translation_key: str,
    placeholders: dict[str, str],
) -> None:
    """Raise the issue of a problem the user fixes outside Home Assistant (no
    fix flow) while it lasts; withdraw it once it is gone."""
    if not problem:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


ISSUE_NO_PASSWORD = "charger_without_password"  # noqa: S105 - an issue id


@callback
def async_sync_password_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A repair issue for each charger without a password (anyone who knows its
    id could connect as it); withdrawn once it has one, or is removed."""
    prefix = f"{ISSUE_NO_PASSWORD}_{entry.entry_id}_"
    wanted = {
        prefix + sid: subentry
        for sid, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_CHARGER
        and not subentry.data.get(CONF_PASSWORD)
    }
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in wanted:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    for issue_id, subentry in wanted.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            data={"entry_id": entry.entry_id, "subentry_id": subentry.subentry_id},
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_NO_PASSWORD,
            translation_placeholders={
                "charger": subentry.title,
                "charge_point_id": str(subentry.data[CONF_CHARGE_POINT_ID]),
                "site": entry.title,
            },
        )


ISSUE_FAILSAFE_TOO_SOON = "modbus_failsafe_too_soon"


@callback
def async_sync_failsafe_margin_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A repair issue for each Modbus charger that may fall back to its failsafe
    (when it stops answering) before the site's slowest load (a charger behind
    a vendor cloud, a smart outlet's relay) has made room; withdrawn once it
    may not (a failsafe of 0 A, a longer timeout, no such load)."""
    watchdog_s = float(entry.options.get(CONF_WATCHDOG_S, DEFAULT_WATCHDOG_S))
    chargers = site_modbus_chargers(entry.subentries, watchdog_s)
    sheds = {c.name: c.latency_s for c in site_ha_chargers(entry.subentries)}
    sheds |= {o.name: CONFIRM_S for o in site_outlets(entry.subentries)}
    interval_s = control_settings(entry.options).interval_s
    found = too_slow(chargers, sheds, interval_s)
    prefix = f"{ISSUE_FAILSAFE_TOO_SOON}_{entry.entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if (
            domain == DOMAIN
            and issue_id.startswith(prefix)
            and issue_id.removeprefix(prefix) not in found
        ):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    for config in chargers:
        if (slow := found.get(config.subentry_id)) is None:
            continue
        ir.async_create_issue(
            hass,
            DOMAIN,
            prefix + config.subentry_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_FAILSAFE_TOO_SOON,
            translation_placeholders={
                "charger": config.name,
                "failsafe": f"{config.failsafe_a:g}",
                "margin": f"{config.margin_s - 2 * interval_s:.0f}",
                "load": slow[0],
                "shed": f"{slow[1]:.0f}",
                "site": entry.title,
            },
        )

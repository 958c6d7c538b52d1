"""A Modbus charger that may fall back to its failsafe before a slow load (a
charger behind a vendor cloud) has made room gets a repair issue, through real
Home Assistant; it goes once the timing fits (here: a failsafe of 0 A)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_CHARGER_PROFILE,
    CONF_CONNECTION,
    CONF_FAILSAFE_A,
    CONF_GROUP,
    CONF_HOST,
    CONF_LINK,
    CONF_MAX_CURRENT_A,
    CONF_MODEL,
    CONF_PORT,
    CONF_SOCKETS,
    DOMAIN,
    SUBENTRY_HA_CHARGER,
    SUBENTRY_MODBUS_CHARGER,
)
from custom_components.ev_power_share.issues import (
    ISSUE_FAILSAFE_TOO_SOON,
    async_sync_failsafe_margin_issues,
)


def _subentry(kind: str, title: str, data: dict[str, Any]) -> ConfigSubentry:
    return ConfigSubentry(
        data=MappingProxyType(data),
        subentry_type=kind,
        title=title,
        unique_id=None,
    )


def _heidelberg(failsafe_a: float) -> ConfigSubentry:
    return _subentry(
        SUBENTRY_MODBUS_CHARGER,
        "Garage wallbox",
        {
            CONF_GROUP: "site",
            CONF_CONNECTION: "L1-L2-L3",
            CONF_HOST: "127.0.0.1",
            CONF_MODEL: "heidelberg_ec",
            CONF_PORT: 502,
            CONF_SOCKETS: 1,
            CONF_MAX_CURRENT_A: 16.0,
            CONF_FAILSAFE_A: failsafe_a,
        },
    )


def _zaptec() -> ConfigSubentry:
    return _subentry(
        SUBENTRY_HA_CHARGER,
        "Visitor Zaptec",
        {
            CONF_GROUP: "site",
            CONF_CONNECTION: "L1-L2-L3",
            CONF_MAX_CURRENT_A: 32.0,
            CONF_CHARGER_PROFILE: "zaptec",
            CONF_LINK: "cloud",
            "limit": "number.zaptec_limit",
        },
    )


async def test_a_failsafe_that_comes_too_soon_for_a_cloud_charger_is_reported(
    hass: HomeAssistant, site_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    site_entry.add_to_hass(hass)
    wallbox = _heidelberg(6.0)
    hass.config_entries.async_add_subentry(site_entry, wallbox)
    async_sync_failsafe_margin_issues(hass, site_entry)
    issue_id = f"{ISSUE_FAILSAFE_TOO_SOON}_{site_entry.entry_id}_{wallbox.subentry_id}"
    # Alone, nothing is slower than it.
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # A Zaptec behind its cloud takes up to 60 s to lower its current; the
    # Heidelberg falls back 50 s after the site finds it silent (its timeout
    # register holds at most 65.5 s).
    hass.config_entries.async_add_subentry(site_entry, _zaptec())
    async_sync_failsafe_margin_issues(hass, site_entry)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == ISSUE_FAILSAFE_TOO_SOON
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["charger"] == "Garage wallbox"
    assert issue.translation_placeholders["load"] == "Visitor Zaptec"
    assert issue.translation_placeholders["shed"] == "60"

    # A failsafe of 0 A only ever falls to less: the issue goes.
    hass.config_entries.async_update_subentry(
        site_entry,
        wallbox,
        data={**wallbox.data, CONF_FAILSAFE_A: 0.0},
    )
    async_sync_failsafe_margin_issues(hass, site_entry)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

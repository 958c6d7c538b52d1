"""Snapshot tests per platform: every entity's registry entry and state.

Home Assistant adds fields to its registry entries from release to release, and we
test two releases; so each entity is reduced to what we control (ids, names,
classes, units, state and attributes) before it is compared with the snapshot.
Update with ``scripts/test tests/ha/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any
from unittest.mock import patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.ev_power_share import PLATFORMS
from custom_components.ev_power_share.const import (
    CONF_CHARGE_POINT_ID,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_CONTINUOUS_FACTOR,
    CONF_FAILSAFE_A,
    CONF_FIXED_LOAD_A,
    CONF_GROUP,
    CONF_KIND,
    CONF_MAX_CURRENT_A,
    CONF_MAX_POWER_KW,
    CONF_PARENT,
    CONF_PASSWORD,
    CONF_PHASES,
    CONF_RATING_A,
    DOMAIN,
    SUBENTRY_CHARGER,
    SUBENTRY_GROUP,
)
from custom_components.ev_power_share.core.model import Port, Vehicle

from .conftest import SITE_DATA
from .test_site_control import FakeTransport

ENTRY_ID = "01JSITE000000000000000000"
PANEL_ID = "01JPANEL00000000000000000"
CHARGER_ID = "01JCHARGER000000000000000"


@pytest.fixture
def site_with_panel() -> MockConfigEntry:
    """A site with one panel, with fixed ids so entity ids are stable."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        subentries_data=[
            {
                "subentry_id": PANEL_ID,
                "subentry_type": SUBENTRY_GROUP,
                "title": "Garage panel",
                "unique_id": None,
                "data": {
                    CONF_KIND: "panel",
                    CONF_PARENT: "site",
                    CONF_RATING_A: 40.0,
                    CONF_PHASES: ["L1", "L2", "L3"],
                    CONF_CONTINUOUS_FACTOR: 0.8,
                    CONF_MAX_POWER_KW: None,
                    CONF_FIXED_LOAD_A: 2.0,
                },
            },
            {
                # An OCPP charger that never connected (offline: failsafe).
                "subentry_id": CHARGER_ID,
                "subentry_type": SUBENTRY_CHARGER,
                "title": "Space 12",
                "unique_id": "space-12",
                "data": {
                    CONF_CHARGE_POINT_ID: "space-12",
                    CONF_GROUP: PANEL_ID,
                    CONF_CONNECTORS: 2,
                    CONF_CONNECTION: "L1-L2-L3",
                    CONF_MAX_CURRENT_A: 16.0,
                    CONF_FAILSAFE_A: None,
                    CONF_PASSWORD: None,
                },
            },
        ],
    )


def _plain(value: Any) -> Any:
    """Enum members as their plain values (HA releases differ in which are enums)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _projection(hass: HomeAssistant, entry: er.RegistryEntry) -> dict[str, Any]:
    state = hass.states.get(entry.entity_id)
    # Disabled by default (the allocation time, which varies anyway): no state.
    assert (state is None) == (entry.disabled_by is not None), entry.entity_id
    return {
        "unique_id": entry.unique_id,
        "translation_key": entry.translation_key,
        "original_device_class": _plain(entry.original_device_class),
        "entity_category": _plain(entry.entity_category),
        "disabled_by": _plain(entry.disabled_by),
        "config_subentry_id": entry.config_subentry_id,
        "state": state and state.state,
        "attributes": state
        and {str(_plain(k)): _plain(v) for k, v in state.attributes.items()},
    }


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
async def test_platform_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    site_with_panel: MockConfigEntry,
    platform: Platform,
) -> None:
    site_with_panel.add_to_hass(hass)
    with patch("custom_components.ev_power_share.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(site_with_panel.entry_id)
        await hass.async_block_till_done()
        # Two vehicles on the panel, so the figures are not all zero.
        controller = site_with_panel.runtime_data.controller
        controller.add_source(
            FakeTransport(
                [
                    Port(p, PANEL_ID, max_a=32.0, ev=Vehicle(max_a=32.0))
                    for p in ("a", "b")
                ]
            )
        )
        await controller.async_refresh()
        await hass.async_block_till_done()
    entries = er.async_entries_for_config_entry(entity_registry, ENTRY_ID)
    assert entries
    assert {e.domain for e in entries} == {platform}
    assert {e.entity_id: _projection(hass, e) for e in entries} == snapshot

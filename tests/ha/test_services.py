"""Service actions: set_limit (with expiry, across restarts), policy, preview."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import DOMAIN
from custom_components.ev_power_share.core.model import Policy

from .test_site_control import FakeTransport, _ports, _setup


async def _attach(entry: MockConfigEntry, n: int = 4) -> FakeTransport:
    transport = FakeTransport(_ports(n))
    controller = entry.runtime_data.controller
    controller.add_source(transport)
    await controller.async_refresh()
    return transport


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        return_response=service == "allocate_preview",
    )


async def _tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_set_limit_with_duration_reverts(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _setup(hass, site_entry)
    transport = await _attach(site_entry)
    assert transport.applied[-1]["port0"] == 20.0
    await _call(
        hass,
        "set_limit",
        config_entry_id=site_entry.entry_id,
        current_a=24,
        duration={"minutes": 30},
    )
    await hass.async_block_till_done()
    assert transport.applied[-1] == {f"port{i}": 6.0 for i in range(4)}
    await _tick(hass, freezer, 29 * 60)
    assert transport.applied[-1]["port0"] == 6.0  # still in force
    await _tick(hass, freezer, 61)  # expired: back to 80 A
    await _tick(hass, freezer, 6)  # increases go out once decreases settled
    assert transport.applied[-1] == {f"port{i}": 20.0 for i in range(4)}
    assert site_entry.runtime_data.controller.overrides == {}


async def test_set_limit_survives_a_restart_and_still_expires(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _setup(hass, site_entry)
    await _attach(site_entry)
    await _call(
        hass,
        "set_limit",
        config_entry_id=site_entry.entry_id,
        power_kw=11.04,  # 16 A three-phase at 230 V: 4 A each, below 6 A
        duration={"hours": 1},
    )
    await hass.async_block_till_done()
    # Restart the site (the controller saves its state on unload).
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    await _tick(hass, freezer, 600)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    controller = site_entry.runtime_data.controller
    assert controller.overrides["site"].power_kw == 11.04
    transport = await _attach(site_entry)
    # 16 A over four cars: two charge at 8 A, two wait (round robin).
    assert sorted(transport.applied[-1].values()) == [0.0, 0.0, 8.0, 8.0]
    await _tick(hass, freezer, 3000)  # one hour after it was set
    await _tick(hass, freezer, 6)
    assert transport.applied[-1] == {f"port{i}": 20.0 for i in range(4)}
    assert controller.overrides == {}


async def test_clear_limit_and_group_power(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _setup(hass, site_entry)
    transport = await _attach(site_entry, 2)
    await _call(hass, "set_limit", config_entry_id=site_entry.entry_id, current_a=20)
    await hass.async_block_till_done()
    assert transport.applied[-1] == {"port0": 10.0, "port1": 10.0}
    await _call(hass, "clear_limit", config_entry_id=site_entry.entry_id, group="site")
    await hass.async_block_till_done()
    await _tick(hass, freezer, 6)
    assert transport.applied[-1] == {"port0": 32.0, "port1": 32.0}


async def test_set_policy_and_preview(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    await _attach(site_entry, 3)
    await _call(
        hass, "set_policy", config_entry_id=site_entry.entry_id, policy="first_come"
    )
    await hass.async_block_till_done()
    assert site_entry.runtime_data.controller.settings.policy is Policy.FIRST_COME
    preview = await _call(hass, "allocate_preview", config_entry_id=site_entry.entry_id)
    # First come: port0 and port1 take 32 A each, port2 the remaining 16 A.
    assert {p: v["current_a"] for p, v in preview["ports"].items()} == {
        "port0": 32.0,
        "port1": 32.0,
        "port2": 16.0,
    }
    assert preview["groups"]["site"]["limit_a"] == [80.0, 80.0, 80.0]


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("set_limit", {"config_entry_id": "nope", "current_a": 10}, "entry_not_found"),
        ("set_limit", {"group": "garage", "current_a": 10}, "group_not_found"),
        ("set_limit", {}, "limit_required"),
        ("clear_limit", {"group": "garage"}, "group_not_found"),
        ("allocate_preview", {"config_entry_id": "nope"}, "entry_not_found"),
    ],
)
async def test_bad_calls_raise_translated_errors(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    await _setup(hass, site_entry)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, **{"config_entry_id": site_entry.entry_id, **data})
    assert err.value.translation_key == key


async def test_calls_to_an_unloaded_site_are_refused(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_limit", config_entry_id=site_entry.entry_id, current_a=5)
    assert err.value.translation_key == "entry_not_loaded"

"""The site running in Home Assistant: controller, entities, options, diagnostics."""

from __future__ import annotations

from collections.abc import Mapping
import json
from pathlib import Path
import subprocess
import sys
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import (
    CONF_FAILSAFE_A,
    CONF_HYSTERESIS_A,
    CONF_INTERVAL_S,
    CONF_MIN_CURRENT_A,
    CONF_POLICY,
    CONF_ROTATION_MIN,
    DOMAIN,
)
from custom_components.ev_power_share.core.model import Policy, Port, Vehicle
from custom_components.ev_power_share.core.ports import PortReadings
from custom_components.ev_power_share.diagnostics import (
    async_get_config_entry_diagnostics,
)

ALLOCATE = Path(__file__).resolve().parents[2] / "scripts/allocate"


class FakeTransport:
    """Stands in for a charger transport: fixed ports, records commands."""

    def __init__(self, ports: list[Port]) -> None:
        self.port_list = ports
        self.applied: list[dict[str, float]] = []

    def readings(self, now: float) -> PortReadings:
        return PortReadings(tuple(self.port_list))

    async def async_apply(self, commands: Mapping[str, float]) -> None:
        self.applied.append(dict(commands))


def _ports(n: int) -> list[Port]:
    return [
        Port(f"port{i}", "site", max_a=32.0, ev=Vehicle(max_a=32.0, arrived_s=i))
        for i in range(n)
    ]


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


def _entity(hass: HomeAssistant, entry: MockConfigEntry, key: str, domain: str) -> str:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        domain, DOMAIN, f"{entry.entry_id}_site_{key}"
    )
    assert entity_id is not None, key
    return entity_id


async def test_site_entities_without_chargers(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    state = lambda key: hass.states.get(_entity(hass, site_entry, key, "sensor"))  # noqa: E731
    assert state("load_l1").state == "0.0"
    assert state("load_l3").attributes["unit_of_measurement"] == "A"
    assert state("limit").state == "80.0"
    assert state("headroom").state == "80.0"
    assert state("active_ports").state == "0"
    assert state("status").state == "ok"
    assert state("power").attributes["unit_of_measurement"] == "kW"
    select = hass.states.get(_entity(hass, site_entry, "policy", "select"))
    assert select.state == "equal_share"
    number = hass.states.get(_entity(hass, site_entry, "limit_override", "number"))
    assert float(number.state) == 80.0
    assert float(number.attributes["max"]) == 80.0


async def test_chargers_are_balanced_and_the_override_sheds_load(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    transport = FakeTransport(_ports(4))
    controller.add_source(transport)
    await controller.async_refresh()
    await hass.async_block_till_done()
    # 80 A shared by four 32 A chargers: 20 A each.
    assert transport.applied[-1] == {f"port{i}": 20.0 for i in range(4)}
    load = _entity(hass, site_entry, "load_l2", "sensor")
    assert hass.states.get(load).state == "80.0"
    assert (
        hass.states.get(_entity(hass, site_entry, "active_ports", "sensor")).state
        == "4"
    )

    # Demand response: lower the site to 40 A. Decreases go out at once.
    number = _entity(hass, site_entry, "limit_override", "number")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 40}, blocking=True
    )
    await hass.async_block_till_done()
    assert transport.applied[-1] == {f"port{i}": 10.0 for i in range(4)}
    assert hass.states.get(load).state == "40.0"
    assert float(hass.states.get(number).state) == 40.0

    # Back to the full limit: increases wait until the decrease settled (5 s).
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 80}, blocking=True
    )
    await hass.async_block_till_done()
    assert transport.applied[-1] == {f"port{i}": 10.0 for i in range(4)}
    freezer.tick(6)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert transport.applied[-1] == {f"port{i}": 20.0 for i in range(4)}
    assert controller.overrides == {}


async def test_policy_select_applies_without_reload(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    select = _entity(hass, site_entry, "policy", "select")
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": select, "option": "first_come"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert site_entry.options[CONF_POLICY] == "first_come"
    assert site_entry.runtime_data.controller is controller  # not reloaded
    assert controller.settings.policy is Policy.FIRST_COME
    assert hass.states.get(select).state == "first_come"


OPTIONS = {
    CONF_POLICY: "priority",
    CONF_MIN_CURRENT_A: 8,
    CONF_FAILSAFE_A: 10,
    CONF_ROTATION_MIN: 30,
    CONF_INTERVAL_S: 10,
    CONF_HYSTERESIS_A: 2,
}


async def test_options_flow(hass: HomeAssistant, site_entry: MockConfigEntry) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    result = await hass.config_entries.options.async_init(site_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    settings = controller.settings
    assert site_entry.runtime_data.controller is controller
    assert settings.policy is Policy.PRIORITY
    assert settings.min_current_a == 8.0
    assert settings.failsafe_a == 10.0
    assert settings.rotation_period_s == 1800.0
    assert settings.interval_s == 10.0
    assert controller.update_interval is not None
    assert controller.update_interval.total_seconds() == 10.0


@pytest.mark.parametrize(
    ("field", "bad", "error"),
    [
        (CONF_MIN_CURRENT_A, 5, "min_current_out_of_range"),
        (CONF_MIN_CURRENT_A, 20, "min_current_out_of_range"),
        (CONF_FAILSAFE_A, 4, "failsafe_out_of_range"),
        (CONF_FAILSAFE_A, 40, "failsafe_out_of_range"),
        (CONF_ROTATION_MIN, 0, "rotation_out_of_range"),
        (CONF_INTERVAL_S, 120, "interval_out_of_range"),
        (CONF_HYSTERESIS_A, 9, "hysteresis_out_of_range"),
    ],
)
async def test_options_errors_then_recovery(
    hass: HomeAssistant, site_entry: MockConfigEntry, field: str, bad: float, error: str
) -> None:
    await _setup(hass, site_entry)
    result = await hass.config_entries.options.async_init(site_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS, field: bad}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_failsafe_zero_is_allowed(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    result = await hass.config_entries.options.async_init(site_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS, CONF_FAILSAFE_A: 0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def assert_replays(
    hass: HomeAssistant, diag: Mapping[str, Any], tmp_path: Path
) -> None:
    """``scripts/allocate`` on the diagnostics' input gives their output."""
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(diag["last_allocation_input"]))
    replay = await hass.async_add_executor_job(
        lambda: subprocess.run(  # noqa: S603 - our own script
            [sys.executable, str(ALLOCATE), str(scenario)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    )
    assert json.loads(replay.stdout) == json.loads(
        json.dumps(diag["last_allocation_output"])
    )


async def test_diagnostics_replay_with_scripts_allocate(
    hass: HomeAssistant, site_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """The diagnostics' input, fed to scripts/allocate, gives the same output."""
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    ports = _ports(5)
    ports[4] = Port("port4", "site", "L2", max_a=16.0, online=False, failsafe_a=6.0)
    controller.add_source(FakeTransport(ports))
    controller.set_override("site", None)
    await controller.async_refresh()
    diag = await async_get_config_entry_diagnostics(hass, site_entry)
    assert diag["entry"]["title"] == "**REDACTED**"
    assert diag["entry"]["data"]["name"] == "**REDACTED**"
    await assert_replays(hass, diag, tmp_path)
    assert diag["last_allocation_output"]["ports"]["port4"]["reason"] == "offline"


async def test_offline_charger_counts_at_the_sites_failsafe_current(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """With failsafe 10 A (above the 6 A minimum), an offline charger takes 10 A
    of the site's 80 A, so the online ones share 70 A, not 74 A."""
    site_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        site_entry, options={**OPTIONS, CONF_POLICY: "equal_share", CONF_FAILSAFE_A: 10}
    )
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    controller = site_entry.runtime_data.controller
    ports = _ports(3)
    ports[2] = Port("port2", "site", max_a=32.0, online=False)  # no failsafe of its own
    transport = FakeTransport(ports)
    controller.add_source(transport)
    await controller.async_refresh()
    await hass.async_block_till_done()
    allocation = controller.data.allocation
    assert allocation.ports["port2"].current_a == 10.0
    assert transport.applied[-1] == {"port0": 32.0, "port1": 32.0}
    assert allocation.groups["site"].load_a == (74.0, 74.0, 74.0)
    own = Port("port2", "site", max_a=32.0, online=False, failsafe_a=16.0)
    transport.port_list[2] = own  # a charger's own failsafe wins
    await controller.async_refresh()
    assert controller.data.allocation.ports["port2"].current_a == 16.0

"""Panels and circuits: subentry flows, devices, entities, refusals, repairs."""

from __future__ import annotations

from pathlib import Path
import socket
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
    ConfigSubentry,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import slugify
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_power_share.const import (
    CONF_CHARGE_POINT_ID,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_CONTINUOUS_FACTOR,
    CONF_FIXED_LOAD_A,
    CONF_GROUP,
    CONF_KIND,
    CONF_MAX_CURRENT_A,
    CONF_MAX_POWER_KW,
    CONF_MIN_CURRENT_A,
    CONF_OCPP_PORT,
    CONF_PARENT,
    CONF_PHASES,
    CONF_RATING_A,
    CONF_SUPPLY,
    DOMAIN,
    SUBENTRY_CHARGER,
    SUBENTRY_GROUP,
)
from custom_components.ev_power_share.controller import SiteController
from custom_components.ev_power_share.core.model import Port, Vehicle
from custom_components.ev_power_share.diagnostics import (
    async_get_config_entry_diagnostics,
)

from .conftest import SITE_DATA
from .test_site_control import OPTIONS, FakeTransport, _setup, assert_replays

PANEL = {
    CONF_NAME: "Garage panel",
    CONF_KIND: "panel",
    CONF_PARENT: "site",
    CONF_RATING_A: 63,
    CONF_PHASES: ["L1", "L2", "L3"],
    CONF_CONTINUOUS_FACTOR: 80,
    CONF_FIXED_LOAD_A: 0,
}


async def _flow(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    user_input: dict[str, Any],
    subentry_id: str | None = None,
    *,
    subentry_type: str = SUBENTRY_GROUP,
) -> dict[str, Any]:
    """A subentry's form (a new one, or ``subentry_id`` reconfigured) answered
    with ``user_input``: its result."""
    context: dict[str, Any] = {"source": SOURCE_USER}
    if subentry_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context=context
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )
    await hass.async_block_till_done()
    return dict(result)


async def _add(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> str:
    """Add a group through the UI flow; its subentry id."""
    before = set(entry.subentries)
    result = await _flow(hass, entry, {**PANEL, **changes})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    (added,) = set(entry.subentries) - before
    return added


def _state(hass: HomeAssistant, entry: MockConfigEntry, gid: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_{gid}_{key}"
    )
    assert entity_id is not None, (gid, key)
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def _device(registry: dr.DeviceRegistry, identifier: str) -> dr.DeviceEntry | None:
    """The site's device with this identifier (on every supported HA version)."""
    entry_id = identifier.split("_", maxsplit=1)[0]
    return next(
        (
            d
            for d in dr.async_entries_for_config_entry(registry, entry_id)
            if (DOMAIN, identifier) in d.identifiers
        ),
        None,
    )


def _port(
    pid: str, group: str, arrived: float = 0.0, connection: str = "L1-L2-L3"
) -> Port:
    return Port(
        pid,
        group,
        connection=connection,
        max_a=32.0,
        ev=Vehicle(max_a=32.0, arrived_s=arrived),
    )


async def test_add_a_panel_and_a_circuit_without_reloading(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    panel = await _add(hass, site_entry)
    circuit = await _add(
        hass,
        site_entry,
        **{
            CONF_NAME: "Circuit 1",
            CONF_KIND: "circuit",
            CONF_PARENT: panel,
            CONF_RATING_A: 32,
            CONF_PHASES: ["L1"],
            CONF_MAX_POWER_KW: 5,
        },
    )
    assert site_entry.runtime_data.controller is controller  # not reloaded
    assert [g.id for g in controller.groups] == ["site", panel, circuit]
    stored = site_entry.subentries[circuit]
    assert stored.title == "Circuit 1"
    assert dict(stored.data) == {
        CONF_KIND: "circuit",
        CONF_PARENT: panel,
        CONF_RATING_A: 32.0,
        CONF_PHASES: ["L1"],
        CONF_CONTINUOUS_FACTOR: 0.8,
        CONF_MAX_POWER_KW: 5.0,
        CONF_FIXED_LOAD_A: 0.0,
    }

    # Devices follow the wiring: site -> panel -> circuit.
    site_device = _device(device_registry, site_entry.entry_id)
    panel_device = _device(device_registry, f"{site_entry.entry_id}_{panel}")
    circuit_device = _device(device_registry, f"{site_entry.entry_id}_{circuit}")
    assert site_device
    assert panel_device
    assert circuit_device
    assert panel_device.name == "Garage panel"
    assert panel_device.model == "Panel"
    assert panel_device.via_device_id == site_device.id
    assert circuit_device.via_device_id == panel_device.id
    assert circuit_device.model == "Circuit"

    # Each group has its own entities, tied to its subentry and device.
    limit = entity_registry.async_get(
        entity_registry.async_get_entity_id(
            "sensor", DOMAIN, f"{site_entry.entry_id}_{circuit}_limit"
        )
        or ""
    )
    assert limit is not None
    assert limit.config_subentry_id == circuit
    assert limit.device_id == circuit_device.id
    assert limit.entity_id == "sensor.circuit_1_limit_per_phase"
    assert _state(hass, site_entry, circuit, "limit") == "25.6"
    assert _state(hass, site_entry, panel, "limit") == "50.4"

    # Two 32 A chargers on the 32 A circuit share its 25.6 A; the 5 kW cap on
    # one phase (230 V) binds first: 21.7 A, 10.8 A each (whole amps: 10 A).
    transport = FakeTransport(
        [_port("a", circuit, 0, "L1"), _port("b", circuit, 1, "L1")]
    )
    controller.add_source(transport)
    await controller.async_refresh()
    await hass.async_block_till_done()
    assert transport.applied[-1] == {"a": 10.0, "b": 10.0}
    assert float(_state(hass, site_entry, circuit, "power")) == pytest.approx(
        5.0, abs=0.01
    )
    assert _state(hass, site_entry, panel, "active_ports") == "2"
    assert _state(hass, site_entry, "site", "active_ports") == "2"
    assert float(_state(hass, site_entry, panel, "load_l1")) == pytest.approx(
        21.74, abs=0.01
    )
    assert _state(hass, site_entry, panel, "load_l2") == "0.0"


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({CONF_NAME: "  "}, CONF_NAME, "name_required"),
        ({CONF_NAME: "maple court"}, CONF_NAME, "name_taken"),
        ({CONF_RATING_A: 0}, CONF_RATING_A, "rating_out_of_range"),
        ({CONF_RATING_A: 2500}, CONF_RATING_A, "rating_out_of_range"),
        ({CONF_CONTINUOUS_FACTOR: 40}, CONF_CONTINUOUS_FACTOR, "factor_out_of_range"),
        ({CONF_MAX_POWER_KW: 0}, CONF_MAX_POWER_KW, "power_out_of_range"),
        ({CONF_FIXED_LOAD_A: -1}, CONF_FIXED_LOAD_A, "fixed_load_negative"),
        ({CONF_FIXED_LOAD_A: 50.4}, CONF_FIXED_LOAD_A, "fixed_load_too_high"),
        ({CONF_PHASES: []}, CONF_PHASES, "phases_required"),
    ],
)
async def test_bad_group_input_is_shown_on_its_field_and_recoverable(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    changes: dict[str, Any],
    field: str,
    error: str,
) -> None:
    await _setup(hass, site_entry)
    result = await _flow(hass, site_entry, {**PANEL, **changes})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], PANEL
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not site_entry.subentries[next(iter(site_entry.subentries))].data.get(
        CONF_MAX_POWER_KW
    )


async def test_phases_must_be_carried_by_the_parent(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry, **{CONF_PHASES: ["L1", "L2"]})
    result = await _flow(
        hass,
        site_entry,
        {**PANEL, CONF_NAME: "C", CONF_PARENT: panel, CONF_PHASES: ["L3"]},
    )
    assert result["errors"] == {CONF_PHASES: "phases_not_in_parent"}
    circuit = await _add(
        hass, site_entry, **{CONF_NAME: "C", CONF_PARENT: panel, CONF_PHASES: ["L2"]}
    )
    # The panel can no longer drop a phase its circuit uses.
    result = await _flow(
        hass, site_entry, {**PANEL, CONF_PHASES: ["L1"]}, subentry_id=panel
    )
    assert result["errors"] == {CONF_PHASES: "phases_used_below"}
    # Nor hang under itself or its own circuit: the form does not offer them.
    for parent in (panel, circuit, "nowhere"):
        with pytest.raises(InvalidData):
            await _flow(
                hass, site_entry, {**PANEL, CONF_PARENT: parent}, subentry_id=panel
            )


async def test_a_parent_removed_while_the_form_is_open_is_caught(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    result = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, SUBENTRY_GROUP), context={"source": SOURCE_USER}
    )
    hass.config_entries.async_remove_subentry(site_entry, panel)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**PANEL, CONF_NAME: "C", CONF_PARENT: panel}
    )
    assert result["errors"] == {CONF_PARENT: "parent_invalid"}


async def test_single_phase_site_offers_only_l1(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Cottage",
        unique_id="cottage",
        data={**SITE_DATA, CONF_NAME: "Cottage", CONF_SUPPLY: "single_phase_230"},
    )
    await _setup(hass, entry)
    with pytest.raises(InvalidData):
        await _flow(hass, entry, {**PANEL, CONF_PHASES: ["L1", "L2"]})
    result = await _flow(hass, entry, {**PANEL, CONF_PHASES: ["L1"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_reconfigure_a_group_applies_at_once(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    panel = await _add(hass, site_entry)
    second = await _add(hass, site_entry, **{CONF_NAME: "Second panel"})
    transport = FakeTransport([_port("a", panel)])
    controller.add_source(transport)
    await controller.async_refresh()
    assert transport.applied[-1] == {"a": 32.0}

    result = await _flow(
        hass,
        site_entry,
        {**PANEL, CONF_NAME: "Garage", CONF_RATING_A: 20, CONF_PARENT: second},
        subentry_id=panel,
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.runtime_data.controller is controller  # not reloaded
    assert transport.applied[-1] == {"a": 16.0}
    assert _state(hass, site_entry, panel, "limit") == "16.0"
    device = _device(device_registry, f"{site_entry.entry_id}_{panel}")
    parent = _device(device_registry, f"{site_entry.entry_id}_{second}")
    assert device
    assert parent
    assert device.name == "Garage"
    assert device.via_device_id == parent.id

    # The form shows what is stored, as percentages.
    result = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, SUBENTRY_GROUP),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": panel},
    )
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    assert suggested[CONF_NAME] == "Garage"
    assert suggested[CONF_CONTINUOUS_FACTOR] == 80.0
    assert suggested[CONF_RATING_A] == 20.0
    assert CONF_MAX_POWER_KW not in suggested


async def test_removing_a_leaf_group_drops_it_cleanly(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    panel = await _add(hass, site_entry)
    await hass.services.async_call(
        DOMAIN,
        "set_limit",
        {
            "config_entry_id": site_entry.entry_id,
            "group": "garage PANEL",
            "current_a": 10,
        },
        blocking=True,
    )
    assert panel in controller.overrides

    assert hass.config_entries.async_remove_subentry(site_entry, panel)
    await hass.async_block_till_done()
    assert panel not in site_entry.subentries
    assert site_entry.runtime_data.controller is controller
    assert [g.id for g in controller.groups] == ["site"]
    assert panel not in controller.overrides
    assert _device(device_registry, f"{site_entry.entry_id}_{panel}") is None
    assert not [
        e
        for e in er.async_entries_for_config_entry(entity_registry, site_entry.entry_id)
        if e.unique_id.startswith(f"{site_entry.entry_id}_{panel}_")
    ]
    assert not [s for s in hass.states.async_all() if "garage_panel" in s.entity_id]
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "clear_limit",
            {"config_entry_id": site_entry.entry_id, "group": "Garage panel"},
            blocking=True,
        )
    assert err.value.translation_key == "group_not_found"


async def test_removing_a_group_that_feeds_others_is_refused(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    circuit = await _add(
        hass,
        site_entry,
        **{CONF_NAME: "Circuit 1", CONF_PARENT: panel, CONF_RATING_A: 32},
    )
    data, title = dict(site_entry.subentries[panel].data), "Garage panel"

    assert hass.config_entries.async_remove_subentry(site_entry, panel)
    await hass.async_block_till_done()
    # Put back as it was, same id, and the site runs with it again.
    assert panel in site_entry.subentries
    assert dict(site_entry.subentries[panel].data) == data
    assert site_entry.subentries[panel].title == title
    controller = site_entry.runtime_data.controller
    assert {g.id for g in controller.groups} == {"site", panel, circuit}
    assert _device(device_registry, f"{site_entry.entry_id}_{panel}")
    assert _state(hass, site_entry, panel, "limit") == "50.4"
    issue = issue_registry.async_get_issue(DOMAIN, f"group_removal_refused_{panel}")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "group": "Garage panel",
        "site": "Maple Court",
        "dependents": "Circuit 1",
    }

    # Remove the circuit first, then the panel: both go, and the issue with them.
    assert hass.config_entries.async_remove_subentry(site_entry, circuit)
    await hass.async_block_till_done()
    assert hass.config_entries.async_remove_subentry(site_entry, panel)
    await hass.async_block_till_done()
    assert site_entry.subentries == {}
    assert [g.id for g in site_entry.runtime_data.controller.groups] == ["site"]
    assert (
        issue_registry.async_get_issue(DOMAIN, f"group_removal_refused_{panel}") is None
    )


async def test_refusal_issue_is_dismissed_by_its_fix_flow(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    await _add(hass, site_entry, **{CONF_NAME: "Circuit 1", CONF_PARENT: panel})
    hass.config_entries.async_remove_subentry(site_entry, panel)
    await hass.async_block_till_done()
    issue_id = f"group_removal_refused_{panel}"
    # What the Repairs dashboard does when the user opens the issue and confirms.
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert response.status == 200
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"]["dependents"] == "Circuit 1"
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    assert response.status == 200
    assert (await response.json())["type"] == "create_entry"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_repair_when_the_design_cannot_give_the_minimum(
    hass: HomeAssistant, site_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    circuit = await _add(
        hass,
        site_entry,
        **{CONF_NAME: "Circuit 1", CONF_KIND: "circuit", CONF_RATING_A: 16},
    )
    # Three chargers on a 16 A circuit (12.8 A): 4.3 A each when all are busy.
    transport = FakeTransport([_port(p, circuit) for p in "abc"])
    controller.add_source(transport)
    await controller.async_refresh()
    issue_id = f"guarantee_below_minimum_{site_entry.entry_id}_{circuit}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "group": "Circuit 1",
        "ports": "3",
        "guaranteed": "4.3",
        "minimum": "6",
    }
    assert _state(hass, site_entry, circuit, "guaranteed_current") == "4.266666"
    # Rounds robin meanwhile: two charge at 6.4 A, one waits.
    assert sorted(transport.applied[-1].values()) == [0.0, 6.0, 6.0]

    # A bigger breaker keeps the promise: the issue goes away by itself.
    await _flow(
        hass,
        site_entry,
        {**PANEL, CONF_NAME: "Circuit 1", CONF_KIND: "circuit", CONF_RATING_A: 32},
        subentry_id=circuit,
    )
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    # ... and so would a lower minimum; a higher one raises it again.
    hass.config_entries.async_update_entry(
        site_entry, options={**site_entry.options, CONF_MIN_CURRENT_A: 10.0}
    )
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    # Unloading the site withdraws it.
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_groups_survive_a_restart(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert [g.id for g in site_entry.runtime_data.controller.groups] == ["site", panel]
    assert _state(hass, site_entry, panel, "limit") == "50.4"


async def test_diagnostics_of_a_site_with_groups_replay_exactly(
    hass: HomeAssistant, site_entry: MockConfigEntry, tmp_path: Path
) -> None:
    await _setup(hass, site_entry)
    controller = site_entry.runtime_data.controller
    panel = await _add(hass, site_entry, **{CONF_FIXED_LOAD_A: 4.5})
    circuit = await _add(
        hass,
        site_entry,
        **{
            CONF_NAME: "Circuit 1",
            CONF_KIND: "circuit",
            CONF_PARENT: panel,
            CONF_RATING_A: 32,
            CONF_PHASES: ["L2"],
            CONF_MAX_POWER_KW: 4,
        },
    )
    controller.add_source(
        FakeTransport(
            [
                _port("a", circuit, 0, "L2"),
                _port("b", circuit, 1, "L2"),
                _port("c", panel, 2),
                _port("d", "site", 3),
            ]
        )
    )
    await controller.async_refresh()
    diag = await async_get_config_entry_diagnostics(hass, site_entry)
    titles = {s["title"] for s in diag["entry"]["subentries"]}
    assert titles == {"**REDACTED**"}
    groups = {g["id"]: g for g in diag["last_allocation_input"]["groups"]}
    assert groups[circuit]["parent"] == panel
    assert groups[panel]["unmanaged_a"] == [4.5, 4.5, 4.5]
    await assert_replays(hass, diag, tmp_path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_on_its_device(
    hass: HomeAssistant, entry: MockConfigEntry, gid: str, parent: str
) -> None:
    """The group's entities are attached to the group's device, which hangs under
    its parent's device; the running site counts the group."""
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    device = _device(devices, f"{entry.entry_id}_{gid}")
    parent_device = _device(
        devices, entry.entry_id if parent == "site" else f"{entry.entry_id}_{parent}"
    )
    assert device is not None
    assert parent_device is not None
    assert device.name == entry.subentries[gid].title
    assert device.via_device_id == parent_device.id
    mine = [e for e in entities.entities.values() if e.config_subentry_id == gid]
    assert mine
    assert {e.device_id for e in mine} == {device.id}
    assert all(
        e.entity_id.startswith(f"sensor.{slugify(device.name)}_")
        for e in mine
        if e.domain == "sensor"
    )
    assert gid in [g.id for g in entry.runtime_data.controller.groups]
    assert _state(hass, entry, gid, "limit") not in ("unavailable", "unknown")


async def _change_ocpp_port(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Through the options flow: the site reloads to bind the new port."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS, CONF_OCPP_PORT: _free_port()}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_circuit_added_right_after_the_ocpp_port_changed(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    await _change_ocpp_port(hass, site_entry)
    circuit = await _add(
        hass,
        site_entry,
        **{CONF_NAME: "Circuit 1", CONF_KIND: "circuit", CONF_PARENT: panel},
    )
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED
    assert site_entry.runtime_data.ocpp_port == site_entry.options[CONF_OCPP_PORT]
    _assert_on_its_device(hass, site_entry, panel, "site")
    _assert_on_its_device(hass, site_entry, circuit, panel)


@pytest.mark.parametrize("when", ["before", "unloading", "setting_up"])
async def test_a_circuit_added_while_the_site_reloads(
    hass: HomeAssistant, site_entry: MockConfigEntry, when: str
) -> None:
    """The circuit comes before the reload starts, while the site unloads, or
    while it is set up again (before it listens for changes)."""
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    circuit = ConfigSubentry(
        data=MappingProxyType(
            {
                CONF_KIND: "circuit",
                CONF_PARENT: panel,
                CONF_RATING_A: 32.0,
                CONF_PHASES: ["L1", "L2", "L3"],
                CONF_CONTINUOUS_FACTOR: 0.8,
                CONF_FIXED_LOAD_A: 0.0,
            }
        ),
        subentry_type=SUBENTRY_GROUP,
        title="Circuit 1",
        unique_id=None,
    )

    def add_circuit() -> None:
        assert hass.config_entries.async_add_subentry(site_entry, circuit)

    close = site_entry.runtime_data.ocpp.async_close
    load = SiteController.async_load

    async def close_adding(*args: Any) -> float | None:
        add_circuit()
        return await close(*args)

    async def load_adding(controller: SiteController) -> None:
        add_circuit()
        await load(controller)

    with (
        patch.object(
            site_entry.runtime_data.ocpp,
            "async_close",
            close_adding if when == "unloading" else close,
        ),
        patch.object(
            SiteController,
            "async_load",
            load_adding if when == "setting_up" else load,
        ),
    ):
        await _change_ocpp_port(hass, site_entry)
        if when == "before":
            add_circuit()
        await hass.async_block_till_done()
    assert circuit.subentry_id in site_entry.subentries
    assert site_entry.state is ConfigEntryState.LOADED
    assert site_entry.runtime_data.ocpp_port == site_entry.options[CONF_OCPP_PORT]
    _assert_on_its_device(hass, site_entry, panel, "site")
    _assert_on_its_device(hass, site_entry, circuit.subentry_id, panel)


async def test_devices_hang_under_their_parents_without_deprecated_calls(
    hass: HomeAssistant, site_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Devices are linked to their parent by its device id (``via_device_id``):
    Home Assistant 2026.10 reports ``via_device`` (by identifier) as deprecated."""
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    circuit = await _add(
        hass,
        site_entry,
        **{CONF_NAME: "Circuit 1", CONF_KIND: "circuit", CONF_PARENT: panel},
    )
    before = set(site_entry.subentries)
    result = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Space 1",
            CONF_CHARGE_POINT_ID: "cp1",
            CONF_GROUP: circuit,
            CONF_CONNECTORS: 1,
            CONF_CONNECTION: "L1-L2-L3",
            CONF_MAX_CURRENT_A: 32,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (space,) = set(site_entry.subentries) - before
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()

    # Home Assistant's deprecation reports (not asyncio's slow-task warnings,
    # which name this test, "…deprecated_calls", when the machine is busy).
    reports = [
        r.getMessage()
        for r in caplog.records
        if "deprecated" in r.getMessage() and r.name != "asyncio"
    ]
    assert reports == []
    _assert_on_its_device(hass, site_entry, panel, "site")
    _assert_on_its_device(hass, site_entry, circuit, panel)
    devices = dr.async_get(hass)
    charger = _device(devices, f"{site_entry.entry_id}_{space}")
    circuit_device = _device(devices, f"{site_entry.entry_id}_{circuit}")
    assert charger is not None
    assert circuit_device is not None
    assert charger.via_device_id == circuit_device.id

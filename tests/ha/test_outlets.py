"""Smart outlets in a real Home Assistant: template switches over input booleans
(the relays), template power sensors; two outlets taking turns under a tight
circuit, their minimum on- and off-times, an outlet gone unavailable, a relay
that ignores being switched off, and the outlet's form with its errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME, EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import (
    CONF_CONTINUOUS_FACTOR,
    CONF_KIND,
    CONF_PHASES,
    CONF_RATING_A,
    CONF_ROTATION_MIN,
    DEFAULT_OPTIONS,
    SUBENTRY_OUTLET,
)
from custom_components.ev_power_share.core.outlets import CONFIRM_S
from custom_components.ev_power_share.core.settings import LimitOverride
from custom_components.ev_power_share.devices import outlet_device_identifier

from .test_groups import _add, _device, _flow as group_flow

RELAYS = ("a", "b", "stuck")


def _relay_switch(name: str, *, obeys: bool = True) -> dict[str, Any]:
    """A template switch over ``input_boolean.relay_<name>``, available while
    ``input_boolean.online_<name>`` is on; one that does not obey does nothing
    when asked."""

    def action(service: str) -> list[dict[str, Any]]:
        if not obeys:
            return [{"delay": 0}]
        return [
            {
                "action": f"input_boolean.{service}",
                "target": {"entity_id": f"input_boolean.relay_{name}"},
            }
        ]

    return {
        "name": f"Outlet {name}",
        "unique_id": f"outlet_{name}",
        "state": f"{{{{ is_state('input_boolean.relay_{name}', 'on') }}}}",
        "availability": f"{{{{ is_state('input_boolean.online_{name}', 'on') }}}}",
        "turn_on": action("turn_on"),
        "turn_off": action("turn_off"),
    }


def _power_sensor(name: str, watts: float, unit: str = "W") -> dict[str, Any]:
    return {
        "name": f"Outlet {name} power",
        "unique_id": f"outlet_{name}_power",
        "unit_of_measurement": unit,
        "device_class": "power" if unit == "W" else "current",
        "state": f"{{{{ {watts} if is_state('input_boolean.relay_{name}', 'on')"
        " else 0 }}",
        "availability": f"{{{{ is_state('input_boolean.online_{name}', 'on') }}}}",
    }


async def _relays(hass: HomeAssistant, *, stuck_on: bool = False) -> None:
    booleans: dict[str, Any] = {}
    for name in RELAYS:
        booleans[f"relay_{name}"] = {"initial": stuck_on and name == "stuck"}
        booleans[f"online_{name}"] = {"initial": True}
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": booleans}
    )
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "switch": [
                        _relay_switch("a"),
                        _relay_switch("b"),
                        _relay_switch("stuck", obeys=False),
                    ],
                    "sensor": [
                        _power_sensor("a", 2645.0),
                        _power_sensor("b", 1800.0),
                        _power_sensor("amps", 10.0, unit="A"),
                    ],
                }
            ]
        },
    )
    await hass.async_block_till_done()


async def _site(
    hass: HomeAssistant, entry: MockConfigEntry, rotation_min: float = 2.0
) -> str:
    """The site, with a 16 A circuit on L1 (100 %: 16 A); the circuit's id."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={**DEFAULT_OPTIONS, CONF_ROTATION_MIN: rotation_min}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return await _add(
        hass,
        entry,
        **{
            CONF_NAME: "Garage circuit",
            CONF_KIND: "circuit",
            CONF_RATING_A: 16,
            CONF_PHASES: ["L1"],
            CONF_CONTINUOUS_FACTOR: 100,
        },
    )


def _outlet(name: str, group: str, **changes: Any) -> dict[str, Any]:
    return {
        CONF_NAME: f"Outlet {name}",
        "group": group,
        "connection": "L1",
        "switch": f"switch.outlet_{name}",
        "nominal_current_a": 10,
        "min_on_min": 1,
        "min_off_min": 1,
        **changes,
    }


async def _flow(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    user_input: dict[str, Any],
    subentry_id: str | None = None,
) -> dict[str, Any]:
    return await group_flow(
        hass, entry, user_input, subentry_id, subentry_type=SUBENTRY_OUTLET
    )


async def _add_outlet(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> str:
    """Add an outlet through its form; its port id."""
    before = set(entry.subentries)
    result = await _flow(hass, entry, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    (added,) = set(entry.subentries) - before
    return f"{added}:1"


def _on(hass: HomeAssistant, name: str) -> bool:
    state = hass.states.get(f"input_boolean.relay_{name}")
    assert state is not None
    return state.state == "on"


async def _tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 5.0
) -> None:
    """Time passes; the site runs its cycle (and switches)."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_two_outlets_take_turns_under_a_tight_circuit(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """16 A fit one 10 A outlet at a time: they take turns every rotation (2 min),
    each on for at least its minimum on-time and off for its minimum off-time,
    never both on."""
    await _relays(hass)
    circuit = await _site(hass, site_entry)
    port_a = await _add_outlet(
        hass, site_entry, _outlet("a", circuit, power_sensor="sensor.outlet_a_power")
    )
    port_b = await _add_outlet(hass, site_entry, _outlet("b", circuit))
    controller = site_entry.runtime_data.controller
    outlets = site_entry.runtime_data.outlets
    assert outlets is not None
    assert outlets.subentry_ports(port_a.split(":")[0]) == [port_a]
    assert outlets.port_name(port_b) == "Outlet b"
    timeline: list[tuple[bool, bool]] = []
    for _ in range(12 * 9):  # 9 minutes
        await _tick(hass, freezer)
        timeline.append((_on(hass, "a"), _on(hass, "b")))
        assert not all(timeline[-1]), len(timeline)
        allocation = controller.data.allocation
        assert allocation.groups[circuit].load_a[0] <= 16.0
    for k, name in enumerate("ab"):
        states = [t[k] for t in timeline]
        assert states.count(True) >= 12, name  # on for a minute at least
        runs = _runs(states)
        # Every full run lasts its minimum time (a minute: 12 cycles) at least.
        for on, length in runs[1:-1]:
            assert length >= 12, (name, on, runs)
        assert sum(1 for on, _ in runs if on) >= 2, (name, runs)
    assert outlets.port_state(port_a) in {"charging", "off"}
    energy = outlets.energy_kwh(port_a)
    assert energy is not None
    assert energy > 0.1  # 2.3 kW for several minutes


def _runs(states: list[bool]) -> list[tuple[bool, int]]:
    runs: list[tuple[bool, int]] = []
    for on in states:
        if runs and runs[-1][0] == on:
            runs[-1] = (on, runs[-1][1] + 1)
        else:
            runs.append((on, 1))
    return runs


async def test_a_drop_in_the_limit_switches_an_outlet_off_within_its_on_time(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _relays(hass)
    circuit = await _site(hass, site_entry, rotation_min=15.0)
    port = await _add_outlet(hass, site_entry, _outlet("a", circuit, min_on_min=10))
    await _tick(hass, freezer, 60.0)  # its minimum off-time since the switch appeared
    await _tick(hass, freezer)
    assert _on(hass, "a")
    controller = site_entry.runtime_data.controller
    controller.set_override(circuit, LimitOverride(current_a=8.0))
    await _tick(hass, freezer)
    assert not _on(hass, "a")  # safety first: at once, within its on-time
    assert controller.data.allocation.ports[port].current_a == 0.0


async def test_an_unavailable_outlet_is_counted_at_its_nominal(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Outlet a goes unavailable while on: it is counted offline at 10 A (its
    sensor's 11.5 A while it was on, since that is higher), so b is not switched on
    beside it; known off again, b gets its turn."""
    await _relays(hass)
    circuit = await _site(hass, site_entry, rotation_min=1.0)
    port_a = await _add_outlet(
        hass,
        site_entry,
        _outlet("a", circuit, power_sensor="sensor.outlet_a_power", min_on_min=0),
    )
    port_b = await _add_outlet(hass, site_entry, _outlet("b", circuit))
    await _tick(hass, freezer)
    controller = site_entry.runtime_data.controller
    first = "a" if _on(hass, "a") else "b"
    if first == "b":  # let a have its turn first
        for _ in range(40):
            await _tick(hass, freezer)
            if _on(hass, "a"):
                break
    assert _on(hass, "a")
    await _tick(hass, freezer)
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.online_a"}
    )
    for _ in range(30):  # 2.5 minutes: rotations come and go
        await _tick(hass, freezer)
        allocation = controller.data.allocation
        assert allocation.ports[port_a].reason == "offline"
        assert allocation.ports[port_a].current_a == pytest.approx(11.5)
        assert not _on(hass, "b")
    assert site_entry.runtime_data.outlets.port_state(port_a) == "unavailable"
    # Back, and switched off by us (the rotation wants b): b's turn.
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.online_a"}
    )
    for _ in range(40):
        await _tick(hass, freezer)
        assert not (_on(hass, "a") and _on(hass, "b"))
        if _on(hass, "b"):
            break
    assert _on(hass, "b")
    assert controller.data.allocation.ports[port_b].current_a == 10.0


async def test_a_relay_that_ignores_off_is_counted_on_and_asked_again(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _relays(hass, stuck_on=True)
    circuit = await _site(hass, site_entry, rotation_min=1.0)
    offs: list[str] = []

    @callback
    def called(event: Event) -> None:
        data = event.data
        if data["domain"] == "switch" and data["service"] == "turn_off":
            offs.append(str(data["service_data"]["entity_id"]))

    hass.bus.async_listen(EVENT_CALL_SERVICE, called)
    stuck = await _add_outlet(
        hass, site_entry, _outlet("stuck", circuit, min_on_min=0, min_off_min=0)
    )
    await _add_outlet(hass, site_entry, _outlet("b", circuit))
    controller = site_entry.runtime_data.controller
    for _ in range(int(4 * 60 / 5)):  # 4 minutes: b's turn is due, again and again
        await _tick(hass, freezer)
        assert _on(hass, "stuck")
        assert not _on(hass, "b")  # never beside the stuck one
    assert offs.count("switch.outlet_stuck") >= 2  # asked again
    allocation = controller.data.allocation
    assert allocation.ports[stuck].reason == "offline"  # disobeys: counted at 10 A
    assert allocation.ports[stuck].current_a == 10.0
    assert CONFIRM_S < 4 * 60


async def test_outlet_form_errors_device_and_reconfigure(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _relays(hass)
    circuit = await _site(hass, site_entry)
    base = _outlet("a", circuit, power_sensor="sensor.outlet_a_power")
    for changes, errors in (
        ({CONF_NAME: " "}, {CONF_NAME: "name_required"}),
        ({"switch": "switch.nowhere"}, {"switch": "entity_unknown"}),
        ({"power_sensor": "sensor.nowhere"}, {"power_sensor": "entity_unknown"}),
        (
            {"power_sensor": "sensor.outlet_amps_power"},
            {"power_sensor": "sensor_unit_invalid"},
        ),
        ({"connection": "L2"}, {"connection": "connection_not_in_group"}),
        ({"nominal_current_a": 0.5}, {"nominal_current_a": "nominal_out_of_range"}),
        ({"nominal_current_a": 20}, {"nominal_current_a": "nominal_above_group"}),
        ({"min_on_min": 500}, {"min_on_min": "minutes_out_of_range"}),
        ({"min_off_min": -1}, {"min_off_min": "minutes_out_of_range"}),
    ):
        result = await _flow(hass, site_entry, {**base, **changes})
        assert result["type"] is FlowResultType.FORM, changes
        assert result["errors"] == errors, changes
    # The form suggests 10 A on a 230 V site.
    form = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, SUBENTRY_OUTLET), context={"source": SOURCE_USER}
    )
    defaults = {
        str(key): key.default()
        for key in form["data_schema"].schema
        if callable(getattr(key, "default", None))
    }
    assert defaults["nominal_current_a"] == 10.0
    assert defaults["min_on_min"] == defaults["min_off_min"] == 5.0
    port = await _add_outlet(hass, site_entry, base)
    subentry_id = port.split(":")[0]
    result = await _flow(
        hass, site_entry, _outlet("b", circuit, switch="switch.outlet_a")
    )
    assert result["errors"] == {"switch": "switch_taken"}
    registry = dr.async_get(hass)
    device = _device(
        registry, outlet_device_identifier(site_entry.entry_id, subentry_id)[1]
    )
    assert device is not None
    assert device.name == "Outlet a"
    assert device.model == "Smart outlet"
    circuit_device = _device(registry, f"{site_entry.entry_id}_{circuit}")
    assert circuit_device is not None
    assert device.via_device_id == circuit_device.id
    # Reconfigured: the same port, its new current.
    result = await _flow(
        hass, site_entry, {**base, "nominal_current_a": 12}, subentry_id=subentry_id
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    outlets = site_entry.runtime_data.outlets
    assert outlets is not None
    assert outlets.outlets[port].nominal_a == 12.0


async def test_an_outlet_removed_or_the_site_unloaded_is_switched_off(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Nothing counts an outlet that is no longer configured, or while the site
    is stopped: it is switched off (an outlet's failsafe)."""
    await _relays(hass)
    circuit = await _site(hass, site_entry)
    port_a = await _add_outlet(hass, site_entry, _outlet("a", circuit, min_off_min=0))
    await _add_outlet(hass, site_entry, _outlet("b", circuit, min_off_min=0))
    for _ in range(40):
        await _tick(hass, freezer)
        if _on(hass, "a"):
            break
    assert _on(hass, "a")
    assert hass.config_entries.async_remove_subentry(site_entry, port_a.split(":")[0])
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not _on(hass, "a")
    for _ in range(40):
        await _tick(hass, freezer)
        if _on(hass, "b"):
            break
    assert _on(hass, "b")
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert not _on(hass, "b")

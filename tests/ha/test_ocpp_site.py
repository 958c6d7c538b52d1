"""Real chargers (simulated, real OCPP over real websockets on 127.0.0.1) balanced
by a site running in Home Assistant."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_CHARGE_POINT_ID,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_FAILSAFE_A,
    CONF_GROUP,
    CONF_INTERVAL_S,
    CONF_MAX_CURRENT_A,
    CONF_PASSWORD,
    CONF_WATCHDOG_S,
    DOMAIN,
    SUBENTRY_CHARGER,
)
from custom_components.ev_power_share.ocpp_limits import RAISE_SETTLE_S
from simulator.chargepoint import SimulatedChargePoint

from .conftest import SITE_DATA
from .test_groups import PANEL, _add
from .test_site_control import _setup

CIRCUIT_LIMIT_A = 25.6  # a 32 A circuit under the 80 % rule


async def _add_charger(
    hass: HomeAssistant, entry: MockConfigEntry, cp_id: str, group: str, **extra: Any
) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: f"Space {cp_id}",
            CONF_CHARGE_POINT_ID: cp_id,
            CONF_GROUP: group,
            CONF_CONNECTORS: 1,
            CONF_CONNECTION: "L1-L2-L3",
            CONF_MAX_CURRENT_A: 32,
            **extra,
        },
    )
    await hass.async_block_till_done()
    return dict(result)


async def _until(
    hass: HomeAssistant, entry: MockConfigEntry, check: Callable[[], bool]
) -> None:
    """Run control cycles until ``check`` holds (at most 20 s)."""
    controller = entry.runtime_data.controller
    async with asyncio.timeout(20):
        while True:
            await controller.async_refresh()
            await hass.async_block_till_done()
            if check():
                return
            await asyncio.sleep(0.25)


async def test_three_chargers_on_one_32_a_circuit_never_exceed_it(
    hass: HomeAssistant,
    sims: list[SimulatedChargePoint],
) -> None:
    site_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options={CONF_INTERVAL_S: 1.0},
    )
    await _setup(hass, site_entry)
    circuit = await _add(
        hass, site_entry, **{CONF_NAME: "Circuit 1", "kind": "circuit", "rating_a": 32}
    )
    assert PANEL  # the circuit hangs under the site
    for cp_id in ("cp1", "cp2", "cp3"):
        result = await _add_charger(hass, site_entry, cp_id, circuit)
        assert result["type"] is FlowResultType.CREATE_ENTRY
    runtime = site_entry.runtime_data
    url = f"ws://127.0.0.1:{runtime.central.port}"
    for cp_id, version in (("cp1", "1.6"), ("cp2", "2.0.1"), ("cp3", "1.6")):
        sim = SimulatedChargePoint(cp_id, url, version=version)  # type: ignore[arg-type]
        sims.append(sim)
        await sim.connect()
        assert await sim.boot() == "Accepted"
    # Each holds our failsafe (6 A) once it is under control.
    await _until(
        hass,
        site_entry,
        lambda: (
            all(runtime.ocpp.online(s.id) for s in sims)
            and all(s.effective_limit(1) == 0 for s in sims)
        ),
    )
    start = datetime.now(UTC)

    # Vehicles arrive one by one: the first gets the circuit, then they share.
    expected = {1: [25.0], 2: [12.0, 12.0], 3: [8.0, 8.0, 8.0]}
    for n, sim in enumerate(sims, start=1):
        await sim.plug_in(1)
        await sim.start_transaction(1, f"tag{n}")
        await _until(
            hass,
            site_entry,
            lambda n=n: (
                sorted(s.effective_limit(1) for s in sims[:n])  # type: ignore[misc]
                == expected[n]
            ),
        )
    # Then they leave in turn: what one leaves goes to the others.
    await sims[0].stop_transaction(1)
    await sims[0].unplug(1)
    await _until(
        hass,
        site_entry,
        lambda: [s.effective_limit(1) for s in sims] == [0.0, 12.0, 12.0],
    )
    await sims[1].stop_transaction(1)
    await sims[1].unplug(1)
    await _until(
        hass,
        site_entry,
        lambda: [s.effective_limit(1) for s in sims] == [0.0, 0.0, 25.0],
    )

    # At every instant any charger's limit changed, the sum stayed within 25.6 A.
    end = datetime.now(UTC)
    instants = sorted(
        {t for s in sims for t, _ in s.limit_changes(1, end) if t >= start} | {start}
    )
    totals = [sum(s.effective_limit(1, t) for s in sims) for t in instants]
    assert len(instants) > 8
    assert max(totals) <= CIRCUIT_LIMIT_A


async def test_unknown_charger_is_held_pending_then_added(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    issue_registry: ir.IssueRegistry,
) -> None:
    await _setup(hass, site_entry)
    runtime = site_entry.runtime_data
    sim = SimulatedChargePoint(
        "garage-1", f"ws://127.0.0.1:{runtime.central.port}", version="2.0.1"
    )
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Pending"
    issue_id = f"unknown_charger_{site_entry.entry_id}_garage_1"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "charger": "garage-1",
        "site": "Maple Court",
    }
    assert not runtime.ocpp.online("garage-1")
    assert sim.received == []  # a pending charger is never commanded

    # The user adds it: it is disconnected, reconnects, and is accepted.
    result = await _add_charger(
        hass, site_entry, "garage-1", "site", **{CONF_PASSWORD: "s3cret-passw0rd"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    async with asyncio.timeout(5):
        await sim.wait_closed()
    await sim.close()

    wrong = SimulatedChargePoint(
        "garage-1", f"ws://127.0.0.1:{runtime.central.port}", password="guess"
    )
    with pytest.raises(Exception, match="401"):
        await wrong.connect()
    await wrong.close()

    right = SimulatedChargePoint(
        "garage-1",
        f"ws://127.0.0.1:{runtime.central.port}",
        version="2.0.1",
        password="s3cret-passw0rd",
    )
    sims.append(right)
    await right.connect()
    assert await right.boot() == "Accepted"
    await _until(hass, site_entry, lambda: runtime.ocpp.online("garage-1"))


def _eid(hass: HomeAssistant, platform: str, unique_suffix: str) -> str:
    registry = er.async_get(hass)
    found = [
        e.entity_id
        for e in registry.entities.values()
        if e.platform == DOMAIN
        and e.domain == platform
        and e.unique_id.endswith(unique_suffix)
    ]
    assert len(found) == 1, (platform, unique_suffix, found)
    return found[0]


def _st(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_charger_entities_and_controls(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    device_registry: dr.DeviceRegistry,
    version: str,
) -> None:
    await _setup(hass, site_entry)
    result = await _add_charger(hass, site_entry, "cp9", "site")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    runtime = site_entry.runtime_data
    sim = SimulatedChargePoint(
        "cp9",
        f"ws://127.0.0.1:{runtime.central.port}",
        version=version,  # type: ignore[arg-type]
        vendor="Acme",
        model="Wallbox 22",
        firmware="4.2",
    )
    sims.append(sim)
    online = _eid(hass, "binary_sensor", "_online")
    allocated = _eid(hass, "sensor", "_1_allocated_current")
    assert _st(hass, online) == "off"
    # Offline, it is counted at the site's failsafe current (6 A).
    await _until(hass, site_entry, lambda: _st(hass, allocated) == "6.0")
    assert _st(hass, _eid(hass, "sensor", "_1_power")) == "unavailable"

    await sim.connect()
    assert await sim.boot() == "Accepted"
    await _until(hass, site_entry, lambda: _st(hass, online) == "on")
    device = next(
        d
        for d in dr.async_entries_for_config_entry(device_registry, site_entry.entry_id)
        if d.name == "Space cp9"
    )
    assert (device.manufacturer, device.model, device.sw_version) == (
        "Acme",
        "Wallbox 22",
        "4.2",
    )
    assert device.hw_version == f"OCPP {version}"

    await sim.plug_in(1)
    await sim.start_transaction(1, "tag", meter_start_wh=1000)
    await sim.send_meter_values(
        1, currents=(15.9, 16.1, 16.0), power_w=11040, energy_wh=2500, soc=55
    )
    # A report that came in while the car could not yet follow its raise to 32 A
    # says nothing about whether it wants more: the raise stands.
    await _until(hass, site_entry, lambda: sim.effective_limit(1) == 32)
    await asyncio.sleep(RAISE_SETTLE_S)
    await sim.send_meter_values(
        1, currents=(15.9, 16.1, 16.0), power_w=11040, energy_wh=2500, soc=55
    )
    # Later it still draws 16 A of the 32 A it could have: it is given 2 A above
    # its draw, rounded up to whole amperes (19 A), the rest stays free for others.
    await _until(hass, site_entry, lambda: sim.effective_limit(1) == 19)
    assert _st(hass, _eid(hass, "binary_sensor", "_1_vehicle")) == "on"
    assert _st(hass, _eid(hass, "sensor", "_1_current_l2")) == "16.1"
    assert _st(hass, _eid(hass, "sensor", "_1_power")) == "11.04"
    assert _st(hass, _eid(hass, "sensor", "_1_energy")) == "2.5"
    assert _st(hass, _eid(hass, "sensor", "_1_session_energy")) == "1.5"
    assert _st(hass, _eid(hass, "sensor", "_1_soc")) == "55.0"
    assert _st(hass, allocated) == "19.0"
    assert hass.states.get(allocated).attributes["reason"] == "ev_limit"

    # The user caps the connector, pauses it, and sets it to off.
    number = _eid(hass, "number", "_1_max")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 10}, blocking=True
    )
    await _until(hass, site_entry, lambda: sim.effective_limit(1) == 10)
    switch = _eid(hass, "switch", "_1_charging")
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    await _until(hass, site_entry, lambda: sim.effective_limit(1) == 0)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    await _until(hass, site_entry, lambda: sim.effective_limit(1) == 10)
    select = _eid(hass, "select", "_1_mode")
    await hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": "off"}, blocking=True
    )
    await _until(hass, site_entry, lambda: sim.effective_limit(1) == 0)
    assert _st(hass, allocated) == "0.0"

    # Buttons reach the charger.
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": _eid(hass, "button", "_1_unlock")},
        blocking=True,
    )
    assert sim.unlocked == [1]
    await hass.services.async_call(
        "button", "press", {"entity_id": _eid(hass, "button", "_reset")}, blocking=True
    )
    assert len(sim.resets) == 1
    # ... and so do the service actions, by device.
    await hass.services.async_call(
        DOMAIN,
        "unlock_connector",
        {"device_id": device.id, "connector": 1},
        blocking=True,
    )
    assert sim.unlocked == [1, 1]
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "stop_charging",
            {"device_id": device.id, "connector": 2},
            blocking=True,
        )
    assert err.value.translation_key == "connector_not_found"

    # Offline again: unavailable, counted at the failsafe, energy kept.
    await sim.close()
    await _until(hass, site_entry, lambda: _st(hass, online) == "off")
    assert _st(hass, _eid(hass, "sensor", "_1_power")) == "unavailable"
    assert _st(hass, _eid(hass, "sensor", "_1_energy")) == "2.5"
    assert _st(hass, _eid(hass, "button", "_1_unlock")) == "unavailable"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "unlock_connector", {"device_id": device.id}, blocking=True
        )
    assert err.value.translation_key == "charger_offline"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "restart_charger", {"device_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "charger_not_found"

    # Across a restart the energy register and the user's settings come back.
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert _st(hass, _eid(hass, "sensor", "_1_energy")) == "2.5"
    assert _st(hass, _eid(hass, "number", "_1_max")) == "10.0"
    assert _st(hass, _eid(hass, "select", "_1_mode")) == "off"


async def _charging(
    hass: HomeAssistant,
    sims: list[SimulatedChargePoint],
    options: dict[str, Any],
    version: str = "1.6",
) -> tuple[MockConfigEntry, SimulatedChargePoint]:
    """A site with one charger (cp1) charging a vehicle that draws 16 A."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options=options,
    )
    await _setup(hass, entry)
    await _add_charger(hass, entry, "cp1", "site")
    sim = SimulatedChargePoint(
        "cp1",
        f"ws://127.0.0.1:{entry.runtime_data.central.port}",
        version=version,  # type: ignore[arg-type]
    )
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Accepted"
    await sim.plug_in(1)
    await sim.start_transaction(1, "tag")
    await sim.send_meter_values(1, currents=(16.0, 16.0, 16.0))
    await _until(hass, entry, lambda: sim.effective_limit(1) == 18)
    return entry, sim


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_connector_without_a_vehicle_drawing_shows_no_current_or_power(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry, sim = await _charging(hass, sims, {}, version)
    await sim.send_meter_values(1, currents=(15.8, 15.8, 15.8), power_w=10900)
    current = [_eid(hass, "sensor", f"_1_current_l{leg}") for leg in (1, 2, 3)]
    power = _eid(hass, "sensor", "_1_power")
    energy = _eid(hass, "sensor", "_1_energy")
    allocated = _eid(hass, "sensor", "_1_allocated_current")
    await _until(hass, entry, lambda: _st(hass, power) == "10.9")
    assert [_st(hass, c) for c in current] == ["15.8"] * 3

    # The session ends and the vehicle leaves: it draws nothing any more.
    await sim.stop_transaction(1, meter_stop_wh=4200)
    await _until(hass, entry, lambda: _st(hass, power) == "0.0")
    assert [_st(hass, c) for c in current] == ["0.0"] * 3
    assert _st(hass, energy) == "4.2"  # the register stays
    await sim.unplug(1)
    await _until(hass, entry, lambda: _st(hass, allocated) == "0.0")
    assert [_st(hass, c) for c in current] == ["0.0"] * 3
    assert _st(hass, power) == "0.0"
    assert _st(hass, energy) == "4.2"

    # A charger that goes offline while charging may go on charging: it is
    # counted at what it may hold, whatever it measured.
    await sim.plug_in(1)
    await sim.start_transaction(1, "tag")
    await sim.send_meter_values(1, currents=(16.0, 16.0, 16.0))
    # (That report came before the car could follow its raise: the raise stands.)
    await _until(hass, entry, lambda: sim.effective_limit(1) == 32)
    await sim.close()
    ocpp = entry.runtime_data.ocpp
    await _until(hass, entry, lambda: not ocpp.online("cp1"))
    ports = {p.id: p for p in ocpp.readings().ports}
    assert ports["cp1:1"].failsafe_a == 32
    assert _st(hass, power) == "unavailable"
    assert _st(hass, energy) == "4.2"


async def test_charger_falls_back_to_failsafe_when_home_assistant_dies(
    hass: HomeAssistant, sims: list[SimulatedChargePoint]
) -> None:
    entry, sim = await _charging(
        hass, sims, {CONF_WATCHDOG_S: 30.0, CONF_FAILSAFE_A: 8.0}
    )
    # The central system dies mid-session: nothing clears or refreshes anything.
    await entry.runtime_data.central.stop()
    async with asyncio.timeout(5):
        await sim.wait_closed()
    now = datetime.now(UTC)
    assert sim.effective_limit(1, now) == 18  # it keeps its limit a while ...
    later = now + timedelta(seconds=31)
    assert sim.effective_limit(1, later) == 8  # ... then the failsafe, by itself
    # Meanwhile the site counts it at what it may still hold, not at 8 A.
    ports = {p.id: p for p in entry.runtime_data.ocpp.readings().ports}
    assert not ports["cp1:1"].online
    assert ports["cp1:1"].failsafe_a == 18


async def test_unloading_the_site_drops_chargers_to_failsafe_at_once(
    hass: HomeAssistant, sims: list[SimulatedChargePoint]
) -> None:
    entry, sim = await _charging(hass, sims, {CONF_FAILSAFE_A: 8.0})
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert sim.effective_limit(1) == 8
    async with asyncio.timeout(5):
        await sim.wait_closed()


@pytest.mark.parametrize(
    ("last_run", "counted_a"),
    [
        # It crashed: the charger may hold any limit it sent, up to its maximum.
        ({"state": "running"}, 32.0),
        # It stopped and cleared every limit: the failsafe.
        ({"state": "stopped", "held_until": None}, 6.0),
        # It stopped while the charger was offline: what it may hold, until then.
        ({"state": "stopped", "held_until": 4102444800.0}, 32.0),
        # The first start: nothing was ever sent.
        (None, 6.0),
    ],
)
async def test_after_a_restart_chargers_count_at_what_they_may_still_hold(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    last_run: dict[str, Any] | None,
    counted_a: float,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        subentries_data=[
            {
                "subentry_type": SUBENTRY_CHARGER,
                "title": "Space 1",
                "unique_id": "cp1",
                "data": {
                    CONF_CHARGE_POINT_ID: "cp1",
                    CONF_GROUP: "site",
                    CONF_CONNECTORS: 1,
                    CONF_CONNECTION: "L1-L2-L3",
                    CONF_MAX_CURRENT_A: 32.0,
                    CONF_FAILSAFE_A: None,
                    CONF_PASSWORD: None,
                },
            }
        ],
    )
    key = f"{DOMAIN}.{entry.entry_id}.charger_limits"
    if last_run is not None:
        hass_storage[key] = {"version": 1, "key": key, "data": last_run}
    await _setup(hass, entry)
    # Offline until it connects: counted at what it may hold.
    (port,) = entry.runtime_data.controller.data.site.ports
    assert not port.online
    assert port.failsafe_a == counted_a
    # This run is marked as running until it ends; then as stopped, and with
    # no charger online nothing may hold a limit it sent.
    assert hass_storage[key]["data"] == {"state": "running"}
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"]["state"] == "stopped"
    assert hass_storage[key]["data"]["held_until"] is None

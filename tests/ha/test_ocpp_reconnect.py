"""Home Assistant restarts while chargers charge: they reconnect without booting and
are taken under control again. Simulated chargers over real OCPP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
import functools
import socket
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_CHARGE_POINT_ID,
    CONF_INTERVAL_S,
    CONF_OCPP_PORT,
    DOMAIN,
)
from custom_components.ev_power_share.csms import StationConfig
from simulator.chargepoint import SimulatedChargePoint

from .conftest import SITE_DATA
from .test_ocpp_site import _add_charger, _until
from .test_site_control import _setup

GRACE_S = 0.5
FAILSAFE_A = 6.0


@pytest.fixture(autouse=True)
def short_grace() -> Generator[None]:
    """A charger that does not boot is resumed after half a second (not five)."""
    with patch(
        "custom_components.ev_power_share.StationConfig",
        functools.partial(StationConfig, resume_grace_s=GRACE_S),
    ):
        yield


def _free_port() -> int:
    """A port to bind again after the restart (chargers know one address)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _entity(hass: HomeAssistant, entry: MockConfigEntry, cp_id: str, key: str) -> str:
    subentry_id = next(
        sid
        for sid, sub in entry.subentries.items()
        if sub.data.get(CONF_CHARGE_POINT_ID) == cp_id
    )
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{entry.entry_id}_{subentry_id}{key}"
    )
    assert entity_id is not None, (cp_id, key)
    return entity_id


def _on(hass: HomeAssistant, entity_id: str) -> bool:
    state = hass.states.get(entity_id)
    return state is not None and state.state == "on"


async def test_chargers_resume_after_home_assistant_restarts(
    hass: HomeAssistant,
    sims: list[SimulatedChargePoint],
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options={CONF_INTERVAL_S: 1.0, CONF_OCPP_PORT: _free_port()},
    )
    await _setup(hass, entry)
    versions = {"cp16": "1.6", "cp201": "2.0.1"}
    for cp_id in versions:
        await _add_charger(hass, entry, cp_id, "site")
    url = f"ws://127.0.0.1:{entry.runtime_data.central.port}"
    for cp_id, version in versions.items():
        sim = SimulatedChargePoint(cp_id, url, version=version)  # type: ignore[arg-type]
        sims.append(sim)
        async with asyncio.timeout(10):
            await sim.connect()
            assert await sim.boot() == "Accepted"
            await sim.plug_in(1)
            await sim.start_transaction(1, f"tag-{cp_id}", meter_start_wh=1000)
            await sim.send_meter_values(1, currents=(16.0,) * 3, energy_wh=2000)
    await _until(
        hass, entry, lambda: all(s.effective_limit(1) > FAILSAFE_A for s in sims)
    )
    transactions = {s.id: s.transactions[1] for s in sims}

    # Home Assistant restarts: the site is unloaded (chargers drop to their
    # failsafe, the sockets close) and set up afresh, knowing nothing.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    async with asyncio.timeout(10):
        for sim in sims:
            await sim.wait_closed()
    assert all(s.effective_limit(1) == FAILSAFE_A for s in sims)
    runtime = entry.runtime_data
    assert all(not runtime.ocpp.online(s.id) for s in sims)

    # They reconnect, without booting, vehicles still charging.
    async with asyncio.timeout(10):
        for sim in sims:
            await sim.reconnect(within=5.0)
    online = {cp_id: _entity(hass, entry, cp_id, "_online") for cp_id in versions}
    vehicle = {cp_id: _entity(hass, entry, cp_id, "_1_vehicle") for cp_id in versions}
    await _until(
        hass,
        entry,
        lambda: (
            all(runtime.ocpp.online(s.id) for s in sims)
            and all(_on(hass, online[s.id]) for s in sims)
            and all(_on(hass, vehicle[s.id]) for s in sims)
            and all(s.effective_limit(1) > FAILSAFE_A for s in sims)
        ),
    )
    for sim in sims:
        station = runtime.ocpp.stations[sim.id]
        assert not station.booted  # resumed, not rebooted
        assert station.connectors[1].transaction_id == transactions[sim.id]
        assert any(action == "TriggerMessage" for action, _ in sim.received)

    # The 1.6 charger's transaction is known again: it can be stopped from here.
    device = next(
        d
        for d in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        if d.name == "Space cp16"
    )
    await hass.services.async_call(
        DOMAIN, "stop_charging", {"device_id": device.id}, blocking=True
    )
    async with asyncio.timeout(10):
        while 1 in sims[0].transactions:  # noqa: ASYNC110 (the simulator's state)
            await asyncio.sleep(0.05)
    await _until(
        hass,
        entry,
        lambda: runtime.ocpp.stations["cp16"].connectors[1].transaction_id is None,
    )

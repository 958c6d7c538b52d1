"""A charger that resumes (reconnects without booting) gets its metering
configured like a booted one, before it is asked for its meter values: it may
never have been configured by us, and until a connector's current is reported
the meter on its group counts that vehicle as non-EV load. Real simulated
charge points over real websockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.ev_power_share.csms import CentralSystem, StationConfig
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource

from .conftest import TIMEOUT_S, SimFactory, wait_until

INTERVAL_KEY = {
    "1.6": "MeterValueSampleInterval",
    "2.0.1": "SampledDataCtrlr.TxUpdatedInterval",
}
CONFIGURE = {"1.6": "ChangeConfiguration", "2.0.1": "SetVariables"}


@pytest.fixture
def station_config() -> StationConfig:
    return StationConfig(
        meter_interval_s=5,
        watchdog_s=60.0,
        response_timeout_s=3.0,
        resume_grace_s=0.3,
    )


@pytest.fixture
def source(station_config: StationConfig) -> OcppSource:
    return OcppSource(
        [ChargerConfig("cp-1", "One", "site")],
        config=station_config,
        site_failsafe_a=6.0,
        on_change=lambda: None,
        on_unknown=lambda _cp_id: False,
    )


@pytest.fixture
def listener(source: OcppSource) -> OcppSource:
    """The central system reports to the source under test."""
    return source


async def test_resumed_charger_gets_its_metering_configured_before_the_trigger(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory, version: str
) -> None:
    sim = await make_sim("cp-1")
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
    await wait_until(lambda: source.online("cp-1"))
    await wait_until(lambda: INTERVAL_KEY[version] in sim.configuration)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.plug_in(1)
        await sim.start_transaction(1, "TAG")
        await sim.send_meter_values(1, currents=(16.0,) * 3, energy_wh=1500)
    # Its settings are gone (a factory reset, another central system before us)
    # and it reconnects without booting.
    sim.configuration.clear()
    old = source.stations["cp-1"]
    mark = len(sim.received)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
    await wait_until(lambda: source.stations.get("cp-1") not in (None, old))
    await wait_until(lambda: source.online("cp-1"))

    assert sim.configuration[INTERVAL_KEY[version]] == "5"
    actions = [action for action, _ in sim.received[mark:]]
    assert CONFIGURE[version] in actions
    assert actions.index(CONFIGURE[version]) < actions.index("TriggerMessage")
    port = next(p for p in source.ports() if p.id == "cp-1:1")
    assert port.ev is not None
    assert port.ev.draw_a == 16.0

"""OcppSource resumes a charger that reconnects without booting: after a grace
period without BootNotification it asks for the charger's state, then installs the
failsafe and has it online again. Real simulated charge points over real
websockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.ev_power_share.core.model import Port
from custom_components.ev_power_share.csms import CentralSystem, StationConfig
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource
from simulator import SimulatedChargePoint

from .conftest import TIMEOUT_S, SimFactory, wait_until

GRACE_S = 0.3


@pytest.fixture
def station_config() -> StationConfig:
    return StationConfig(
        meter_interval_s=5,
        watchdog_s=60.0,
        response_timeout_s=3.0,
        resume_grace_s=GRACE_S,
    )


@pytest.fixture
def source(station_config: StationConfig) -> OcppSource:
    return OcppSource(
        [ChargerConfig("cp-1", "One", "site", connectors=2)],
        config=station_config,
        site_failsafe_a=6.0,
        on_change=lambda: None,
        on_unknown=lambda cp_id: cp_id.startswith("pending"),
    )


@pytest.fixture
def listener(source: OcppSource) -> OcppSource:
    """The central system reports to the source under test."""
    return source


def _port(source: OcppSource, port_id: str) -> Port:
    return next(p for p in source.readings().ports if p.id == port_id)


def _actions(sim: SimulatedChargePoint, since: int = 0) -> list[str]:
    return [action for action, _ in sim.received[since:]]


async def _online_and_charging(
    source: OcppSource, make_sim: SimFactory, **kwargs: object
) -> tuple[SimulatedChargePoint, str]:
    """A charger under control with a vehicle charging on connector 1."""
    sim = await make_sim("cp-1", connectors=2, **kwargs)
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
    await wait_until(lambda: source.online("cp-1"))
    async with asyncio.timeout(TIMEOUT_S):
        await sim.plug_in(1)
        transaction_id = await sim.start_transaction(1, "TAG")
        await sim.send_meter_values(1, currents=(16.0,) * 3, energy_wh=1500)
    return sim, transaction_id


async def test_charger_that_reconnects_without_booting_is_resumed(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory
) -> None:
    sim, transaction_id = await _online_and_charging(source, make_sim)
    old = source.stations["cp-1"]
    mark = len(sim.received)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
    await wait_until(lambda: source.stations.get("cp-1") not in (None, old))
    assert not source.online("cp-1")  # not before the grace period is over

    await wait_until(lambda: source.online("cp-1"))
    station = source.stations["cp-1"]
    assert not station.booted
    # It was asked for its state first, then given its failsafe.
    actions = _actions(sim, mark)
    assert actions.index("SetChargingProfile") > max(
        i for i, a in enumerate(actions) if a == "TriggerMessage"
    )
    port = _port(source, "cp-1:1")
    assert port.online
    assert port.ev is not None  # known to be charging the moment it is online
    assert port.ev.draw_a == 16.0
    assert _port(source, "cp-1:2").ev is None
    await wait_until(lambda: station.connectors[1].transaction_id == transaction_id)
    assert sim.effective_limit(1) == 6  # our failsafe, until the controller sends


async def test_boot_within_the_grace_period_is_a_boot(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory
) -> None:
    sim, _ = await _online_and_charging(source, make_sim)
    mark = len(sim.received)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
        assert await sim.boot() == "Accepted"
    await wait_until(lambda: source.online("cp-1"))
    await asyncio.sleep(GRACE_S * 2)
    assert source.online("cp-1")
    assert "TriggerMessage" not in _actions(sim, mark)


async def test_boot_while_resuming_leaves_it_online(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory
) -> None:
    sim, _ = await _online_and_charging(source, make_sim)
    mark = len(sim.received)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
    # It boots (late) while it is being asked for its state.
    await wait_until(lambda: "TriggerMessage" in _actions(sim, mark))
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
    await wait_until(lambda: source.online("cp-1"))
    station = source.stations["cp-1"]
    assert station.booted
    await asyncio.sleep(0.5)  # whatever was under way has finished
    assert source.online("cp-1")
    # ... and a boot after it was resumed re-prepares it, online again.
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
    await wait_until(lambda: source.online("cp-1"))


@pytest.mark.parametrize("answer", ["Rejected", "NotImplemented", "CallError"])
async def test_charger_that_does_not_report_on_request_is_resumed(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory, answer: str
) -> None:
    sim, transaction_id = await _online_and_charging(
        source, make_sim, trigger_message=answer
    )
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
    await wait_until(
        lambda: source.online("cp-1") and not source.stations["cp-1"].booted
    )
    station = source.stations["cp-1"]
    assert _port(source, "cp-1:1").ev is None  # nothing known yet
    # It learns the state from the charger's next messages.
    async with asyncio.timeout(TIMEOUT_S):
        await sim.status(1, "Charging" if sim.version == "1.6" else "Occupied")
        await sim.send_meter_values(1, currents=(10.0,) * 3, energy_wh=1600)
    assert station.connectors[1].transaction_id == transaction_id
    assert _port(source, "cp-1:1").ev is not None


async def test_a_charger_held_pending_is_not_resumed(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory
) -> None:
    sim = await make_sim("pending-1")
    await wait_until(lambda: "pending-1" in source.stations)
    await asyncio.sleep(GRACE_S * 3)
    assert sim.received == []
    assert not source.online("pending-1")


async def test_disconnect_during_the_grace_period_cancels_the_resume(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory
) -> None:
    sim, _ = await _online_and_charging(source, make_sim)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
    await wait_until(lambda: source._resumes)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.close()
    await wait_until(lambda: "cp-1" not in source.stations)
    assert not source._resumes
    assert not source.online("cp-1")


INTERVAL_KEY = {
    "1.6": "MeterValueSampleInterval",
    "2.0.1": "SampledDataCtrlr.TxUpdatedInterval",
}
CONFIGURE = {"1.6": "ChangeConfiguration", "2.0.1": "SetVariables"}


async def test_resumed_charger_gets_its_metering_configured_before_the_trigger(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory, version: str
) -> None:
    """It may never have been configured by us, and until a connector's current
    is reported the meter on its group counts that vehicle as non-EV load."""
    sim, _ = await _online_and_charging(source, make_sim)
    await wait_until(lambda: INTERVAL_KEY[version] in sim.configuration)
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
    actions = _actions(sim, mark)
    assert CONFIGURE[version] in actions
    assert actions.index(CONFIGURE[version]) < actions.index("TriggerMessage")
    port = _port(source, "cp-1:1")
    assert port.ev is not None
    assert port.ev.draw_a == 16.0


async def test_strangers_that_plug_in_leave_nothing_behind(
    central: CentralSystem, source: OcppSource, make_sim: SimFactory
) -> None:
    """Ids nobody configured, each telling of vehicles on its connectors, are
    not remembered (a stranger who keeps changing ids would grow the arrival
    times without bound); a configured charger's arrival still counts."""
    for n in range(12):
        sim = await make_sim(f"pending-{n}")
        await wait_until(lambda n=n: f"pending-{n}" in source.stations)
        async with asyncio.timeout(TIMEOUT_S):
            for connector in (1, 2, 3):
                await sim.status(
                    connector, "Preparing" if sim.version == "1.6" else "Occupied"
                )
            await sim.close()
        await wait_until(lambda n=n: f"pending-{n}" not in source.stations)
    assert source._arrived == {}
    sim, _ = await _online_and_charging(source, make_sim)
    assert set(source._arrived) == {"cp-1:1"}
    assert _port(source, "cp-1:1").ev is not None

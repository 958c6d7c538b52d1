"""Boot, sessions, meter values and commands, for OCPP 1.6J and 2.0.1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
from ocpp.v201 import call as call201
import pytest

from custom_components.ev_power_share.csms import CentralSystem

from .conftest import (
    PASSWORDS,
    TIMEOUT_S,
    RecordingListener,
    SimFactory,
    booted,
    wait_until,
)


async def test_boot_fills_info_and_configures_metering(
    central: CentralSystem, make_sim: SimFactory, listener: RecordingListener
) -> None:
    sim, station = await booted(
        make_sim, central, vendor="ACME", model="Wallbox 22", firmware="4.2"
    )
    assert station.version == sim.version
    assert station.online
    assert (station.info.vendor, station.info.model, station.info.firmware) == (
        "ACME",
        "Wallbox 22",
        "4.2",
    )
    assert station.info.serial == "SIM-cp-1"
    assert listener.count("connected", "cp-1") == 1
    assert listener.count("boot", "cp-1") == 1
    if sim.version == "1.6":
        await wait_until(lambda: "MeterValuesSampledData" in sim.configuration)
        assert sim.configuration["MeterValueSampleInterval"] == "5"
        assert "Current.Import" in sim.configuration["MeterValuesSampledData"]
    else:
        assert sim.configuration["SampledDataCtrlr.TxUpdatedInterval"] == "5"
        assert sim.configuration["AlignedDataCtrlr.Interval"] == "5"
        assert (
            "Energy.Active.Import.Register"
            in sim.configuration["SampledDataCtrlr.TxUpdatedMeasurands"]
        )
    async with asyncio.timeout(TIMEOUT_S):
        await sim.heartbeat()


async def test_session_with_meter_values(
    central: CentralSystem, make_sim: SimFactory, listener: RecordingListener
) -> None:
    sim, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.plug_in(1)
        assert station.connectors[1].vehicle_connected
        assert await sim.authorize("TAG-1")
        transaction_id = await sim.start_transaction(1, "TAG-1", meter_start_wh=1000)
    connector = station.connectors[1]
    assert connector.transaction_id == transaction_id
    assert connector.id_tag == "TAG-1"
    assert connector.session_start_wh == 1000
    assert connector.session_energy_wh == 0

    async with asyncio.timeout(TIMEOUT_S):
        await sim.send_meter_values(
            1, currents=(16.0, 15.5, 14.0), power_w=10900, energy_wh=1500, soc=41
        )
    assert connector.current_a == (16.0, 15.5, 14.0)
    assert connector.power_w == 10900
    assert connector.energy_wh == 1500
    assert connector.soc == 41
    assert connector.last_meter_at is not None
    assert listener.count("meter", "cp-1") >= 1

    async with asyncio.timeout(TIMEOUT_S):  # the same register in kWh
        await sim.send_meter_values(
            1, currents=(8.0,), energy_wh=2750, energy_unit="kWh"
        )
    assert connector.energy_wh == pytest.approx(2750)
    assert connector.session_energy_wh == pytest.approx(1750)
    assert connector.current_a == (8.0,)

    async with asyncio.timeout(TIMEOUT_S):
        await sim.stop_transaction(1, meter_stop_wh=3000)
    assert connector.transaction_id is None
    assert connector.energy_wh == 3000
    assert connector.session_energy_wh == 2000
    async with asyncio.timeout(TIMEOUT_S):
        await sim.unplug(1)
    assert not connector.vehicle_connected
    assert connector.status == "Available"


async def test_what_a_connector_draws_drops_to_zero_without_a_vehicle_drawing(
    central: CentralSystem, make_sim: SimFactory, version: str
) -> None:
    """Once its transaction ended, or its vehicle left, a connector draws nothing:
    its last current and power are 0, not what it drew while charging. The
    energy register stays; a later reading is taken as it comes."""
    sim, station = await booted(make_sim, central)

    async def charging(amps: float, energy_wh: float) -> None:
        await sim.plug_in(1)
        await sim.start_transaction(1, "TAG-1", meter_start_wh=energy_wh)
        await sim.send_meter_values(
            1,
            currents=(amps, amps, amps),
            power_w=amps * 690,
            energy_wh=energy_wh + 500,
            soc=60,
        )

    async with asyncio.timeout(TIMEOUT_S):
        await charging(15.8, 1000)
    connector = station.connectors[1]
    assert connector.current_a == (15.8, 15.8, 15.8)
    assert connector.power_w == pytest.approx(10902)

    # The transaction ends (StopTransaction / TransactionEvent Ended); the
    # vehicle is still plugged in.
    async with asyncio.timeout(TIMEOUT_S):
        await sim.stop_transaction(1, meter_stop_wh=2000)
    assert connector.vehicle_connected
    assert connector.current_a == (0.0, 0.0, 0.0)
    assert connector.power_w == 0
    assert connector.energy_wh == 2000
    assert connector.session_energy_wh == 1000
    assert connector.soc == 60  # the vehicle is still there
    async with asyncio.timeout(TIMEOUT_S):
        await sim.unplug(1)
    assert connector.current_a == (0.0, 0.0, 0.0)
    assert connector.soc is None  # it left

    # The vehicle leaves (Available) while its transaction runs.
    async with asyncio.timeout(TIMEOUT_S):
        await charging(10.0, 2000)
    assert connector.current_a == (10.0, 10.0, 10.0)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.unplug(1)
    assert connector.status == "Available"
    assert not connector.vehicle_connected
    assert connector.current_a == (0.0, 0.0, 0.0)
    assert connector.power_w == 0
    assert connector.energy_wh == 2500
    assert connector.soc is None

    # What the charger measures next is what it shows.
    async with asyncio.timeout(TIMEOUT_S):
        await sim.send_meter_values(1, currents=(0.3,), power_w=70)
    assert connector.current_a == (0.3,)
    assert connector.power_w == 70

    if version == "2.0.1":
        # A transaction whose vehicle left (charging state Idle) draws nothing.
        async with asyncio.timeout(TIMEOUT_S):
            await charging(12.0, 2500)
            await sim._call(
                call201.TransactionEvent(
                    event_type="Updated",
                    timestamp=datetime.now(UTC).isoformat(),
                    trigger_reason="EVCommunicationLost",
                    seq_no=99,
                    transaction_info={
                        "transaction_id": sim.transactions[1],
                        "charging_state": "Idle",
                    },
                )
            )
        assert not connector.vehicle_connected
        assert connector.transaction_id is not None
        assert connector.current_a == (0.0, 0.0, 0.0)
        assert connector.power_w == 0
        assert connector.energy_wh == 3000


async def test_set_limit_reaches_the_charger(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, station = await booted(make_sim, central, connectors=2)
    assert sim.effective_limit(1) == 32  # hardware maximum, no profiles yet
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.set_failsafe(6)
        assert await station.set_limit(1, 16.7)  # whole amps, rounded down
        assert await station.set_limit(2, 10)
    assert sim.effective_limit(1) == 16
    assert sim.effective_limit(2) == 10
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.composite_limit(1) == 16
        assert await station.composite_limit(2) == 10
        assert await station.set_limit(1, 12)  # a refresh replaces the live profile
    assert sim.effective_limit(1) == 12
    assert len(sim.smart.profiles) == 3
    async with asyncio.timeout(TIMEOUT_S):
        await station.clear_limits()
    assert sim.smart.profiles == ()
    assert sim.effective_limit(1) == 32
    changes = [limit for _, connector, limit in sim.limit_log if connector == 1]
    assert changes == [32, 6, 16, 12, 32]


async def test_limit_falls_back_to_failsafe_without_refresh(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.set_failsafe(6)
        assert await station.set_limit(1, 20)
    sent_at = datetime.now(UTC)
    assert sim.effective_limit(1, sent_at) == 20
    live = next(p for p in sim.smart.profiles if p.stack_level == 1)
    assert live.valid_to is not None
    assert 1.5 <= (live.valid_to - sent_at).total_seconds() <= 2.1  # watchdog 2 s

    # The central system goes away mid-session; the charger carries on by itself.
    async with asyncio.timeout(TIMEOUT_S):
        await central.stop()
        await sim.wait_closed()
    assert not sim.connected
    assert sim.effective_limit(1, live.valid_to) == 6
    assert sim.effective_limit(1, sent_at) == 20
    history = sim.limit_changes(1, until=live.valid_to + timedelta(minutes=5))
    assert [limit for _, limit in history] == [32, 6, 20, 6]
    assert history[-1][0] == live.valid_to


async def test_refresh_extends_the_live_limit(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.set_failsafe(6)
        assert await station.set_limit(1, 20)
        first = max(p.valid_to for p in sim.smart.profiles if p.valid_to is not None)
        await asyncio.sleep(0.3)
        assert await station.set_limit(1, 20)
    second = max(p.valid_to for p in sim.smart.profiles if p.valid_to is not None)
    assert second > first
    assert sim.effective_limit(1, first) == 20  # still live where the first one lapsed
    assert sim.effective_limit(1, second) == 6


async def test_sum_of_limits_over_time(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    """Two chargers sharing 32 A: the sum of what they allow never exceeds it."""
    sims = []
    for name in ("cp-a", "cp-b"):
        sim, station = await booted(make_sim, central, name)
        async with asyncio.timeout(TIMEOUT_S):
            assert await station.set_failsafe(6)
            assert await station.set_limit(1, 16)
        sims.append(sim)
    # move 6 A from b to a: lower first, then raise
    async with asyncio.timeout(TIMEOUT_S):
        assert await central.stations["cp-b"].set_limit(1, 10)
        assert await central.stations["cp-a"].set_limit(1, 22)
    end = datetime.now(UTC) + timedelta(minutes=5)
    both_set = max(sim.limit_log[2][0] for sim in sims)  # hardware → failsafe → live
    instants = sorted({t for sim in sims for t, _ in sim.limit_changes(1, end)})
    totals = [
        sum(sim.effective_limit(1, t) for sim in sims)
        for t in instants
        if t >= both_set
    ]
    assert totals[0] == 32
    assert all(total <= 32 for total in totals)
    assert totals[-1] == 12  # nobody refreshed: both back on their 6 A failsafe


async def test_remote_start_and_stop(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.remote_start(1, "REMOTE-TAG")
    # Both sides know the transaction once the simulator has the answer too.
    await wait_until(
        lambda: (
            station.connectors.get(1)
            and station.connectors[1].transaction_id is not None
            and station.connectors[1].transaction_id == sim.transactions.get(1)
        )
    )
    assert station.connectors[1].id_tag == "REMOTE-TAG"
    async with asyncio.timeout(TIMEOUT_S):
        assert not await station.remote_start(1, "OTHER")  # busy
        assert await station.remote_stop(1)
    await wait_until(lambda: station.connectors[1].transaction_id is None)
    async with asyncio.timeout(TIMEOUT_S):
        assert not await station.remote_stop(1)  # nothing to stop


async def test_unlock_and_reset(central: CentralSystem, make_sim: SimFactory) -> None:
    sim, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.unlock(1)
        assert not await station.unlock(5)
        assert await station.reset()
        assert await station.reset(hard=True)
    assert sim.unlocked == [1]
    assert sim.resets == (
        ["Soft", "Hard"] if sim.version == "1.6" else ["OnIdle", "Immediate"]
    )


async def test_disconnect_and_reconnect(
    central: CentralSystem, make_sim: SimFactory, listener: RecordingListener
) -> None:
    first, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        await first.close()
    await wait_until(lambda: listener.count("disconnected", "cp-1") == 1)
    assert "cp-1" not in central.stations
    assert not station.online
    async with asyncio.timeout(TIMEOUT_S):
        assert not await station.set_limit(1, 10)  # offline: nothing sent, no hang

    second, again = await booted(make_sim, central)
    assert again is not station
    assert again.online
    # A third connection with the same id cannot take the second one's place:
    # the charger has no password, so nothing says it is the same charger.
    third = await make_sim("cp-1", connect=False)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with asyncio.timeout(TIMEOUT_S):
            await third.connect()
    assert refused.value.status == 409
    assert central.stations["cp-1"] is again
    assert again.online
    await second.heartbeat()
    assert listener.count("disconnected", "cp-1") == 1


async def test_an_authenticated_connection_replaces_the_old_one(
    central: CentralSystem, make_sim: SimFactory, listener: RecordingListener
) -> None:
    """A charger with a password that reconnects while its old socket still looks
    open (it died without a close) proves who it is: it replaces it at once."""
    first, station = await booted(
        make_sim, central, "cp-secure", password=PASSWORDS["cp-secure"]
    )
    second = await make_sim("cp-secure", password=PASSWORDS["cp-secure"])
    async with asyncio.timeout(TIMEOUT_S):
        await first.wait_closed()
        assert await second.boot() == "Accepted"
    assert central.stations["cp-secure"] is not station
    assert not station.online
    assert listener.count("disconnected", "cp-secure") == 1


async def test_a_charger_that_closes_and_reconnects_at_once_is_let_in(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    """Without a password, a reconnect is let in once the old socket closed; the
    new connection waits for that a moment (the close may be on its way)."""
    sim, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
        await sim.heartbeat()
    assert central.stations["cp-1"] is not station
    assert central.stations["cp-1"].online


async def test_pending_station_gets_nothing(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim = await make_sim("pending-7")
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Pending"
    station = central.stations["pending-7"]
    assert station.booted
    async with asyncio.timeout(TIMEOUT_S):
        assert not await station.set_failsafe(6)
        assert not await station.set_limit(1, 16)
        assert await station.composite_limit(1) is None
        assert not await station.reset()
        await sim.heartbeat()  # it may still talk to us
        await asyncio.sleep(0.1)
    assert sim.received == []

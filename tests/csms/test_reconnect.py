"""A station that reconnects without booting: told to report its state
(TriggerMessage), it is known again, ongoing transaction included; for OCPP 1.6J and
2.0.1, over real websockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from custom_components.ev_power_share.csms import CentralSystem, Station
from simulator import SimulatedChargePoint

from .conftest import TIMEOUT_S, SimFactory, booted, wait_until

OCCUPIED = {"1.6": "Charging", "2.0.1": "Occupied"}


async def _charging(
    sim: SimulatedChargePoint, connector: int = 1, amps: float = 16.0
) -> str:
    """A vehicle plugged in and charging on ``connector``: its transaction id."""
    async with asyncio.timeout(TIMEOUT_S):
        await sim.plug_in(connector)
        transaction_id = await sim.start_transaction(
            connector, f"TAG-{connector}", meter_start_wh=1000
        )
        await sim.send_meter_values(
            connector, currents=(amps, amps, amps), energy_wh=1500
        )
    return transaction_id


async def _reconnected(
    sim: SimulatedChargePoint, central: CentralSystem, old: Station
) -> Station:
    """The station of a new connection, made without a BootNotification."""
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
    await wait_until(
        lambda: sim.id in central.stations and central.stations[sim.id] is not old
    )
    station = central.stations[sim.id]
    assert not station.booted
    assert station.connectors == {}  # it knows nothing of what went before
    return station


def _triggered(sim: SimulatedChargePoint) -> list[tuple[str, Any]]:
    """The TriggerMessages received: (requested message, connector or EVSE)."""
    return [
        (
            payload["requested_message"],
            payload.get("connector_id", payload.get("evse")),
        )
        for action, payload in sim.received
        if action == "TriggerMessage"
    ]


async def test_reconnected_station_reports_status_and_its_transaction(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, old = await booted(make_sim, central)
    transaction_id = await _charging(sim)
    station = await _reconnected(sim, central, old)

    async with asyncio.timeout(TIMEOUT_S):
        assert await station.trigger_status(1)
    # 1.6 learns the transaction from the triggered MeterValues' transactionId,
    # 2.0.1 from the triggered TransactionEvent, which names its EVSE.
    await wait_until(lambda: station.connectors[1].transaction_id == transaction_id)
    connector = station.connectors[1]
    assert connector.status == OCCUPIED[sim.version]
    assert connector.vehicle_connected
    await wait_until(lambda: connector.current_a == (16.0, 16.0, 16.0))
    assert connector.energy_wh == 1500
    if sim.version == "1.6":
        assert _triggered(sim) == [("StatusNotification", 1), ("MeterValues", 1)]
    else:
        assert _triggered(sim) == [
            ("StatusNotification", {"id": 1, "connector_id": 1}),
            ("TransactionEvent", {"id": 1}),
        ]
        assert connector.charging_state == "Charging"

    # The session energy counts from when the transaction became known.
    async with asyncio.timeout(TIMEOUT_S):
        await sim.send_meter_values(1, currents=(16.0,) * 3, energy_wh=2000)
    assert connector.session_energy_wh == 500

    # ... and it can be stopped from here.
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.remote_stop(1)
    await wait_until(lambda: 1 not in sim.transactions)
    await wait_until(lambda: connector.transaction_id is None)


async def test_idle_station_reports_status_and_no_transaction(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, old = await booted(make_sim, central, connectors=2)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.plug_in(2)  # plugged, not charging
    station = await _reconnected(sim, central, old)
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.trigger_status(2)
    assert station.connectors[1].status == "Available"
    assert not station.connectors[1].vehicle_connected
    assert station.connectors[2].vehicle_connected
    assert all(c.transaction_id is None for c in station.connectors.values())
    if sim.version == "2.0.1":
        # No transaction runs: the station refuses to send TransactionEvents.
        assert ("TransactionEvent", {"id": 2}) in _triggered(sim)


@pytest.mark.parametrize("answer", ["Rejected", "NotImplemented", "CallError"])
async def test_station_that_does_not_report_on_request_learns_from_its_messages(
    central: CentralSystem, make_sim: SimFactory, answer: str
) -> None:
    sim, old = await booted(make_sim, central)
    transaction_id = await _charging(sim)
    sim.trigger_message = answer  # type: ignore[assignment]
    station = await _reconnected(sim, central, old)
    async with asyncio.timeout(TIMEOUT_S):
        assert not await station.trigger_status(1)
        assert station.commandable  # still there, and still ours to command
        assert await station.set_failsafe(6)
    assert station.connectors.get(1) is None  # nothing was reported

    if sim.version == "1.6":
        # Its next MeterValues carry the transaction id: adopted.
        async with asyncio.timeout(TIMEOUT_S):
            await sim.send_meter_values(1, currents=(10.0,) * 3, energy_wh=1600)
        assert station.connectors[1].transaction_id == transaction_id
        assert station.connectors[1].vehicle_connected
    else:
        # An Updated event without evse cannot be placed while no EVSE is
        # known to be occupied ...
        async with asyncio.timeout(TIMEOUT_S):
            await sim.send_meter_values(1, currents=(10.0,) * 3, energy_wh=1600)
        assert station.connectors.get(1) is None
        # ... and goes to the one occupied EVSE once its status is known.
        async with asyncio.timeout(TIMEOUT_S):
            await sim.status(1, "Occupied")
            await sim.send_meter_values(1, currents=(10.0,) * 3, energy_wh=1700)
        assert station.connectors[1].transaction_id == transaction_id
        assert station.connectors[1].current_a == (10.0, 10.0, 10.0)
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.remote_stop(1)
    await wait_until(lambda: 1 not in sim.transactions)


@pytest.mark.parametrize("version", ["2.0.1"])
async def test_v201_event_without_evse_goes_to_the_one_occupied_evse(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, old = await booted(make_sim, central, connectors=3, trigger_message="Rejected")
    first = await _charging(sim, 1, amps=16.0)
    second = await _charging(sim, 2, amps=8.0)
    station = await _reconnected(sim, central, old)
    async with asyncio.timeout(TIMEOUT_S):
        assert not await station.trigger_status(3)
        await sim.status(1, "Occupied")
        await sim.status(3, "Available")
        await sim.send_meter_values(1, currents=(12.0,) * 3, energy_wh=1800)
    # EVSE 1 is the only one known to hold a vehicle without a known transaction.
    assert station.connectors[1].transaction_id == first
    assert station.connectors[1].current_a == (12.0, 12.0, 12.0)
    assert 2 not in station.connectors

    # On EVSE 3 a session is seen from start to end; the vehicle stays plugged
    # in. Its transaction is known to have ended: EVSE 3 is out of the rule.
    async with asyncio.timeout(TIMEOUT_S):
        await sim.plug_in(3)
        third = await sim.start_transaction(3, "TAG-3")  # Started names EVSE 3
        assert station.connectors[3].transaction_id == third
        await sim.stop_transaction(3)
        assert station.connectors[3].vehicle_connected
        await sim.status(2, "Occupied")
        await sim.send_meter_values(2, currents=(8.0,) * 3, energy_wh=1900)
    assert station.connectors[2].transaction_id == second
    assert station.connectors[2].current_a == (8.0, 8.0, 8.0)
    assert station.connectors[3].transaction_id is None
    assert station.connectors[3].current_a == ()


@pytest.mark.parametrize("version", ["2.0.1"])
async def test_v201_several_occupied_evses_no_guess(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, old = await booted(make_sim, central, connectors=2, trigger_message="Rejected")
    first = await _charging(sim, 1, amps=16.0)
    second = await _charging(sim, 2, amps=8.0)
    station = await _reconnected(sim, central, old)
    async with asyncio.timeout(TIMEOUT_S):
        for evse in (1, 2):
            await sim.status(evse, "Occupied")
        await sim.send_meter_values(1, currents=(16.0,) * 3, energy_wh=1600)
        await sim.send_meter_values(2, currents=(8.0,) * 3, energy_wh=1600)
    # Two EVSEs could run them: neither event is attributed, no meter applied.
    for evse in (1, 2):
        assert station.connectors[evse].transaction_id is None
        assert station.connectors[evse].current_a == ()

    # A station that reports on request names each transaction's EVSE.
    sim.trigger_message = "Accepted"
    async with asyncio.timeout(TIMEOUT_S):
        assert await station.trigger_status(2)
    await wait_until(
        lambda: (
            station.connectors[1].transaction_id == first
            and station.connectors[2].transaction_id == second
        )
    )
    assert station.connectors[2].current_a == (8.0, 8.0, 8.0)
    # From then on, updates without evse find their EVSE by transaction.
    async with asyncio.timeout(TIMEOUT_S):
        await sim.send_meter_values(2, currents=(6.0,) * 3, energy_wh=1700)
    assert station.connectors[2].current_a == (6.0, 6.0, 6.0)
    assert station.connectors[1].current_a == (16.0, 16.0, 16.0)


@pytest.mark.parametrize("version", ["1.6"])
async def test_v16_stop_of_a_transaction_started_before_the_connection(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, old = await booted(make_sim, central, connectors=2, trigger_message="Rejected")
    await _charging(sim, 1)
    await _charging(sim, 2)
    station = await _reconnected(sim, central, old)
    async with asyncio.timeout(TIMEOUT_S):
        for connector in (1, 2):
            await sim.status(connector, "Charging")
        # StopTransaction names no connector: two could run it, none is guessed.
        await sim.stop_transaction(1, meter_stop_wh=4000)
    assert station.connectors[1].energy_wh is None
    assert station.connectors[2].energy_wh is None

    # Connector 1 shows Finishing: only connector 2 can run an unknown one.
    async with asyncio.timeout(TIMEOUT_S):
        await sim.status(1, "Finishing")
        await sim.stop_transaction(2, meter_stop_wh=5000)
    assert station.connectors[2].energy_wh == 5000
    assert station.connectors[2].transaction_id is None
    assert station.connectors[1].energy_wh is None

    # MeterValues of a transaction that ended here are not adopted again.
    async with asyncio.timeout(TIMEOUT_S):
        ended = await sim.start_transaction(2, "TAG-2")
        await sim.stop_transaction(2)
        await sim.status(2, "Charging")
        sim.transactions[2] = ended  # a late, queued MeterValues of it
        await sim.send_meter_values(2, energy_wh=5100)
    assert station.connectors[2].transaction_id is None
    assert station.connector_of_transaction(ended) is None

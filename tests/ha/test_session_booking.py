"""Every OCPP session booked in the site's ledger, through a real Home Assistant
and simulated chargers over real websockets (1.6 and 2.0.1): a card's session
to its user with the charger's own times and energy, a transaction made while
Home Assistant was down to the right user and month, a session kept across a
restart of Home Assistant and across a reconnection, a monthly cap that
refuses the next start, and a ledger that fails while the chargers stay
balanced."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_USER_CAP_KWH,
    CONF_USER_TOKENS,
    signal_sessions_changed,
)
from custom_components.ev_power_share.core.sessions import ClosedBy, SessionRecord
from custom_components.ev_power_share.ledger import Ledger
from simulator.chargepoint import SimulatedChargePoint
from tests.csms.conftest import wait_until

from .test_site_control import _setup
from .test_users import ALICE, _add_user, _charger, _site, _user_form

VERSIONS = ["1.6", "2.0.1"]


class Clock:
    """The simulated charger's clock, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _ledger(entry: MockConfigEntry) -> Ledger:
    ledger = entry.runtime_data.ledger
    assert isinstance(ledger, Ledger)
    return ledger


async def _closed(entry: MockConfigEntry) -> SessionRecord:
    """The one session of the site, once it is closed."""
    found: list[SessionRecord] = []

    async def done() -> bool:
        found[:] = await _ledger(entry).sessions(0, 9e12)
        return len(found) == 1 and not found[0].is_open

    await _poll(done)
    return found[0]


async def _poll(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait (at most 10 s) until the ledger shows what ``check`` reads."""
    async with asyncio.timeout(10):
        while not await check():  # noqa: ASYNC110 (booked on the ledger's thread)
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_cards_session_is_booked_to_its_user(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry = _site("authorised")
    await _setup(hass, entry)
    alice = await _add_user(hass, entry, "Flat 1A", ALICE)
    told: list[str] = []
    async_dispatcher_connect(hass, signal_sessions_changed(entry.entry_id), told.append)
    sim = await _charger(hass, entry, sims, version)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=90)
    clock = Clock(start)
    sim.clock = clock
    await sim.plug_in(1)
    await sim.start_transaction(1, ALICE, meter_start_wh=1000)
    clock.at = start + timedelta(minutes=30)
    await sim.send_meter_values(1, power_w=7000, energy_wh=4500)
    clock.at = start + timedelta(hours=1)
    await sim.stop_transaction(1, meter_stop_wh=8000)

    session = await _closed(entry)
    assert (session.user_id, session.token) == (alice, ALICE)
    assert (session.charger, session.connector, session.port_id) == (
        "cp-1",
        1,
        "cp-1:1",
    )
    assert session.started_at == start.timestamp()
    assert session.stopped_at == (start + timedelta(hours=1)).timestamp()
    assert (session.meter_start_wh, session.meter_stop_wh) == (1000, 8000)
    assert session.energy_wh == 7000
    assert session.closed_by is ClosedBy.CHARGER
    assert session.peak_w == 7000
    assert [s.wh for s in session.samples] == [1000, 4500, 8000]
    await wait_until(lambda: session.id in told)


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_offline_transaction_is_booked_late_to_its_user_and_month(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry = _site("authorised")
    await _setup(hass, entry)
    alice = await _add_user(hass, entry, "Flat 1A", ALICE)
    sim = await _charger(hass, entry, sims, version)
    await wait_until(lambda: ALICE in sim.local_list.entries)
    # Home Assistant is down (the site unloaded): the charger charges on its
    # own list across the end of March.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await wait_until(lambda: not sim.connected)
    start = datetime(2026, 3, 31, 21, 30, tzinfo=UTC)
    sim.clock = clock = Clock(start)
    assert await sim.authorize(ALICE)
    await sim.plug_in(1)
    await sim.start_transaction(1, ALICE, meter_start_wh=5000)
    clock.at = start + timedelta(hours=1)
    await sim.send_meter_values(1, power_w=7000, energy_wh=12000)
    clock.at = start + timedelta(hours=2)
    await sim.stop_transaction(1, meter_stop_wh=19000)
    assert len(sim.queue) == 3

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    clock.at = datetime.now(UTC)
    sim.url = f"ws://127.0.0.1:{entry.runtime_data.central.port}/cp-1"
    await sim.reconnect(within=5.0)
    session = await _closed(entry)
    assert session.user_id == alice
    assert session.started_at == start.timestamp()
    assert session.stopped_at == (start + timedelta(hours=2)).timestamp()
    assert session.energy_wh == 14000
    march = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    april = datetime(2026, 4, 1, tzinfo=UTC).timestamp()
    assert [s.id for s in await _ledger(entry).sessions(march, april, alice)] == [
        session.id
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_session_survives_a_restart_and_a_reconnection(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry = _site("authorised")
    await _setup(hass, entry)
    alice = await _add_user(hass, entry, "Flat 1A", ALICE)
    sim = await _charger(hass, entry, sims, version)
    await sim.plug_in(1)
    transaction = await sim.start_transaction(1, ALICE, meter_start_wh=0)
    await sim.send_meter_values(1, energy_wh=2000)

    async def booked(wh: float) -> bool:
        running = await _ledger(entry).open_sessions("cp-1:1")
        return bool(running) and running[0].energy_wh == wh

    await _poll(lambda: booked(2000))
    [before] = await _ledger(entry).open_sessions()
    # Home Assistant restarts mid-session (the site set up again over the
    # same configuration folder); the charger reconnects and goes on.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sim.url = f"ws://127.0.0.1:{entry.runtime_data.central.port}/cp-1"
    await sim.reconnect(within=5.0)
    await sim.send_meter_values(1, energy_wh=5000)
    await _poll(lambda: booked(5000))
    # It loses the connection and reconnects by itself.
    await sim.reconnect(within=5.0)
    await sim.send_meter_values(1, energy_wh=6000)
    await _poll(lambda: booked(6000))
    await sim.stop_transaction(1, meter_stop_wh=7000)

    session = await _closed(entry)
    assert (session.user_id, session.energy_wh) == (alice, 7000)
    assert session.closed_by is ClosedBy.CHARGER
    assert session.id == before.id  # the same session, never a second one
    assert session.transaction_id == transaction
    # (Readings less than a minute apart are thinned: the latest is kept.)
    registers = [s.wh for s in session.samples]
    assert (registers[0], registers[-1]) == (0, 7000)
    assert registers == sorted(registers)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_reached_cap_refuses_the_next_start(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry = _site("authorised")
    await _setup(hass, entry)
    before = set(entry.subentries)
    await _user_form(
        hass,
        entry,
        {CONF_NAME: "Flat 1A", CONF_USER_TOKENS: [ALICE], CONF_USER_CAP_KWH: 10},
    )
    (alice,) = set(entry.subentries) - before
    sim = await _charger(hass, entry, sims, version)
    assert await sim.authorize(ALICE)
    await sim.plug_in(1)
    await sim.start_transaction(1, ALICE, meter_start_wh=0)
    await sim.send_meter_values(1, energy_wh=6000)
    await sim.stop_transaction(1, meter_stop_wh=11000)
    await _closed(entry)
    sessions = entry.runtime_data.sessions
    assert sessions is not None
    await wait_until(lambda: sessions.month_kwh(alice) == 11)
    assert not await sim.authorize(ALICE)  # Blocked: the cap is reached
    await sim.start_transaction(1, ALICE, meter_start_wh=11000)
    await wait_until(lambda: sim.start_status.get(1) == "Blocked")


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_failing_ledger_leaves_the_chargers_balanced(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry = _site("authorised")
    entry.add_to_hass(hass)
    path = Path(hass.config.path("ev_power_share", f"{entry.entry_id}.sqlite"))
    await hass.async_add_executor_job(partial(path.mkdir, parents=True))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.ledger is None
    await _add_user(hass, entry, "Flat 1A", ALICE)
    sim = await _charger(hass, entry, sims, version)
    await sim.plug_in(1)
    await sim.start_transaction(1, ALICE, meter_start_wh=0)
    await sim.send_meter_values(1, currents=(16.0, 16.0, 16.0), energy_wh=500)
    assert sim.start_status.get(1) == "Accepted"
    controller = entry.runtime_data.controller

    def balanced() -> bool:
        allocated = controller.data.allocation.ports["cp-1:1"].current_a
        return 0 < sim.effective_limit(1) <= allocated

    # Controlled all along: the charger holds no more than the allocator gave it.
    await controller.async_refresh()
    await wait_until(balanced)
    sessions = entry.runtime_data.sessions
    assert sessions is not None
    assert sessions.queue.waiting >= 2  # kept for when the ledger opens

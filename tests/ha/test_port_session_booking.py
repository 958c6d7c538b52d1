"""A smart outlet's sessions (a port without a card reader), through a real
Home Assistant: booked to the user chosen on its "Charging user" select,
rebooked when the choice changes during the session, the choice kept across a
restart, and the session ended when the outlet goes."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.ledger import Ledger

from .test_outlets import _add_outlet, _outlet, _relays, _site, _tick
from .test_users import _add_user


def _select(hass: HomeAssistant) -> str:
    [entity_id] = [
        e.entity_id
        for e in er.async_get(hass).entities.values()
        if e.unique_id.endswith("_charging_user")
    ]
    return entity_id


async def _choose(hass: HomeAssistant, entity_id: str, option: str) -> None:
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": entity_id, "option": option},
        blocking=True,
    )


async def test_an_outlets_session_is_booked_to_the_chosen_user(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _relays(hass)
    circuit = await _site(hass, site_entry)
    alice = await _add_user(hass, site_entry, "Flat 1A")
    bob = await _add_user(hass, site_entry, "Flat 2B")
    port = await _add_outlet(
        hass, site_entry, _outlet("a", circuit, power_sensor="sensor.outlet_a_power")
    )
    select = _select(hass)
    state = hass.states.get(select)
    assert state is not None
    assert state.state == "Unassigned"
    assert state.attributes["options"] == ["Unassigned", "Flat 1A", "Flat 2B"]
    await _choose(hass, select, "Flat 1A")
    for _ in range(30):  # 2.5 minutes
        await _tick(hass, freezer)
    ledger = site_entry.runtime_data.ledger
    assert isinstance(ledger, Ledger)
    [session] = await ledger.open_sessions(port)
    assert session.user_id == alice
    assert session.transaction_id is None
    assert session.energy_wh > 40  # 2.6 kW, read once a minute

    await _choose(hass, select, "Flat 2B")
    await _tick(hass, freezer)
    [rebooked] = await ledger.open_sessions(port)
    assert (rebooked.id, rebooked.user_id) == (session.id, bob)

    # Home Assistant restarts: the choice is kept. (An outlet is switched off
    # while the site is down, and cannot tell a vehicle from none: its
    # session ended there, and the next is booked to the same user.)
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    for _ in range(15):
        await _tick(hass, freezer)
    state = hass.states.get(select)
    assert state is not None
    assert state.state == "Flat 2B"
    ledger = site_entry.runtime_data.ledger
    assert isinstance(ledger, Ledger)
    [kept] = await ledger.open_sessions(port)
    assert kept.id != session.id
    assert kept.user_id == bob

    # The outlet goes away: its session ends.
    assert hass.config_entries.async_remove_subentry(site_entry, port.split(":")[0])
    await hass.async_block_till_done()
    await _tick(hass, freezer)
    assert await ledger.open_sessions(port) == []
    sessions = await ledger.sessions(0, 9e12)
    assert [(s.id, s.user_id) for s in sessions] == [(session.id, bob), (kept.id, bob)]
    assert not any(s.is_open for s in sessions)
    assert sessions[0].energy_wh >= rebooked.energy_wh


async def test_a_removed_users_sessions_stay_under_a_pseudonym(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The board keeps a removed user's past sessions for its audit, booked to
    a pseudonym; the user's name and id are gone from them."""
    await _relays(hass)
    circuit = await _site(hass, site_entry)
    alice = await _add_user(hass, site_entry, "Flat 1A")
    port = await _add_outlet(
        hass, site_entry, _outlet("a", circuit, power_sensor="sensor.outlet_a_power")
    )
    await _choose(hass, _select(hass), "Flat 1A")
    for _ in range(15):
        await _tick(hass, freezer)
    ledger = site_entry.runtime_data.ledger
    assert isinstance(ledger, Ledger)
    [session] = await ledger.open_sessions(port)
    assert session.user_id == alice

    assert hass.config_entries.async_remove_subentry(site_entry, alice)
    await hass.async_block_till_done()
    await _tick(hass, freezer)
    [kept] = [s for s in await ledger.sessions(0, 9e12) if s.id == session.id]
    assert kept.user_id is not None
    assert kept.user_id.startswith("resident-")
    assert alice not in kept.user_id
    assert kept.energy_wh >= session.energy_wh

"""What a charger applies, checked with GetCompositeSchedule: simulated chargers over
real OCPP on 127.0.0.1, balanced by a site running in Home Assistant."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_INTERVAL_S,
    CONF_WATCHDOG_S,
    DOMAIN,
)
from custom_components.ev_power_share.core.model import Port
from custom_components.ev_power_share.ocpp_limits import RAISE_SETTLE_S
from simulator.chargepoint import SimulatedChargePoint

from .conftest import SITE_DATA
from .test_groups import _add
from .test_ocpp_site import CIRCUIT_LIMIT_A, _add_charger, _until
from .test_site_control import _setup

WATCHDOG_S = 4.0
"""Short, so limits are refreshed (and disobeying chargers re-checked) every 2 s."""


async def _site(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options={CONF_INTERVAL_S: 1.0, CONF_WATCHDOG_S: WATCHDOG_S},
    )
    await _setup(hass, entry)
    return entry


def _url(entry: MockConfigEntry) -> str:
    return f"ws://127.0.0.1:{entry.runtime_data.central.port}"


def _port(entry: MockConfigEntry, port_id: str) -> Port:
    return next(p for p in entry.runtime_data.ocpp.readings().ports if p.id == port_id)


def _commands(sim: SimulatedChargePoint) -> list[tuple[str, float | None]]:
    """Live limits set (``("set", A)``) and composite schedules asked (``("get",
    None)``), in the order the charger received them."""
    events: list[tuple[str, float | None]] = []
    for action, payload in sim.received:
        if action == "GetCompositeSchedule":
            events.append(("get", None))
        elif action == "SetChargingProfile":
            profile: dict[str, Any] = payload.get(
                "cs_charging_profiles", payload.get("charging_profile")
            )
            if profile["stack_level"] == 1:  # the live limit, not the failsafe
                schedule = profile["charging_schedule"]
                if isinstance(schedule, list):
                    schedule = schedule[0]
                limit = schedule["charging_schedule_period"][0]["limit"]
                events.append(("set", float(limit)))
    return events


def _assert_changes_checked(events: list[tuple[str, float | None]]) -> None:
    """Each changed limit is followed by a check, each refresh by none."""
    before = None
    for event, following in zip(events, [*events[1:], None], strict=True):
        if event[0] == "set":
            changed = event[1] != before
            if following is not None:
                assert (following == ("get", None)) == changed, events
            before = event[1]


async def _boot(sim: SimulatedChargePoint, sims: list[SimulatedChargePoint]) -> None:
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Accepted"


async def _charge(sim: SimulatedChargePoint, draw_a: float) -> None:
    await sim.plug_in(1)
    await sim.start_transaction(1, f"tag-{sim.id}")
    await sim.send_meter_values(1, currents=(draw_a, draw_a, draw_a))


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_limit_changes_are_verified_not_refreshes(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry = await _site(hass)
    await _add_charger(hass, entry, "cp1", "site")
    ocpp = entry.runtime_data.ocpp
    sim = SimulatedChargePoint("cp1", _url(entry), version=version)  # type: ignore[arg-type]
    await _boot(sim, sims)
    # Idle, it is held at 0 A; the limit is checked once it was accepted.
    await _until(hass, entry, lambda: ("get", None) in _commands(sim))
    assert _commands(sim)[:2] == [("set", 0.0), ("get", None)]
    assert sim.effective_limit(1) == 0

    # Refreshes (same limit, before it lapses) are not checked again.
    await _until(hass, entry, lambda: _commands(sim).count(("set", 0.0)) >= 3)
    assert _commands(sim).count(("get", None)) == 1
    _assert_changes_checked(_commands(sim))

    # A vehicle arrives and gets the whole 32 A (its first report came before it
    # could follow the raise): the change is checked, and as the charger applies
    # it, the port stays under control.
    await _charge(sim, 16.0)
    await _until(hass, entry, lambda: sim.effective_limit(1) == 32)
    await _until(hass, entry, lambda: _commands(sim)[-1] == ("get", None))
    events = _commands(sim)
    assert ("set", 32.0) in events
    _assert_changes_checked(events)
    port = _port(entry, "cp1:1")
    assert port.online
    assert port.ev is not None
    assert ocpp.limits.disobeys("cp1:1") is None


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_charger_without_composite_schedule_is_asked_once(
    hass: HomeAssistant, sims: list[SimulatedChargePoint], version: str
) -> None:
    entry = await _site(hass)
    await _add_charger(hass, entry, "cp1", "site")
    sim = SimulatedChargePoint(
        "cp1",
        _url(entry),
        version=version,  # type: ignore[arg-type]
        composite_schedule=False,
    )
    await _boot(sim, sims)
    await _until(hass, entry, lambda: ("get", None) in _commands(sim))
    # Limits work as before: up for a vehicle, down when it draws 8 A once it
    # could have followed the raise.
    await _charge(sim, 16.0)
    await _until(hass, entry, lambda: sim.effective_limit(1) == 32)
    await asyncio.sleep(RAISE_SETTLE_S)
    await sim.send_meter_values(1, currents=(8.0, 8.0, 8.0))
    await _until(hass, entry, lambda: sim.effective_limit(1) == 10)
    events = _commands(sim)
    assert [e for e in events if e[0] == "set"][-1] == ("set", 10.0)
    assert {0.0, 32.0, 10.0} <= {a for e, a in events if e == "set"}
    assert events.count(("get", None)) == 1  # asked once only, on this connection
    assert _port(entry, "cp1:1").online


async def test_charger_that_ignores_our_limits_is_counted_at_what_it_applies(
    hass: HomeAssistant, sims: list[SimulatedChargePoint]
) -> None:
    entry = await _site(hass)
    circuit = await _add(
        hass, entry, **{CONF_NAME: "Circuit 1", "kind": "circuit", "rating_a": 32}
    )
    await _add_charger(hass, entry, "cp-own", circuit)
    await _add_charger(hass, entry, "cp-ours", circuit)
    ocpp = entry.runtime_data.ocpp
    # cp-own answers our profiles Accepted but its own load management keeps
    # it at its 16 A hardware maximum (the subentry says 32 A).
    own = SimulatedChargePoint(
        "cp-own", _url(entry), version="2.0.1", max_current_a=16, obeys_profiles=False
    )
    ours = SimulatedChargePoint("cp-ours", _url(entry))
    await _boot(own, sims)
    await _boot(ours, sims)

    # Told 0 A (idle), it reports 16 A: counted at 16 A, and not as online.
    await _until(hass, entry, lambda: ocpp.limits.disobeys("cp-own:1") == 16)
    await _until(hass, entry, lambda: ours.effective_limit(1) == 0)
    start = datetime.now(UTC)  # both connected, ours under control
    port = _port(entry, "cp-own:1")
    assert not port.online
    assert port.failsafe_a == 16
    assert port.ev is None
    assert ocpp.online("cp-own")  # the connection is fine, the control is not
    # The user is told, with the charger's name, what to do about it.
    issue_id = f"charger_ignores_limits_{entry.entry_id}_cp_own"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "charger": "Space cp-own",
        "site": "Maple Court",
    }
    assert (
        ir.async_get(hass).async_get_issue(
            DOMAIN, f"charger_ignores_limits_{entry.entry_id}_cp_ours"
        )
        is None
    )
    await _charge(own, 16.0)

    # A vehicle on the other charger gets what the circuit has left: 25.6 - 16 A.
    await _charge(ours, 16.0)
    await _until(hass, entry, lambda: ours.effective_limit(1) == 9)
    allocation = entry.runtime_data.controller.data.allocation
    assert allocation.ports["cp-own:1"].current_a == 16
    assert allocation.ports["cp-own:1"].reason == "offline"
    assert own.effective_limit(1) == 16  # it still ignores us
    assert ocpp.limits.disobeys("cp-own:1") == 16

    # Its load management hands control back: the next check (at the refresh
    # cadence) finds it following us, and the two share the circuit.
    own.obeys_profiles = True
    await _until(hass, entry, lambda: ocpp.limits.disobeys("cp-own:1") is None)
    await _until(hass, entry, lambda: own.effective_limit(1) == ours.effective_limit(1))
    assert _port(entry, "cp-own:1").online
    assert own.effective_limit(1) == 12
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert _commands(own)[-1] == ("get", None)

    # At every instant either charger's limit changed, the circuit held.
    end = datetime.now(UTC)
    instants = sorted(
        {t for s in (own, ours) for t, _ in s.limit_changes(1, end) if t >= start}
        | {start}
    )
    totals = [sum(s.effective_limit(1, t) for s in (own, ours)) for t in instants]
    assert len(instants) >= 4
    assert max(totals) <= CIRCUIT_LIMIT_A

"""No input from one device may stop the control of the others.

Real chargers (simulated, real OCPP on 127.0.0.1) and Home Assistant sensors send
what broken or unlucky devices send; every cycle completes, the others are
balanced as usual, and the faulty one is named in a repair issue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
import math

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import CONF_INTERVAL_S, DOMAIN
from custom_components.ev_power_share.core.gather import PORT_MOST_A
from custom_components.ev_power_share.core.model import Port, Site, Vehicle
from custom_components.ev_power_share.core.ports import (
    CycleInputs,
    PortReadings,
    Published,
)
from simulator.chargepoint import SimulatedChargePoint

from .conftest import SITE_DATA
from .test_groups import _add
from .test_meters import CLAMPS, _clamps, _meter_flow
from .test_ocpp_site import _add_charger, _until
from .test_site_control import FakeTransport, _setup

SITE_LIMIT_A = 80.0  # the 100 A main under the 80 % rule


def _entry() -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options={CONF_INTERVAL_S: 1.0},
    )


async def _charging(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    chargers: Iterable[tuple[str, str]],
    group: str,
) -> list[SimulatedChargePoint]:
    """Configured chargers (id, OCPP version) under ``group``, each with a car
    that started charging, once each holds a live limit."""
    runtime = entry.runtime_data
    made = []
    for cp_id, version in chargers:
        result = await _add_charger(hass, entry, cp_id, group)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        sim = SimulatedChargePoint(
            cp_id,
            f"ws://127.0.0.1:{runtime.central.port}",
            version=version,  # type: ignore[arg-type]
        )
        sims.append(sim)
        made.append(sim)
        await sim.connect()
        assert await sim.boot() == "Accepted"
        await sim.plug_in(1)
        await sim.start_transaction(1, f"tag-{cp_id}")
    await _until(hass, entry, lambda: all(s.effective_limit(1) > 0 for s in made))
    return made


async def test_negative_currents_from_one_charger_do_not_stop_the_others(
    hass: HomeAssistant, sims: list[SimulatedChargePoint]
) -> None:
    """A meter's noise around 0 A (-0.2 A on each phase) or -5 A on one phase
    made the reading a negative draw, which the site model refused: every cycle
    failed while it stood, and every charger dropped to its failsafe."""
    entry = _entry()
    await _setup(hass, entry)
    circuit = await _add(
        hass, entry, **{CONF_NAME: "Circuit 1", "kind": "circuit", "rating_a": 40}
    )
    noisy16, noisy201, good = await _charging(
        hass, entry, sims, [("cp1", "1.6"), ("cp2", "2.0.1"), ("cp3", "1.6")], circuit
    )
    controller = entry.runtime_data.controller
    await noisy16.send_meter_values(1, currents=(-0.2, -0.2, -0.2))
    await noisy201.send_meter_values(1, currents=(-5.0,))
    await good.send_meter_values(1, currents=(10.0, 10.0, 10.0))
    for _ in range(3):
        await controller.async_refresh()
        await hass.async_block_till_done()
        assert controller.last_update_success
    site = controller.data.site
    draws = {p.id: p.ev.draw_a for p in site.ports if p.ev is not None}
    assert draws == {"cp1:1": 0.0, "cp2:1": 0.0, "cp3:1": 10.0}
    # All three are still under control, sharing the 32 A circuit.
    # All three are still under control, sharing the 32 A circuit (the two that
    # draw nothing are held a little above their draw).
    allocation = controller.data.allocation
    assert "offline" not in {p.reason for p in allocation.ports.values()}
    assert sum(p.current_a for p in allocation.ports.values()) <= 32.0
    assert allocation.ports["cp3:1"].current_a > 10.0
    assert all(s.effective_limit(1) >= 6 for s in (noisy16, noisy201, good))


class _FaultySource(FakeTransport):
    """A port source with a bug: it passes a reading on that no model accepts."""


async def test_a_port_the_model_refuses_is_counted_at_its_most(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    entry = _entry()
    await _setup(hass, entry)
    controller = entry.runtime_data.controller
    bad = Port("bad:1", "site", max_a=32.0, ev=Vehicle(max_a=32.0, draw_a=math.nan))
    good = Port("good:1", "site", max_a=80.0, ev=Vehicle(max_a=80.0))
    source = _FaultySource([bad, good])
    controller.add_source(source)
    await controller.async_refresh()
    await hass.async_block_till_done()
    assert controller.last_update_success
    allocation = controller.data.allocation
    # The bad port is counted offline at its maximum: the other gets the rest.
    assert allocation.ports["bad:1"].reason == "offline"
    assert allocation.ports["bad:1"].current_a == 32.0
    assert allocation.ports["good:1"].current_a == SITE_LIMIT_A - 32.0
    assert source.applied[-1] == {"good:1": 48.0}
    (issue,) = [
        i
        for (domain, i) in issue_registry.issues
        if domain == DOMAIN and i.startswith("port_input_invalid")
    ]
    placeholders = issue_registry.issues[(DOMAIN, issue)].translation_placeholders
    assert placeholders is not None
    assert placeholders["device"] == "bad:1"
    assert "draw_a" in placeholders["problem"]
    # Fixed: counted as usual again, and the issue goes away.
    source.port_list[0] = Port("bad:1", "site", max_a=32.0, ev=Vehicle(max_a=32.0))
    await controller.async_refresh()
    await hass.async_block_till_done()
    assert controller.data.allocation.ports["bad:1"].current_a == 32.0
    assert controller.data.allocation.ports["bad:1"].reason != "offline"
    assert issue_registry.async_get_issue(DOMAIN, issue) is None


async def test_a_port_in_an_unknown_group_is_counted_at_the_site(
    hass: HomeAssistant,
) -> None:
    entry = _entry()
    await _setup(hass, entry)
    controller = entry.runtime_data.controller
    lost = Port("lost:1", "nowhere", connection="L9", max_a=math.inf)
    good = Port("good:1", "site", max_a=80.0, ev=Vehicle(max_a=80.0))
    controller.add_source(FakeTransport([lost, good]))
    await controller.async_refresh()
    assert controller.last_update_success
    site = controller.data.site
    (counted,) = [p for p in site.ports if p.id == "lost:1"]
    assert (counted.group, counted.connection) == ("site", "L1-L2-L3")
    assert counted.failsafe_a == PORT_MOST_A
    assert controller.data.allocation.ports["good:1"].current_a == 0.0  # 80 - 80


class _Broken:
    """An adjuster with a bug."""

    def adjust(
        self, site: Site, inputs: CycleInputs, now: float
    ) -> tuple[Site, Published]:
        raise ZeroDivisionError("a bug")


async def test_a_failing_adjuster_holds_every_charger_at_its_failsafe(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    entry = _entry()
    await _setup(hass, entry)
    controller = entry.runtime_data.controller
    controller.add_source(
        FakeTransport([Port("car:1", "site", max_a=32.0, ev=Vehicle(max_a=32.0))])
    )
    remove = controller.add_adjuster(_Broken())
    await controller.async_refresh()
    assert controller.last_update_success
    assert controller.data.allocation.ports["car:1"].current_a == 6.0  # failsafe
    issues = [i for (d, i) in issue_registry.issues if d == DOMAIN]
    assert any(i.startswith("site_input_failed__Broken") for i in issues), issues
    remove()
    await controller.async_refresh()
    assert controller.data.allocation.ports["car:1"].current_a == 32.0
    assert not [i for (d, i) in issue_registry.issues if d == DOMAIN and "input" in i]


async def test_garbage_sensor_states_are_not_readings(hass: HomeAssistant) -> None:
    """-1e38 (a common "no value" marker), NaN and strings are not currents: the
    meter is stale meanwhile (its last estimate held, then the failsafe), never
    a load of 10^38 A that stops every charger, nor a value that widens headroom."""
    entry = _entry()
    await _setup(hass, entry)
    _clamps(hass, 20, 20, 20)
    base = {CONF_NAME: "Main CT clamps", "group": "site", "stale_after_s": 15}
    result = await _meter_flow(hass, entry, "sensors", {**base, **CLAMPS})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    controller = entry.runtime_data.controller
    controller.add_source(
        FakeTransport([Port("car", "site", max_a=80.0, ev=Vehicle(max_a=80.0))])
    )
    await controller.async_refresh()
    meters = entry.runtime_data.meters
    (meter_id,) = meters.meters
    assert meters.estimates[meter_id].unmanaged_a == (20.0, 20.0, 20.0)
    assert controller.data.allocation.ports["car"].current_a == SITE_LIMIT_A - 20
    for garbage in ("-1e38", "nan", "inf", "abc", "1e12"):
        _clamps(hass, 20, 20, 20)
        hass.states.async_set(
            "sensor.clamp_l2", garbage, {"unit_of_measurement": "A"}, force_update=True
        )
        await asyncio.sleep(0)
        await controller.async_refresh()
        await hass.async_block_till_done()
        assert controller.last_update_success
        estimate = meters.estimates[meter_id]
        assert estimate.state.value == "fresh"  # the last usable sample is recent
        assert max(estimate.unmanaged_a) <= 20.0
        assert controller.data.allocation.ports["car"].current_a == 60.0
    assert meters.rejected[meter_id] == 5


class _Flaky(FakeTransport):
    """A port source with a bug: after its first cycle it cannot say its ports,
    and it cannot send."""

    def __init__(self, ports: list[Port]) -> None:
        super().__init__(ports)
        self.calls = 0

    def readings(self, now: float) -> PortReadings:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("a bug")
        return super().readings(now)

    async def async_apply(self, commands: Mapping[str, float]) -> None:
        raise RuntimeError("a bug")


async def test_a_failing_source_is_counted_as_last_seen_and_others_go_on(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    entry = _entry()
    await _setup(hass, entry)
    controller = entry.runtime_data.controller
    flaky = _Flaky([Port("f:1", "site", max_a=16.0, ev=Vehicle(max_a=16.0))])
    good = FakeTransport([Port("g:1", "site", max_a=80.0, ev=Vehicle(max_a=80.0))])
    controller.add_source(flaky)
    controller.add_source(good)
    await controller.async_refresh()
    assert controller.last_update_success
    assert good.applied[-1] == {"g:1": 64.0}  # 80 - 16; f's send failed alone
    await controller.async_refresh()
    assert controller.last_update_success
    allocation = controller.data.allocation
    assert allocation.ports["f:1"].reason == "offline"
    assert allocation.ports["f:1"].current_a == 16.0  # as last seen, at its most
    assert allocation.ports["g:1"].current_a == 64.0
    assert any(
        i.startswith("site_input_failed__Flaky")
        for (d, i) in issue_registry.issues
        if d == DOMAIN
    )


class _BrokenEstimator:
    def update(self, *_args: object) -> None:
        raise ZeroDivisionError("a bug")


async def test_a_meter_that_cannot_be_read_holds_its_chargers_at_failsafe(
    hass: HomeAssistant,
) -> None:
    entry = _entry()
    await _setup(hass, entry)
    _clamps(hass, 20, 20, 20)
    base = {CONF_NAME: "Main CT clamps", "group": "site", "stale_after_s": 15}
    result = await _meter_flow(hass, entry, "sensors", {**base, **CLAMPS})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    controller = entry.runtime_data.controller
    controller.add_source(
        FakeTransport([Port("car", "site", max_a=80.0, ev=Vehicle(max_a=80.0))])
    )
    meters = entry.runtime_data.meters
    (meter_id,) = meters.meters
    meters._estimators[meter_id] = _BrokenEstimator()  # type: ignore[assignment]
    await controller.async_refresh()
    assert controller.last_update_success
    assert meters.estimates[meter_id].state.value == "failed"
    assert controller.data.allocation.ports["car"].current_a == 6.0

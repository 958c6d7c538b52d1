"""End to end, real parts only: two simulated chargers (OCPP 1.6J and 2.0.1 over
websockets) and a simulated SDM630 (Modbus TCP) at the site's main, all on
127.0.0.1, balanced by the site in Home Assistant. The building's load rises and
falls; the chargers follow, and the main never carries more than its limit."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import CONF_INTERVAL_S, DOMAIN
from custom_components.ev_power_share.core.load_estimate import MeterConfig
from simulator.chargepoint import SimulatedChargePoint
from simulator.modbus_meter import SimulatedModbusMeter

from .conftest import SITE_DATA
from .test_meters import _meter_flow
from .test_ocpp_site import _add_charger
from .test_site_control import _setup

SITE_LIMIT_A = 80.0  # a 100 A main under the 80 % rule
CAR_MAX_A = 16.0


async def test_chargers_follow_the_buildings_load(
    hass: HomeAssistant,
    sims: list[SimulatedChargePoint],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Real time runs here: a 3 s smoothing window instead of 30 s keeps it short.
    monkeypatch.setattr(
        "custom_components.ev_power_share.meters.MeterConfig",
        functools.partial(MeterConfig, smoothing_s=3.0),
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options={CONF_INTERVAL_S: 1.0},
    )
    await _setup(hass, entry)
    runtime = entry.runtime_data
    async with SimulatedModbusMeter("sdm630") as meter:
        base = [40.0]  # the building's own load per phase

        def draws() -> list[float]:
            # Each car draws what its charger allows, up to its 16 A.
            return [min(s.effective_limit(1), CAR_MAX_A) for s in sims]

        def serve() -> None:
            meter.set(currents=base[0] + sum(draws()))

        serve()
        result = await _meter_flow(
            hass,
            entry,
            "modbus",
            {
                CONF_NAME: "Main meter",
                "group": "site",
                "profile": "sdm630",
                "host": "127.0.0.1",
                "port": meter.port,
                "unit": 1,
                "poll_interval_s": 1,
                "stale_after_s": 15,
            },
        )
        assert result["type"] == "create_entry"
        meter_id = next(
            sid for sid, s in entry.subentries.items() if s.subentry_type == "meter"
        )
        url = f"ws://127.0.0.1:{runtime.central.port}"
        for cp_id, version in (("cp1", "1.6"), ("cp2", "2.0.1")):
            await _add_charger(hass, entry, cp_id, "site")
            sim = SimulatedChargePoint(cp_id, url, version=version)  # type: ignore[arg-type]
            sims.append(sim)
            await sim.connect()
            assert await sim.boot() == "Accepted"
            await sim.plug_in(1)
            await sim.start_transaction(1, f"tag-{cp_id}")

        async def cycle() -> None:
            """The cars draw, report it, the meter shows it, the site reacts."""
            for sim, amps in zip(sims, draws(), strict=True):
                await sim.send_meter_values(1, currents=(amps, amps, amps))
            serve()
            served_at = time.time()
            async with asyncio.timeout(5):  # the meter is read again
                while True:
                    reading = runtime.meters.reading(meter_id)
                    if (
                        reading is not None
                        and reading.timestamp.timestamp() > served_at
                    ):
                        break
                    await asyncio.sleep(0.05)
            await runtime.controller.async_refresh()
            await hass.async_block_till_done()

        async def settle(check: Any) -> None:
            async with asyncio.timeout(30):
                while not check():
                    await cycle()

        def within_limit() -> bool:
            # What the chargers allow plus the building's load, on every phase.
            return sum(s.effective_limit(1) for s in sims) + base[0] <= SITE_LIMIT_A

        def known_load() -> bool:
            # The meter's estimate has caught up with the building (at start it
            # lags: the cars came online before they reported any current).
            estimate = runtime.meters.estimates.get(meter_id)
            return estimate is not None and min(estimate.unmanaged_a) >= base[0] - 1.0

        # 40 A of building load leaves 40 A: both cars at their 16 A.
        await settle(lambda: draws() == [16.0, 16.0] and known_load())
        assert within_limit()
        # The building takes 60 A: 20 A are left, 10 A each, within one cycle.
        base[0] = 60.0
        await cycle()
        assert within_limit()
        assert [s.effective_limit(1) for s in sims] == [10.0, 10.0]
        await settle(lambda: draws() == [10.0, 10.0])
        # Back to 40 A: the cars get more only once the lower load has lasted
        # (never while it might be a dip).
        base[0] = 40.0
        await cycle()
        assert draws() == [10.0, 10.0]
        await settle(lambda: draws() == [16.0, 16.0])
        assert within_limit()
        assert runtime.meters.estimates[meter_id].state.value == "fresh"

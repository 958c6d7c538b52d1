"""Benchmark: how much event-loop time one control cycle takes, 200 ports
(plain ports, then ports of every kind).

The site has 2 panels of 10 circuits each (23 power groups, every one with its
entities), and the 200 ports hang under the circuits.

    .venv/bin/python bench/controller.py

Runs a real Home Assistant (the pytest-homeassistant-custom-component harness,
so nothing touches your configuration), sets up a site, attaches 200 charging
ports through a stand-in transport that sends nothing, and times 200 cycles:
the allocation itself (what the controller measures) and a whole refresh
(allocation, commands, and every entity writing its state). It prints figures
and asserts nothing; Home Assistant's log lines are not shown (its event loop
runs without the harness's debug mode, as Home Assistant runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
import statistics
import sys
import time
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Import before the harness mounts its own custom_components (as tests/conftest.py).
import custom_components.ev_power_share  # noqa: F401

N_PORTS = 200
N_PANELS = 2
N_CIRCUITS = 10
CYCLES = 200


class _Silent:
    """A transport that serves ports and sends nothing."""

    def __init__(self, ports: list[Any]) -> None:
        self._ports = ports

    def readings(self, now: float) -> Any:
        from custom_components.ev_power_share.core.ports import (  # noqa: PLC0415
            PortReadings,
        )

        return PortReadings(tuple(self._ports))

    async def async_apply(self, commands: Mapping[str, float]) -> None:
        return None


class _Mixed:
    """A quarter of the ports each of every kind, counted every cycle by that
    kind's own code (as its source does): plain ports (OCPP's stand-in),
    smart outlets (``core.outlets``), chargers already in Home Assistant
    (``ha_charger_logic``) and Modbus charger sockets
    (``modbus_charger_ports``), with what each takes and holds for the
    command writer. Their devices are simulated: everything is online."""

    def __init__(self, plain: list[Any], circuits: list[str]) -> None:
        from custom_components.ev_power_share.core.outlets import (  # noqa: PLC0415
            OutletConfig,
            OutletMemory,
        )
        from custom_components.ev_power_share.ha_charger_logic import (  # noqa: PLC0415
            HaCharger,
            Track,
        )
        from custom_components.ev_power_share.ha_profiles import (  # noqa: PLC0415
            PROFILES,
        )
        from custom_components.ev_power_share.modbus_charger_ports import (  # noqa: PLC0415
            ModbusChargerConfig,
            SocketState,
        )

        n = len(plain) // 4
        self.plain = plain[:n]
        self.outlets = [
            (
                OutletConfig(
                    f"outlet{i}",
                    f"o{i}",
                    circuits[i % len(circuits)],
                    ("L1", "L2", "L3")[i % 3],
                    f"switch.o{i}",
                    10.0,
                    power_entity="sensor.p",
                ),
                OutletMemory(),
            )
            for i in range(n)
        ]
        self.ha = [
            (
                HaCharger(
                    f"ha{i}",
                    f"h{i}",
                    circuits[i % len(circuits)],
                    PROFILES["generic"],
                    {"limit": f"number.h{i}"},
                    rated_a=16.0,
                ),
                Track(),
            )
            for i in range(n)
        ]
        self.modbus = [
            ModbusChargerConfig(
                subentry_id=f"mb{i}",
                name=f"m{i}",
                group=circuits[i % len(circuits)],
                host="127.0.0.1",
                model="heidelberg_ec",
                failsafe_a=6.0,
                max_current_a=16.0,
            )
            for i in range(len(plain) - 3 * n)
        ]
        self.sockets = {c.port_id(1): SocketState() for c in self.modbus}
        self._cache: tuple[float, list[Any]] | None = None

    def readings(self, now: float) -> list[Any]:
        from custom_components.ev_power_share.core.model import (  # noqa: PLC0415
            Supply,
        )
        from custom_components.ev_power_share.core.outlets import (  # noqa: PLC0415
            OutletSample,
            outlet_reading,
        )
        from custom_components.ev_power_share.core.ports import (  # noqa: PLC0415
            PortReadings,
        )
        from custom_components.ev_power_share.ha_charger_logic import (  # noqa: PLC0415
            LimitScale,
            Observation,
            count,
            port,
            steps,
        )
        from custom_components.ev_power_share.modbus.charger_client import (  # noqa: PLC0415
            SocketReading,
        )
        from custom_components.ev_power_share.modbus_charger_ports import (  # noqa: PLC0415
            modbus_readings,
        )

        supply = Supply()
        found = [PortReadings(tuple(self.plain))]
        ports, held, taken = [], {}, {}
        for config, memory in self.outlets:
            sample = OutletSample(True, now - 3600.0, power_w=2300.0)
            reading = outlet_reading(config, supply, sample, memory, now)
            ports.append(reading.port)
            held[config.port_id] = reading.held
            taken[config.port_id] = reading.steps
        found.append(PortReadings(tuple(ports), taken, held))
        ports, held, taken = [], {}, {}
        for charger, track in self.ha:
            obs = Observation(
                limit=16.0, scale=LimitScale(), currents_a=(15.8,) * 3, plugged=True
            )
            counted = count(charger, obs, track, now, 230.0)
            ports.append(port(charger, counted, obs))
            held[charger.port_id] = counted.held
            taken[charger.port_id] = steps(charger, obs.scale, 230.0, 6.0)
        found.append(PortReadings(tuple(ports), taken, held))
        polled = SocketReading(
            limit_a=16.0,
            connected=True,
            charging=True,
            currents_a=(15.9,) * 3,
            energy_kwh=None,
            valid=True,
        )
        for state in self.sockets.values():  # its charger's task polled it
            if state.reading is None:
                state.connected(polled, 6.0, now)
            state.polled(polled, now)
        found.append(modbus_readings(self.modbus, self.sockets, now))
        return found

    def cached(self, now: float) -> list[Any]:
        """This cycle's readings of every kind (counted once a cycle)."""
        if self._cache is None or self._cache[0] != now:
            self._cache = (now, self.readings(now))
        return self._cache[1]

    def sources(self) -> list[Any]:
        """One port source per kind (each is read once a cycle)."""
        return [_Part(self, k) for k in range(4)]


class _Part:
    """One kind's port source of :class:`_Mixed` (its readings, sends nothing)."""

    def __init__(self, mixed: _Mixed, kind: int) -> None:
        self._mixed = mixed
        self._kind = kind

    def readings(self, now: float) -> Any:
        return self._mixed.cached(now)[self._kind]

    async def async_apply(self, commands: Mapping[str, float]) -> None:
        return None


def _figures(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[round(0.95 * (len(samples) - 1))]
    return f"{name:<38} median {statistics.median(samples):6.2f} ms   p95 {p95:6.2f} ms"


async def bench_loop_time(
    hass: Any, enable_custom_integrations: Any, socket_enabled: Any
) -> None:
    """Set up a site with 200 ports and time its cycles."""
    import asyncio  # noqa: PLC0415
    import logging  # noqa: PLC0415
    from unittest.mock import patch  # noqa: PLC0415

    # Home Assistant runs its loop without debug mode (which the harness turns on,
    # and which slows every task), and its log is not what this prints.
    asyncio.get_running_loop().set_debug(False)
    root = logging.getLogger()
    muted = [(handler, handler.level) for handler in root.handlers]
    for handler, _ in muted:
        handler.setLevel(logging.CRITICAL + 1)
    # The site's session ledger goes to a folder of its own, removed at the end.
    import tempfile  # noqa: PLC0415

    config_dir = tempfile.TemporaryDirectory()
    hass.config.config_dir = config_dir.name
    # The embedded OCPP central system listens on 127.0.0.1, on a free port.
    with (
        config_dir,
        patch("custom_components.ev_power_share.OCPP_HOST", "127.0.0.1"),
        patch("custom_components.ev_power_share.DEFAULT_OCPP_PORT", 0),
    ):
        try:
            await _bench(hass)
        finally:
            for handler, level in muted:
                handler.setLevel(level)


async def _bench(hass: Any) -> None:
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
    )

    from custom_components.ev_power_share.const import DOMAIN  # noqa: PLC0415
    from custom_components.ev_power_share.core.model import (  # noqa: PLC0415
        Port,
        Vehicle,
    )

    def group(gid: str, parent: str, rating: float) -> dict[str, Any]:
        return {
            "subentry_id": gid,
            "subentry_type": "group",
            "title": gid,
            "unique_id": None,
            "data": {
                "kind": "panel" if parent == "site" else "circuit",
                "parent": parent,
                "rating_a": rating,
                "phases": ["L1", "L2", "L3"],
                "continuous_factor": 0.8,
                "max_power_kw": None,
                "fixed_load_a": 0.0,
            },
        }

    meter = {
        "subentry_id": "meter",
        "subentry_type": "meter",
        "title": "Main clamps",
        "unique_id": None,
        "data": {
            "source": "sensors",
            "group": "site",
            "current_l1": "sensor.clamp_l1",
            "current_l2": "sensor.clamp_l2",
            "current_l3": "sensor.clamp_l3",
            "power": None,
            "power_sign": "import_positive",
            "stale_after_s": 3600.0,
        },
    }
    panels = [f"panel{p}" for p in range(N_PANELS)]
    circuits = [f"{p}-c{c}" for p in panels for c in range(N_CIRCUITS)]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Bench",
        unique_id="bench",
        data={
            "name": "Bench",
            "supply": "three_phase_400",
            "main_breaker_a": 400.0,
            "continuous_factor": 0.8,
        },
        subentries_data=[group(p, "site", 250.0) for p in panels]
        + [group(c, c.split("-")[0], 63.0) for c in circuits]
        + [meter],
        options={"grid_power_entity": "sensor.grid"},
    )
    # A site meter (three CT clamps) and a grid power sensor: the meter's
    # estimate and the solar controller run every cycle too.
    amps = {"unit_of_measurement": "A", "device_class": "current"}
    for leg in (1, 2, 3):
        hass.states.async_set(f"sensor.clamp_l{leg}", str(40 + leg), amps)
    hass.states.async_set(
        "sensor.grid", "-3000", {"unit_of_measurement": "W", "device_class": "power"}
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    controller = entry.runtime_data.controller
    conns = ("L1-L2-L3", "L2-L3-L1", "L3-L1-L2", "L1", "L2", "L3")
    ports = [
        Port(
            f"port{i:03d}",
            circuits[i % len(circuits)],
            conns[i % 6],
            max_a=32.0,
            ev=Vehicle(
                phases=1 + 2 * (i % 2), max_a=16.0 + 16 * (i % 3 == 0), arrived_s=i
            ),
        )
        for i in range(N_PORTS)
    ]
    remove = controller.add_source(_Silent(ports))
    from custom_components.ev_power_share.core.settings import (  # noqa: PLC0415
        PortSettings,
    )
    from custom_components.ev_power_share.core.solar import (  # noqa: PLC0415
        ChargeMode,
    )

    for port in ports[::10]:  # 20 ports in solar mode
        controller.set_port_settings(port.id, PortSettings(mode=ChargeMode.SOLAR))
    allocation_ms, refresh_ms = await _time_cycles(hass, controller)
    print(
        f"\nControl cycle, {N_PORTS} ports under {len(circuits)} circuits and "
        f"{N_PANELS} panels, a site meter, 20 ports in solar mode, {CYCLES} "
        "cycles, one core"
    )
    print(_figures("allocation (meters, solar, allocator)", allocation_ms))
    print(_figures("whole refresh (commands + entities)", refresh_ms))
    remove()
    mixed = _Mixed(ports, circuits)
    for source in mixed.sources():
        controller.add_source(source)
    allocation_ms, refresh_ms = await _time_cycles(hass, controller)
    print(
        f"\nThe same, {N_PORTS} ports of every kind: a quarter each OCPP "
        "(stand-in), smart outlets, chargers already in Home Assistant, "
        "Modbus chargers (each counted by its own code)"
    )
    print(_figures("allocation (readings, meters, solar, allocator)", allocation_ms))
    print(_figures("whole refresh (commands + entities)", refresh_ms))
    await hass.config_entries.async_unload(entry.entry_id)


async def _time_cycles(hass: Any, controller: Any) -> tuple[list[float], list[float]]:
    """The allocation and whole refresh of :data:`CYCLES` cycles (ms)."""
    await controller.async_refresh()
    allocation_ms: list[float] = []
    refresh_ms: list[float] = []
    for _ in range(CYCLES):
        start = time.perf_counter()
        await controller.async_refresh()
        await hass.async_block_till_done()
        refresh_ms.append((time.perf_counter() - start) * 1000.0)
        allocation_ms.append(controller.data.cycle_ms)
    return allocation_ms, refresh_ms


if __name__ == "__main__":
    sys.exit(
        pytest.main(
            [
                __file__,
                "-qq",
                "-s",
                "--no-summary",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:sugar",
                "-o",
                "python_functions=bench_*",
                "-o",
                "asyncio_mode=auto",
                "--no-header",
                "-W",
                "ignore",
            ]
        )
    )

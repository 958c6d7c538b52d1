"""Simulator tests: the vehicle model, the site model, and a whole site on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from custom_components.ev_power_share.csms import (
    Admission,
    CentralSystem,
    Station,
    StationConfig,
)
from simulator.modbus_meter import SimulatedModbusMeter

TIMEOUT_S = 5.0
"""Bound of every network step of a test."""


@pytest.fixture(autouse=True)
def _real_sockets(socket_enabled: None) -> None:
    """The Home Assistant test plugin blocks sockets; the loopback tests use real
    ones (on 127.0.0.1 only: connecting elsewhere stays blocked)."""


class QuietListener:
    """The central system's callbacks, unused: tests read ``central.stations``."""

    def on_connected(self, station: Station) -> None:
        """Unused."""

    def on_disconnected(self, station: Station) -> None:
        """Unused."""

    def on_boot(self, station: Station) -> None:
        """Unused."""

    def on_status(self, station: Station, connector_id: int) -> None:
        """Unused."""

    def on_meter(self, station: Station, connector_id: int) -> None:
        """Unused."""


def authorize(station_id: str, password: str | None) -> Admission:
    """The scenarios' charge point ids (``cp-…``) are known; others are refused."""
    return Admission.ACCEPTED if station_id.startswith("cp-") else Admission.REJECTED


STATION_CONFIG = StationConfig(
    meter_interval_s=1, watchdog_s=30.0, response_timeout_s=3.0
)


async def start_central(port: int = 0) -> CentralSystem:
    system = CentralSystem(
        host="127.0.0.1",
        port=port,
        authorize=authorize,
        listener=QuietListener(),
        config=STATION_CONFIG,
    )
    async with asyncio.timeout(TIMEOUT_S):
        await system.start()
    return system


@pytest.fixture
async def central() -> AsyncIterator[CentralSystem]:
    """The project's real OCPP central system on 127.0.0.1, a free port."""
    system = await start_central()
    yield system
    async with asyncio.timeout(TIMEOUT_S):
        await system.stop()


@pytest.fixture
async def meter() -> AsyncIterator[SimulatedModbusMeter]:
    """A simulated SDM630 on 127.0.0.1, a free port."""
    served = SimulatedModbusMeter("sdm630")
    async with asyncio.timeout(TIMEOUT_S):
        await served.start()
    yield served
    async with asyncio.timeout(TIMEOUT_S):
        await served.stop()


async def wait_until(
    predicate: Callable[[], object], within: float = TIMEOUT_S
) -> float:
    """Poll until ``predicate()`` is true; the time it took (fails after ``within``)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 (state set by other tasks)
            await asyncio.sleep(0.02)
    return loop.time() - start

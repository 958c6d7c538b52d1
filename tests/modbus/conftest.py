"""A real Modbus TCP server (the simulated meter) on 127.0.0.1 and helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import socket

import pytest

from simulator.modbus_meter import SimulatedModbusMeter

TIMEOUT_S = 5.0
"""Bound of every network step of a test."""
REQUEST_TIMEOUT_S = 0.5
"""The client's per-request timeout in tests (a silent meter costs this much)."""


@pytest.fixture(autouse=True)
def _real_sockets(socket_enabled: None) -> None:
    """The Home Assistant test plugin blocks sockets; these tests use real ones (on
    127.0.0.1 only: connecting elsewhere stays blocked)."""


class FakeMonotonic:
    """A monotonic clock the test moves by hand (for back-off timing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


MeterFactory = Callable[..., Awaitable[SimulatedModbusMeter]]


@pytest.fixture
async def make_meter() -> AsyncIterator[MeterFactory]:
    """Start simulated meters (``make_meter("sdm630", unit=3)``); all stopped after."""
    meters: list[SimulatedModbusMeter] = []

    async def make(profile: str = "sdm630", **kwargs: object) -> SimulatedModbusMeter:
        meter = SimulatedModbusMeter(profile, **kwargs)  # type: ignore[arg-type]
        meters.append(meter)
        async with asyncio.timeout(TIMEOUT_S):
            await meter.start()
        return meter

    yield make
    async with asyncio.timeout(TIMEOUT_S):
        for meter in meters:
            await meter.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (just released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

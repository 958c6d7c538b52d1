"""A real central system on 127.0.0.1 (port 0) and real simulated charge points."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import hmac
from typing import Any

import aiohttp
import pytest

from custom_components.ev_power_share.csms import (
    Admission,
    CentralSystem,
    Station,
    StationConfig,
)
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource
from simulator import SimulatedChargePoint

PASSWORDS = {"cp-secure": "s3cret-passw0rd"}
WATCHDOG_S = 2.0
TIMEOUT_S = 5.0


def ocpp_source(
    chargers: list[ChargerConfig], config: StationConfig | None = None, **kwargs: Any
) -> OcppSource:
    """An OCPP port source for ``chargers``: a 6 A site failsafe, 230 V, and
    chargers nobody configured refused (``kwargs``: a clock, callbacks)."""
    options: dict[str, Any] = {
        "site_failsafe_a": 6.0,
        "on_change": lambda: None,
        "on_unknown": lambda _cp_id: False,
        "voltage_v": 230.0,
    }
    return OcppSource(chargers, config=config or StationConfig(), **(options | kwargs))


def authorize(station_id: str, password: str | None) -> Admission:
    """Known ids with a password must give it; ``pending*`` waits; ``cp*`` is known."""
    if station_id in PASSWORDS:
        ok = password is not None and hmac.compare_digest(
            password, PASSWORDS[station_id]
        )
        return Admission.ACCEPTED if ok else Admission.REJECTED
    if station_id.startswith("pending"):
        return Admission.PENDING
    if station_id.startswith("cp"):
        return Admission.ACCEPTED
    return Admission.REJECTED


class RecordingListener:
    """Records every callback as (event, station id, connector id)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []
        self.stations: list[Station] = []

    def on_connected(self, station: Station) -> None:
        self.stations.append(station)
        self.events.append(("connected", station.id, None))

    def on_disconnected(self, station: Station) -> None:
        self.events.append(("disconnected", station.id, None))

    def on_boot(self, station: Station) -> None:
        self.events.append(("boot", station.id, None))

    def on_status(self, station: Station, connector_id: int) -> None:
        self.events.append(("status", station.id, connector_id))

    def on_meter(self, station: Station, connector_id: int) -> None:
        self.events.append(("meter", station.id, connector_id))

    def count(self, event: str, station_id: str) -> int:
        return sum(1 for e, s, _ in self.events if e == event and s == station_id)


async def wait_until(
    predicate: Callable[[], object], within: float = TIMEOUT_S
) -> None:
    """Poll until ``predicate()`` is true (fails the test after ``within`` s)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 (state set by callbacks, not an event)
            await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def _real_sockets(socket_enabled: None) -> None:
    """The Home Assistant test plugin blocks sockets; these tests use real ones (on
    127.0.0.1 only: connecting elsewhere stays blocked)."""


@pytest.fixture
def listener() -> RecordingListener:
    return RecordingListener()


@pytest.fixture
def station_config() -> StationConfig:
    return StationConfig(
        meter_interval_s=5, watchdog_s=WATCHDOG_S, response_timeout_s=3.0
    )


@pytest.fixture
async def central(
    listener: RecordingListener, station_config: StationConfig
) -> AsyncIterator[CentralSystem]:
    system = CentralSystem(
        host="127.0.0.1",
        port=0,
        authorize=authorize,
        listener=listener,
        config=station_config,
        has_password=PASSWORDS.__contains__,
    )
    async with asyncio.timeout(TIMEOUT_S):
        await system.start()
    yield system
    async with asyncio.timeout(TIMEOUT_S):
        await system.stop()


@pytest.fixture(params=["1.6", "2.0.1"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


SimFactory = Callable[..., Awaitable[SimulatedChargePoint]]


@pytest.fixture
async def make_sim(central: CentralSystem, version: str) -> AsyncIterator[SimFactory]:
    """Connect simulated charge points (of the test's OCPP version); closed at the end."""
    sims: list[SimulatedChargePoint] = []

    async def make(
        station_id: str = "cp-1", connect: bool = True, **kwargs: object
    ) -> SimulatedChargePoint:
        kwargs.setdefault("version", version)
        sim = SimulatedChargePoint(
            station_id,
            f"ws://127.0.0.1:{central.port}",
            response_timeout=3.0,
            **kwargs,  # type: ignore[arg-type]
        )
        sims.append(sim)
        if connect:
            async with asyncio.timeout(TIMEOUT_S):
                await sim.connect()
        return sim

    yield make
    async with asyncio.timeout(TIMEOUT_S):
        for sim in sims:
            await sim.close()


async def booted(
    make_sim: SimFactory,
    central: CentralSystem,
    station_id: str = "cp-1",
    **kwargs: object,
) -> tuple[SimulatedChargePoint, Station]:
    """A simulator that booted (Accepted), and its station once configured."""
    sim = await make_sim(station_id, **kwargs)
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
    await wait_until(
        lambda: station_id in central.stations and central.stations[station_id].booted
    )

    # The post-boot configuration runs in the background: let it finish first
    # (the metering settings; how the station takes profiles is asked beside
    # them, and may come first).
    def configured() -> bool:
        actions = [action for action, _ in sim.received]
        if sim.version == "1.6":
            return actions.count("ChangeConfiguration") >= 2
        return "SetVariables" in actions

    await wait_until(configured)
    return sim, central.stations[station_id]


@contextlib.asynccontextmanager
async def raw_station(
    central: CentralSystem, station_id: str, version: str, within: float = TIMEOUT_S
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A bare websocket to the central system as ``station_id`` (any frame can be
    sent over it), everything on it bounded by ``within`` seconds."""
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(within),
        session.ws_connect(
            f"ws://127.0.0.1:{central.port}/{station_id}",
            protocols=(f"ocpp{version}",),
        ) as ws,
    ):
        yield ws

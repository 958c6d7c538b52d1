"""What connections may take from the central system: bounded in number and time.

Idle sockets, half-done handshakes and unknown ids come from other loopback
addresses (127.0.0.2 …) than the good charger (127.0.0.1), as from other hosts;
some tests flood from the charger's own address too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.ev_power_share.csms import (
    CentralSystem,
    ConnectionLimits,
    StationConfig,
)
from simulator import SimulatedChargePoint

from .conftest import TIMEOUT_S, RecordingListener, authorize, wait_until

LIMITS = ConnectionLimits(
    max_connections=400,
    max_unproven=64,
    max_unproven_per_address=8,
    max_pending=3,
    handshake_timeout_s=0.5,
    first_message_timeout_s=0.5,
    heartbeat_s=0.4,
    takeover_grace_s=0.2,
)
"""Small bounds and short timeouts, so that the tests are quick."""


@pytest.fixture
async def guarded(listener: RecordingListener) -> AsyncIterator[CentralSystem]:
    system = CentralSystem(
        host="127.0.0.1",
        port=0,
        authorize=authorize,
        listener=listener,
        config=StationConfig(response_timeout_s=2.0),
        limits=LIMITS,
    )
    async with asyncio.timeout(TIMEOUT_S):
        await system.start()
    yield system
    async with asyncio.timeout(TIMEOUT_S):
        await system.stop()


async def _idle_sockets(
    port: int, count: int, source: str
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``count`` TCP connections from ``source`` that never say anything."""
    return [
        await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        for _ in range(count)
    ]


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT_S):
            return await reader.read() == b""
    except (ConnectionError, TimeoutError):
        return True


def _close_all(
    sockets: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
) -> None:
    for _, writer in sockets:
        writer.close()


async def _controlled_charger(central: CentralSystem) -> None:
    """A configured charger connects, boots, and takes a limit we send."""
    sim = SimulatedChargePoint(
        "cp-good", f"ws://127.0.0.1:{central.port}", response_timeout=3.0
    )
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await sim.connect()
            assert await sim.boot() == "Accepted"
        await wait_until(lambda: "cp-good" in central.stations)
        async with asyncio.timeout(TIMEOUT_S):
            assert await central.stations["cp-good"].set_limit(1, 11)
        assert sim.effective_limit(1) == 11
    finally:
        await sim.close()


async def test_hundreds_of_idle_sockets_do_not_lock_out_a_charger(
    guarded: CentralSystem,
) -> None:
    """300 idle sockets from another host: at most 8 are kept at a time (the
    oldest go first), the rest are closed; a configured charger connects and
    is controlled all the same."""
    idle = await _idle_sockets(guarded.port, 300, "127.0.0.2")
    try:
        await wait_until(lambda: guarded.connections <= 8)
        await _controlled_charger(guarded)
        assert guarded.refused_connections >= 292
        assert sum([await _closed_by_server(r) for r, _ in idle[:292]]) == 292
    finally:
        _close_all(idle)


async def test_a_flood_from_the_chargers_own_address(guarded: CentralSystem) -> None:
    """Idle sockets from the charger's own address: the newest connection always
    gets in (the oldest idle one is closed), so the charger still connects."""
    idle = await _idle_sockets(guarded.port, 50, "127.0.0.1")
    try:
        await _controlled_charger(guarded)
    finally:
        _close_all(idle)


async def test_many_hosts_are_bounded_in_all(guarded: CentralSystem) -> None:
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for host in range(2, 12):
            idle += await _idle_sockets(guarded.port, 8, f"127.0.0.{host}")
        assert guarded.connections <= LIMITS.max_unproven
        await _controlled_charger(guarded)
    finally:
        _close_all(idle)


async def test_total_connections_are_capped(listener: RecordingListener) -> None:
    system = CentralSystem(
        port=0,
        authorize=authorize,
        listener=listener,
        limits=ConnectionLimits(max_connections=5, max_unproven_per_address=100),
    )
    async with asyncio.timeout(TIMEOUT_S):
        await system.start()
    idle = await _idle_sockets(system.port, 8, "127.0.0.2")
    try:
        assert [await _closed_by_server(r) for r, _ in idle[5:]] == [True] * 3
        assert system.connections == 5
    finally:
        _close_all(idle)
        async with asyncio.timeout(TIMEOUT_S):
            await system.stop()


async def test_a_handshake_that_never_ends_is_closed(guarded: CentralSystem) -> None:
    """A socket that starts its HTTP upgrade and never finishes it (or never
    starts one) is closed after the handshake timeout."""
    silent = await _idle_sockets(guarded.port, 1, "127.0.0.2")
    slow = await _idle_sockets(guarded.port, 1, "127.0.0.3")
    slow[0][1].write(b"GET /cp-1 HTTP/1.1\r\nHost: x\r\n")  # headers never end
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await _closed_by_server(silent[0][0])
        assert await _closed_by_server(slow[0][0])
        assert loop.time() - started < 3 * LIMITS.handshake_timeout_s + 1.0
    finally:
        _close_all(silent + slow)


async def test_a_refused_handshake_does_not_keep_its_connection(
    guarded: CentralSystem,
) -> None:
    """After a refusal (401) the connection closes: no keep-alive for guessing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", guarded.port)
    try:
        writer.write(
            b"GET /stranger HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        )
        async with asyncio.timeout(TIMEOUT_S):
            answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 401")
    finally:
        writer.close()


async def test_a_websocket_that_never_speaks_is_closed(
    guarded: CentralSystem, listener: RecordingListener
) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(TIMEOUT_S):
        ws = await session.ws_connect(
            f"ws://127.0.0.1:{guarded.port}/cp-mute", protocols=("ocpp1.6",)
        )
        msg = await ws.receive()
        assert msg.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
        await ws.close()
    await wait_until(lambda: listener.count("disconnected", "cp-mute") == 1)
    assert guarded.stations == {}


async def test_pending_chargers_are_capped(guarded: CentralSystem) -> None:
    """Unknown ids are held pending up to the cap; more are refused (503)."""
    sims = [
        SimulatedChargePoint(f"pending-{n}", f"ws://127.0.0.1:{guarded.port}")
        for n in range(4)
    ]
    try:
        async with asyncio.timeout(TIMEOUT_S):
            for sim in sims[:3]:
                await sim.connect()
                assert await sim.boot() == "Pending"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with asyncio.timeout(TIMEOUT_S):
                await sims[3].connect()
        assert refused.value.status == 503
        # A configured charger is not held back by them.
        await _controlled_charger(guarded)
    finally:
        for sim in sims:
            await sim.close()


@pytest.mark.parametrize("answers_pings", [True, False])
async def test_a_websocket_that_stops_answering_pings_is_closed(
    guarded: CentralSystem, answers_pings: bool
) -> None:
    """A quiet charger is pinged; one that answers stays, a dead one (no pong)
    is closed, so that its id is free for its next connection."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(TIMEOUT_S):
        ws = await session.ws_connect(
            f"ws://127.0.0.1:{guarded.port}/cp-quiet",
            protocols=("ocpp1.6",),
            autoping=answers_pings,
        )
        await ws.send_str('[2, "h", "Heartbeat", {}]')
        assert (await ws.receive()).type is aiohttp.WSMsgType.TEXT
        try:
            # (not receive's own timeout: it restarts at every ping it answers)
            async with asyncio.timeout(4 * LIMITS.heartbeat_s):
                msg = await ws.receive()
        except TimeoutError:
            msg = None
        if answers_pings:
            assert msg is None  # nothing but pings, answered by the client
            assert "cp-quiet" in guarded.stations
        else:
            assert msg is not None
            assert msg.type is aiohttp.WSMsgType.PING
            msg = await ws.receive(timeout=2 * LIMITS.heartbeat_s)
            assert msg.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
            await wait_until(lambda: "cp-quiet" not in guarded.stations)
        await ws.close()

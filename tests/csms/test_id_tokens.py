"""Who may charge, over real websockets: cards answered from the site's users,
local lists sent to the chargers, and transactions made offline that arrive
late with their own timestamps (OCPP 1.6J and 2.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.ev_power_share.core.access import (
    AccessList,
    AccessMode,
    Decision,
    Reason,
    User,
)
from custom_components.ev_power_share.csms import (
    CentralSystem,
    LocalList,
    StationConfig,
    TokenAnswer,
    TransactionMessage,
    TxKind,
)
from custom_components.ev_power_share.ocpp_access import OcppAccess, SitePlaces
from custom_components.ev_power_share.ocpp_source import ChargerConfig
from simulator import SimulatedChargePoint

from .conftest import (
    TIMEOUT_S,
    RecordingListener,
    authorize,
    ocpp_source,
    wait_until,
)

ALICE = User("u-alice", "Alice", ("04A21F9C",))
BOB = User("u-bob", "Bob", ("0B0B0B0B",), allowed=frozenset({"garage"}))
PLACES = SitePlaces({"cp-1": ("charger-1", "garage")}, {"garage": None})


class Site:
    """A central system that answers cards from its users, and what it told."""

    def __init__(self, listener: RecordingListener, config: StationConfig) -> None:
        self.refused: list[tuple[str, int, Decision]] = []
        self.messages: list[TransactionMessage] = []
        self.tokens = OcppAccess(
            AccessList((ALICE, BOB), AccessMode.AUTHORISED),
            PLACES,
            version=1,
            on_refused=lambda *refusal: self.refused.append(refusal),
        )
        self._listener = listener
        self._config = config
        self.central = self.make()
        self.sims: list[SimulatedChargePoint] = []

    def make(self, port: int = 0, tokens: Any = None) -> CentralSystem:
        return CentralSystem(
            host="127.0.0.1",
            port=port,
            authorize=authorize,
            listener=self._listener,
            config=self._config,
            tokens=tokens or self.tokens,
            on_transaction=self.messages.append,
        )

    async def sim(
        self, version: str, station_id: str = "cp-1", **kwargs: Any
    ) -> SimulatedChargePoint:
        """A simulated charger that connected and booted (Accepted)."""
        sim = SimulatedChargePoint(
            station_id,
            f"ws://127.0.0.1:{self.central.port}",
            version=version,  # type: ignore[arg-type]
            response_timeout=3.0,
            **kwargs,
        )
        self.sims.append(sim)
        async with asyncio.timeout(TIMEOUT_S):
            await sim.connect()
            assert await sim.boot() == "Accepted"
        return sim

    def of(self, kind: TxKind) -> list[TransactionMessage]:
        return [m for m in self.messages if m.kind is kind]


@pytest.fixture
async def site(
    listener: RecordingListener, station_config: StationConfig
) -> AsyncIterator[Site]:
    site = Site(listener, station_config)
    async with asyncio.timeout(TIMEOUT_S):
        await site.central.start()
    yield site
    async with asyncio.timeout(TIMEOUT_S):
        for sim in site.sims:
            await sim.close()
        await site.central.stop()


def sent_lists(sim: SimulatedChargePoint) -> list[dict[str, Any]]:
    return [payload for action, payload in sim.received if action == "SendLocalList"]


async def test_cards_are_answered_from_the_users(site: Site, version: str) -> None:
    sim = await site.sim(version)
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.authorize("04a21f9c")  # case does not matter
        assert await sim.authorize("0B0B0B0B")  # Bob: cp-1 is in the garage
        assert not await sim.authorize("DEADBEEF")
        assert not await sim.authorize("bad card")  # malformed: refused
        await sim.plug_in(1)
        await sim.start_transaction(1, "DEADBEEF", meter_start_wh=100)
        await wait_until(lambda: 1 in sim.start_status)
        assert sim.start_status[1] == "Invalid"
        await sim.stop_transaction(1, meter_stop_wh=100)
        await sim.start_transaction(1, "04A21F9C", meter_start_wh=100)
        await wait_until(lambda: sim.start_status[1] == "Accepted")
    reasons = [(d.reason, d.token) for _, _, d in site.refused]
    assert (Reason.UNKNOWN, "DEADBEEF") in reasons
    assert (Reason.MALFORMED, None) in reasons
    assert {s for s, _, _ in site.refused} == {"cp-1"}
    started = site.of(TxKind.STARTED)
    assert [(m.id_token, m.user_id, m.status) for m in started] == [
        ("DEADBEEF", None, "Invalid"),
        ("04A21F9C", "u-alice", "Accepted"),
    ]


async def test_a_user_is_refused_outside_their_chargers(
    site: Site, version: str
) -> None:
    sim = await site.sim(version, station_id="cp-street")
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.authorize("04A21F9C")  # Alice may charge anywhere
        assert not await sim.authorize("0B0B0B0B")  # Bob only in the garage
    assert [(s, d.reason, d.user_id) for s, _, d in site.refused] == [
        ("cp-street", Reason.NOT_HERE, "u-bob")
    ]


class Broken:
    """An authority that fails (a bug): its tokens are refused, and the
    station carries on."""

    def authorize(
        self, station_id: str, connector_id: int, id_token: object
    ) -> TokenAnswer:
        raise RuntimeError("broken")

    def local_list(self, station_id: str) -> LocalList | None:
        raise RuntimeError("broken")


async def test_a_failing_authority_refuses_and_stops_nothing(
    site: Site, version: str
) -> None:
    await site.central.stop()
    site.central = site.make(tokens=Broken())
    await site.central.start()
    sim = await site.sim(version)
    async with asyncio.timeout(TIMEOUT_S):
        assert not await sim.authorize("04A21F9C")
        await sim.heartbeat()
        await sim.plug_in(1)
        await sim.start_transaction(1, "04A21F9C")
        await wait_until(lambda: 1 in sim.start_status)
    assert sim.start_status[1] == "Invalid"
    assert site.of(TxKind.STARTED)[0].status == "Invalid"
    assert not sent_lists(sim)


async def test_local_list_sent_then_updated(site: Site, version: str) -> None:
    sim = await site.sim(version)
    await wait_until(lambda: sim.local_list.version == 1)
    assert sim.local_list.entries == {
        "04A21F9C": "Accepted",
        "0B0B0B0B": "Accepted",
    }
    # The users change: one card added, one user removed.
    carol = User("u-carol", "Carol", ("CA201CA2",))
    site.tokens.update(AccessList((ALICE, carol), AccessMode.AUTHORISED), PLACES, 2)
    site.central.refresh_local_lists()
    await wait_until(lambda: sim.local_list.version == 2)
    assert sim.local_list.entries == {"04A21F9C": "Accepted", "CA201CA2": "Accepted"}
    assert sim.local_list.updates == [(1, "Full"), (2, "Differential")]
    # Nothing changed for it: a reconnection (or another refresh) sends nothing.
    site.central.refresh_local_lists()
    async with asyncio.timeout(TIMEOUT_S):
        await sim.reconnect()
        await sim.boot()
    await wait_until(lambda: sim.received.count(("GetLocalListVersion", {})) >= 2)
    await asyncio.sleep(0.2)
    assert len(sent_lists(sim)) == 2


async def test_a_charger_without_a_local_list_gets_none(
    site: Site, version: str
) -> None:
    sim = await site.sim(version, local_auth_list=False)
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.authorize("04A21F9C")
    await asyncio.sleep(0.3)
    assert not sent_lists(sim)
    assert sim.local_list.version == 0


class Clock:
    """A charger's clock, set by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def test_offline_transaction_arrives_late_with_its_times(
    site: Site, version: str
) -> None:
    clock = Clock(datetime.now(UTC))
    sim = await site.sim(version, clock=clock)
    await wait_until(lambda: sim.local_list.version == 1)
    port = site.central.port
    async with asyncio.timeout(TIMEOUT_S):
        await site.central.stop()  # Home Assistant is down
        await wait_until(lambda: not sim.connected)
        # Two hours of charging the central system never saw, as it happened.
        start = clock.at = datetime(2026, 3, 31, 21, 30, tzinfo=UTC)
        assert await sim.authorize("04a21f9c")  # from its local list
        assert not await sim.authorize("DEADBEEF")
        await sim.plug_in(1)
        await sim.start_transaction(1, "04A21F9C", meter_start_wh=5000)
        clock.at = start + timedelta(hours=1)
        await sim.send_meter_values(1, power_w=7000, energy_wh=12000)
        stop = clock.at = start + timedelta(hours=2)
        await sim.stop_transaction(1, meter_stop_wh=19000)
        assert len(sim.queue) == 3
        assert not site.messages
        # Home Assistant is back (on the same port); the charger reconnects.
        site.central = site.make(port)
        await site.central.start()
        clock.at = datetime.now(UTC)
        await sim.reconnect(within=TIMEOUT_S)
    assert len(sim.queue) == 0
    await wait_until(lambda: len(site.messages) == 3)
    started, updated, ended = site.messages
    assert (started.kind, updated.kind, ended.kind) == (
        TxKind.STARTED,
        TxKind.UPDATED,
        TxKind.ENDED,
    )
    assert started.at == start.timestamp()
    assert started.meter_wh == 5000
    assert (started.user_id, started.id_token, started.status) == (
        "u-alice",
        "04A21F9C",
        "Accepted",
    )
    assert [(s.at, s.wh, s.w) for s in updated.samples] == [
        ((start + timedelta(hours=1)).timestamp(), 12000, 7000)
    ]
    assert ended.at == stop.timestamp()
    assert ended.meter_wh == 19000
    assert ended.reason == "Local"
    for message in site.messages:
        assert message.offline
        assert message.received_at > stop.timestamp()
        assert (message.station, message.connector) == ("cp-1", 1)
        assert message.transaction_id == started.transaction_id
        assert message.user_id == "u-alice"


async def test_online_transaction_messages_carry_the_chargers_times(
    site: Site, version: str
) -> None:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    sim = await site.sim(version, clock=clock)
    begin = clock.at
    async with asyncio.timeout(TIMEOUT_S):
        await sim.plug_in(1)
        await sim.start_transaction(1, "04A21F9C", meter_start_wh=0)
        clock.at = begin + timedelta(seconds=30)
        await sim.send_meter_values(1, energy_wh=60)
        clock.at = begin + timedelta(seconds=50)
        await sim.stop_transaction(1, meter_stop_wh=100, reason="EVDisconnected")
    await wait_until(lambda: len(site.messages) == 3)
    assert [m.at - begin.timestamp() for m in site.messages] == [0.0, 30.0, 50.0]
    assert not any(m.offline for m in site.messages)
    assert site.messages[-1].reason == "EVDisconnected"
    assert site.messages[-1].meter_wh == 100


def test_the_ocpp_source_passes_on_its_chargers_messages() -> None:
    """One callback for the session ledger: the site's chargers' messages
    only (a stranger's are not kept)."""
    told: list[TransactionMessage] = []
    source = ocpp_source(
        [ChargerConfig("cp-1", "Space 1", "site")], on_transaction=told.append
    )
    ours = TransactionMessage(TxKind.STARTED, "cp-1", 1, "7", 1.0, 2.0)
    source.transaction(ours)
    source.transaction(TransactionMessage(TxKind.STARTED, "cp-x", 1, "8", 1.0, 2.0))
    assert told == [ours]

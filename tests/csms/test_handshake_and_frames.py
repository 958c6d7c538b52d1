"""Handshake (subprotocol, Basic auth) and robustness against bad frames."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from custom_components.ev_power_share.csms import CentralSystem, StationConfig
from custom_components.ev_power_share.csms.server import (
    basic_auth_password,
    choose_subprotocol,
    station_id_of,
)

from .conftest import (
    PASSWORDS,
    TIMEOUT_S,
    RecordingListener,
    SimFactory,
    authorize,
    booted,
    raw_station,
    wait_until,
)


async def test_password_checked_at_handshake(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    good = await make_sim("cp-secure", password=PASSWORDS["cp-secure"])
    async with asyncio.timeout(TIMEOUT_S):
        assert await good.boot() == "Accepted"
    await good.close()
    for password in ("wrong", None):
        sim = await make_sim("cp-secure", connect=False, password=password)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with asyncio.timeout(TIMEOUT_S):
                await sim.connect()
        assert refused.value.status == 401


async def test_unknown_id_refused(make_sim: SimFactory) -> None:
    sim = await make_sim("stranger", connect=False)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with asyncio.timeout(TIMEOUT_S):
            await sim.connect()
    assert refused.value.status == 401


@pytest.mark.parametrize("protocols", [("ocpp1.5",), ("ocpp2.1", "mqtt"), ()])
async def test_unsupported_subprotocol_refused(
    central: CentralSystem, protocols: tuple[str, ...]
) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(TIMEOUT_S):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                f"ws://127.0.0.1:{central.port}/cp-1", protocols=protocols
            )
    assert refused.value.status == 400
    assert central.stations == {}


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [(("ocpp2.0.1", "ocpp1.6"), "2.0.1"), (("ocpp1.5", "ocpp1.6", "ocpp2.0.1"), "1.6")],
)
async def test_first_supported_subprotocol_wins(
    central: CentralSystem, offered: tuple[str, ...], chosen: str
) -> None:
    url = f"ws://127.0.0.1:{central.port}/cp-9"
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(TIMEOUT_S),
        session.ws_connect(url, protocols=offered) as ws,
    ):
        assert ws.protocol == f"ocpp{chosen}"
        await wait_until(lambda: "cp-9" in central.stations)
        assert central.stations["cp-9"].version == chosen


@pytest.mark.parametrize("path", ["/ocpp/cp-7", "/cp-7/"])
async def test_charger_that_adds_its_id_to_a_longer_url(
    central: CentralSystem, path: str
) -> None:
    url = f"ws://127.0.0.1:{central.port}{path}"
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(TIMEOUT_S),
        session.ws_connect(url, protocols=("ocpp1.6",)),
    ):
        await wait_until(lambda: "cp-7" in central.stations)
        assert list(central.stations) == ["cp-7"]


def test_header_parsing() -> None:
    assert choose_subprotocol("ocpp1.5, ocpp2.0.1,ocpp1.6") == "ocpp2.0.1"
    assert choose_subprotocol(None) is None
    # "cp-1:pa:ss" → the password may contain colons
    assert basic_auth_password("Basic Y3AtMTpwYTpzcw==", "cp-1") == "pa:ss"
    assert basic_auth_password("Basic Y3AtMTpwYTpzcw==", "cp-2") is None  # user ≠ id
    assert basic_auth_password("Basic !!!", "cp-1") is None
    assert basic_auth_password("Bearer abc", "cp-1") is None
    assert basic_auth_password(None, "cp-1") is None
    # The id is the path's last segment, whatever prefix a charger puts before it.
    assert station_id_of("cp-1") == "cp-1"
    assert station_id_of("ocpp/cp-1") == "cp-1"
    assert station_id_of("steve/websocket/CentralSystemService/cp-1/") == "cp-1"
    assert station_id_of("") is None
    assert station_id_of("ocpp/") == "ocpp"
    assert station_id_of("x" * 49) is None


async def _answer(ws: aiohttp.ClientWebSocketResponse, frame: str) -> list[object]:
    await ws.send_str(frame)
    msg = await ws.receive(timeout=TIMEOUT_S)
    assert msg.type is aiohttp.WSMsgType.TEXT
    answer = json.loads(msg.data)
    assert isinstance(answer, list)
    return answer


DEEP = "[" * 20_000 + "]" * 20_000
"""Deep enough to overflow a recursive JSON parser (RecursionError)."""

# (frame, the reply's message id, its code in 1.6, its code in 2.0.1)
MALFORMED_CALLS = [
    ("this is not json", "-1", "FormationViolation", "FormatViolation"),
    ('{"an": "object"}', "-1", "FormationViolation", "FormatViolation"),
    ("[]", "-1", "FormationViolation", "FormatViolation"),
    (DEEP, "-1", "FormationViolation", "FormatViolation"),
    (
        '[2, "deep", "DataTransfer", {"vendorId": "v", "data": '
        + "[" * 40
        + "]" * 40
        + "}]",
        "deep",
        "FormationViolation",
        "FormatViolation",
    ),
    ("[2]", "-1", "FormationViolation", "RpcFrameworkError"),
    ('[2, 17, "Heartbeat", {}]', "-1", "FormationViolation", "RpcFrameworkError"),
    (
        '[2, "' + "x" * 37 + '", "Heartbeat", {}]',
        "-1",
        "FormationViolation",
        "RpcFrameworkError",
    ),
    ('[2, "m0", "Heartbeat"]', "m0", "ProtocolError", "ProtocolError"),
    ('[2, "m1", 5, {}]', "m1", "FormationViolation", "FormatViolation"),
    ('[2, "m2", "NoSuchAction", {}]', "m2", "NotImplemented", "NotImplemented"),
    ('[2, "m3", "Reset", {}]', "m3", "NotSupported", "NotSupported"),
    (
        '[2, "m4", "Heartbeat", "not an object"]',
        "m4",
        "FormationViolation",
        "FormatViolation",
    ),
    (
        '[2, "m5", "Heartbeat", {"extra": 1}]',
        "m5",
        "FormationViolation",
        "FormatViolation",
    ),
    ('[2, "m6", "BootNotification", {}]', "m6", "ProtocolError", "ProtocolError"),
    ('[9, "m7"]', "m7", "PropertyConstraintViolation", "MessageTypeNotSupported"),
]
WRONG_TYPES = {
    # A field of the wrong JSON type: TypeConstraintViolation in both versions.
    "1.6": '[2, "t1", "StatusNotification", {"connectorId": "one", '
    '"errorCode": "NoError", "status": "Available"}]',
    "2.0.1": '[2, "t1", "StatusNotification", {"timestamp": "2026-01-01T00:00:00Z", '
    '"connectorStatus": "Available", "evseId": "one", "connectorId": 1}]',
}


@pytest.mark.parametrize(("frame", "unique_id", "code16", "code201"), MALFORMED_CALLS)
async def test_every_malformed_call_gets_its_versions_callerror(
    central: CentralSystem,
    version: str,
    frame: str,
    unique_id: str,
    code16: str,
    code201: str,
) -> None:
    async with raw_station(central, "cp-bad", version, TIMEOUT_S) as ws:
        answer = await _answer(ws, frame)
        assert answer[:3] == [4, unique_id, code16 if version == "1.6" else code201]
        assert isinstance(answer[3], str)
        assert isinstance(answer[4], dict)
        # The station goes on: a good call is answered.
        answer = await _answer(ws, '[2, "ok", "Heartbeat", {}]')
        assert answer[:2] == [3, "ok"]
    assert central.stations == {}


async def test_wrong_field_type_is_a_type_constraint_violation(
    central: CentralSystem, version: str
) -> None:
    async with raw_station(central, "cp-bad", version, TIMEOUT_S) as ws:
        answer = await _answer(ws, WRONG_TYPES[version])
        assert answer[:3] == [4, "t1", "TypeConstraintViolation"]


async def test_answers_to_nothing_are_dropped_and_others_keep_working(
    central: CentralSystem, make_sim: SimFactory, version: str
) -> None:
    neighbour, neighbour_station = await booted(make_sim, central, "cp-good")
    async with raw_station(central, "cp-bad", version, 3 * TIMEOUT_S) as ws:
        await wait_until(lambda: "cp-bad" in central.stations)
        bad = central.stations["cp-bad"]
        await ws.send_bytes(b"\x00\x01binary")  # ignored
        # Answers to calls we never made, well-formed or not, are not answered
        # (no volleys of errors) and are not queued.
        for stray in (
            '[3, "nobody-asked", {}]',
            '[3, "nobody-asked"]',
            '[4, "nobody-asked", "GenericError", "", {}]',
            '[4, "nobody-asked"]',
        ):
            await ws.send_str(stray)
        answer = await _answer(ws, '[2, "m5", "Heartbeat", {}]')
        assert answer[:2] == [3, "m5"]
        assert "currentTime" in answer[2]  # type: ignore[operator]
        assert bad.malformed_frames == 5
        assert bad._cp._response_queue.empty()
        # the neighbour was never disturbed
        assert await neighbour_station.set_limit(1, 13)
        assert neighbour.effective_limit(1) == 13
        await neighbour.heartbeat()


async def test_truncated_answer_to_our_call_gets_a_callerror(
    central: CentralSystem, version: str
) -> None:
    """A charger that answers our call with a truncated CALLRESULT is told so
    (once), and our call ends without an answer."""
    async with raw_station(central, "cp-bad", version, 3 * TIMEOUT_S) as ws:
        await wait_until(lambda: "cp-bad" in central.stations)
        station = central.stations["cp-bad"]
        command = asyncio.create_task(station.unlock(1))
        msg = await ws.receive(timeout=TIMEOUT_S)
        call = json.loads(msg.data)
        assert call[:3] == [2, call[1], "UnlockConnector"]
        answer = await _answer(ws, json.dumps([3, call[1]]))
        assert answer[:3] == [4, call[1], "ProtocolError"]
        assert await command is False


async def test_oversized_frame_closes_only_that_connection(
    listener: RecordingListener, version: str
) -> None:
    system = CentralSystem(
        port=0,
        authorize=authorize,
        listener=listener,
        max_frame_bytes=1024,
        config=StationConfig(),
    )
    async with asyncio.timeout(TIMEOUT_S):
        await system.start()
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(TIMEOUT_S):
            url = f"ws://127.0.0.1:{system.port}"
            async with (
                session.ws_connect(
                    f"{url}/cp-big", protocols=(f"ocpp{version}",)
                ) as big,
                session.ws_connect(
                    f"{url}/cp-small", protocols=(f"ocpp{version}",)
                ) as small,
            ):
                await big.send_str(
                    json.dumps(
                        [2, "x", "DataTransfer", {"vendorId": "v", "data": "x" * 4000}]
                    )
                )
                msg = await big.receive()
                assert msg.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
                answer = await _answer(small, '[2, "h", "Heartbeat", {}]')
                assert answer[:2] == [3, "h"]
                assert list(system.stations) == ["cp-small"]
    finally:
        async with asyncio.timeout(TIMEOUT_S):
            await system.stop()


async def test_port_in_use_raises(
    central: CentralSystem, listener: RecordingListener
) -> None:
    other = CentralSystem(port=central.port, authorize=authorize, listener=listener)
    with pytest.raises(OSError):
        async with asyncio.timeout(TIMEOUT_S):
            await other.start()
    assert not other.running


class _BrokenListener(RecordingListener):
    def on_meter(self, station: object, connector_id: int) -> None:  # type: ignore[override]
        raise RuntimeError("bug on the Home Assistant side")


async def test_listener_errors_do_not_break_the_station(
    make_sim: SimFactory, central: CentralSystem
) -> None:
    central._listener = _BrokenListener()
    sim, station = await booted(make_sim, central)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.send_meter_values(1, energy_wh=100)
        await sim.heartbeat()
    assert station.connectors[1].energy_wh == 100


OUT_OF_RANGE = {
    "1.6": '[2, "c1", "StatusNotification", {"connectorId": 999999, '
    '"errorCode": "NoError", "status": "Available"}]',
    "2.0.1": '[2, "c1", "StatusNotification", {"timestamp": "2026-01-01T00:00:00Z", '
    '"connectorStatus": "Available", "evseId": 999999, "connectorId": 1}]',
}


async def test_a_station_cannot_make_us_keep_any_number_of_connectors(
    central: CentralSystem, version: str
) -> None:
    async with raw_station(central, "cp-many", version, TIMEOUT_S) as ws:
        answer = await _answer(ws, OUT_OF_RANGE[version])
        assert answer[:3] == [4, "c1", "PropertyConstraintViolation"]
        assert central.stations["cp-many"].connectors == {}


TIME = "2026-01-01T00:00:00Z"
EVENT = {
    "eventId": 1,
    "timestamp": TIME,
    "trigger": "Alerting",
    "actualValue": "x",
    "eventNotificationType": "HardWiredNotification",
    "component": {"name": "EVSE"},
    "variable": {"name": "Problem"},
}
ACKNOWLEDGED = {
    # Messages we only acknowledge: an empty answer, once the payload is valid.
    "1.6": [
        ("FirmwareStatusNotification", {"status": "Idle"}),
        ("DiagnosticsStatusNotification", {"status": "Idle"}),
        ("SecurityEventNotification", {"type": "x", "timestamp": TIME}),
        ("LogStatusNotification", {"status": "Idle"}),
    ],
    "2.0.1": [
        ("FirmwareStatusNotification", {"status": "Idle"}),
        ("SecurityEventNotification", {"type": "x", "timestamp": TIME}),
        ("NotifyReport", {"requestId": 1, "generatedAt": TIME, "seqNo": 0}),
        (
            "NotifyEvent",
            {"generatedAt": TIME, "seqNo": 0, "eventData": [EVENT]},
        ),
        ("LogStatusNotification", {"status": "Idle"}),
    ],
}


async def test_messages_we_only_acknowledge_get_an_empty_answer(
    central: CentralSystem, version: str
) -> None:
    async with raw_station(central, "cp-ack", version, TIMEOUT_S) as ws:
        for n, (action, payload) in enumerate(ACKNOWLEDGED[version]):
            frame = json.dumps([2, f"a{n}", action, payload])
            assert await _answer(ws, frame) == [3, f"a{n}", {}], action
            # Their payload is validated all the same.
            frame = json.dumps([2, f"b{n}", action, {"status": 5}])
            assert (await _answer(ws, frame))[:2] == [4, f"b{n}"], action

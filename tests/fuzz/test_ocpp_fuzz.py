"""The central system against hostile frames, both OCPP versions, on 127.0.0.1.

A real :class:`CentralSystem` runs with a good charger (a simulated charge point,
booted, its vehicle charging, under control). Over another websocket, hypothesis
sends batches of frames: valid messages of the version, and the same mutated (a
field deleted, replaced by any JSON value, an extreme number, NaN; the action,
message type or id changed; the text cut short; nested thousands deep), plus
arbitrary JSON and random text. After every batch:

* each frame that a CALLERROR is owed for got exactly one answer (a CALLRESULT or
  a CALLERROR) with its message id (``"-1"`` when unreadable), in order, and
  nothing else was answered (a stray CALLRESULT or CALLERROR is dropped);
* the central system logged no error of its own (a line at ERROR means a bug:
  a device's garbage is logged as a warning);
* the station keeps at most :data:`MAX_CONNECTOR_ID` connectors' state.

At the end the good charger is still under control: it takes a new limit and
answers its heartbeat, and the fuzzing socket is still open. The test counts the
frames and asserts a floor (:data:`FRAMES_FLOOR` per version).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
import copy
import json
import logging
import math
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.ev_power_share.csms import (
    Admission,
    CentralSystem,
    StationConfig,
)
from custom_components.ev_power_share.csms.station import MAX_CONNECTOR_ID
from simulator import SimulatedChargePoint

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.filterwarnings(
        "ignore:It looks like `register_random`:hypothesis.errors.HypothesisWarning"
    ),
]

FRAMES_FLOOR = 10_000
"""Frames sent per OCPP version, at least."""
BATCH = (30, 60)
"""Frames per hypothesis example (min, max)."""
EXAMPLES = 350
STEP_S = 10.0
"""Bound of every network step."""
T = "2026-01-01T00:00:00Z"

VALID: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "1.6": [
        ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}),
        ("Heartbeat", {}),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
        ),
        (
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 5,
                "meterValue": [
                    {
                        "timestamp": T,
                        "sampledValue": [
                            {
                                "value": "16.5",
                                "measurand": "Current.Import",
                                "phase": "L1",
                                "unit": "A",
                            },
                            {"value": "1234", "unit": "Wh"},
                        ],
                    }
                ],
            },
        ),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": T},
        ),
        ("StopTransaction", {"transactionId": 5, "meterStop": 100, "timestamp": T}),
        ("Authorize", {"idTag": "TAG"}),
        ("DataTransfer", {"vendorId": "x", "data": "y"}),
        ("FirmwareStatusNotification", {"status": "Idle"}),
        ("DiagnosticsStatusNotification", {"status": "Idle"}),
    ],
    "2.0.1": [
        (
            "BootNotification",
            {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"},
        ),
        ("Heartbeat", {}),
        (
            "StatusNotification",
            {
                "timestamp": T,
                "connectorStatus": "Occupied",
                "evseId": 1,
                "connectorId": 1,
            },
        ),
        (
            "MeterValues",
            {
                "evseId": 1,
                "meterValue": [
                    {
                        "timestamp": T,
                        "sampledValue": [
                            {
                                "value": 16.5,
                                "measurand": "Current.Import",
                                "phase": "L1",
                                "unitOfMeasure": {"unit": "A", "multiplier": 0},
                            }
                        ],
                    }
                ],
            },
        ),
        (
            "TransactionEvent",
            {
                "eventType": "Started",
                "timestamp": T,
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": "T1", "chargingState": "Charging"},
                "evse": {"id": 1, "connectorId": 1},
                "idToken": {"idToken": "TAG", "type": "ISO14443"},
            },
        ),
        (
            "TransactionEvent",
            {
                "eventType": "Ended",
                "timestamp": T,
                "triggerReason": "EVDeparted",
                "seqNo": 1,
                "transactionInfo": {"transactionId": "T1"},
            },
        ),
        ("Authorize", {"idToken": {"idToken": "TAG", "type": "ISO14443"}}),
        ("DataTransfer", {"vendorId": "x", "data": {"any": [1, 2, {"deep": None}]}}),
        ("FirmwareStatusNotification", {"status": "Idle"}),
    ],
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([-1e38, 1e38, 1e308, -0.2, -5, 0, 33, 2**31])
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _set(root: Any, path: tuple[Any, ...], new: Any, *, delete: bool) -> Any:
    if not path:
        return new
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return root


@st.composite
def frames(draw: st.DrawFn, version: str) -> str:
    """One frame: a valid message of ``version``, mutated or not, or garbage."""
    kind = draw(
        st.sampled_from(
            ["valid", "mutate", "mutate", "mutate", "frame", "json", "text", "cut"]
        )
    )
    if kind == "text":
        return draw(st.text(max_size=80))
    if kind == "json":
        return json.dumps(draw(json_values))
    action, payload = draw(st.sampled_from(VALID[version]))
    payload = copy.deepcopy(payload)
    unique_id: Any = draw(st.text(min_size=1, max_size=10))
    message: list[Any] = [2, unique_id, action, payload]
    if kind == "mutate":
        for _ in range(draw(st.integers(1, 3))):
            paths = list(_paths(payload))[1:]
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            delete = draw(st.booleans())
            payload = _set(payload, path, draw(json_values), delete=delete)
        message[3] = payload
    elif kind == "frame":
        index = draw(st.integers(0, 3))
        message[index] = draw(
            json_values | st.sampled_from([3, 4, 9, "2", 2.0, "x" * 40, "Reset"])
        )
        if draw(st.booleans()):
            message = message[: draw(st.integers(0, 4))]
    text = json.dumps(message)
    if kind == "cut":
        return text[: draw(st.integers(0, len(text) - 1))]
    if draw(st.integers(0, 20)) == 0:
        depth = draw(st.sampled_from([40, 5000, 20_000]))
        return "[" * depth + text + "]" * depth
    return text


def _owed(text: str) -> str | None:
    """The message id an answer is owed for (``"-1"``: unreadable), or None if
    the frame must not be answered (it is itself an answer: as to no call of
    ours, it is dropped)."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return "-1"
    if not isinstance(frame, list) or not frame:
        return "-1"
    if frame[0] in (3, 4):
        return None
    unique_id = frame[1] if len(frame) > 1 else None
    if isinstance(unique_id, str) and len(unique_id) <= 36:
        return unique_id
    return "-1"


class _ErrorLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def _answers(ws: aiohttp.ClientWebSocketResponse, sentinel: str) -> list[Any]:
    """Frames until the answer to ``sentinel``; calls from the central system
    (it configures a station that boots) are left unanswered."""
    out: list[Any] = []
    async with asyncio.timeout(STEP_S):
        while True:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            if frame[0] == 2:
                continue
            if frame[1] == sentinel:
                return out
            out.append(frame)


def _batches(version: str) -> list[list[str]]:
    """The examples' frames (hypothesis is synchronous: they are drawn first,
    then played on the event loop)."""
    batches: list[list[str]] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(batch=st.lists(frames(version), min_size=BATCH[0], max_size=BATCH[1]))
    def collect(batch: list[str]) -> None:
        batches.append(batch)

    collect()
    return batches


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_hostile_frames_get_their_answers_and_never_stop_the_others(
    version: str, socket_enabled: None
) -> None:
    batches = _batches(version)
    errors = _ErrorLines()
    logging.getLogger("custom_components.ev_power_share").addHandler(errors)
    loop = asyncio.new_event_loop()
    try:
        sent = loop.run_until_complete(_fuzz(version, batches, errors))
    finally:
        logging.getLogger("custom_components.ev_power_share").removeHandler(errors)
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    assert sent >= FRAMES_FLOOR


class _Fuzzer:
    """The fuzzing side: one websocket, frames sent and answers checked."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, version: str) -> None:
        self.ws = ws
        self.version = version
        self.sent = 0
        self.batches = 0

    async def batch(self, batch: list[str]) -> None:
        owed = [o for o in (_owed(f) for f in batch) if o is not None]
        for text in batch:
            await self.ws.send_str(text)
        self.batches += 1
        sentinel = f"sentinel-{self.batches}"
        await self.ws.send_str(json.dumps([2, sentinel, "Heartbeat", {}]))
        answers = await _answers(self.ws, sentinel)
        got = [a[1] for a in answers]
        assert got == owed, _first_difference(batch, answers, owed)
        assert all(a[0] in (3, 4) for a in answers)
        self.sent += len(batch)


async def _fuzz(version: str, batches: list[list[str]], errors: _ErrorLines) -> int:
    central = CentralSystem(
        port=0,
        authorize=lambda station_id, _password: (
            Admission.ACCEPTED if station_id.startswith("cp") else Admission.REJECTED
        ),
        listener=_Quiet(),
        config=StationConfig(response_timeout_s=0.5),
    )
    await central.start()
    good = SimulatedChargePoint(
        "cp-good",
        f"ws://127.0.0.1:{central.port}",
        version=version,  # type: ignore[arg-type]
    )
    session = aiohttp.ClientSession()
    try:
        async with asyncio.timeout(STEP_S):
            await good.connect()
            assert await good.boot() == "Accepted"
            await good.plug_in(1)
            await good.start_transaction(1, "TAG")
            ws = await session.ws_connect(
                f"ws://127.0.0.1:{central.port}/cp-fuzz",
                protocols=(f"ocpp{version}",),
                max_msg_size=0,
            )
        fuzzer = _Fuzzer(ws, version)
        for batch in batches:
            await fuzzer.batch(batch)
        station = central.stations["cp-fuzz"]
        assert max(station.connectors, default=0) <= MAX_CONNECTOR_ID
        assert station.malformed_frames > 0
        # The good charger never noticed.
        async with asyncio.timeout(STEP_S):
            assert await central.stations["cp-good"].set_limit(1, 13)
            await good.heartbeat()
        assert good.effective_limit(1) == 13
        assert not ws.closed
        assert errors.lines == []
        return fuzzer.sent
    finally:
        with contextlib.suppress(Exception):
            await good.close()
        await session.close()
        await central.stop()


def _first_difference(batch: list[str], answers: list[Any], owed: list[str]) -> str:
    calls = [f for f in batch if _owed(f) is not None]
    for i, (answer, expected) in enumerate(zip(answers, owed, strict=False)):
        if answer[1] != expected:
            return f"{calls[i]!r} answered {answer!r}, owed id {expected!r}"
    return f"{len(answers)} answers for {len(owed)} owed: {batch!r}"


class _Quiet:
    """A listener that takes note of nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None


def test_the_owed_answers_rule() -> None:
    """The test's own oracle, by hand."""
    assert _owed("nope") == "-1"
    assert _owed('{"a": 1}') == "-1"
    assert _owed('[2, "a", "Heartbeat", {}]') == "a"
    assert _owed('[2, 5, "Heartbeat", {}]') == "-1"
    assert _owed('[3, "a", {}]') is None
    assert _owed('[4, "a"]') is None
    assert _owed('[9, "b"]') == "b"
    assert _owed("[" * 5000 + "]" * 5000) == "-1"
    assert math.isnan(json.loads("NaN"))

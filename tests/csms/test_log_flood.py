"""A faulty charger cannot flood the log: a line per kind per minute, with a count."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from custom_components.ev_power_share.csms import (
    Admission,
    CentralSystem,
    StationConfig,
)
from custom_components.ev_power_share.csms.logs import RateLimitedLog
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource

from .conftest import TIMEOUT_S, raw_station, wait_until

FLOOD = 3000
"""Malformed frames sent per kind (each is answered)."""
BAD_FRAMES = [
    "this is not json",
    '[2, "x", "NoSuchAction", {}]',
    '[2, "x", "Heartbeat", {"extra": 1}]',  # schema-invalid: via the library
    '[3, "nobody-asked", {}]',
    "[" * 5000 + "]" * 5000,
]


def _our_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and (r.name.startswith("custom_components") or r.name.startswith("ocpp"))
    ]


async def test_a_flood_of_bad_frames_writes_a_few_lines(
    central: CentralSystem, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with raw_station(central, "cp-bad", version, 60.0) as ws:
        await wait_until(lambda: "cp-bad" in central.stations)
        station = central.stations["cp-bad"]
        answered = 0
        async with asyncio.timeout(60):
            for frame in BAD_FRAMES:
                for _ in range(FLOOD):
                    await ws.send_str(frame)
                # every call-like frame is answered; the stray answer is not
                expected = 0 if frame.startswith("[3") else FLOOD
                for _ in range(expected):
                    msg = await ws.receive()
                    assert json.loads(msg.data)[0] == 4
                    answered += 1
            await ws.send_str('[2, "ok", "Heartbeat", {}]')
            msg = await ws.receive()
            assert json.loads(msg.data)[:2] == [3, "ok"]
    assert answered == FLOOD * (len(BAD_FRAMES) - 1)
    assert station.malformed_frames == FLOOD * len(BAD_FRAMES)
    lines = _our_lines(caplog)
    # One line for the first bad frame; then at most one a minute, and one with
    # the count when it disconnects.
    assert 1 <= len(lines) <= 3, [r.getMessage() for r in lines]
    assert all(r.exc_info is None for r in lines)
    assert sum(len(r.getMessage()) for r in lines) < 2000
    await wait_until(lambda: "cp-bad" not in central.stations)
    flushed = [r.getMessage() for r in _our_lines(caplog)]
    assert any("more malformed frames" in m for m in flushed), flushed


async def test_a_charger_that_answers_every_call_with_an_error(
    central: CentralSystem, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The library's own warnings about its answers go through the limit too."""
    caplog.set_level(logging.INFO)
    async with raw_station(central, "cp-grumpy", version, 60.0) as ws:
        await wait_until(lambda: "cp-grumpy" in central.stations)
        station = central.stations["cp-grumpy"]
        async with asyncio.timeout(TIMEOUT_S * 4):
            for _ in range(200):
                command = asyncio.create_task(station.unlock(1))
                call = json.loads((await ws.receive()).data)
                await ws.send_str(
                    json.dumps([4, call[1], "NoSuchCode", "nope", {"a": "b" * 9000}])
                )
                assert await command is False
    lines = _our_lines(caplog)
    assert 1 <= len(lines) <= 4, [r.getMessage() for r in lines]
    assert all(len(r.getMessage()) < 600 for r in lines)


def test_rate_limited_log_counts_what_it_holds_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = RateLimitedLog(logging.getLogger("test.flood"), 60.0, clock=lambda: now[0])
    caplog.set_level(logging.WARNING)
    for i in range(1000):
        now[0] = i * 0.1  # 100 s in all
        log.report("kind", "bad frame %s", i)
    log.report("other", "something else")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "bad frame 0",
        "bad frame 600 (and 599 more like it in the last 60 s)",
        "something else",
    ]
    log.flush(
        "kind",
        "%s more",
    )
    assert caplog.records[-1].getMessage() == "399 more"
    assert log.total == 1001
    # Another count, the same template: log viewers group the lines as one kind.
    for i in range(5):
        now[0] = 200.0 + i
        log.report("kind", "bad frame %s", i)
    now[0] = 300.0
    log.report("kind", "bad frame %s", 5)
    counted = [r for r in caplog.records if "more like it" in r.getMessage()]
    assert [r.getMessage() for r in counted] == [
        "bad frame 600 (and 599 more like it in the last 60 s)",
        "bad frame 5 (and 4 more like it in the last 60 s)",
    ]
    assert counted[0].msg == counted[1].msg


def test_a_charger_with_an_old_password_is_logged_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A configured charger that keeps retrying with a wrong password (every few
    seconds, for days) writes one line a minute, not one per attempt; each
    attempt is still refused."""
    source = OcppSource(
        [
            ChargerConfig("cp-1", "One", "site", password="right-password"),
            ChargerConfig("cp-2", "Two", "site", password="other-password"),
        ],
        config=StationConfig(),
        site_failsafe_a=6.0,
        on_change=lambda: None,
        on_unknown=lambda _cp_id: False,
    )
    with caplog.at_level(logging.WARNING):
        for attempt in range(500):
            given = None if attempt % 2 else "old-password"
            assert source.authorize("cp-1", given) is Admission.REJECTED
        assert source.authorize("cp-2", "wrong") is Admission.REJECTED
        assert source.authorize("cp-1", "right-password") is Admission.ACCEPTED
    refused = [r.getMessage() for r in _our_lines(caplog)]
    assert refused == [
        "Charger cp-1 was refused: wrong or missing password",
        "Charger cp-2 was refused: wrong or missing password",
    ]

"""Replies that do not answer the request: the client must not take their figures.

A raw TCP server on 127.0.0.1 (:mod:`.raw_server`) answers with frames that are
well-formed and carry figures that would decode as a plausible reading, but belong to
another transaction, another unit or another function. pymodbus 3.8.3 accepts all
three as the answer; 3.13.1 skips another transaction id or unit id (so the request
times out) but accepts transaction id 0 and another function code. The client must
refuse every one of them within its bounded time, and read normally once the server
answers properly.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from custom_components.ev_power_share.modbus import (
    SDM630,
    MeterErrorReason,
    MeterReading,
    MeterUnavailableError,
    ModbusMeter,
)

from .conftest import REQUEST_TIMEOUT_S, TIMEOUT_S, FakeMonotonic
from .raw_server import (
    RawModbusServer,
    Request,
    exception_pdu,
    frame,
    plausible_values,
    register_image,
    registers_pdu,
    words_of,
)

pytestmark = pytest.mark.timeout(15)

GOOD = register_image(SDM630, plausible_values(SDM630))
"""What the honest server sends: 10 A per phase."""
FOREIGN = register_image(
    SDM630,
    {**plausible_values(SDM630), **dict.fromkeys(SDM630.currents, 25.0)},
)
"""What a foreign reply carries: plausible too, but 25 A per phase."""
READ_BOUND_S = REQUEST_TIMEOUT_S * (1 + len(SDM630.read_plan())) + 2.0
"""A read's documented bound: connect, every request, and the client's margins."""


class Script:
    """Answers every request honestly unless ``foreign`` says how to answer it."""

    def __init__(self) -> None:
        self.foreign: str | None = None

    async def __call__(self, request: Request, writer: asyncio.StreamWriter) -> None:
        function, tid, unit = request.function, request.tid, request.unit
        pdu = registers_pdu(function, words_of(GOOD, request))
        match self.foreign:
            case None:
                pass
            case "tid+1" | "tid-1" | "tid0":
                tid = {"tid+1": tid + 1, "tid-1": tid - 1, "tid0": 0}[self.foreign]
                pdu = registers_pdu(function, words_of(FOREIGN, request))
            case "tid+1 exception":
                tid += 1
                pdu = exception_pdu(function, 0x02)
            case "unit":
                unit = unit % 247 + 1
                pdu = registers_pdu(function, words_of(FOREIGN, request))
            case "function":
                function = 0x03 if function == 0x04 else 0x04
                pdu = registers_pdu(function, words_of(FOREIGN, request))
            case other:
                raise AssertionError(other)
        writer.write(frame(tid % 0x10000, unit, pdu))


def client(port: int, monotonic: FakeMonotonic) -> ModbusMeter:
    return ModbusMeter(
        "127.0.0.1",
        SDM630,
        port=port,
        unit=1,
        timeout=REQUEST_TIMEOUT_S,
        monotonic=monotonic,
    )


async def read(meter: ModbusMeter) -> MeterReading:
    async with asyncio.timeout(TIMEOUT_S):
        return await meter.read()


@pytest.mark.parametrize(
    ("foreign", "reason"),
    [
        ("tid+1", MeterErrorReason.NO_RESPONSE),
        ("tid-1", MeterErrorReason.NO_RESPONSE),  # a gateway one answer behind
        ("tid0", MeterErrorReason.NO_RESPONSE),  # 3.13.1 takes tid 0 as a wildcard
        ("tid+1 exception", MeterErrorReason.NO_RESPONSE),  # not this request's error
        ("unit", MeterErrorReason.NO_RESPONSE),
        ("function", MeterErrorReason.DEVICE_ERROR),
    ],
)
async def test_a_reply_to_another_request_is_refused(
    foreign: str, reason: MeterErrorReason, monotonic: FakeMonotonic
) -> None:
    script = Script()
    async with RawModbusServer(script) as server:
        meter = client(server.port, monotonic)
        try:
            honest = await read(meter)
            assert honest.currents_a == (10.0, 10.0, 10.0)

            script.foreign = foreign
            started = time.monotonic()
            with pytest.raises(MeterUnavailableError) as info:
                await read(meter)
            assert time.monotonic() - started < READ_BOUND_S
            assert info.value.reason is reason, info.value
            assert not meter.connected  # whatever comes late cannot meet a request
            assert meter.failures == 1

            script.foreign = None
            monotonic.advance(meter.retry_in)
            again = await read(meter)
            assert again.currents_a == (10.0, 10.0, 10.0)  # never the foreign 25 A
            assert meter.failures == 0
        finally:
            await meter.close()
    assert not server.errors
    # a fresh connection after the refused reply, and every request was answered
    assert server.connections == 2
    assert len(server.requests) >= 2 * len(meter.read_plan) + 1

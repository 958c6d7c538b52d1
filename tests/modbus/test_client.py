"""The real client against the simulated meter over Modbus TCP on 127.0.0.1.

Every network step is bounded (``TIMEOUT_S``); a meter that stays silent costs the
client's per-request timeout (``REQUEST_TIMEOUT_S``), so each test stays within a few
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
import logging
import math
import struct
import time

import pytest

from custom_components.ev_power_share.modbus import (
    MeterError,
    MeterErrorReason,
    MeterReading,
    MeterUnavailableError,
    ModbusMeter,
    plausibility_problem,
    probe,
)
from simulator.modbus_meter import SimulatedModbusMeter

from .conftest import (
    REQUEST_TIMEOUT_S,
    TIMEOUT_S,
    FakeMonotonic,
    MeterFactory,
    free_port,
)

pytestmark = pytest.mark.timeout(15)

FLOAT32 = 1e-6  # relative precision of values that travelled as float32


def client_for(
    sim: SimulatedModbusMeter, profile: str | None = None, **kwargs: object
) -> ModbusMeter:
    kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
    return ModbusMeter(
        "127.0.0.1",
        profile or sim.profile.key,
        port=sim.port,
        unit=sim.unit,
        **kwargs,  # type: ignore[arg-type]
    )


async def read(meter: ModbusMeter) -> MeterReading:
    async with asyncio.timeout(TIMEOUT_S):
        return await meter.read()


async def read_fails(meter: ModbusMeter) -> MeterUnavailableError:
    async with asyncio.timeout(TIMEOUT_S):
        with pytest.raises(MeterUnavailableError) as info:
            await meter.read()
    return info.value


async def probe_fails(*args: object) -> MeterError:
    async with asyncio.timeout(TIMEOUT_S):
        with pytest.raises(MeterError) as info:
            await probe(*args)  # type: ignore[arg-type]
    return info.value


# -- round trips ----------------------------------------------------------------------


async def test_sdm630_round_trip(make_meter: MeterFactory) -> None:
    sim = await make_meter("sdm630")
    sim.set(
        voltages=(231.2, 229.8, 233.1),
        currents=(16.25, 12.5, 0.75),
        powers=(3650.5, 2800.0, -150.25),
        import_kwh=12345.67,
        export_kwh=890.12,
    )
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    meter = client_for(sim, clock=lambda: moment)
    try:
        reading = await read(meter)
    finally:
        await meter.close()
    assert reading.phases == 3
    assert reading.voltages_v == pytest.approx((231.2, 229.8, 233.1), rel=FLOAT32)
    assert reading.currents_a == pytest.approx((16.25, 12.5, 0.75), rel=FLOAT32)
    assert reading.powers_w == pytest.approx((3650.5, 2800.0, -150.25), rel=FLOAT32)
    assert reading.power_w == pytest.approx(6300.25, rel=FLOAT32)  # the total register
    assert reading.import_kwh == pytest.approx(12345.67, rel=FLOAT32)
    assert reading.export_kwh == pytest.approx(890.12, rel=FLOAT32)
    assert reading.timestamp == moment
    # 12 values in 3 requests: phases 0x00-0x11, total 0x34, energy 0x48-0x4B
    assert sim.requests == len(meter.read_plan) == 3


async def test_sdm120_round_trip(make_meter: MeterFactory) -> None:
    sim = await make_meter("sdm120", unit=17)
    sim.set(
        voltages=228.4, currents=9.5, powers=-2100.0, import_kwh=3.5, export_kwh=77.0
    )
    meter = client_for(sim)
    try:
        reading = await read(meter)
    finally:
        await meter.close()
    assert reading.phases == 1
    assert reading.voltages_v == pytest.approx((228.4,), rel=FLOAT32)
    assert reading.currents_a == pytest.approx((9.5,), rel=FLOAT32)
    assert reading.powers_w == (-2100.0,)
    assert reading.power_w == -2100.0  # no total register: the phase's power
    assert reading.import_kwh == 3.5
    assert reading.export_kwh == 77.0


async def test_em24_round_trip_with_scaled_integers(make_meter: MeterFactory) -> None:
    sim = await make_meter("em24", unit=5)
    sim.set(
        voltages=(231.4, 229.9, 0.0),
        currents=(16.125, 31.999, 0.0),
        powers=(3700.1, -7300.5, 0.0),
        power_w=-3600.4,
        import_kwh=123456.7,
        export_kwh=0.1,
    )
    meter = client_for(sim)
    try:
        reading = await read(meter)
    finally:
        await meter.close()
    # integers on the wire: exact to the meter's step (0.1 V, 1 mA, 0.1 W, 0.1 kWh)
    assert reading.voltages_v == pytest.approx((231.4, 229.9, 0.0), abs=1e-9)
    assert reading.currents_a == pytest.approx((16.125, 31.999, 0.0), abs=1e-9)
    assert reading.powers_w == pytest.approx((3700.1, -7300.5, 0.0), abs=1e-9)
    assert reading.power_w == pytest.approx(-3600.4, abs=1e-9)
    assert reading.import_kwh == pytest.approx(123456.7, abs=1e-9)
    assert reading.export_kwh == pytest.approx(0.1, abs=1e-9)
    # 11 registers per request at most: 6 requests
    assert sim.requests == len(meter.read_plan) == 6


async def test_values_change_between_reads(make_meter: MeterFactory) -> None:
    sim = await make_meter("sdm630")
    async with client_for(sim) as meter:
        sim.set(currents=(10, 10, 10))
        assert (await read(meter)).currents_a == (10.0, 10.0, 10.0)
        sim.set(currents=(6, 0, 32))
        assert (await read(meter)).currents_a == (6.0, 0.0, 32.0)
        assert meter.connected
    assert not meter.connected


async def test_a_meter_sending_nan_gives_no_reading(make_meter: MeterFactory) -> None:
    sim = await make_meter("sdm630")
    sim.set(currents=(10, math.nan, 10))
    meter = client_for(sim)
    try:
        error = await read_fails(meter)
    finally:
        await meter.close()
    assert error.reason is MeterErrorReason.IMPLAUSIBLE


# -- down, back-off, recovery -----------------------------------------------------------


async def test_stopped_server_fails_fast_and_back_off_grows(
    make_meter: MeterFactory, monotonic: FakeMonotonic
) -> None:
    sim = await make_meter("sdm630")
    meter = client_for(sim, monotonic=monotonic, backoff_initial=1.0, backoff_max=4.0)
    try:
        await read(meter)
        assert meter.backoff == 0
        await sim.stop()

        started = time.monotonic()
        error = await read_fails(meter)
        assert time.monotonic() - started < 2 * REQUEST_TIMEOUT_S
        assert error.reason in (
            MeterErrorReason.CANNOT_CONNECT,
            MeterErrorReason.NO_RESPONSE,  # if the close crossed the request
        )
        assert (meter.backoff, meter.failures, error.retry_in) == (1.0, 1, 1.0)

        # within the back-off: refused at once, without a new attempt
        started = time.monotonic()
        waiting = await read_fails(meter)
        assert time.monotonic() - started < 0.05
        assert waiting.retry_in == pytest.approx(1.0)
        assert meter.failures == 1

        delays = []
        for _ in range(4):
            monotonic.advance(meter.backoff)
            error = await read_fails(meter)
            assert error.reason is MeterErrorReason.CANNOT_CONNECT
            delays.append(meter.backoff)
        assert delays == [2.0, 4.0, 4.0, 4.0]  # doubling, capped at backoff_max
        assert meter.failures == 5
        assert meter.last_error is error
    finally:
        await meter.close()


async def test_client_recovers_when_the_server_comes_back(
    make_meter: MeterFactory, monotonic: FakeMonotonic
) -> None:
    sim = await make_meter("sdm630")
    sim.set(currents=(8, 8, 8))
    meter = client_for(sim, monotonic=monotonic)
    try:
        await read(meter)
        port = sim.port
        await sim.stop()
        await read_fails(meter)
        async with asyncio.timeout(TIMEOUT_S):
            await sim.start()
        assert sim.port == port  # restarted on the same port

        await read_fails(meter)  # still backing off: not even tried
        monotonic.advance(meter.retry_in)
        reading = await read(meter)
        assert reading.currents_a == (8.0, 8.0, 8.0)
        assert (meter.failures, meter.backoff, meter.last_error) == (0, 0.0, None)
    finally:
        await meter.close()


async def test_a_silent_meter_times_out(
    make_meter: MeterFactory, monotonic: FakeMonotonic
) -> None:
    sim = await make_meter("sdm630")
    meter = client_for(sim, monotonic=monotonic)
    try:
        await read(meter)
        sim.respond = False
        started = time.monotonic()
        error = await read_fails(meter)
        assert time.monotonic() - started < REQUEST_TIMEOUT_S + 1.0
        assert error.reason is MeterErrorReason.NO_RESPONSE
        assert not meter.connected  # dropped, reconnected after the back-off

        sim.respond = True
        monotonic.advance(meter.retry_in)
        await read(meter)
        assert meter.failures == 0
    finally:
        await meter.close()


async def test_exception_response_is_a_device_error(make_meter: MeterFactory) -> None:
    # an SDM630 has nothing at the EM24's 0x5C: it answers "illegal data address"
    sim = await make_meter("sdm630")
    meter = client_for(sim, "em24")
    try:
        error = await read_fails(meter)
    finally:
        await meter.close()
    assert error.reason is MeterErrorReason.DEVICE_ERROR


# -- probe -------------------------------------------------------------------------------


async def test_probe_returns_a_plausible_reading(make_meter: MeterFactory) -> None:
    sim = await make_meter("em24", unit=3)
    sim.set(currents=(5, 6, 7), import_kwh=42)
    async with asyncio.timeout(TIMEOUT_S):
        reading = await probe("127.0.0.1", sim.port, 3, "em24", REQUEST_TIMEOUT_S)
    assert reading.currents_a == (5.0, 6.0, 7.0)
    assert reading.import_kwh == 42.0


async def test_probe_nothing_listening_cannot_connect() -> None:
    error = await probe_fails("127.0.0.1", free_port(), 1, "sdm630", REQUEST_TIMEOUT_S)
    assert error.reason is MeterErrorReason.CANNOT_CONNECT


async def test_probe_wrong_unit_id_gets_no_response(make_meter: MeterFactory) -> None:
    sim = await make_meter("sdm630", unit=1)
    started = time.monotonic()
    error = await probe_fails("127.0.0.1", sim.port, 2, "sdm630", REQUEST_TIMEOUT_S)
    assert error.reason is MeterErrorReason.NO_RESPONSE
    assert time.monotonic() - started < REQUEST_TIMEOUT_S + 1.0
    assert sim.requests == 0


async def test_probe_silent_server_gets_no_response(make_meter: MeterFactory) -> None:
    sim = await make_meter("sdm120")
    sim.respond = False
    error = await probe_fails("127.0.0.1", sim.port, 1, "sdm120", REQUEST_TIMEOUT_S)
    assert error.reason is MeterErrorReason.NO_RESPONSE


@pytest.mark.parametrize(
    "values",
    [
        {"voltages": 0.0},  # no phase live
        {"voltages": (230.0, 40.0, 230.0)},  # a phase neither live nor absent
        {"voltages": 400.0},  # line-to-line where line-to-neutral belongs
        {"currents": (1e6, 0, 0)},
        {"import_kwh": -5.0},
    ],
)
async def test_probe_implausible_values(
    make_meter: MeterFactory, values: dict[str, object]
) -> None:
    sim = await make_meter("sdm630")
    sim.set(**values)  # type: ignore[arg-type]
    error = await probe_fails("127.0.0.1", sim.port, 1, "sdm630", REQUEST_TIMEOUT_S)
    assert error.reason is MeterErrorReason.IMPLAUSIBLE


async def test_probe_wrong_model_is_implausible(make_meter: MeterFactory) -> None:
    # an EM24's scaled integers read as an SDM630's floats make no sense
    sim = await make_meter("em24")
    sim.set(currents=(10, 10, 10), import_kwh=100)
    error = await probe_fails("127.0.0.1", sim.port, 1, "sdm630", REQUEST_TIMEOUT_S)
    assert error.reason is MeterErrorReason.IMPLAUSIBLE


async def test_probe_accepts_a_three_phase_meter_on_one_phase(
    make_meter: MeterFactory,
) -> None:
    sim = await make_meter("sdm630")
    sim.set(voltages=(230.0, 0.0, 0.0), currents=(10.0, 0.0, 0.0))
    async with asyncio.timeout(TIMEOUT_S):
        reading = await probe("127.0.0.1", sim.port, 1, "sdm630", REQUEST_TIMEOUT_S)
    assert reading.voltages_v == (230.0, 0.0, 0.0)


# -- arguments and the simulator itself ----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"unit": 0}, {"unit": 248}, {"port": 0}, {"timeout": 0}, {"backoff_initial": 0}],
)
def test_meter_refuses_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ModbusMeter("127.0.0.1", "sdm630", **kwargs)  # type: ignore[arg-type]


def test_meter_refuses_unknown_profile() -> None:
    with pytest.raises(KeyError):
        ModbusMeter("127.0.0.1", "sdm999")


def test_simulator_checks_phase_counts() -> None:
    sim = SimulatedModbusMeter("sdm120")
    with pytest.raises(ValueError, match="phase"):
        sim.set(currents=(1.0, 2.0, 3.0))
    sim.set(powers=(1500.0,))
    assert sim.values.power_w == 1500.0


async def test_gateway_exception_means_no_response() -> None:
    """A TCP/RS485 gateway whose target is silent answers exception 0x0B."""

    async def gateway(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = await reader.readexactly(
                    7
                )  # MBAP: tid, protocol, length, unit
                tid, _protocol, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                answer = struct.pack(">BB", pdu[0] | 0x80, 0x0B)
                writer.write(
                    struct.pack(">HHHB", tid, 0, len(answer) + 1, unit) + answer
                )
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(gateway, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        error = await probe_fails("127.0.0.1", port, 9, "sdm630", REQUEST_TIMEOUT_S)
        assert error.reason is MeterErrorReason.NO_RESPONSE
        assert "0x0b" in str(error)
        assert time.monotonic() - started < REQUEST_TIMEOUT_S  # answered, not timed out
    finally:
        server.close()
        await server.wait_closed()


async def test_cancelling_a_read_cancels_it(make_meter: MeterFactory) -> None:
    sim = await make_meter("sdm630")
    meter = client_for(sim, timeout=3.0)
    try:
        await read(meter)
        sim.respond = False
        task = asyncio.create_task(meter.read())
        await asyncio.sleep(0.2)
        task.cancel()
        async with asyncio.timeout(TIMEOUT_S):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert meter.failures == 0  # not the meter's fault
        assert not meter.connected  # a late answer must not meet the next request

        # an outer deadline shorter than the meter's timeout is a plain TimeoutError
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await meter.read()
        assert meter.failures == 0
    finally:
        await meter.close()


# -- implausible figures are never a reading ---------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"voltages": (1e38, 230.0, 230.0)},
        {"currents": (10.0, 1e38, 10.0)},
        {"currents": (10.0, 10.0, -2e4)},
        {"powers": (2300.0, 3.5e6, 2300.0), "power_w": 6900.0},  # one phase > 3 MW
        {"power_w": -1.2e7},  # total > 10 MW
        {"import_kwh": -5.0},
        {"export_kwh": -0.5},
        {"import_kwh": 1e38},
    ],
)
async def test_read_refuses_implausible_figures(
    make_meter: MeterFactory, monotonic: FakeMonotonic, values: dict[str, object]
) -> None:
    sim = await make_meter("sdm630")
    sim.set(currents=(10, 10, 10), powers=(2300, 2300, 2300), import_kwh=100)
    meter = client_for(sim, monotonic=monotonic)
    try:
        await read(meter)
        sim.set(**values)  # type: ignore[arg-type]
        error = await read_fails(meter)
        assert error.reason is MeterErrorReason.IMPLAUSIBLE, error
        assert meter.implausible_readings == 1
        assert meter.last_error is error
        # the link works: no back-off, the connection stays, the next poll reads
        assert (meter.failures, meter.backoff, meter.retry_in) == (0, 0.0, 0.0)
        assert meter.connected
        sim.set(
            voltages=230,
            currents=(10, 10, 10),
            powers=(2300, 2300, 2300),
            import_kwh=100,
            export_kwh=0,
        )
        reading = await read(meter)  # no clock advance needed
        assert reading.currents_a == (10.0, 10.0, 10.0)
        assert meter.implausible_readings == 1  # a total since creation
        assert meter.last_error is None
    finally:
        await meter.close()


async def test_implausible_readings_are_logged_rate_limited(
    make_meter: MeterFactory,
    monotonic: FakeMonotonic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first at WARNING with its reason, then a count at most once a minute,
    even when the meter alternates between good and bad figures every poll."""
    sim = await make_meter("sdm630")
    meter = client_for(sim, monotonic=monotonic)
    logger = "custom_components.ev_power_share.modbus.client"
    caplog.set_level(logging.INFO, logger=logger)
    try:
        for poll in range(60):  # 2 minutes of 2 s polls, every other one bad
            sim.set(currents=(10, 1e38 if poll % 2 == 0 else 10, 10))
            with contextlib.suppress(MeterUnavailableError):
                await read(meter)
            monotonic.advance(2.0)
    finally:
        await meter.close()
    assert meter.implausible_readings == 30
    lines = [
        r for r in caplog.records if r.name == logger and "implausible" in r.message
    ]
    assert [r.levelno for r in lines] == [logging.WARNING] * len(lines)
    assert len(lines) == 2, [r.message for r in lines]  # at t = 0 and t = 60 s
    assert "L2 current 1e+38 A" in lines[0].message
    assert "15 implausible readings" in lines[1].message  # t = 4 .. 60 s


def _reading(**changes: object) -> MeterReading:
    figures: dict[str, object] = {
        "timestamp": datetime(2026, 5, 1, tzinfo=UTC),
        "voltages_v": (230.0, 230.0, 230.0),
        "currents_a": (10.0, 10.0, 10.0),
        "powers_w": (2300.0, 2300.0, 2300.0),
        "power_w": 6900.0,
        "import_kwh": 100.0,
        "export_kwh": 0.0,
    }
    return MeterReading(**{**figures, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"powers_w": (2.9e6, -2.9e6, 0.0), "power_w": 0.0}, None),
        ({"power_w": -9.9e6}, None),
        ({"import_kwh": 9e9, "export_kwh": None}, None),
        ({"powers_w": (3.1e6, 0.0, 0.0)}, "L1 power"),
        ({"power_w": 1.01e7}, "total power"),
        ({"power_w": math.inf}, "total power"),
        ({"currents_a": (10.0, math.nan, 10.0)}, "L2 current"),
        ({"powers_w": (0.0, 0.0, math.nan)}, "L3 power"),
        ({"import_kwh": math.nan}, "import energy"),
        ({"export_kwh": 1.1e10}, "export energy"),
        ({"export_kwh": -1e-3}, "export energy"),
    ],
)
def test_plausibility_bounds(changes: dict[str, object], problem: str | None) -> None:
    found = plausibility_problem(_reading(**changes))
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem), found

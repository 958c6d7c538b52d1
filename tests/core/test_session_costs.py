"""A session's cost per tariff interval, from its meter samples."""

from __future__ import annotations

from datetime import datetime, time, tzinfo
from decimal import Decimal
import itertools
import json
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_power_share.core.planner import PriceSlot
from custom_components.ev_power_share.core.session_costs import (
    CostLine,
    LineKind,
    SessionCost,
    cents,
    energy_curve,
    line_from_dict,
    line_to_dict,
    offset_changes,
    price_session,
)
from custom_components.ev_power_share.core.sessions import (
    ClosedBy,
    MeterSample,
    SessionRecord,
)
from custom_components.ev_power_share.core.tariff_plans import (
    PerHour,
    PerKwh,
    PlanRule,
    PriceSensor,
    TariffPlan,
    TimeOfUse,
    TouWindow,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "Europe/Brussels",
        "America/New_York",
        "Australia/Lord_Howe",  # a half-hour daylight-saving change
        "Asia/Kolkata",
    )
]


def plan(rule: PlanRule) -> TariffPlan:
    return TariffPlan("p", "Plan", "EUR", Decimal(21), Decimal(0), rule)


def local(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    *,
    tz: tzinfo = BRUSSELS,
    fold: int = 0,
) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=tz, fold=fold).timestamp()


def session(
    start: float,
    stop: float | None,
    wh: tuple[float, float],
    samples: tuple[MeterSample, ...] = (),
) -> SessionRecord:
    return SessionRecord(
        "s",
        "cp",
        1,
        "cp:1",
        start,
        wh[0],
        stopped_at=stop,
        meter_stop_wh=wh[1] if stop is not None else None,
        closed_by=ClosedBy.CHARGER if stop is not None else ClosedBy.OPEN,
        samples=samples,
    )


# --- the property: the intervals' energies add up to meter stop − meter start

clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 30, 45]))
money = st.decimals(min_value=0, max_value=2, places=3)
windows = st.builds(
    TouWindow, st.frozensets(st.integers(0, 6), min_size=1), clocks, clocks, money
)
T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z


@st.composite
def price_slots(draw: st.DrawFn) -> tuple[PriceSlot, ...]:
    start = T0 + draw(st.integers(0, 365 * 24)) * 3600.0
    lengths = draw(st.lists(st.sampled_from([900.0, 3600.0, 7200.0]), max_size=60))
    bounds = list(itertools.accumulate(lengths, initial=start))
    return tuple(
        PriceSlot(a, b, draw(st.floats(-0.5, 2.0, allow_nan=False)))
        for a, b in itertools.pairwise(bounds)
        if draw(st.booleans())  # gaps: the fallback price fills them
    )


rules = st.one_of(
    st.builds(PerKwh, money),
    st.builds(TimeOfUse, st.lists(windows, max_size=4).map(tuple), money),
    st.builds(PriceSensor, st.just("sensor.price"), money.map(lambda m: m - 1), money),
    st.builds(PerHour, money, money, st.integers(0, 120)),
)


@st.composite
def sessions(draw: st.DrawFn) -> SessionRecord:
    """A session of up to four days anywhere in 2025–2026 with increasing
    samples (float times and registers, at any moment)."""
    start = T0 + draw(st.floats(0, 2 * 365 * 86400.0))
    length = draw(st.floats(0, 4 * 86400.0))
    first = draw(st.floats(0, 1e8))
    times = sorted(draw(st.lists(st.floats(0, 1), max_size=30)))
    steps = draw(
        st.lists(st.floats(0, 30000), min_size=len(times) + 1, max_size=len(times) + 1)
    )
    registers = list(itertools.accumulate(steps, initial=first))
    samples = tuple(
        MeterSample(start + f * length, wh)
        for f, wh in zip(times, registers[1:], strict=False)
    )
    return session(start, start + length, (first, registers[-1]), samples)


def check_lines(cost: SessionCost, record: SessionRecord) -> None:
    """Lines cover the session without gaps or overlaps, none is negative, and
    each amount is its quantity × rate rounded to the cent."""
    assert all(line.energy_wh >= 0 and line.amount >= 0 for line in cost.lines)
    assert all(line.amount == cents(line.quantity * line.rate) for line in cost.lines)
    energy = [line for line in cost.lines if line.kind is not LineKind.IDLE]
    assert energy[0].start == record.started_at
    assert energy[-1].end == record.stopped_at
    assert all(a.end == b.start for a, b in itertools.pairwise(energy))


@settings(max_examples=300, deadline=None)
@given(sessions(), rules, st.sampled_from(ZONES), price_slots())
def test_interval_energies_add_up_to_meter_stop_minus_meter_start(
    record: SessionRecord,
    rule: PlanRule,
    tz: ZoneInfo,
    slots: tuple[PriceSlot, ...],
) -> None:
    cost = price_session(record, plan(rule), tz, slots)
    assert record.meter_stop_wh is not None
    exact = Decimal(repr(record.meter_stop_wh)) - Decimal(repr(record.meter_start_wh))
    assert sum(line.energy_wh for line in cost.lines) == exact
    assert cost.energy_wh == exact
    check_lines(cost, record)


@settings(max_examples=200, deadline=None)
@given(
    sessions(),
    st.builds(TimeOfUse, st.lists(windows, max_size=4).map(tuple), money),
    st.sampled_from(ZONES),
    st.lists(st.floats(0, 1), min_size=1, max_size=5),
)
def test_each_interval_is_at_the_price_of_every_moment_in_it(
    record: SessionRecord, rule: TimeOfUse, tz: ZoneInfo, where: list[float]
) -> None:
    cost = price_session(record, plan(rule), tz)
    for line, f in itertools.product(cost.lines, where):
        moment = line.start + f * (line.end - line.start)
        if line.start < moment < line.end:
            assert line.rate == rule.price_at(datetime.fromtimestamp(moment, tz))
    for a, b in itertools.pairwise(cost.lines):
        assert a.rate != b.rate  # neighbours at one price are merged


@settings(max_examples=200, deadline=None)
@given(
    sessions(),
    st.lists(st.tuples(st.floats(0, 1), st.floats(-1e6, 2e8)), max_size=10),
    st.sampled_from([PerKwh(Decimal("0.3")), PerHour(Decimal(1), Decimal(2), 10)]),
)
def test_samples_that_go_back_or_outside_the_session_cannot_make_energy_negative(
    record: SessionRecord, noise: list[tuple[float, float]], rule: PlanRule
) -> None:
    """Samples out of order, below the start, above the stop, before the start
    or after the stop: the energy is still stop − start, every line ≥ 0."""
    assert record.stopped_at is not None
    length = record.stopped_at - record.started_at
    extra = tuple(
        MeterSample(record.started_at + (f * 1.2 - 0.1) * length, max(wh, 0.0))
        for f, wh in noise
    )
    messy = session(
        record.started_at,
        record.stopped_at,
        (record.meter_start_wh, record.meter_stop_wh or 0.0),
        extra + record.samples,
    )
    cost = price_session(messy, plan(rule), BRUSSELS)
    exact = Decimal(repr(messy.meter_stop_wh)) - Decimal(repr(messy.meter_start_wh))
    assert cost.energy_wh == exact
    check_lines(cost, messy)


# --- examples


def test_a_session_across_a_tariff_change_is_split_where_the_register_was() -> None:
    """Peak until 23:00, off-peak after. The register is 57 000 Wh at 22:00
    and 64 000 at 23:30: at 23:00, 57 000 + 7 000 × 60/90 = 61 666.667 Wh."""
    rule = TimeOfUse(
        (TouWindow(frozenset(range(5)), time(7), time(23), Decimal("0.32")),),
        Decimal("0.18"),
    )
    record = session(
        local(2025, 3, 4, 21),
        local(2025, 3, 5, 1),
        (50000.0, 68000.0),
        (
            MeterSample(local(2025, 3, 4, 22), 57000.0),
            MeterSample(local(2025, 3, 4, 23, 30), 64000.0),
        ),
    )
    cost = price_session(record, plan(rule), BRUSSELS)
    assert [
        (line.start, line.end, line.energy_wh, line.rate) for line in cost.lines
    ] == [
        (
            local(2025, 3, 4, 21),
            local(2025, 3, 4, 23),
            Decimal("11666.667"),
            Decimal("0.32"),
        ),
        (
            local(2025, 3, 4, 23),
            local(2025, 3, 5, 1),
            Decimal("6333.333"),
            Decimal("0.18"),
        ),
    ]
    assert [line.amount for line in cost.lines] == [Decimal("3.73"), Decimal("1.14")]


def test_an_edge_the_spring_change_skips_takes_effect_at_the_change() -> None:
    """On 30 March 2025 Brussels goes from 02:00 CET to 03:00 CEST: an edge
    at 02:30 never shows on the clock, so the price changes at 01:00 UTC."""
    rule = TimeOfUse(
        (TouWindow(frozenset({6}), time(2, 30), time(12), Decimal("0.40")),),
        Decimal("0.10"),
    )
    start, stop = local(2025, 3, 30, 1), local(2025, 3, 30, 5)  # 3 h
    cost = price_session(session(start, stop, (0.0, 3000.0)), plan(rule), BRUSSELS)
    change = datetime(2025, 3, 30, 1, tzinfo=ZoneInfo("UTC")).timestamp()
    assert [
        (line.start, line.end, line.energy_wh, line.rate) for line in cost.lines
    ] == [
        (start, change, Decimal(1000), Decimal("0.10")),
        (change, stop, Decimal(2000), Decimal("0.40")),
    ]


def test_an_edge_the_autumn_change_repeats_takes_effect_twice() -> None:
    """On 26 October 2025 Brussels shows 02:00–03:00 twice (CEST, then CET):
    a window 02:15–02:45 is entered twice, 30 min each time."""
    rule = TimeOfUse(
        (TouWindow(frozenset({6}), time(2, 15), time(2, 45), Decimal("0.50")),),
        Decimal("0.10"),
    )
    start, stop = local(2025, 10, 26, 1), local(2025, 10, 26, 4)  # 4 h
    cost = price_session(session(start, stop, (0.0, 4000.0)), plan(rule), BRUSSELS)
    assert [line.rate for line in cost.lines] == [
        Decimal(r) for r in ("0.10", "0.50", "0.10", "0.50", "0.10")
    ]
    assert [line.energy_wh for line in cost.lines if line.rate == Decimal("0.50")] == [
        Decimal(500)
    ] * 2
    assert cost.lines[1].start == local(2025, 10, 26, 2, 15)
    assert cost.lines[3].start == local(2025, 10, 26, 2, 15, fold=1)


def test_the_zone_offset_changes_are_found_to_the_second() -> None:
    utc = ZoneInfo("UTC")
    spring = datetime(2025, 3, 30, 1, tzinfo=utc).timestamp()
    autumn = datetime(2025, 10, 26, 1, tzinfo=utc).timestamp()
    year = (
        datetime(2025, 1, 1, tzinfo=utc).timestamp(),
        datetime(2026, 1, 1, tzinfo=utc).timestamp(),
    )
    assert offset_changes(*year, BRUSSELS) == [spring, autumn]
    assert offset_changes(*year, utc) == []


def test_a_price_sensor_slot_plus_margin_and_the_fallback_where_none() -> None:
    """Slots 10:00–11:00 at 0.20 and 12:00–13:00 at −0.10; margin 0.05,
    fallback 0.30: 0.25, then 0.35 (no slot), then 0 (−0.05 is charged as 0)."""
    rule = PriceSensor("sensor.price", Decimal("0.05"), Decimal("0.30"))
    h = 3600.0
    slots = (
        PriceSlot(T0 + 12 * h, T0 + 13 * h, -0.1),
        PriceSlot(T0 + 10 * h, T0 + 11 * h, 0.2),
    )
    record = session(T0 + 10 * h, T0 + 13 * h, (0.0, 3000.0))
    cost = price_session(record, plan(rule), ZoneInfo("UTC"), slots)
    assert [(line.rate, line.energy_wh, line.amount) for line in cost.lines] == [
        (Decimal("0.25"), Decimal(1000), Decimal("0.25")),
        (Decimal("0.35"), Decimal(1000), Decimal("0.35")),
        (Decimal(0), Decimal(1000), Decimal(0)),
    ]


def test_the_idle_fee_runs_after_the_grace_from_when_the_car_stopped_drawing() -> None:
    """Drew until 12:30 (a pause at 11:00–11:30 does not count: it drew
    after it), then 4 Wh in an hour (4 W: idle). Grace 30 min: the fee runs
    13:00–14:15, 1.25 h × 4.00 = 5.00; plugged in 4.25 h × 1.50 = 6.375 → 6.38."""
    rule = PerHour(Decimal("1.50"), Decimal("4.00"), 30)
    samples = (
        MeterSample(local(2025, 3, 15, 11), 12000.0),
        MeterSample(local(2025, 3, 15, 11, 30), 12000.0),
        MeterSample(local(2025, 3, 15, 12), 19000.0),
        MeterSample(local(2025, 3, 15, 12, 30), 21000.0),
        MeterSample(local(2025, 3, 15, 13), 21000.0),
        MeterSample(local(2025, 3, 15, 14), 21004.0),
    )
    record = session(
        local(2025, 3, 15, 10), local(2025, 3, 15, 14, 15), (5000.0, 21004.0), samples
    )
    cost = price_session(record, plan(rule), BRUSSELS)
    assert [(line.kind, line.quantity, line.amount) for line in cost.lines] == [
        (LineKind.TIME, Decimal("4.25"), Decimal("6.38")),
        (LineKind.IDLE, Decimal("1.25"), Decimal("5.00")),
    ]
    assert cost.lines[1].start == local(2025, 3, 15, 13)
    assert cost.energy_wh == Decimal(16004)


def test_no_idle_fee_within_the_grace_or_while_drawing() -> None:
    rule = PerHour(Decimal(2), Decimal(5), 30)
    drew = session(T0, T0 + 7200, (0.0, 14000.0))  # 7 kW until the stop
    assert [line.kind for line in price_session(drew, plan(rule), BRUSSELS).lines] == [
        LineKind.TIME
    ]
    brief = session(T0, T0 + 7200, (0.0, 7000.0), (MeterSample(T0 + 5400, 7000.0),))
    assert [line.kind for line in price_session(brief, plan(rule), BRUSSELS).lines] == [
        LineKind.TIME
    ]
    never = session(T0, T0 + 7200, (0.0, 0.0))
    idle = price_session(never, plan(rule), BRUSSELS).lines[1]
    assert (idle.start, idle.quantity, idle.amount) == (
        T0 + 1800,
        Decimal("1.5"),
        Decimal("7.50"),
    )


def test_an_open_session_is_priced_up_to_its_last_sample() -> None:
    record = session(T0, None, (100.0, 0.0), (MeterSample(T0 + 1800, 2100.0, 4000.0),))
    cost = price_session(record, plan(PerKwh(Decimal("0.25"))), BRUSSELS)
    assert cost.lines == (
        CostLine(
            LineKind.ENERGY,
            T0,
            T0 + 1800,
            Decimal(2000),
            Decimal(2),
            "kWh",
            Decimal("0.25"),
            Decimal("0.50"),
        ),
    )
    assert (
        price_session(
            session(T0, None, (100.0, 0.0)), plan(PerKwh(Decimal(1))), BRUSSELS
        ).energy_wh
        == 0
    )


def test_a_stop_before_the_start_or_below_the_start_register_costs_nothing() -> None:
    backwards = session(T0, T0 - 60, (500.0, 400.0))
    curve = energy_curve(backwards)
    assert (curve.times, curve.values) == ((T0, T0), (Decimal(500), Decimal(500)))
    cost = price_session(backwards, plan(PerKwh(Decimal(1))), BRUSSELS)
    assert [(line.energy_wh, line.amount) for line in cost.lines] == [
        (Decimal(0), Decimal(0))
    ]


@settings(max_examples=100, deadline=None)
@given(sessions(), rules, st.sampled_from(ZONES), price_slots())
def test_cost_lines_read_back_exactly_what_they_write(
    record: SessionRecord,
    rule: PlanRule,
    tz: ZoneInfo,
    slots: tuple[PriceSlot, ...],
) -> None:
    cost = price_session(record, plan(rule), tz, slots)
    stored = json.loads(json.dumps([line_to_dict(line) for line in cost.lines]))
    assert tuple(line_from_dict(item) for item in stored) == cost.lines


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "parking"}, "kind: must be"),
        ({"start": "noon"}, "start: must be a number"),
        ({"end": float("nan")}, "end: must be a number"),
        ({"start": True}, "start: must be a number"),
        ({"amount": "lots"}, "amount: must be a number"),
        ({"rate": None}, "rate: must be a number"),
    ],
)
def test_a_stored_line_that_cannot_be_right_is_refused(
    change: dict[str, object], message: str
) -> None:
    line = CostLine(
        LineKind.ENERGY,
        T0,
        T0 + 60,
        Decimal(1),
        Decimal("0.001"),
        "kWh",
        Decimal(1),
        Decimal(0),
    )
    with pytest.raises(ValueError, match=message):
        line_from_dict({**line_to_dict(line), **change})

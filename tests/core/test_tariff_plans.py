"""Tariff plans as data: read from the flat mapping a flow or a store holds,
written back exactly, refused with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.ev_power_share.core.tariff_plans import (
    PerHour,
    PerKwh,
    PriceSensor,
    Rule,
    TariffPlan,
    TariffPlanError,
    TimeOfUse,
    TouWindow,
    plan_from_dict,
    windows_from_text,
    windows_text,
)

BASE = {"id": "p1", "name": "Residents", "currency": "EUR", "vat_percent": "21"}

prices = st.decimals(min_value=0, max_value=1000, places=4)
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))
windows = st.builds(
    TouWindow,
    st.frozensets(st.integers(0, 6), min_size=1),
    clocks,
    clocks,
    prices,
)
rules = st.one_of(
    st.builds(PerKwh, prices),
    st.builds(PerHour, prices, prices, st.integers(0, 1440)),
    st.builds(TimeOfUse, st.tuples(windows, windows) | st.tuples(), prices),
    st.builds(
        PriceSensor,
        st.just("sensor.nord_pool"),
        st.decimals(min_value=-100, max_value=100, places=3),
        prices,
    ),
)
plans = st.builds(
    TariffPlan,
    st.just("p1"),
    st.text("abc XYZ", min_size=1, max_size=20).map(str.strip).filter(bool),
    st.sampled_from(["EUR", "USD", "CHF"]),
    st.decimals(min_value=0, max_value=100, places=2),
    st.decimals(min_value=0, max_value=1000, places=2),
    rules,
)


@given(plans)
def test_a_plan_reads_back_what_it_writes(plan: TariffPlan) -> None:
    assert plan_from_dict(plan.to_dict()) == plan


def test_each_rule_is_read_from_its_fields() -> None:
    per_kwh = plan_from_dict({**BASE, "rule": "per_kwh", "price": 0.1})
    assert per_kwh.rule == PerKwh(Decimal("0.1"))
    assert per_kwh.monthly_fee == 0
    assert per_kwh.kind is Rule.PER_KWH
    visitor = plan_from_dict(
        {**BASE, "rule": "per_hour", "price_per_hour": "1.5", "grace_minutes": 30.0}
    )
    assert visitor.rule == PerHour(Decimal("1.5"), Decimal(0), 30)
    tou = plan_from_dict(
        {
            **BASE,
            "rule": "time_of_use",
            "default_price": "0.18",
            "windows": [
                {"days": ["Mon", "friday"], "start": "7:00", "end": "24:00", "price": 1}
            ],
        }
    )
    assert tou.rule == TimeOfUse(
        (TouWindow(frozenset({0, 4}), time(7), time(0), Decimal(1)),), Decimal("0.18")
    )
    sensor = plan_from_dict(
        {
            **BASE,
            "rule": "price_sensor",
            "entity_id": "sensor.price",
            "margin": "-0.02",
            "fallback_price": "0.3",
        },
        plan_id="subentry-1",
    )
    assert sensor.id == "subentry-1"
    assert sensor.rule == PriceSensor("sensor.price", Decimal("-0.02"), Decimal("0.3"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rule": "per_minute"}, "rule"),
        ({"rule": None}, "rule"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"id": 5}, "id"),
        ({"currency": "euro"}, "currency"),
        ({"currency": None}, "currency"),
        ({"vat_percent": None}, "vat_percent"),
        ({"vat_percent": "101"}, "vat_percent"),
        ({"vat_percent": float("nan")}, "vat_percent"),
        ({"monthly_fee": -1}, "monthly_fee"),
        ({"monthly_fee": True}, "monthly_fee"),
        ({"price": float("inf")}, "price"),
        ({"price": "cheap"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": -0.01}, "price"),
        ({"price": 1001}, "price"),
        ({"price": [1]}, "price"),
        (
            {"rule": "per_hour", "price_per_hour": 1, "grace_minutes": 1.5},
            "grace_minutes",
        ),
        (
            {"rule": "per_hour", "price_per_hour": 1, "grace_minutes": 1441},
            "grace_minutes",
        ),
        ({"rule": "per_hour"}, "price_per_hour"),
        (
            {"rule": "per_hour", "price_per_hour": 1, "idle_fee_per_hour": -2},
            "idle_fee_per_hour",
        ),
        ({"rule": "time_of_use", "default_price": 1, "windows": "mon 7-9"}, "windows"),
        ({"rule": "time_of_use", "default_price": 1, "windows": [3]}, "windows[0]"),
        ({"rule": "time_of_use", "windows": []}, "default_price"),
        (
            {"rule": "price_sensor", "entity_id": "price", "fallback_price": 1},
            "entity_id",
        ),
        ({"rule": "price_sensor", "entity_id": "sensor.p", "margin": 101}, "margin"),
        ({"rule": "price_sensor", "entity_id": "sensor.p"}, "fallback_price"),
    ],
)
def test_a_plan_that_cannot_be_used_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(TariffPlanError) as caught:
        plan_from_dict({**BASE, "rule": "per_kwh", "price": "0.25", **change})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"days": [], "start": "07:00", "end": "09:00", "price": 1}, "windows[0].days"),
        (
            {"days": ["mon", "xyz"], "start": "07:00", "end": "09:00", "price": 1},
            "windows[0].days",
        ),
        (
            {"days": [1], "start": "07:00", "end": "09:00", "price": 1},
            "windows[0].days",
        ),
        (
            {"days": ["mon"], "start": "7h", "end": "09:00", "price": 1},
            "windows[0].start",
        ),
        (
            {"days": ["mon"], "start": "07:00", "end": "25:00", "price": 1},
            "windows[0].end",
        ),
        (
            {"days": ["mon"], "start": "07:60", "end": "09:00", "price": 1},
            "windows[0].start",
        ),
        (
            {"days": ["mon"], "start": "07:00", "end": "09:00", "price": -1},
            "windows[0].price",
        ),
    ],
)
def test_a_window_that_cannot_be_used_is_refused_naming_it(
    window: dict[str, Any], field: str
) -> None:
    data = {**BASE, "rule": "time_of_use", "default_price": 1, "windows": [window]}
    with pytest.raises(TariffPlanError) as caught:
        plan_from_dict(data)
    assert caught.value.field == field


def test_too_many_windows_are_refused() -> None:
    window = {"days": ["mon"], "start": "07:00", "end": "09:00", "price": 1}
    data = {**BASE, "rule": "time_of_use", "default_price": 1, "windows": [window] * 51}
    with pytest.raises(TariffPlanError, match="windows: at most 50"):
        plan_from_dict(data)


def test_a_plan_must_be_a_mapping() -> None:
    with pytest.raises(TariffPlanError, match="plan: must be a mapping"):
        plan_from_dict(["per_kwh"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("local", "price"),
    [
        (datetime(2025, 3, 7, 21, 59, tzinfo=UTC), "0.10"),  # Friday, before
        (datetime(2025, 3, 7, 22, 0, tzinfo=UTC), "0.05"),  # Friday night
        (datetime(2025, 3, 8, 5, 59, tzinfo=UTC), "0.05"),  # …into Saturday
        (datetime(2025, 3, 8, 6, 0, tzinfo=UTC), "0.20"),  # Saturday, all day
        (datetime(2025, 3, 9, 23, 59, tzinfo=UTC), "0.20"),  # Sunday, last minute
        (datetime(2025, 3, 10, 0, 0, tzinfo=UTC), "0.10"),  # Monday: the default
        (datetime(2025, 3, 10, 3, 0, tzinfo=UTC), "0.10"),  # Sunday night is not Mon
    ],
)
def test_a_window_past_midnight_runs_into_the_next_day(
    local: datetime, price: str
) -> None:
    rule = TimeOfUse(
        (
            TouWindow(frozenset({4}), time(22), time(6), Decimal("0.05")),
            TouWindow(frozenset({5, 6}), time(0), time(0), Decimal("0.20")),
        ),
        Decimal("0.10"),
    )
    assert rule.price_at(local) == Decimal(price)


def test_windows_are_typed_one_per_line() -> None:
    text = (
        "mon-fri 07:00-23:00 0.32\n\n sat,sun 00:00-24:00 0.2 \nfri-mon 22:00-06:00 0.1"
    )
    windows = windows_from_text(text)
    assert [w["days"] for w in windows] == [
        ["mon", "tue", "wed", "thu", "fri"],
        ["sat", "sun"],
        ["fri", "sat", "sun", "mon"],
    ]
    plan = plan_from_dict(
        {**BASE, "rule": "time_of_use", "default_price": 1, "windows": windows}
    )
    assert isinstance(plan.rule, TimeOfUse)
    assert windows_text(plan.rule) == (
        "mon,tue,wed,thu,fri 07:00-23:00 0.32\n"
        "sat,sun 00:00-00:00 0.2\n"
        "mon,fri,sat,sun 22:00-06:00 0.1"
    )
    assert (
        plan_from_dict(
            {**plan.to_dict(), "windows": windows_from_text(windows_text(plan.rule))}
        )
        == plan
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("mon-fri 07:00 0.3", "windows[0]"),
        ("mon 07:00-09:00 0.3\nmon-fri 0.3", "windows[1]"),
        ("mon-xyz 07:00-09:00 0.3", "windows[0].days"),
        ("mon 07:00-09:00-10:00 0.3", "windows[0]"),
    ],
)
def test_windows_that_cannot_be_read_name_their_line(text: str, field: str) -> None:
    with pytest.raises(TariffPlanError) as caught:
        windows_from_text(text)
    assert caught.value.field == field

"""Price forecasts read from the attributes of the common price integrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import itertools

from hypothesis import given, strategies as st

from custom_components.ev_power_share.core.tariffs import price_forecast

CET = timezone(timedelta(hours=1))
T0 = datetime(2026, 11, 24, 0, 0, tzinfo=CET)


def _hours(n: int) -> list[datetime]:
    return [T0 + timedelta(hours=h) for h in range(n)]


def test_nordpool_raw_lists_with_datetimes() -> None:
    attributes = {
        "raw_today": [
            {"start": t, "end": t + timedelta(hours=1), "value": 0.1 * i}
            for i, t in enumerate(_hours(24))
        ],
        "raw_tomorrow": [
            {
                "start": t + timedelta(days=1),
                "end": t + timedelta(days=1, hours=1),
                "value": 1.0,
            }
            for t in _hours(24)
        ],
        "current_price": 0.3,
    }
    slots = price_forecast(attributes, UTC)
    assert len(slots) == 48
    assert slots[3].start_s == (T0 + timedelta(hours=3)).timestamp()
    assert slots[3].end_s - slots[3].start_s == 3600
    assert slots[3].price == 0.1 * 3
    assert slots[-1].price == 1.0


def test_energi_data_service_hours_without_end() -> None:
    attributes = {
        "raw_today": [
            {"hour": t.isoformat(), "price": 2.0 + i} for i, t in enumerate(_hours(3))
        ]
    }
    slots = price_forecast(attributes, UTC)
    assert [s.price for s in slots] == [2.0, 3.0, 4.0]
    # Without an end, an item lasts until the next; the last as long as the one before.
    assert all(s.end_s - s.start_s == 3600 for s in slots)


def test_octopus_rates_and_amber_forecasts_with_strings() -> None:
    octopus = {
        "rates": [
            {
                "start": "2026-11-24T00:00:00Z",
                "end": "2026-11-24T00:30:00Z",
                "value_inc_vat": 0.25,
            },
            {
                "start": "2026-11-24T00:30:00Z",
                "end": "2026-11-24T01:00:00Z",
                "value_inc_vat": 0.07,
            },
        ]
    }
    slots = price_forecast(octopus, UTC)
    assert [(s.end_s - s.start_s, s.price) for s in slots] == [
        (1800, 0.25),
        (1800, 0.07),
    ]
    amber = {
        "forecasts": [
            {
                "start_time": "2026-11-24T10:00:01+10:00",
                "end_time": "2026-11-24T10:30:00+10:00",
                "per_kwh": 0.31,
            }
        ]
    }
    (slot,) = price_forecast(amber, UTC)
    assert slot.price == 0.31


def test_naive_times_are_read_in_the_local_zone_and_junk_is_skipped() -> None:
    attributes = {
        "prices": [
            {"time": "2026-11-24 05:00:00", "price": 0.2},
            {"time": "not a time", "price": 0.3},
            {"time": "2026-11-24 06:00:00", "price": "n/a"},
            {"time": "2026-11-24 07:00:00", "price": float("nan")},
            "garbage",
        ]
    }
    (slot,) = price_forecast(attributes, CET)
    assert slot.start_s == datetime(2026, 11, 24, 5, tzinfo=CET).timestamp()
    assert price_forecast({"state": 3}, UTC) == []


@given(
    st.lists(
        st.tuples(st.integers(0, 72), st.floats(-1, 5, allow_nan=False)), max_size=40
    )
)
def test_slots_are_sorted_and_never_overlap(items: list[tuple[int, float]]) -> None:
    attributes = {
        "forecast": [{"start": T0 + timedelta(hours=h), "price": p} for h, p in items]
    }
    slots = price_forecast(attributes, UTC)
    assert len(slots) == len({h for h, _ in items})
    for a, b in itertools.pairwise(slots):
        assert a.start_s < a.end_s <= b.start_s

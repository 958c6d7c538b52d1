"""The site's physics without I/O: schedules, phases and what the meter measures."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.site_config import parse_config
from simulator.site_model import SiteModel

V = 230.0


def site(
    chargers: list[dict[str, Any]],
    vehicles: list[dict[str, Any]],
    **extra: Any,
) -> SiteModel:
    data: dict[str, Any] = {
        "site": {"main_breaker_a": 100},
        "chargers": chargers,
        "vehicles": [{"jitter_a": 0, "ramp_a_per_s": 100} | v for v in vehicles],
        "meter": {"port": 0},
    }
    data.update(extra)
    return SiteModel(parse_config(data))


def charge(model: SiteModel, seconds: float, limit: float = 16.0) -> None:
    ports = list(model.ports)
    for _ in range(int(seconds)):
        model.advance(1.0, dict.fromkeys(ports, limit), dict.fromkeys(ports, True))


@pytest.mark.parametrize(
    ("connection", "phases", "legs", "reported"),
    [
        ("L1-L2-L3", 3, [16, 16, 16], (16, 16, 16)),
        ("L2-L3-L1", 1, [0, 16, 0], (16, 0, 0)),  # its first phase lands on L2
        ("L3-L1-L2", 1, [0, 0, 16], (16, 0, 0)),
        ("L3", 3, [0, 0, 16], (16,)),  # a three-phase car on a one-phase charger
        ("L2", 1, [0, 16, 0], (16,)),
    ],
)
def test_draw_lands_on_the_legs_of_the_charger_rotation(
    connection: str, phases: int, legs: list[float], reported: tuple[float, ...]
) -> None:
    model = site(
        [{"id": "cp", "connection": connection}],
        [{"name": "ev", "port": "cp/1", "phases": phases}],
    )
    charge(model, 10)
    assert model.legs_now.ev_a == pytest.approx(legs)
    assert model.legs_now.net_a == pytest.approx(legs)
    assert model.ports["cp/1"].currents_a == pytest.approx(reported)


def test_line_to_line_charger_loads_both_legs() -> None:
    model = site(
        [{"id": "cp", "connection": "L1-L2"}],
        [{"name": "ev", "port": "cp/1", "phases": 1}],
        site={"main_breaker_a": 100, "supply": "split_phase_240"},
        meter={"port": 0, "profile": "sdm630"},
    )
    charge(model, 10)
    assert model.legs == 2
    assert model.legs_now.ev_a == pytest.approx([16, 16])
    before = model.ports["cp/1"].register_wh
    charge(model, 3600)
    assert model.ports["cp/1"].register_wh - before == pytest.approx(16 * 240.0)


def test_two_chargers_add_up_per_leg() -> None:
    model = site(
        [
            {"id": "a", "connection": "L1-L2-L3"},
            {"id": "b", "connection": "L2-L3-L1", "connectors": 2},
        ],
        [
            {"name": "three", "port": "a/1", "phases": 3, "max_a": 10},
            {"name": "one", "port": "b/1", "phases": 1, "max_a": 16},
            {"name": "other", "port": "b/2", "phases": 1, "max_a": 8},
        ],
    )
    charge(model, 10, limit=32)
    assert model.legs_now.ev_a == pytest.approx([10, 10 + 16 + 8, 10])


def test_meter_is_base_load_minus_pv_plus_vehicles() -> None:
    model = site(
        [{"id": "cp", "connection": "L1-L2-L3"}],
        [{"name": "ev", "port": "cp/1", "phases": 1}],
        base_load={"households": 4, "common_w": 690},
        solar={"kwp": 6, "cloud_rate_per_h": 0},
        start="12:00",
    )
    charge(model, 10)
    legs = model.legs_now
    assert sum(legs.base_a) * V == pytest.approx(model.base_w)
    assert model.base_w > 690  # households draw something
    assert sum(legs.pv_a) * V == pytest.approx(model.pv_w)
    assert model.pv_w > 3000  # a clear noon
    assert legs.pv_a[0] == legs.pv_a[1] == legs.pv_a[2]
    assert legs.ev_a == pytest.approx([16, 0, 0])
    assert legs.net_a == pytest.approx(
        [b - p + e for b, p, e in zip(legs.base_a, legs.pv_a, legs.ev_a, strict=True)]
    )
    assert model.meter_powers_w == pytest.approx([a * V for a in legs.net_a])


def test_meter_counts_import_and_export() -> None:
    model = site(
        [],
        [],
        solar={"kwp": 6, "cloud_rate_per_h": 0},
        start="12:00",
        meter={"port": 0, "import_kwh": 100.0},
    )
    model.advance(3600.0, {}, {})
    assert model.export_kwh > 1.0  # nobody home, the sun exports
    assert model.import_kwh == 100.0
    night = site([], [], base_load={"common_w": 1000}, start="01:00")
    night.advance(3600.0, {}, {})
    assert night.import_kwh == pytest.approx(1.0)
    assert night.export_kwh == 0.0


def test_arrivals_and_departures_follow_the_schedule() -> None:
    model = site(
        [{"id": "cp"}],
        [{"name": "ev", "port": "cp/1", "arrival": "08:00", "departure": "09:00"}],
        start="07:59",
    )
    assert model.take_events() == []
    port = model.ports["cp/1"]
    model.advance(30.0, {"cp/1": 16}, {"cp/1": False})
    assert model.take_events() == []
    model.advance(30.0, {"cp/1": 16}, {"cp/1": False})
    (arrive,) = model.take_events()
    assert (arrive.kind, arrive.charger, arrive.connector, arrive.id_tag) == (
        "arrive",
        "cp",
        1,
        "ev",
    )
    assert arrive.at_s == 8 * 3600
    model.advance(60.0, {"cp/1": 16}, {"cp/1": False})  # no transaction yet
    assert port.vehicle is not None
    assert port.vehicle.current_a == 0.0
    assert port.register_wh == 0.0
    for _ in range(58):
        model.advance(60.0, {"cp/1": 16}, {"cp/1": True})
    assert port.register_wh > 0
    assert model.take_events() == []
    model.advance(90.0, {"cp/1": 16}, {"cp/1": True})
    (depart,) = model.take_events()
    assert (depart.kind, depart.at_s) == ("depart", 9 * 3600)
    assert port.vehicle is None
    assert model.legs_now.ev_a == [0.0, 0.0, 0.0]


def test_vehicles_present_at_the_start_are_plugged_in() -> None:
    model = site(
        [{"id": "cp", "connectors": 2}],
        [
            {"name": "night", "port": "cp/1", "arrival": "18:00", "departure": "07:00"},
            {"name": "day", "port": "cp/2", "arrival": "09:00", "departure": "17:00"},
        ],
        start="06:00",
    )
    assert [(e.kind, e.vehicle) for e in model.take_events()] == [("arrive", "night")]
    model.advance(3 * 3600.0, {}, {})  # 09:00
    assert [(e.kind, e.vehicle) for e in model.take_events()] == [
        ("depart", "night"),
        ("arrive", "day"),
    ]


def test_a_new_vehicle_each_visit() -> None:
    model = site(
        [{"id": "cp"}],
        [
            {
                "name": "ev",
                "port": "cp/1",
                "arrival": "00:00",
                "departure": "01:00",
                "soc": 50,
                "capacity_kwh": 10,
            }
        ],
        start="00:00",
    )
    charge(model, 1800)
    first = model.ports["cp/1"].vehicle
    assert first is not None
    assert first.soc_pct > 60
    model.advance(86400.0 - 1800, {}, {})
    model.take_events()
    again = model.ports["cp/1"].vehicle
    assert again is not None
    assert again is not first
    assert again.soc_pct == 50


def test_traces_are_seeded_and_differ_by_day() -> None:
    def pv_at(seed: int, start: str) -> float:
        model = site(
            [],
            [],
            seed=seed,
            start=start,
            solar={"kwp": 6},
            base_load={"households": 2},
        )
        return model.pv_w + model.base_w

    assert pv_at(1, "13:00") == pv_at(1, "13:00")
    assert pv_at(1, "13:00") != pv_at(2, "13:00")
    model = site([], [], seed=1, start="13:00", solar={"kwp": 6})
    model.advance(86400.0, {}, {})  # the next day, same time
    assert model.pv_w != pv_at(1, "13:00")


def test_a_meter_on_a_circuit_sees_its_chargers_only() -> None:
    model = site(
        [{"id": "in", "group": "c"}, {"id": "out"}],
        [{"name": "a", "port": "in/1"}, {"name": "b", "port": "out/1"}],
        groups=[{"id": "c", "rating_a": 32, "fixed_load_a": 2}],
        meter={"port": 0, "group": "c"},
        base_load={"households": 3},
    )
    charge(model, 10)
    assert model.legs_now.net_a == pytest.approx([18, 18, 18])

"""The contract's seed examples and hand-computed cases, as plain tests."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.ev_power_share.core.scenario import allocate_scenario


def port(pid: str, group: str, **kw: Any) -> dict[str, Any]:
    """A port document with a vehicle that takes anything (unless ``ev`` says)."""
    ev = kw.pop("ev", {})
    return {
        "id": pid,
        "group": group,
        "connection": "L1-L2-L3",
        "max_a": 32,
        "ev": ev,
    } | kw


def currents(out: dict[str, Any]) -> dict[str, float]:
    return {pid: p["current_a"] for pid, p in out["ports"].items()}


def test_contract_example() -> None:
    out = allocate_scenario(
        {
            "version": 1,
            "supply": {"system": "3p_wye", "voltage_ln_v": 230},
            "policy": "equal_share",
            "min_current_a": 6,
            "groups": [
                {"id": "site", "parent": None, "rating_a": 100, "continuous_factor": 0.8,
                 "max_power_kw": None, "unmanaged_a": [12.0, 20.5, 8.0]},
                {"id": "panel", "parent": "site", "rating_a": 63},
                {"id": "c1", "parent": "panel", "rating_a": 32},
            ],
            "ports": [
                {"id": "p1", "group": "c1", "connection": "L1-L2-L3", "max_a": 32,
                 "rated_kw": 22, "online": True, "failsafe_a": 6,
                 "ev": {"phases": 3, "max_a": 16, "draw_a": None, "arrived_s": 0,
                        "priority": 0, "energy_needed_kwh": None, "departure_s": None}},
            ],
            "now_s": 0,
        }
    )  # fmt: skip
    assert out["ports"]["p1"] == out["ports"]["p1"] | {
        "current_a": 16.0,
        "reason": "ev_limit",
    }
    assert out["groups"]["site"]["load_a"] == [28.0, 36.5, 24.0]
    assert out["groups"]["site"]["limit_a"] == [80.0, 80.0, 80.0]
    assert out["feasible"] is True


def test_ten_ports_on_a_100_a_circuit_get_8_a_each() -> None:
    out = allocate_scenario(
        {
            "groups": [{"id": "c", "rating_a": 100}],
            "ports": [port(f"p{i}", "c") for i in range(10)],
        }
    )
    assert set(currents(out).values()) == {8.0}


def _forty_and_ten(policy: str, big_first: bool) -> dict[str, float]:
    out = allocate_scenario(
        {
            "policy": policy,
            "groups": [{"id": "site", "max_power_kw": 25}],
            "ports": [
                port("big", "site", max_a=63, rated_kw=40,
                     ev={"max_a": 40000 / 690, "arrived_s": 0 if big_first else 10}),
                port("small", "site", max_a=16, rated_kw=10,
                     ev={"max_a": 10000 / 690, "arrived_s": 10 if big_first else 0}),
            ],
        }
    )  # fmt: skip
    return {pid: p["power_kw"] for pid, p in out["ports"].items()}


def test_forty_and_ten_kw_under_25_kw() -> None:
    assert _forty_and_ten("proportional", True) == pytest.approx(
        {"big": 20, "small": 5}, abs=0.01
    )
    assert _forty_and_ten("first_come", True) == pytest.approx(
        {"big": 25, "small": 0}, abs=0.01
    )
    assert _forty_and_ten("first_come", False) == pytest.approx(
        {"big": 15, "small": 10}, abs=0.01
    )


def test_split_phase_line_to_line_chargers() -> None:
    """240 V chargers load both legs; 120 V ones one leg."""
    out = allocate_scenario(
        {
            "supply": {"system": "split_phase", "voltage_ln_v": 120},
            "groups": [{"id": "main", "rating_a": 100}],
            "ports": [
                port("l2l", "main", connection="L1-L2", max_a=80),
                port("leg1", "main", connection="L1", max_a=16),
            ],
        }
    )
    assert currents(out) == {"l2l": 64.0, "leg1": 16.0}  # L1: 64 + 16 = 80 A
    assert out["groups"]["main"]["load_a"] == [80.0, 64.0]
    assert out["ports"]["l2l"]["power_kw"] == pytest.approx(15.36)  # 240 V × 64 A


def test_one_phase_vehicle_on_a_rotated_three_phase_charger() -> None:
    out = allocate_scenario(
        {
            "groups": [{"id": "c", "rating_a": 40}],
            "ports": [port("a", "c", connection="L2-L3-L1", ev={"phases": 1})],
        }
    )
    assert out["ports"]["a"]["legs"] == ["L2"]
    assert out["groups"]["c"]["load_a"] == [0.0, 32.0, 0.0]


def test_offline_port_counts_at_failsafe_on_all_legs() -> None:
    out = allocate_scenario(
        {
            "groups": [{"id": "c", "rating_a": 40}],
            "ports": [
                port("off", "c", online=False, failsafe_a=10, ev=None),
                port("on", "c"),
            ],
        }
    )
    assert out["ports"]["off"] == out["ports"]["off"] | {
        "current_a": 10.0,
        "reason": "offline",
    }
    assert out["ports"]["on"]["current_a"] == 22.0
    assert out["groups"]["c"]["load_a"] == [32.0, 32.0, 32.0]


def test_infeasible_when_fixed_loads_break_a_limit() -> None:
    out = allocate_scenario(
        {
            "groups": [
                {"id": "site", "rating_a": 50, "unmanaged_a": [45, 0, 0]},
                {"id": "garage", "parent": "site", "rating_a": 32},
            ],
            "ports": [
                port("off", "garage", online=False, failsafe_a=6),
                port("a", "garage"),
            ],
        }
    )
    assert out["feasible"] is False
    assert out["ports"]["a"]["current_a"] == 0.0
    assert out["ports"]["a"]["reason"] == "group:site"
    assert out["overloaded"] == ["site"]


def test_below_the_minimum_some_ports_pause() -> None:
    out = allocate_scenario(
        {
            "groups": [{"id": "c", "rating_a": 20}],
            "ports": [port(f"p{i}", "c") for i in range(3)],
        }
    )
    assert currents(out) == {"p0": 8.0, "p1": 8.0, "p2": 0.0}
    assert out["ports"]["p2"]["reason"] == "below_minimum"


def test_priority_tiers() -> None:
    out = allocate_scenario(
        {
            "policy": "priority",
            "groups": [{"id": "c", "rating_a": 62.5}],
            "ports": [
                port("vip", "c", ev={"priority": 1}),
                port("a", "c"),
                port("b", "c"),
            ],
        }
    )
    # 50 A: the top tier takes all it can (32 A), the others share the rest.
    assert currents(out) == {"vip": 32.0, "a": 9.0, "b": 9.0}


def test_reasons_for_what_bounds_a_port() -> None:
    out = allocate_scenario(
        {
            "groups": [{"id": "c", "rating_a": 100}],
            "ports": [
                port("car", "c", ev={"max_a": 16}),
                port("box", "c", max_a=10),
                port("rest", "c", max_a=80),
            ],
        }
    )
    reasons = {pid: p["reason"] for pid, p in out["ports"].items()}
    assert reasons == {"car": "ev_limit", "box": "port_limit", "rest": "group:c"}
    assert currents(out) == {"car": 16.0, "box": 10.0, "rest": 54.0}

"""Allocator behaviour beyond the contract: draws, deadlines, design, validation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from custom_components.ev_power_share.core.allocator import allocate, vehicle_bound
from custom_components.ev_power_share.core.design import design_figures
from custom_components.ev_power_share.core.model import (
    Group,
    ModelError,
    Policy,
    Port,
    Site,
    Supply,
    SupplySystem,
    Vehicle,
)

CORE = Path(__file__).parents[2] / "custom_components/ev_power_share/core"


def test_core_never_imports_home_assistant() -> None:
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert not name.startswith("homeassistant"), (path.name, name)


def _two_on_circuit(a: Vehicle, b: Vehicle, rating: float = 40.0) -> Site:
    return Site(
        groups=(Group("c", rating_a=rating),),
        ports=(Port("a", "c", ev=a), Port("b", "c", ev=b)),
    )


def test_vehicle_drawing_little_frees_current_and_gets_it_back() -> None:
    # 32 A limit: equal share would be 16 / 16.
    slow = Vehicle(max_a=32, draw_a=5.0, offered_a=16.0)
    result = allocate(_two_on_circuit(slow, Vehicle(max_a=32)))
    assert result.ports["a"].current_a == 7.0  # its draw + 2 A
    assert result.ports["a"].reason == "ev_limit"
    assert result.ports["b"].current_a == 25.0
    # Next cycle it draws close to the cap: the cap lifts, equal share again.
    waking = Vehicle(max_a=32, draw_a=6.8, offered_a=7.0)
    again = allocate(_two_on_circuit(waking, Vehicle(max_a=32)))
    assert again.ports["a"].current_a == 16.0
    assert again.ports["b"].current_a == 16.0


def test_draw_cap_does_not_ratchet_a_car_that_draws_a_little_under() -> None:
    """A car that always draws 1 A under its pilot keeps its full share."""
    offered: float | None = None
    for _ in range(30):
        draw = None if offered is None else max(offered - 1.0, 0.0)
        car = Vehicle(max_a=32, draw_a=draw, offered_a=offered)
        result = allocate(_two_on_circuit(car, Vehicle(max_a=32)))
        offered = result.ports["a"].current_a
    assert offered == 16.0


def test_draw_cap_is_stable_for_a_car_limited_by_itself() -> None:
    """A car that takes only 10 A settles at 12 A offered, without oscillating."""
    offered: float | None = None
    seen = []
    for _ in range(20):
        draw = None if offered is None else min(offered, 10.0)
        car = Vehicle(max_a=32, draw_a=draw, offered_a=offered)
        offered = allocate(_two_on_circuit(car, Vehicle(max_a=32))).ports["a"].current_a
        seen.append(offered)
    assert seen[2:] == [12.0] * 18


def test_vehicle_bound_reasons() -> None:
    site = _two_on_circuit(Vehicle(max_a=10), Vehicle(max_a=40))
    port_a, port_b = site.ports
    assert vehicle_bound(port_a, site) == (10, "ev_limit")
    assert vehicle_bound(port_b, site) == (32, "port_limit")
    idle = Port("z", "c")
    assert vehicle_bound(idle, site) == (0.0, "no_vehicle")


def test_deadline_meets_what_can_be_met_and_reports_the_rest() -> None:
    site = Site(
        groups=(Group("c", rating_a=32.0),),
        ports=(
            # Needs 22 kWh in 2 h: 11 kW = 15.9 A three-phase.
            Port("tight", "c", ev=Vehicle(energy_needed_kwh=22.0, departure_s=7200)),
            # Needs 5 kWh in 10 h: 0.7 A, so the minimum.
            Port("loose", "c", ev=Vehicle(energy_needed_kwh=5.0, departure_s=36000)),
            # Needs 40 kWh in 1 h: impossible even at full speed (32 A).
            Port("late", "c", ev=Vehicle(energy_needed_kwh=40.0, departure_s=3600)),
        ),
        policy=Policy.DEADLINE,
    )
    result = allocate(site)
    late, tight, loose = (result.ports[p] for p in ("late", "tight", "loose"))
    assert tight.required_a == pytest.approx(15.94, abs=0.01)
    assert tight.current_a >= 15.94
    assert tight.deadline_at_risk is False
    assert loose.deadline_at_risk is False
    assert late.deadline_at_risk is True
    # 25.6 A: 15.94 + 6 leaves 3.66 A, below the minimum: the hopeless one waits
    # and the rest goes to the loose deadline (water-filling above its floor).
    assert late.current_a == 0.0
    assert late.reason == "group:c"
    assert loose.current_a == pytest.approx(25.6 - tight.current_a, abs=0.011)


def test_deadline_without_contention_gives_everyone_their_share() -> None:
    site = Site(
        groups=(Group("c", rating_a=100.0),),
        ports=(
            Port(
                "a", "c", ev=Vehicle(max_a=16, energy_needed_kwh=15.0, departure_s=3600)
            ),
            Port("b", "c", ev=Vehicle(max_a=32)),
        ),
        policy=Policy.DEADLINE,
    )
    result = allocate(site)
    assert result.ports["a"].current_a == 16.0
    assert result.ports["a"].deadline_at_risk is True  # 15 kWh in 1 h needs 21.7 A
    assert result.ports["b"].current_a == 32.0


def test_priority_tier_is_served_before_lower_tiers() -> None:
    site = Site(
        groups=(Group("c", rating_a=40.0),),
        ports=(
            Port("vip", "c", ev=Vehicle(max_a=20, priority=2)),
            Port("x", "c", ev=Vehicle(max_a=32)),
            Port("y", "c", ev=Vehicle(max_a=32)),
        ),
        policy=Policy.PRIORITY,
    )
    result = allocate(site)
    assert result.ports["vip"].current_a == 20.0
    assert result.ports["x"].current_a == 6.0
    assert result.ports["y"].current_a == 6.0


def test_design_figures_for_a_condo_garage() -> None:
    """Ten 32 A three-phase chargers behind a 100 A main: 8 A each guaranteed."""
    site = Site(
        groups=(Group("main", rating_a=100.0), Group("c1", "main", rating_a=63.0)),
        ports=tuple(Port(f"p{i}", "main" if i < 6 else "c1") for i in range(10)),
    )
    figures = design_figures(site)
    assert figures["main"].ports == 10
    assert figures["main"].oversubscription == 4.0  # 320 A of chargers / 80 A
    assert figures["main"].guaranteed_a == 8.0
    assert figures["c1"].ports == 4
    assert figures["c1"].oversubscription == pytest.approx(128 / 50.4, abs=1e-3)


def test_single_phase_supply_and_default_failsafe() -> None:
    site = Site(
        groups=(Group("home", rating_a=40.0, unmanaged_a=(10.0,)),),
        ports=(
            Port("car", "home", "L1", max_a=32, ev=Vehicle(phases=1)),
            Port("old", "home", "L1", max_a=16, online=False),
        ),
        supply=Supply(SupplySystem.SINGLE_PHASE, 230.0),
        min_current_a=8.0,
    )
    result = allocate(site)
    assert result.ports["old"].current_a == 8.0  # failsafe defaults to the minimum
    assert result.ports["car"].current_a == 14.0  # 32 − 10 − 8
    assert result.groups["home"].load_a == (32.0,)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Site(groups=()), "groups"),
        (lambda: Site(groups=(Group("a", "b"),)), "groups[0].parent"),
        (lambda: Site(groups=(Group("a", "b"), Group("b", "a"))), "groups[0].parent"),
        (lambda: Site(groups=(Group("a"), Group("a"))), "groups[1].id"),
        (lambda: Site(groups=(Group("a", rating_a=-1),)), "groups[0].rating_a"),
        (
            lambda: Site(groups=(Group("a", continuous_factor=1.5),)),
            "groups[0].continuous_factor",
        ),
        (
            lambda: Site(
                groups=(Group("a", unmanaged_a=(0, 0, 3)),),
                supply=Supply(SupplySystem.SPLIT_PHASE, 120),
            ),
            "groups[0].unmanaged_a[2]",
        ),
        (lambda: Site(groups=(Group("a"),), ports=(Port("p", "x"),)), "ports[0].group"),
        (
            lambda: Site(groups=(Group("a"),), ports=(Port("p", "a", "L4"),)),
            "ports[0].connection",
        ),
        (
            lambda: Site(
                groups=(Group("a"),),
                ports=(Port("p", "a", "L2-L3"),),
                supply=Supply(SupplySystem.SPLIT_PHASE, 120),
            ),
            "ports[0].connection",
        ),
        (
            lambda: Site(groups=(Group("a"),), ports=(Port("p", "a"), Port("p", "a"))),
            "ports[1].id",
        ),
        (
            lambda: Site(
                groups=(Group("a"),), ports=(Port("p", "a", ev=Vehicle(phases=4)),)
            ),
            "ports[0].ev.phases",
        ),
        (lambda: Site(groups=(Group("a"),), min_current_a=-1), "min_current_a"),
        (
            lambda: Site(groups=(Group("a"),), supply=Supply(voltage_ln_v=0)),
            "supply.voltage_ln_v",
        ),
    ],
)
def test_model_errors_name_the_field(build: object, field: str) -> None:
    with pytest.raises(ModelError) as err:
        build()  # type: ignore[operator]
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_override_lowers_a_limit_but_never_raises_it() -> None:
    ports = (Port("a", "c", ev=Vehicle()), Port("b", "c", ev=Vehicle()))
    lowered = allocate(
        Site(groups=(Group("c", rating_a=40.0, override_a=20.0),), ports=ports)
    )
    assert lowered.groups["c"].limit_a == 20.0
    assert [lowered.ports[p].current_a for p in "ab"] == [10.0, 10.0]
    raised = allocate(
        Site(groups=(Group("c", rating_a=40.0, override_a=90.0),), ports=ports)
    )
    assert (
        raised.groups["c"].limit_a == 32.0
    )  # 80 % of 40 A: the override can't widen it
    unrated = allocate(Site(groups=(Group("c", override_a=12.0),), ports=ports))
    assert [unrated.ports[p].current_a for p in "ab"] == [6.0, 6.0]


def test_scenario_dump_and_load_replay_the_same_allocation() -> None:
    from custom_components.ev_power_share.core.scenario import (  # noqa: PLC0415
        dump_allocation,
        dump_scenario,
        load_scenario,
    )

    site = Site(
        groups=(
            Group(
                "site", rating_a=63.0, unmanaged_a=(10.0, 3.0, -2.0), override_a=45.0
            ),
            Group("c", "site", rating_a=32.0, max_power_kw=15.0),
        ),
        ports=(
            Port(
                "a", "c", "L2-L3-L1", ev=Vehicle(phases=1, draw_a=4.0, offered_a=16.0)
            ),
            Port(
                "b", "c", ev=Vehicle(priority=1, energy_needed_kwh=9.0, departure_s=9e3)
            ),
            Port("c", "site", "L3", online=False, failsafe_a=10.0),
            Port(
                "d",
                "site",
                ev=Vehicle(draw_a=9.0, offered_a=16.0, draw_offered_a=10.0),
            ),
        ),
        policy=Policy.DEADLINE,
        now_s=120.0,
        min_current_a=8.0,
    )
    result = allocate(site)
    again_site, again_state = load_scenario(dump_scenario(site, result.rotation))
    assert again_site == site
    assert dump_allocation(
        again_site, allocate(again_site, again_state)
    ) == dump_allocation(site, allocate(site, result.rotation))

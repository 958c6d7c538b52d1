"""What the meter estimate does with a charger that reports more than it draws.

A charger's own meter may over-state what its vehicle draws (a slow meter, a
firmware that reports its limit instead of its current), up to the offer it
holds. The group's meter sees the truth, so the estimate of the building's
non-EV load (meter minus the chargers' reports) is lower than it really is, by
the over-report: the over-reported current is building load the estimate does
not see. What these tests show:

* a report counts at most up to the limit in force, and never beyond what the
  port may draw at all (a report of 1000 A on a 32 A port is 32 A);
* the estimate is never lower than the true building load minus the
  over-reports, so a group carries at most the over-reports above its limit:
  when the building's load rises (or the car takes more of its offer) while
  the over-report hides part of it, until the next reading;
* with a steady building load and a car that keeps its draw, nothing is over:
  the unused offer the over-report stands for is the over-reporter's own;
* a later reading takes a step off as for any load step.

No meter can tell an over-report from a load that switched on at the same
moment (the report is the only figure of the car's draw there is). Honest
chargers (and the 80 % continuous-load rule's margin) are what keeps this from
mattering; a charger whose report runs ahead of its car is a faulty meter.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.allocator import RotationState, allocate
from custom_components.ev_power_share.core.commands import CommandState, plan_commands
from custom_components.ev_power_share.core.load_estimate import (
    MeterConfig,
    MeterSample,
    UnmanagedLoad,
    ev_draws,
    with_measurements,
)
from custom_components.ev_power_share.core.model import (
    Group,
    Port,
    Site,
    Supply,
    Vehicle,
)

INTERVAL_S = 5.0
LIMIT_A = 32.0  # a 40 A circuit under the 80 % rule
GROUPS = (Group("site", rating_a=100.0), Group("c", "site", rating_a=40.0))


@dataclass
class _Car:
    wants_a: float
    """The most the vehicle draws (its own charger's limit, its battery)."""
    over_a: float = 0.0
    """How much more than it draws its charger reports (up to its offer)."""
    drawing_a: float = 0.0


def _loop(
    cars: list[_Car], house: list[float], wants: list[list[float]] | None = None
) -> list[tuple[float, float]]:
    """Run the control loop; per cycle, the (true house + EV) current on the
    circuit as the next meter reading sees it, and the estimate's house load.

    Per cycle: the meter reads the house plus what the cars draw; the chargers
    report (over-reporters: draw + over, capped at the offer); the allocation
    is commanded (decreases first, increases once they settled); the cars
    draw min(command, what they want)."""
    estimator = UnmanagedLoad(Supply(), MeterConfig(smoothing_s=30.0))
    commands = CommandState()
    rotation: RotationState | None = None
    out: list[tuple[float, float]] = []
    for k, house_a in enumerate(house):
        now = k * INTERVAL_S
        if wants is not None:
            for car, w in zip(cars, wants[k], strict=True):
                car.wants_a = w
        flow = house_a + sum(c.drawing_a for c in cars)
        ports = []
        for i, car in enumerate(cars):
            offered = commands.commanded.get(f"p{i}")
            reported = car.drawing_a + car.over_a
            if offered is not None:
                reported = min(reported, offered)
            ports.append(
                Port(
                    f"p{i}",
                    "c",
                    max_a=32.0,
                    ev=Vehicle(
                        max_a=32.0,
                        draw_a=reported,
                        offered_a=offered,
                        arrived_s=float(i),
                    ),
                )
            )
        site = Site(groups=GROUPS, ports=tuple(ports), now_s=now)
        draws = ev_draws(site)["c"]
        estimate = estimator.update(MeterSample(now, (flow,) * 3), draws, now)
        result = allocate(with_measurements(site, {"c": estimate}), rotation)
        rotation = result.rotation
        target = {pid: pa.current_a for pid, pa in result.ports.items()}
        sent, commands = plan_commands(target, commands, now)
        for i, car in enumerate(cars):
            car.drawing_a = min(sent[f"p{i}"], car.wants_a)
        out.append((house_a + sum(c.drawing_a for c in cars), estimate.unmanaged_a[0]))
    return out


def test_a_report_beyond_what_the_port_may_draw_is_not_headroom() -> None:
    site = Site(
        groups=GROUPS,
        ports=(
            Port("p", "c", max_a=32.0, ev=Vehicle(max_a=32.0, draw_a=1000.0)),
            Port("q", "c", max_a=16.0, ev=Vehicle(max_a=16.0, draw_a=12.0)),
        ),
    )
    draws = ev_draws(site, {"q": (500.0, 500.0, 500.0)})["c"]
    assert draws.currents_a == (48.0, 48.0, 48.0)  # 32 + 16, their maximums


def test_an_over_reporting_car_that_keeps_its_draw_never_breaks_the_limit() -> None:
    """Car 0 draws 6 A and its charger says up to 10 A more; car 1 wants all it
    can get; 10 A of house load. The estimate is low by what car 0's charger
    over-reports, but that is car 0's own unused offer: with a steady building
    load the circuit never carries more than its 32 A."""
    cars = [_Car(wants_a=6.0, over_a=10.0), _Car(wants_a=32.0)]
    flows = _loop(cars, [10.0] * 20)
    assert max(flow for flow, _ in flows) <= LIMIT_A + 1e-9
    assert min(est for _, est in flows) < 10.0  # it does hide building load
    assert min(est for _, est in flows) >= 10.0 - 10.0


def test_a_load_that_rises_behind_an_over_report() -> None:
    """The building's load rises by 15 A at cycle 10 while car 0's charger
    over-reports by 5 A: for one reading the circuit carries up to those 5 A
    above its limit; then it is within it again."""
    cars = [_Car(wants_a=2.0, over_a=5.0), _Car(wants_a=6.0)]
    flows = _loop(cars, [10.0] * 10 + [25.0] * 10)
    over = [round(flow - LIMIT_A, 6) for flow, _ in flows]
    assert max(over[:10]) <= 1e-9
    assert 0 < max(over[10:12]) <= 5.0
    assert max(over[12:]) <= 1e-9


def test_when_the_over_reporting_car_takes_its_offer_it_is_a_load_step() -> None:
    """The same, until car 0 takes all of its 16 A offer at cycle 10: for one
    cycle the circuit carries up to the over-report (10 A) above its limit, as
    if the building had switched a 10 A load on; the next cycle takes it off."""
    cars = [_Car(wants_a=6.0, over_a=10.0), _Car(wants_a=32.0)]
    wants = [[6.0, 32.0]] * 10 + [[32.0, 32.0]] * 10
    flows = _loop(cars, [10.0] * 20, wants)
    over = [round(flow - LIMIT_A, 6) for flow, _ in flows]
    assert max(over[:10]) <= 1e-9
    assert 0 < over[10] <= 10.0  # the step, bounded by the over-report
    assert max(over[11:]) <= 1e-9  # taken off at the next reading
    # An honest charger's car taking its offer: no step at all.
    honest = [_Car(wants_a=6.0), _Car(wants_a=32.0)]
    flows = _loop(honest, [10.0] * 20, wants)
    assert max(flow for flow, _ in flows) <= LIMIT_A + 1e-9


@settings(max_examples=300, deadline=None)
@given(
    wants=st.lists(st.floats(0.0, 32.0), min_size=1, max_size=4),
    over=st.lists(st.floats(0.0, 32.0) | st.just(0.0), min_size=4, max_size=4),
    house=st.lists(st.floats(0.0, 30.0), min_size=2, max_size=25),
    leaves=st.lists(st.integers(0, 25), min_size=4, max_size=4),
)
def test_over_reports_are_all_a_group_can_carry_above_its_limit(
    wants: list[float], over: list[float], house: list[float], leaves: list[int]
) -> None:
    """Any cars (each wanting a fixed current, some behind chargers that report
    up to their offer more than they draw), any building load, cars that stop
    drawing at some cycle: after each cycle's commands, the circuit carries at
    most the over-reports above its limit (nothing above it with honest
    chargers; 0 A for the cars when the building alone breaks it)."""
    cars = [_Car(w, o) for w, o in zip(wants, over, strict=False)]
    hidden = sum(c.over_a for c in cars)
    plan = [
        [0.0 if k >= leaves[i] else car.wants_a for i, car in enumerate(cars)]
        for k in range(len(house))
    ]
    flows = _loop(cars, house, plan)
    for (flow, estimate), house_a in zip(flows, house, strict=True):
        assert flow <= max(LIMIT_A + hidden, house_a) + 1e-6, (flow, house_a)
        assert estimate >= house_a - hidden - 1e-6

"""A port whose description cannot be used is counted, not refused: the others are
allocated, every limit holds."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.allocator import allocate
from custom_components.ev_power_share.core.load_estimate import capped_at_failsafe
from custom_components.ev_power_share.core.model import (
    CONNECTIONS,
    Group,
    ModelError,
    Port,
    Site,
    Supply,
    SupplySystem,
    Vehicle,
    counted_at_most,
    validate_port,
)
from custom_components.ev_power_share.core.scenario import (
    dump_allocation,
    dump_scenario,
)

from .test_contract_invariants import check_invariants

GROUPS = (
    Group("site", rating_a=100.0),
    Group("panel", "site", rating_a=63.0),
    Group("circuit", "panel", rating_a=32.0),
)
IDS = {g.id for g in GROUPS}

anything = st.one_of(
    st.floats(-1e4, 1e4),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.2, -5.0]),
    st.integers(-(10**4), 10**4),
    st.none(),
    st.text(max_size=5),
)
"""Values of any type; finite ones of a magnitude the invariant checker's float
tolerances can compare (a port of 10^38 A only makes the site infeasible)."""
amps = st.floats(0.0, 80.0) | anything


@st.composite
def ports(draw: st.DrawFn, pid: str) -> Port:
    """A port with any value in any field (the types the model declares are
    not enforced at run time, so a bug may hand over anything)."""
    ev = None
    if draw(st.booleans()):
        ev = Vehicle(
            phases=draw(st.sampled_from([1, 2, 3]) | anything),
            max_a=draw(amps),
            draw_a=draw(st.none() | amps),
            offered_a=draw(st.none() | amps),
            arrived_s=draw(st.floats(0, 100) | anything),
        )
    return Port(
        id=pid,
        group=draw(st.sampled_from(sorted(IDS)) | st.text(max_size=3)),
        connection=draw(st.sampled_from(sorted(CONNECTIONS)) | st.text(max_size=3)),
        max_a=draw(amps),
        online=draw(st.booleans()),
        failsafe_a=draw(st.none() | amps),
        ev=ev,
    )


def _usable(port: Port, supply: Supply) -> Port:
    """As the controller does: the port itself, or counted at the most."""
    try:
        validate_port(port, IDS, supply)
    except (ModelError, TypeError):
        return counted_at_most(port, IDS, "site", supply, 80.0)
    return port


@settings(max_examples=300, deadline=None)
@given(
    system=st.sampled_from(list(SupplySystem)),
    bad=st.lists(st.integers(0, 5), max_size=6),
    data=st.data(),
)
def test_the_site_is_allocated_whatever_its_ports_say(
    system: SupplySystem, bad: list[int], data: Any
) -> None:
    supply = Supply(system)
    good = [
        Port(
            f"good{i}",
            ("site", "panel", "circuit")[i % 3],
            "L1",
            max_a=32.0,
            ev=Vehicle(max_a=32.0, draw_a=float(i)),
        )
        for i in range(3)
    ]
    faulty = [data.draw(ports(f"bad{i}")) for i in range(len(bad))]
    usable = [_usable(p, supply) for p in faulty]
    for before, after in zip(faulty, usable, strict=True):
        if after is not before:  # counted at the most it may draw, offline
            assert not after.online
            assert after.ev is None
            assert after.failsafe_a == after.max_a
            if isinstance(before.max_a, float) and math.isfinite(before.max_a):
                assert after.max_a >= max(0.0, before.max_a)
    site = Site(groups=GROUPS, ports=tuple(good + usable), supply=supply)
    result = allocate(site)
    check_invariants(dump_scenario(site), dump_allocation(site, result))


def test_counted_at_most_keeps_what_it_can() -> None:
    supply = Supply()
    port = Port("p", "circuit", "L2", max_a=16.0, failsafe_a=20.0)
    counted = counted_at_most(port, IDS, "site", supply, 80.0)
    assert (counted.group, counted.connection, counted.max_a) == ("circuit", "L2", 20)
    lost = Port("q", "gone", "L9", max_a=math.nan)
    counted = counted_at_most(lost, IDS, "site", supply, 80.0)
    assert (counted.group, counted.connection, counted.max_a) == (
        "site",
        "L1-L2-L3",
        80.0,
    )
    split = counted_at_most(lost, IDS, "site", Supply(SupplySystem.SPLIT_PHASE), 80.0)
    assert split.connection == "L1-L2"
    single = counted_at_most(lost, IDS, "site", Supply(SupplySystem.SINGLE_PHASE), 80.0)
    assert single.connection == "L1"


def test_capped_at_failsafe_caps_online_ports_under_the_groups() -> None:
    site = Site(
        groups=GROUPS,
        ports=(
            Port("a", "circuit", max_a=32.0, failsafe_a=8.0, ev=Vehicle()),
            Port("b", "site", max_a=32.0, ev=Vehicle()),
            Port("c", "circuit", max_a=32.0, online=False, failsafe_a=10.0),
        ),
    )
    capped = capped_at_failsafe(site, ["panel"], {"a": 6.0})
    assert [p.max_a for p in capped.ports] == [6.0, 32.0, 32.0]
    everything = capped_at_failsafe(site, ["site"])
    assert [p.max_a for p in everything.ports] == [8.0, 6.0, 32.0]
    assert capped_at_failsafe(site, []) is site

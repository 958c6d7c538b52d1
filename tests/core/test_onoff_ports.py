"""On/off ports (smart outlets): a port's own minimum (``Port.min_a``), pinned
ports, and their turns in the rotation (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
import math

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_power_share.core.allocator import (
    REASON_PAUSED,
    RotationState,
    allocate,
)
from custom_components.ev_power_share.core.gather import Topology, gather_ports
from custom_components.ev_power_share.core.model import (
    Group,
    ModelError,
    Policy,
    Port,
    Site,
    Supply,
    Vehicle,
)
from custom_components.ev_power_share.core.ports import PortReadings
from custom_components.ev_power_share.core.settings import PortSettings, with_settings

from .strategies import onoff_sites

TOLERANCE_A = 1e-6


def _leg_loads(site: Site, currents: dict[str, float]) -> dict[str, list[float]]:
    """Each group's load per leg, recomputed from the currents (the offline
    ports at their failsafe, the non-EV load included)."""
    by_id = {g.id: g for g in site.groups}
    load: dict[str, list[float]] = defaultdict(lambda: [0.0] * site.supply.legs)
    for port in site.ports:
        if port.online:
            amps = currents[port.id]
            phases = 3 if port.ev is None else port.ev.phases
            legs = port.conn.active_legs(phases)
        else:
            amps, legs = site.failsafe_of(port), port.conn.legs
        for group in site.ancestors(port.group):
            for leg in legs:
                load[group.id][leg] += amps
    for gid, group in by_id.items():
        for leg in range(site.supply.legs):
            load[gid][leg] += group.unmanaged_on(leg)
    return load


@settings(max_examples=300, deadline=None)
@given(site=onoff_sites())
def test_onoff_ports_get_all_or_nothing_and_limits_hold(site: Site) -> None:
    result = allocate(site)
    currents = {pid: pa.current_a for pid, pa in result.ports.items()}
    for port in site.ports:
        if port.min_a is not None and port.online:
            amps = currents[port.id]
            assert amps == 0.0 or amps >= port.min_a - TOLERANCE_A, port
            assert amps <= port.max_a + TOLERANCE_A
    if not result.feasible:
        assert all(
            pa.current_a == 0.0
            for pa in result.ports.values()
            if pa.reason != "offline"
        )
        return
    for gid, legs in _leg_loads(site, currents).items():
        limit = next(g for g in site.groups if g.id == gid).limit_a
        if limit is None:
            continue
        for leg, amps in enumerate(legs):
            assert amps <= limit + TOLERANCE_A, (gid, leg, amps, limit)


@settings(max_examples=200, deadline=None)
@given(site=onoff_sites())
def test_a_pinned_port_is_paused_only_where_it_does_not_fit(site: Site) -> None:
    """A pinned port that fits under its limits alone (with the fixed loads and
    the other pinned ports) is served, whatever the policy and the queue."""
    result = allocate(site)
    if not result.feasible:
        return
    for port in site.ports:
        if not (port.pinned and port.online and port.ev is not None):
            continue
        if result.ports[port.id].current_a:
            continue
        # Paused: without the unpinned ports it must still not fit.
        alone = replace(
            site,
            ports=tuple(p for p in site.ports if p.pinned or not p.online),
        )
        assert allocate(alone).ports[port.id].current_a == 0.0


def test_without_min_a_the_site_minimum_applies() -> None:
    site = Site(
        groups=(Group("c", rating_a=20.0, continuous_factor=1.0),),
        ports=(
            Port("a", "c", connection="L1", ev=Vehicle(phases=1)),
            Port("b", "c", connection="L1", max_a=12.0, min_a=12.0, ev=Vehicle(1)),
        ),
        supply=replace(Site(groups=(Group("x"),)).supply),
    )
    result = allocate(site)
    # a (first by arrival and id) takes 6 A at least; b's 12 A still fit: 8 + 12.
    assert result.ports["b"].current_a == 12.0
    assert result.ports["a"].current_a == pytest.approx(8.0)


@pytest.mark.parametrize("min_a", [0.0, -1.0, math.nan, math.inf])
def test_a_bad_min_a_is_refused(min_a: float) -> None:
    with pytest.raises(ModelError, match="min_a"):
        Site(groups=(Group("c"),), ports=(Port("p", "c", max_a=32.0, min_a=min_a),))


def test_a_min_a_above_max_a_is_refused_where_it_enters_and_counted_safely() -> None:
    topology = Topology(frozenset({"c"}), "c", Supply())
    bad = Port("p", "c", max_a=10.0, min_a=12.0, ev=Vehicle())
    gathered = gather_ports([PortReadings((bad,))], topology, {}, 6.0)
    assert [b.problem for b in gathered.bad] == ["port.min_a: must be <= max_a"]
    (counted,) = gathered.ports
    assert not counted.online
    assert counted.failsafe_a == 10.0


def test_a_cap_below_an_onoff_port_keeps_it_off() -> None:
    """A user's cap (or a schedule's 0 A) under its whole current: it stays off,
    and the site is still valid."""
    port = Port("p", "c", connection="L1", max_a=12.0, min_a=12.0, ev=Vehicle(1))
    capped = with_settings(port, PortSettings(max_current_a=10.0))
    site = Site(groups=(Group("c", rating_a=100.0),), ports=(capped,))
    assert allocate(site).ports["p"].current_a == 0.0


def test_a_pinned_port_keeps_its_place_and_a_drop_pauses_it() -> None:
    """Two 12 A outlets on a 20 A circuit: the one on and pinned keeps it
    against a rotation; once the limit drops under 12 A it is paused."""

    def site(now: float, pinned: str | None, rating: float = 20.0) -> Site:
        return Site(
            groups=(Group("c", rating_a=rating, continuous_factor=1.0),),
            ports=tuple(
                Port(
                    pid,
                    "c",
                    connection="L1",
                    max_a=12.0,
                    min_a=12.0,
                    pinned=pid == pinned,
                    ev=Vehicle(phases=1, max_a=12.0, arrived_s=i),
                )
                for i, pid in enumerate(("a", "b"))
            ),
            rotation_period_s=60.0,
            now_s=now,
        )

    first = allocate(site(0.0, None))
    assert first.ports["a"].current_a == 12.0
    assert first.ports["b"].reason == REASON_PAUSED
    # The period is up, but a is pinned: b waits, and is tried again next cycle.
    held = allocate(site(60.0, "a"), first.rotation)
    assert held.ports["a"].current_a == 12.0
    assert held.ports["b"].current_a == 0.0
    assert held.rotation.since_s == first.rotation.since_s
    turned = allocate(site(65.0, None), held.rotation)
    assert turned.ports["b"].current_a == 12.0
    assert turned.ports["a"].current_a == 0.0
    dropped = allocate(site(70.0, "b", rating=10.0), turned.rotation)
    assert dropped.ports["b"].current_a == 0.0


INTERVAL_S = 5.0


def _outlet_turns(
    n: int, slots: int, period: float, min_on: float, min_off: float, cycles: int
) -> list[dict[str, float]]:
    """``n`` 10 A outlets on one circuit that fits ``slots`` of them, switched
    as allocated: within its minimum on-time an outlet is pinned, within its
    minimum off-time it does not ask."""
    rating = slots * 10.0 + 5.0
    on_since: dict[str, float] = {}
    off_since: dict[str, float] = {}
    state: RotationState | None = None
    history = []
    for k in range(cycles):
        now = k * INTERVAL_S
        ports = []
        for i in range(n):
            pid = f"o{i}"
            resting = pid in off_since and now - off_since[pid] < min_off
            ports.append(
                Port(
                    pid,
                    "c",
                    connection="L1",
                    max_a=10.0,
                    min_a=10.0,
                    pinned=pid in on_since and now - on_since[pid] < min_on,
                    ev=None if resting else Vehicle(phases=1, max_a=10.0, arrived_s=i),
                )
            )
        site = Site(
            groups=(Group("c", rating_a=rating, continuous_factor=1.0),),
            ports=tuple(ports),
            policy=Policy.EQUAL_SHARE,
            rotation_period_s=period,
            now_s=now,
        )
        result = allocate(site, state)
        state = result.rotation
        amps = {pid: pa.current_a for pid, pa in result.ports.items()}
        for pid, a in amps.items():
            if a and pid not in on_since:
                on_since[pid] = now
                off_since.pop(pid, None)
            elif not a and pid in on_since:
                del on_since[pid]
                off_since[pid] = now
        history.append(amps)
    return history


@settings(max_examples=40, deadline=None)
@given(
    slots=st.integers(1, 3),
    extra=st.integers(1, 5),
    period_cycles=st.integers(2, 12),
    on_cycles=st.integers(1, 12),
    off_cycles=st.integers(0, 12),
)
def test_a_paused_outlet_gets_its_turn_within_the_rotation_bound(
    slots: int, extra: int, period_cycles: int, on_cycles: int, off_cycles: int
) -> None:
    """With n outlets and k fitting at once, an outlet that asks waits at most
    ceil((n - k) / k) rotation periods, each one up to a minimum on-time longer
    (a pinned outlet holds its place); and an outlet once on stays on for its
    minimum on-time (nothing but the limit, which is steady here, stops it)."""
    n = slots + extra
    period, min_on = period_cycles * INTERVAL_S, on_cycles * INTERVAL_S
    min_off = off_cycles * INTERVAL_S
    bound = math.ceil((n - slots) / slots) * (period + min_on) + min_off
    cycles = int(3 * bound / INTERVAL_S) + 20
    history = _outlet_turns(n, slots, period, min_on, min_off, cycles)
    for amps in history:
        assert sum(amps.values()) <= slots * 10.0 + 5.0
        assert all(a in (0.0, 10.0) for a in amps.values())
    for i in range(n):
        pid = f"o{i}"
        wait, run = 0, 0
        for amps in history:
            if amps[pid]:
                wait, run = 0, run + 1
            else:
                assert run == 0 or run * INTERVAL_S >= min_on, (pid, run)
                run = 0
                wait += 1
                assert wait * INTERVAL_S <= bound + 2 * INTERVAL_S, (pid, wait)

"""Round robin below the minimum current, over simulated control cycles."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.allocator import (
    REASON_PAUSED,
    RotationState,
    allocate,
)
from custom_components.ev_power_share.core.model import (
    Group,
    Policy,
    Port,
    Site,
    Vehicle,
)

INTERVAL_S = 5.0


def _site(n: int, slots: int, period: float, now: float, **kw: object) -> Site:
    """``n`` identical 3-phase ports; the circuit fits ``slots`` of them at 6 A."""
    # limit = slots × 6 A + a little, but less than (slots + 1) × 6 A
    rating = (slots * 6.0 + 3.0) / 0.8
    ports = tuple(
        Port(f"p{i:02d}", "c", max_a=16.0, ev=Vehicle(max_a=16.0, arrived_s=i))
        for i in range(n)
    )
    return Site(
        groups=(Group("c", rating_a=rating),),
        ports=ports,
        rotation_period_s=period,
        now_s=now,
        **kw,  # type: ignore[arg-type]
    )


def _simulate(
    n: int, slots: int, period: float, cycles: int, policy: Policy = Policy.EQUAL_SHARE
) -> list[dict[str, float]]:
    state: RotationState | None = None
    history = []
    for k in range(cycles):
        site = _site(n, slots, period, k * INTERVAL_S, policy=policy)
        result = allocate(site, state)
        state = result.rotation
        history.append({pid: pa.current_a for pid, pa in result.ports.items()})
    return history


@settings(max_examples=40, deadline=None)
@given(
    slots=st.integers(1, 4),
    extra=st.integers(1, 8),
    period_cycles=st.integers(2, 12),
    policy=st.sampled_from([Policy.EQUAL_SHARE, Policy.PRIORITY, Policy.PROPORTIONAL]),
)
def test_every_paused_vehicle_charges_and_setpoints_do_not_chatter(
    slots: int, extra: int, period_cycles: int, policy: Policy
) -> None:
    n = slots + min(extra, 2 * slots)  # n <= 3k: the acceptance bound of two periods
    period = period_cycles * INTERVAL_S
    cycles = int(8 * period / INTERVAL_S)
    history = _simulate(n, slots, period, cycles, policy)

    for step in history:  # exactly ``slots`` ports charge, each at >= 6 A
        charging = [a for a in step.values() if a > 0]
        assert len(charging) == slots
        assert all(a >= 6.0 for a in charging)

    for pid in history[0]:
        on = [step[pid] > 0 for step in history]
        # Every pause ends within two rotation periods.
        longest_wait = max_run(on, value=False)
        assert longest_wait * INTERVAL_S <= 2 * period, (pid, longest_wait)
        # No port switches on or off more often than the rotation period allows.
        flips = [k for k in range(1, len(on)) if on[k] != on[k - 1]]
        gaps = [(b - a) * INTERVAL_S for a, b in itertools.pairwise(flips)]
        assert all(gap >= period for gap in gaps), (pid, gaps)


def max_run(values: list[bool], *, value: bool) -> int:
    """Longest run of ``value`` in ``values``."""
    best = run = 0
    for v in values:
        run = run + 1 if v == value else 0
        best = max(best, run)
    return best


@settings(max_examples=25, deadline=None)
@given(slots=st.integers(1, 3), n=st.integers(2, 12))
def test_wait_is_bounded_by_queue_length(slots: int, n: int) -> None:
    """With n ports and k slots, nobody waits more than ceil((n-k)/k) periods."""
    n = max(n, slots + 1)
    period = 30.0
    history = _simulate(n, slots, period, int(3 * n * period / INTERVAL_S))
    bound = math.ceil((n - slots) / slots) * period
    for pid in history[0]:
        on = [step[pid] > 0 for step in history]
        assert max_run(on, value=False) * INTERVAL_S <= bound + INTERVAL_S, pid
        assert any(on), pid


def test_rotation_state_keeps_order_and_drops_departed() -> None:
    site = _site(4, 2, 60.0, 0.0)
    first = allocate(site)
    assert first.rotation.queue == ("p00", "p01", "p02", "p03")
    assert [first.ports[p].reason for p in ("p02", "p03")] == [REASON_PAUSED] * 2
    # p00 leaves; a newcomer p09 arrives; before the period nothing rotates.
    ports = (
        *tuple(p for p in site.ports if p.id != "p00"),
        Port("p09", "c", max_a=16.0, ev=Vehicle(max_a=16.0, arrived_s=100.0)),
    )
    later = Site(groups=site.groups, ports=ports, rotation_period_s=60.0, now_s=30.0)
    second = allocate(later, first.rotation)
    assert second.rotation.queue == ("p01", "p02", "p03", "p09")
    assert second.ports["p01"].current_a > 0
    assert second.ports["p02"].current_a > 0  # took the slot p00 freed
    assert second.rotation.since_s == 0.0
    # At the period, the paused ones go first.
    third = allocate(
        Site(groups=site.groups, ports=ports, rotation_period_s=60.0, now_s=60.0),
        second.rotation,
    )
    assert third.rotation.queue[:2] == ("p03", "p09")
    assert third.ports["p03"].current_a > 0
    assert third.ports["p09"].current_a > 0
    assert third.ports["p01"].reason == REASON_PAUSED


def test_no_contention_keeps_resetting_the_rotation_clock() -> None:
    site = _site(2, 2, 60.0, 500.0)
    result = allocate(site, RotationState(queue=("p01", "p00"), since_s=0.0))
    assert result.rotation.since_s == 500.0
    assert all(pa.current_a > 0 for pa in result.ports.values())

"""Benchmark the allocator: wall time per allocation, and against an LP reference.

    .venv/bin/python bench/allocator.py [--quick]

A three-level, three-phase tree (site → panels → circuits → ports) with mixed
connections (three-phase with rotations, single-phase on each leg), one- and
three-phase vehicles of different sizes, arrival times, priorities and deadlines,
so that limits bind at every level. For 10, 100 and 1000 ports it prints, per
policy, the median and 95th percentile wall time of one ``allocate`` call on one
core, then the same equal-share problem solved by the LP reference (repeated
linear programs with SciPy's HiGHS, ``tests/core/lp_reference.py``), with the speed
ratio and the largest difference between the two answers.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
import random
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.ev_power_share.core.allocator import allocate
from custom_components.ev_power_share.core.model import (
    Group,
    Policy,
    Port,
    Site,
    Vehicle,
)
from custom_components.ev_power_share.core.scenario import dump_scenario

CONNECTIONS = ("L1-L2-L3", "L2-L3-L1", "L3-L1-L2", "L1", "L2", "L3")


def build_site(n_ports: int, policy: Policy, seed: int = 7) -> Site:
    """A three-level tree with ``n_ports`` ports, oversubscribed at every level."""
    rnd = random.Random(seed)
    per_circuit = 10 if n_ports >= 10 else n_ports
    n_circuits = max(1, n_ports // per_circuit)
    n_panels = max(1, round(n_circuits**0.5))
    groups = [Group("site", rating_a=max(63.0, 6.5 * n_ports), max_power_kw=None)]
    groups += [
        Group(f"panel{p}", "site", rating_a=max(40.0, 10.0 * n_ports / n_panels))
        for p in range(n_panels)
    ]
    ports: list[Port] = []
    for c in range(n_circuits):
        circuit = f"circuit{c}"
        groups.append(Group(circuit, f"panel{c % n_panels}", rating_a=80.0))
        for _ in range(per_circuit):
            k = len(ports)
            ev = None
            if rnd.random() < 0.85:
                ev = Vehicle(
                    phases=rnd.choice((1, 3, 3)),
                    max_a=rnd.choice((16.0, 32.0, 32.0)),
                    arrived_s=rnd.uniform(0, 3600),
                    priority=rnd.choice((0, 0, 1)),
                    energy_needed_kwh=rnd.uniform(5, 40),
                    departure_s=rnd.uniform(3600, 12 * 3600),
                )
            ports.append(
                Port(
                    f"port{k:04d}",
                    circuit,
                    rnd.choice(CONNECTIONS),
                    max_a=32.0,
                    rated_kw=22.0,
                    online=rnd.random() > 0.02,
                    ev=ev,
                )
            )
    return Site(groups=tuple(groups), ports=tuple(ports), policy=policy)


def time_calls(fn: object, repeats: int) -> tuple[float, float]:
    """Median and 95th percentile of ``repeats`` calls, in milliseconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000.0)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def main() -> None:
    """Print the benchmark tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    sizes = (10, 100, 1000)
    repeats = {10: 400, 100: 200, 1000: 40}
    if args.quick:
        repeats = {10: 50, 100: 20, 1000: 5}

    print("Allocator wall time per allocation (ms), one core")
    print(f"{'ports':>6} {'policy':<13} {'median':>8} {'p95':>8}")
    for n in sizes:
        for policy in Policy:
            site = build_site(n, policy)
            allocate(site)  # warm-up
            med, p95 = time_calls(lambda site=site: allocate(site), repeats[n])
            print(f"{n:>6} {policy.value:<13} {med:>8.2f} {p95:>8.2f}")

    try:
        from tests.core.lp_reference import maxmin_reference  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - reported, not hidden
        print(f"\nLP reference unavailable ({err}); install scipy (scripts/setup).")
        return

    print("\nEqual share (max-min fair, no minimum current) vs. LP reference")
    print(
        f"{'ports':>6} {'ours ms':>9} {'LP ms':>10} {'ratio':>8} {'max |diff| A':>13}"
    )
    for n in sizes:
        site = replace(build_site(n, Policy.EQUAL_SHARE), min_current_a=0.0)
        doc = dump_scenario(site)
        med, _ = time_calls(lambda site=site: allocate(site), repeats[n])
        lp_runs = 3 if n < 1000 else 1
        lp_med, _ = time_calls(lambda doc=doc: maxmin_reference(doc), lp_runs)
        reference = maxmin_reference(doc)
        result = allocate(site)
        diff = max(
            abs(result.ports[pid].current_a - amps) for pid, amps in reference.items()
        )
        print(f"{n:>6} {med:>9.2f} {lp_med:>10.1f} {lp_med / med:>7.0f}× {diff:>13.3f}")


if __name__ == "__main__":
    main()

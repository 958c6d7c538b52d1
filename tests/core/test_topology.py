"""Configured groups → allocator groups; structural questions."""

from __future__ import annotations

import pytest

from custom_components.ev_power_share.core.model import ModelError
from custom_components.ev_power_share.core.topology import (
    GroupConfig,
    build_groups,
    children,
    descendants,
    possible_parents,
)

CONFIGS = [
    GroupConfig("site", "Main", None, 100.0),
    GroupConfig("panel", "Garage panel", "site", 63.0, fixed_load_a=2.0),
    GroupConfig("c1", "Row A", "panel", 32.0, fixed_load_a=1.5, phases=(1,)),
    GroupConfig("c2", "Row B", "panel", 32.0),
    GroupConfig("lift", "Lift", "site", 20.0, fixed_load_a=5.0),
]


def test_structure_questions() -> None:
    assert children(CONFIGS, "site") == ["panel", "lift"]
    assert descendants(CONFIGS, "site") == {"panel", "c1", "c2", "lift"}
    assert descendants(CONFIGS, "c1") == set()
    assert possible_parents(CONFIGS, "panel") == ["site", "lift"]
    assert possible_parents(CONFIGS, None) == ["site", "panel", "c1", "c2", "lift"]


def test_fixed_loads_flow_up_the_tree_on_the_legs_they_use() -> None:
    groups = {g.id: g for g in build_groups(CONFIGS)}
    assert groups["c1"].unmanaged_a == (0.0, 1.5, 0.0)
    assert groups["panel"].unmanaged_a == (2.0, 3.5, 2.0)
    assert groups["site"].unmanaged_a == (7.0, 8.5, 7.0)


def test_measurement_replaces_fixed_loads_and_override_caps() -> None:
    groups = {
        g.id: g
        for g in build_groups(
            CONFIGS, overrides={"site": 40.0}, measured_a={"site": (10.0, 11.0, 12.0)}
        )
    }
    assert groups["site"].unmanaged_a == (10.0, 11.0, 12.0)
    assert groups["site"].limit_a == 40.0
    assert groups["panel"].override_a is None


def test_split_phase_ignores_the_missing_leg() -> None:
    groups = build_groups(
        [GroupConfig("s", "S", None, 100.0, fixed_load_a=3.0)], legs=2
    )
    assert groups[0].unmanaged_a == (3.0, 3.0)


@pytest.mark.parametrize(
    "configs",
    [
        [GroupConfig("a", "A", "b", 10.0)],
        [GroupConfig("a", "A", "b", 10.0), GroupConfig("b", "B", "a", 10.0)],
    ],
)
def test_dangling_or_cyclic_parents_are_refused(configs: list[GroupConfig]) -> None:
    with pytest.raises(ModelError):
        build_groups(configs)

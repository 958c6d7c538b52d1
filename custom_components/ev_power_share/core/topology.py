"""The installation as configured: the site and its power groups.

Configuration is stored as plain data (Home Assistant keeps the site in its config
entry and each panel or circuit in a subentry). This module turns it into the
allocator's groups and answers the structural questions the UI asks: which
groups may be a parent, what hangs below a group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .model import Group, ModelError

SITE_GROUP_ID = "site"


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """A power group as the user configured it."""

    id: str
    name: str
    parent: str | None
    rating_a: float | None
    continuous_factor: float = 0.8
    max_power_kw: float | None = None
    fixed_load_a: float = 0.0
    """Non-EV load always drawn through this group (per phase it carries)."""
    phases: tuple[int, ...] = (0, 1, 2)
    """Legs the group carries (0 = L1)."""


def children(configs: Iterable[GroupConfig], group_id: str) -> list[str]:
    """Ids of the groups directly under ``group_id``."""
    return [c.id for c in configs if c.parent == group_id]


def descendants(configs: Sequence[GroupConfig], group_id: str) -> set[str]:
    """Ids of every group below ``group_id`` (not itself)."""
    below: set[str] = set()
    frontier = [group_id]
    while frontier:
        current = frontier.pop()
        for child in children(configs, current):
            if child not in below:
                below.add(child)
                frontier.append(child)
    return below


def possible_parents(configs: Sequence[GroupConfig], group_id: str | None) -> list[str]:
    """Groups that ``group_id`` may hang under: not itself nor its descendants."""
    if group_id is None:
        return [c.id for c in configs]
    excluded = descendants(configs, group_id) | {group_id}
    return [c.id for c in configs if c.id not in excluded]


def build_groups(
    configs: Sequence[GroupConfig],
    overrides: Mapping[str, float] | None = None,
    measured_a: Mapping[str, Sequence[float]] | None = None,
    legs: int = 3,
) -> tuple[Group, ...]:
    """The allocator's groups for ``configs``.

    A group's non-EV load is what is measured at it (``measured_a``, per leg) or,
    where nothing is measured, the fixed loads of the group and of every group
    below it (they flow through it too), on the legs each carries. ``overrides``
    caps a group's current per phase (it can only lower the limit).
    """
    by_id = {c.id: c for c in configs}
    for c in configs:
        if c.parent is not None and c.parent not in by_id:
            raise ModelError(f"groups.{c.id}.parent", f"unknown group {c.parent!r}")
    fixed: dict[str, list[float]] = {c.id: [0.0] * legs for c in configs}
    for c in configs:
        seen: set[str] = set()
        current: str | None = c.id
        while current is not None:
            if current in seen:
                raise ModelError(f"groups.{c.id}.parent", "groups form a cycle")
            seen.add(current)
            for leg in c.phases:
                if leg < legs:
                    fixed[current][leg] += c.fixed_load_a
            current = by_id[current].parent
    overrides = overrides or {}
    measured_a = measured_a or {}
    return tuple(
        Group(
            id=c.id,
            parent=c.parent,
            rating_a=c.rating_a,
            continuous_factor=c.continuous_factor,
            max_power_kw=c.max_power_kw,
            unmanaged_a=tuple(measured_a.get(c.id, fixed[c.id])),
            override_a=overrides.get(c.id),
        )
        for c in configs
    )

"""The site's control settings, and what one control cycle decided.

:class:`ControllerSnapshot` is the cycle's published state (``SiteController.data``):
entities and diagnostics read it, nothing writes to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .allocator import Allocation, RotationState
from .design import DesignFigures
from .model import Policy, Port, Site
from .ports import CycleInputs, Published
from .scenario import dump_allocation, dump_scenario


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """The site's options, as the controller uses them."""

    policy: Policy = Policy.EQUAL_SHARE
    min_current_a: float = 6.0
    failsafe_a: float = 6.0
    rotation_period_s: float = 900.0
    interval_s: float = 5.0
    hysteresis_a: float = 1.0


@dataclass(frozen=True, slots=True)
class ControllerSnapshot:
    """What one cycle decided; entities and diagnostics read this."""

    site: Site
    previous_rotation: RotationState | None
    allocation: Allocation
    design: Mapping[str, DesignFigures]
    commands: Mapping[str, float]
    cycle_ms: float
    at: float
    published: Published = field(default_factory=Published)
    """What the adjusters found: meter estimates, the solar decision, plans."""
    inputs: CycleInputs = field(default_factory=CycleInputs)
    """What the sources read this cycle (currents, session energy, settings)."""
    _ports: Mapping[str, Port] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the site's ports by id (entities look theirs up every cycle)."""
        object.__setattr__(self, "_ports", {p.id: p for p in self.site.ports})

    def port(self, port_id: str) -> Port | None:
        """A port as this cycle counted it (None: not in the site)."""
        return self._ports.get(port_id)

    def scenario(self) -> dict[str, Any]:
        """The cycle's input in the contract's scenario format (for replay)."""
        return dump_scenario(self.site, self.previous_rotation)

    def result(self) -> dict[str, Any]:
        """The cycle's output in the contract's format."""
        return dump_allocation(self.site, self.allocation)

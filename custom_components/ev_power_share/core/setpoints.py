"""From allocations to commands: what to tell each charger, and when.

Two rules keep the site safe while limits move between chargers, and keep the
chargers' write budgets:

* **Decreases go out at once; increases wait** until every decrease sent before
  has had time to take effect (an EV must follow a lowered limit within about
  5 s, IEC 61851). So while current moves from port A to port B, A is lowered
  first and B raised only once A has settled: every command is at most the
  current allocation, so the site stays under every limit at every moment.
* **Hysteresis**: an increase smaller than ``hysteresis_a`` is not sent (a
  decrease always is); commands are whole steps (rounded down), so tiny moves do
  not wear the charger's flash or make the vehicle's charger hunt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math


@dataclass(frozen=True, slots=True)
class SetpointRules:
    """How setpoints are turned into commands."""

    step_a: float = 1.0
    """Resolution chargers take (1 A for most; 0.1 A for some)."""
    hysteresis_a: float = 1.0
    """Smallest increase worth sending."""
    settle_s: float = 5.0
    """How long a decrease takes to reach the vehicle."""


@dataclass(frozen=True, slots=True)
class CommandState:
    """What was commanded, and when the last decrease went out."""

    commanded: Mapping[str, float] = field(default_factory=dict)
    last_decrease_s: float | None = None


def quantize(amps: float, step: float) -> float:
    """Round down to the step (never up), tolerating float noise."""
    return round(math.floor(amps / step + 1e-6) * step, 6)


def plan_commands(
    target: Mapping[str, float],
    state: CommandState,
    now_s: float,
    rules: SetpointRules = SetpointRules(),
) -> tuple[dict[str, float], CommandState]:
    """Commands for ``now_s``: every value is at most its target.

    ``target`` holds the allocator's currents (0 = pause). Returns the full map
    of commands (only the values that differ from ``state.commanded`` need to be
    sent) and the new state. Ports absent from ``target`` are dropped.
    """
    commands: dict[str, float] = {}
    decreased = False
    for port, amps in target.items():
        want = quantize(amps, rules.step_a)
        # A port seen for the first time starts from 0 A: its first increase
        # waits for pending decreases like any other.
        before = state.commanded.get(port, 0.0)
        if want < before:
            decreased = True
        commands[port] = min(want, before)
    last_decrease = now_s if decreased else state.last_decrease_s
    settled = last_decrease is None or now_s - last_decrease >= rules.settle_s
    if settled:
        for port, amps in target.items():
            want = quantize(amps, rules.step_a)
            before = commands[port]
            if want > before and (want - before >= rules.hysteresis_a or before == 0.0):
                commands[port] = want
    return commands, CommandState(commands, last_decrease)

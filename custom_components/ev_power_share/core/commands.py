"""The command writer: from allocations to what is sent to each charger, and when.

One pure function, :func:`plan_commands`, decides every cycle what each port is
to hold and which of those limits go on the wire now. Port sources only execute
its :class:`Commands` (and say what their chargers confirmed, :class:`Held`).

* **Decreases go out at once; increases wait** until every decrease sent before
  is confirmed by its charger (where the source can tell) and has had
  ``settle_s`` to take effect (an EV must follow a lowered limit within about
  5 s, IEC 61851). While current moves from port A to port B, A is lowered first
  and B raised only once A has settled: every command is at most the current
  allocation, and what the chargers may apply is at every moment within one
  allocation the allocator made.
* **Hysteresis**: an increase smaller than ``hysteresis_a`` is not sent (a
  decrease always is).
* **Whole steps per charger** (:class:`PortSteps`): rounded down to the
  charger's step, in A or in W where it takes only W (converted with its phases
  and voltage); a limit under the port's minimum is 0.
* **A write budget per charger** (flash wear, cloud rate limits): at most
  ``writes`` in any ``window_s``. A decrease always goes out, even over budget
  (safety first); within the budget, refreshes go before increases and
  re-sends.
* **Watchdog refresh**: a limit is sent again ``refresh_s`` after its charger
  confirmed it, before its ``validTo`` would lapse to the failsafe (which may
  be above the allocation). A refresh still not sent half-way from
  ``refresh_s`` to ``lapse_s`` goes out over budget, as a decrease would: a
  lapsed limit would raise the charger to its failsafe.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
import math
from typing import Literal

type Unit = Literal["A", "W"]
EPS = 1e-6
"""Float noise tolerated when comparing currents."""


def quantize(amount: float, step: float) -> float:
    """Whole steps, rounded down (never up, never below 0), tolerating float noise.

    The one round-down helper: every limit we send goes through it."""
    if not math.isfinite(amount) or amount <= 0.0:
        return 0.0
    return round(math.floor(amount / step + 1e-6) * step, 6)


@dataclass(frozen=True, slots=True)
class WriteBudget:
    """At most ``writes`` limits sent to a charger in any ``window_s``."""

    writes: int
    window_s: float


@dataclass(frozen=True, slots=True)
class PortSteps:
    """How a port takes a limit: its charger's capabilities, as data."""

    charger: str = ""
    """The charger whose write budget the port shares ("": its own)."""
    unit: Unit = "A"
    step: float = 1.0
    """Resolution in ``unit`` (1 A for most chargers; 0.1 A for some)."""
    minimum_a: float = 0.0
    """Below this (A per phase) the port is paused: 0."""
    watts_per_amp: float = 690.0
    """W per A per phase (phases × line voltage): the conversion to W."""
    refresh_s: float | None = None
    """Re-send an unchanged limit this long after its charger confirmed it."""
    lapse_s: float | None = None
    """A confirmed limit lapses this long after (its charger then applies its
    failsafe); None: it does not lapse."""
    budget: WriteBudget | None = None
    failsafe_a: float | None = None
    """What the charger applies while it holds no limit of ours (A per phase:
    its failsafe, after a reconnect or once our limit lapsed). None: not known,
    taken as 0 A."""

    def value(self, amps: float) -> float:
        """``amps`` (A per phase) in the charger's unit, whole steps, rounded down."""
        raw = amps if self.unit == "A" else amps * self.watts_per_amp
        return quantize(raw, self.step)

    def amps(self, value: float) -> float:
        """A value in the charger's unit as A per phase."""
        return value if self.unit == "A" else value / self.watts_per_amp

    def whole(self, amps: float) -> float:
        """The highest limit the port takes that is not above ``amps`` (A)."""
        value = self.value(amps)
        held = value if self.unit == "A" else self.amps(value)
        return held if held >= self.minimum_a - EPS else 0.0


@dataclass(frozen=True, slots=True)
class SetpointRules:
    """How allocations are turned into commands, site-wide."""

    step_a: float = 1.0
    """Resolution of ports whose source gives no :class:`PortSteps`."""
    hysteresis_a: float = 1.0
    """Smallest increase worth sending."""
    settle_s: float = 5.0
    """How long a decrease takes to reach the vehicle."""


@dataclass(frozen=True, slots=True)
class Held:
    """A limit a charger confirmed it holds (accepted, and applies as far as its
    source can tell), on its current connection, and when."""

    amps: float
    at: float


@dataclass(frozen=True, slots=True)
class Command:
    """One limit to send now."""

    port: str
    amps: float
    """A per phase (whole steps of the port's unit)."""
    value: float
    """What goes on the wire, in ``unit``."""
    unit: Unit
    decrease: bool
    """Lower than what the port held or was commanded (safety: never waits)."""
    refresh: bool = False
    """The limit its charger holds, sent again before it lapses."""
    urgent: bool = False
    """A refresh close to its lapse: it goes out over budget, as a decrease."""

    @property
    def order(self) -> int:
        """Which goes first within a charger's budget: decreases and urgent
        refreshes (always sent), then refreshes, then the others."""
        if self.decrease or self.urgent:
            return 0
        return 1 if self.refresh else 2


class Commands(Mapping[str, float]):
    """What every port is to hold (A per phase; 0 = pause), and the writes due
    now (:attr:`writes`: decreases first, then the others)."""

    __slots__ = ("_amps", "writes")

    def __init__(
        self, amps: Mapping[str, float], writes: Sequence[Command] = ()
    ) -> None:
        self._amps = dict(amps)
        self.writes: tuple[Command, ...] = tuple(writes)

    def __getitem__(self, port: str) -> float:
        return self._amps[port]

    def __iter__(self) -> Iterator[str]:
        return iter(self._amps)

    def __len__(self) -> int:
        return len(self._amps)

    def __repr__(self) -> str:
        return f"Commands({self._amps!r}, writes={self.writes!r})"

    def only(self, ports: Collection[str]) -> Commands:
        """The commands of some ports (those one source serves)."""
        return Commands(
            {p: a for p, a in self._amps.items() if p in ports},
            [c for c in self.writes if c.port in ports],
        )


@dataclass(frozen=True, slots=True)
class CommandState:
    """What was commanded, and what is still under way."""

    commanded: Mapping[str, float] = field(default_factory=dict)
    last_decrease_s: float | None = None
    unconfirmed: Mapping[str, float] = field(default_factory=dict)
    """Ports lowered to this (A) that their charger has not confirmed yet."""
    writes: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """When limits were sent, per charger (within its budget's window)."""
    sent: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """The last limit sent per port, and when (never the same one twice at once;
    kept while the port is not allocated)."""


def confirm(state: CommandState, held: Mapping[str, Held | None]) -> CommandState:
    """``state`` without the decreases their chargers now confirm (or whose port
    left the allocation: the allocator counts it at what it may hold)."""
    unconfirmed = {
        port: amps
        for port, amps in state.unconfirmed.items()
        if port in state.commanded and not _confirms(held.get(port), amps)
    }
    if len(unconfirmed) == len(state.unconfirmed):
        return state
    return replace(state, unconfirmed=unconfirmed)


def _confirms(held: Held | None, amps: float) -> bool:
    return held is not None and held.amps <= amps + EPS


def plan_commands(
    target: Mapping[str, float],
    state: CommandState,
    now_s: float,
    rules: SetpointRules = SetpointRules(),
    *,
    steps: Mapping[str, PortSteps] | None = None,
    held: Mapping[str, Held | None] | None = None,
) -> tuple[Commands, CommandState]:
    """Commands for ``now_s``: every value is at most its target.

    ``target`` holds the allocator's currents (0 = pause); ports absent from it
    are dropped. ``steps`` says how each port takes a limit (default: whole
    ``rules.step_a``, no budget, no refresh). ``held`` is what the chargers of
    ports whose source can tell confirmed (None: nothing of ours, e.g. since it
    reconnected); a port absent from it is taken to hold what it was commanded.
    Returns the full map of commands with the writes due now, and the new state.
    """
    steps = steps or {}
    held = held or {}
    default = PortSteps(step=rules.step_a)
    state = confirm(state, held)
    unconfirmed = {p: a for p, a in state.unconfirmed.items() if p in target}
    wanted: dict[str, float] = {}
    commands: dict[str, float] = {}
    decreased = False
    port_steps_of = {p: steps.get(p, default) for p in target}
    befores = {p: _before(p, state, held, port_steps_of[p]) for p in target}
    for port, amps in target.items():
        want = wanted[port] = port_steps_of[port].whole(amps)
        before = befores[port]
        commands[port] = min(want, before)
        if want < before:
            decreased = True
            if port in held:
                unconfirmed[port] = want
    last_decrease = now_s if decreased else state.last_decrease_s
    settled = (
        last_decrease is None or now_s - last_decrease >= rules.settle_s
    ) and not unconfirmed
    due: list[Command] = []
    for port in target:
        port_steps = port_steps_of[port]
        before = befores[port]
        want = wanted[port]
        if (
            settled
            and want > before
            and (want - before >= rules.hysteresis_a or before == 0.0)
        ):
            commands[port] = want
        amps = commands[port]
        if _due(port, amps, before, held, port_steps, now_s, state.sent):
            due.append(_command(port, amps, before, held, port_steps, now_s))
    sending, writes, sent = _within_budgets(
        due, commands, befores, held, steps, default, state, now_s
    )
    if any(c.decrease for c in sending):
        # A decrease sent again (its charger still holds more) settles anew.
        last_decrease = now_s
    return Commands(commands, sending), CommandState(
        commands, last_decrease, unconfirmed, writes, sent
    )


def _within_budgets(
    due: list[Command],
    commands: dict[str, float],
    befores: Mapping[str, float],
    held: Mapping[str, Held | None],
    steps: Mapping[str, PortSteps],
    default: PortSteps,
    state: CommandState,
    now_s: float,
) -> tuple[list[Command], dict[str, tuple[float, ...]], dict[str, tuple[float, float]]]:
    """The writes of ``due`` that go out now, and the writes and limits sent
    since. Decreases and urgent refreshes first, whatever the budget; then
    refreshes, then the others, within it. One held back lowers its command
    in ``commands`` to what the port held before."""
    writes = _recent(state.writes, steps, now_s)
    sent = dict(state.sent)
    sending: list[Command] = []
    for command in sorted(due, key=lambda c: c.order):
        port_steps = steps.get(command.port, default)
        charger = port_steps.charger or command.port
        budget = port_steps.budget
        write = command
        if (
            command.order > 0
            and budget is not None
            and len(writes.get(charger, ())) >= budget.writes
        ):
            # Waits for the budget (an increase is held back meanwhile); what
            # its charger holds is renewed over budget if it is about to lapse.
            amps = commands[command.port] = min(command.amps, befores[command.port])
            write = _command(command.port, amps, amps, held, port_steps, now_s)
            if not write.urgent:
                continue
        writes[charger] = (*writes.get(charger, ()), now_s)
        sent[write.port] = (write.amps, now_s)
        sending.append(write)
    return sending, writes, sent


def _command(
    port: str,
    amps: float,
    before: float,
    held: Mapping[str, Held | None],
    steps: PortSteps,
    now_s: float,
) -> Command:
    """The write of ``amps`` to ``port``: a decrease, a refresh of what its
    charger holds (urgent once half-way from ``refresh_s`` to ``lapse_s``), or
    another write."""
    decrease = amps < before or _lowers(port, amps, held, steps)
    last = held.get(port)
    refresh = (
        not decrease
        and last is not None
        and abs(last.amps - amps) <= EPS
        and steps.refresh_s is not None
    )
    urgent = refresh and last is not None and _lapsing(last, steps, now_s)
    return Command(port, amps, steps.value(amps), steps.unit, decrease, refresh, urgent)


def _lapsing(held: Held, steps: PortSteps, now_s: float) -> bool:
    """Whether a confirmed limit is half-way from its refresh to its lapse."""
    if steps.refresh_s is None or steps.lapse_s is None:
        return False
    return now_s - held.at >= (steps.refresh_s + steps.lapse_s) / 2.0


def _lowers(
    port: str, amps: float, held: Mapping[str, Held | None], steps: PortSteps
) -> bool:
    """Whether its charger holds more than ``amps`` (as far as its source can
    tell: one that holds nothing of ours applies its failsafe, more than 0)."""
    if port not in held:
        return False
    last = held[port]
    if last is not None:
        return amps < last.amps
    return amps == 0.0 or (steps.failsafe_a is not None and amps < steps.failsafe_a)


def _before(
    port: str,
    state: CommandState,
    held: Mapping[str, Held | None],
    steps: PortSteps,
) -> float:
    """What a port holds before this cycle's command.

    A port whose charger holds nothing of ours (its source says so) applies its
    failsafe, whatever it was commanded: lowering it below is a decrease that
    the others' increases wait for, raising it above an increase like any
    other. Else it holds what it was commanded; a port allocated again starts
    from what its charger holds (if its source can tell), a new one from 0 A:
    its first increase waits for pending decreases like any other, and it is
    lowered first (before any other port is raised) if it may hold more."""
    if port in held and held[port] is None and steps.failsafe_a is not None:
        return steps.failsafe_a
    if port in state.commanded:
        return state.commanded[port]
    last = held.get(port)
    return 0.0 if last is None else last.amps


def _due(
    port: str,
    amps: float,
    before: float,
    held: Mapping[str, Held | None],
    steps: PortSteps,
    now_s: float,
    sent: Mapping[str, tuple[float, float]],
) -> bool:
    """Whether ``amps`` must be sent to ``port`` now."""
    if sent.get(port) == (amps, now_s):
        return False  # sent at this very moment already
    if port not in held:
        return abs(amps - before) > EPS or port not in sent
    last = held[port]
    return (
        last is None
        or abs(last.amps - amps) > EPS
        or (steps.refresh_s is not None and now_s - last.at >= steps.refresh_s)
    )


def _recent(
    writes: Mapping[str, tuple[float, ...]],
    steps: Mapping[str, PortSteps],
    now_s: float,
) -> dict[str, tuple[float, ...]]:
    """The writes still inside their charger's budget window: the latest
    ``budget.writes`` of them at most (all that telling whether the budget is
    spent needs, also once the older ones leave the window; decreases sent
    over budget would otherwise pile up)."""
    budgets = {
        s.charger or port: s.budget for port, s in steps.items() if s.budget is not None
    }
    recent: dict[str, tuple[float, ...]] = {}
    for charger, times in writes.items():
        budget = budgets.get(charger)
        if budget is None:
            continue
        kept = tuple(t for t in times if now_s - t < budget.window_s)
        if kept:
            recent[charger] = kept[-budget.writes :] if budget.writes > 0 else ()
    return recent

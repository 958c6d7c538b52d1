"""Commands never exceed the allocation, decreases lead, increases wait."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.commands import (
    CommandState,
    Held,
    PortSteps,
    SetpointRules,
    WriteBudget,
    confirm,
    plan_commands,
    quantize,
)

RULES = SetpointRules(step_a=1.0, hysteresis_a=1.0, settle_s=5.0)


def test_current_moves_from_a_to_b_in_two_steps() -> None:
    state = CommandState({"a": 16.0, "b": 6.0}, None)
    now, state = plan_commands({"a": 10.0, "b": 12.0}, state, 100.0, RULES)
    assert now == {"a": 10.0, "b": 6.0}  # a lowered, b held
    held, state = plan_commands({"a": 10.0, "b": 12.0}, state, 103.0, RULES)
    assert held == {"a": 10.0, "b": 6.0}  # a is still settling
    later, state = plan_commands({"a": 10.0, "b": 12.0}, state, 105.0, RULES)
    assert later == {"a": 10.0, "b": 12.0}


def test_hysteresis_and_rounding_down() -> None:
    state = CommandState({"a": 16.0}, None)
    same, state = plan_commands({"a": 16.9}, state, 0.0, RULES)
    assert same == {"a": 16.0}  # 16.9 rounds down to 16: nothing to send
    small = CommandState({"a": 16.0}, None)
    up, _ = plan_commands({"a": 17.2}, small, 0.0, SetpointRules(0.1, 1.5, 5.0))
    assert up == {"a": 16.0}  # +1.2 A is under the 1.5 A hysteresis
    down, _ = plan_commands({"a": 15.95}, small, 0.0, SetpointRules(0.1, 1.5, 5.0))
    assert down == {"a": 15.9}  # a decrease always goes out
    assert quantize(5.999999999, 1.0) == 6.0
    assert quantize(6.99, 1.0) == 6.0


def test_new_port_and_departed_port() -> None:
    state = CommandState({"gone": 10.0}, None)
    now, state = plan_commands({"new": 16.0}, state, 0.0, RULES)
    assert now == {"new": 16.0}  # nothing pending: starts at once
    assert "gone" not in state.commanded


targets = st.dictionaries(
    st.sampled_from("abcdef"), st.sampled_from([0.0, 6.0, 7.5, 10.0, 16.0, 32.0])
)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(targets, st.floats(0.5, 10.0)), min_size=1, max_size=30)
)
def test_commands_never_exceed_the_current_target(
    steps: list[tuple[dict[str, float], float]],
) -> None:
    """Whatever the allocations do, what is commanded is within the allocation,
    and an increase is never sent within ``settle_s`` of a decrease."""
    state = CommandState()
    now = 0.0
    last_decrease = -1e9
    for target, dt in steps:
        now += dt
        before = dict(state.commanded)
        commands, state = plan_commands(target, state, now, RULES)
        assert set(commands) == set(target)
        for port, amps in commands.items():
            assert amps <= target[port] + 1e-9
        if any(commands[p] < before.get(p, 0.0) for p in commands):
            last_decrease = now
        rose = [p for p in commands if commands[p] > before.get(p, 0.0)]
        if rose:
            assert now - last_decrease >= RULES.settle_s


# -- the writer with chargers that confirm (or refuse), budgets and units ----------

SETTLE_S = 5.0
PORTS = "abcd"


@st.composite
def port_steps(draw: st.DrawFn) -> dict[str, PortSteps]:
    """Steps per port: A or W, steps, minimums; a write budget per charger."""
    budgets = {
        charger: draw(
            st.none()
            | st.builds(WriteBudget, st.integers(1, 4), st.sampled_from([10.0, 60.0]))
        )
        for charger in ("c1", "c2")
    }
    steps = {}
    for port in PORTS:
        charger = draw(st.sampled_from(["c1", "c2"]))
        unit = draw(st.sampled_from(["A", "W"]))
        steps[port] = PortSteps(
            charger=charger,
            unit=unit,
            step=draw(st.sampled_from([1.0, 0.1] if unit == "A" else [1.0, 100.0])),
            minimum_a=draw(st.sampled_from([0.0, 6.0])),
            watts_per_amp=draw(st.sampled_from([690.0, 230.0])),
            refresh_s=(refresh := draw(st.sampled_from([None, 20.0]))),
            lapse_s=None if refresh is None else 40.0,
            budget=budgets[charger],
        )
    return steps


# Ports leave the allocation and come back (offline, unplugged).
allocations = st.dictionaries(
    st.sampled_from(PORTS),
    st.sampled_from([0.0, 5.5, 6.0, 7.5, 10.0, 13.3, 16.0, 32.0]),
)
clock_steps = st.sampled_from([0.0, 0.5, 1.0, 3.0, 5.0, 12.0])
accepted = st.lists(st.booleans(), min_size=4, max_size=4)
cycles = st.lists(
    st.tuples(allocations, clock_steps, accepted), min_size=1, max_size=40
)


@settings(max_examples=300, deadline=None)
@given(steps=port_steps(), cycles=cycles)
def test_the_writer_over_any_allocations_confirmations_and_clock(
    steps: dict[str, PortSteps],
    cycles: list[tuple[dict[str, float], float, list[bool]]],
) -> None:
    """Arbitrary allocations (ports leave and come back), chargers that accept or
    refuse each write and say what they hold, clock steps of 0 to 12 s. Per cycle:

    1. **Never above the allocation.** Each command is at most its port's target.
       And what the chargers may be applying stays within one allocation the
       allocator made: *there is an allocation j (this cycle's or an earlier
       one) such that every allocated port may now apply at most what j gave it*
       (or, if j did not allocate it, what j counted it at: what it could apply
       then, as the allocator counts a port it does not allocate). A port "may
       apply" the last limit its charger accepted, and for ``settle_s`` after a
       lowered limit was accepted, the limit before it (the vehicle follows
       within that time). So the sum on every group is within what j allowed.
    2. **Decreases before increases.** No increase is sent while a decrease
       sent before is unconfirmed (its charger holds more) or unsettled
       (sent less than ``settle_s`` ago).
    3. **The write budget** of each charger holds for every write but
       decreases and urgent refreshes: another write is sent only while fewer
       than ``writes`` went to that charger in the ``window_s`` before.
    4. **Whole steps.** Every command is whole steps of its port's unit, and
       0 or at least the port's minimum.
    5. **No limit lapses for want of budget.** A port whose charger holds its
       command, confirmed half-way from ``refresh_s`` to ``lapse_s`` ago or
       longer, is sent it again in this cycle, whatever the budget (else it
       would lapse to the failsafe, which may be above the allocation).
    """
    _replay(steps, [(target, dt, accepts, False) for target, dt, accepts in cycles])


failsafes = st.fixed_dictionaries(
    {port: st.sampled_from([0.0, 6.0, 10.0, 16.0]) for port in PORTS}
)


@settings(max_examples=300, deadline=None)
@given(
    steps=port_steps(),
    failsafe=failsafes,
    cycles=st.lists(
        st.tuples(allocations, clock_steps, accepted, st.booleans()),
        min_size=1,
        max_size=40,
    ),
)
def test_a_charger_that_holds_nothing_of_ours_applies_its_failsafe(
    steps: dict[str, PortSteps],
    failsafe: dict[str, float],
    cycles: list[tuple[dict[str, float], float, list[bool], bool]],
) -> None:
    """As above, but a charger that holds no limit of ours (never sent one, or it
    reconnected while its port was not allocated) applies its failsafe, which
    may be above the allocation: lowering it to the allocation is a decrease
    that every other port's increase waits for (confirmed and settled)."""
    steps = {p: replace(s, failsafe_a=failsafe[p]) for p, s in steps.items()}
    _replay(steps, cycles, failsafe)


def _replay(
    steps: dict[str, PortSteps],
    cycles: list[tuple[dict[str, float], float, list[bool], bool]],
    failsafe: dict[str, float] | None = None,
) -> None:
    """Run the writer over ``cycles`` (target, clock step, which writes the
    chargers accept, whether the chargers of unallocated ports reconnect, so
    that they hold nothing of ours) and check the four rules above. A charger
    that holds nothing of ours applies ``failsafe`` (default 0 A)."""
    failsafe = failsafe or {}
    rules = SetpointRules(hysteresis_a=1.0, settle_s=SETTLE_S)
    state = CommandState()
    now = 0.0
    holds: dict[str, float] = {}  # what each charger applies (the last it accepted)
    accepted_at: dict[str, float] = {}
    history: dict[str, list[tuple[float, float]]] = {p: [] for p in PORTS}
    """Per port: (when it stopped applying a value, the value) for lowered ones."""
    bounds: list[dict[str, float]] = []
    writes: dict[str, list[float]] = {"c1": [], "c2": []}
    last_decrease: float | None = None
    pending: dict[str, float] = {}  # ports lowered, not confirmed: to what
    sent_at: dict[str, float] = {}  # when each port was last sent a limit

    def applies(port: str) -> float:
        return holds.get(port, failsafe.get(port, 0.0))

    def was(port: str) -> float:
        """What the writer is to take a port to hold before its command: what
        it was commanded, unless its charger holds nothing of ours and so
        applies its failsafe (where the port's steps say it)."""
        if failsafe and port not in holds:
            return applies(port)
        return before.get(port, applies(port))

    def counted_at(port: str, target: dict[str, float]) -> float:
        """What this cycle's allocation counted a port at: its target, or
        what it may apply if it was not allocated. With failsafes (chargers
        that reconnect), also a port whose charger refused a lower limit and
        still holds more: its source counts it offline at what it holds (the
        OCPP source's unsure ports), so the allocator does not hand that
        current to another port, which may be one just back at its failsafe."""
        if port not in target:
            return may_apply(port)
        if failsafe and port in pending:
            return max(target[port], may_apply(port))
        return target[port]

    def may_apply(port: str) -> float:
        recent = [v for until, v in history[port] if now - until < SETTLE_S]
        return max([applies(port), *recent])

    # Before the first cycle, every port was counted at what it applies (as
    # the allocator counts ports it does not allocate: at their failsafe).
    bounds.append({p: may_apply(p) for p in PORTS})
    for target, dt, accepts, reconnect in cycles:
        now += dt
        for port in PORTS:
            if reconnect and port not in target and port in holds:
                # Back to its failsafe. A charger is offline for longer than
                # settle_s before it is resumed (its grace alone is longer), so
                # its vehicle has followed by the time its port is allocated.
                del holds[port], accepted_at[port]
        held = {
            p: (Held(holds[p], accepted_at[p]) if p in holds else None) for p in PORTS
        }
        before = dict(state.commanded)
        commands, state = plan_commands(
            target, state, now, rules, steps=steps, held=held
        )
        assert set(commands) == set(target)
        pending = {p: a for p, a in pending.items() if p in target}
        for port, amps in commands.items():
            assert amps <= target[port] + 1e-9  # (1)
            s = steps[port]
            units = s.value(amps) / s.step
            assert abs(units - round(units)) < 1e-6  # (4) whole steps
            assert amps == 0.0 or amps >= s.minimum_a - 1e-9  # (4) the minimum
        written = {c.port for c in commands.writes}
        for port, amps in commands.items():
            s = steps[port]
            if (
                port in holds
                and abs(holds[port] - amps) < 1e-9
                and s.refresh_s is not None
                and s.lapse_s is not None
                and now - accepted_at[port] >= (s.refresh_s + s.lapse_s) / 2
            ):
                # (5): sent now, or a moment ago (a cycle at the same instant)
                assert port in written or sent_at.get(port) == now, (port, now)
        increases = [c for c in commands.writes if c.amps > was(c.port) + 1e-9]
        if increases:  # (2)
            assert last_decrease is None or now - last_decrease >= SETTLE_S
            assert not pending, (pending, increases)
        for command, accept in zip(commands.writes, accepts * 10, strict=False):
            s = steps[command.port]
            assert command.value == s.value(command.amps)
            assert command.unit == s.unit
            charger = s.charger
            if s.budget is not None:
                recent = [t for t in writes[charger] if now - t < s.budget.window_s]
                if not command.decrease and not command.urgent:
                    assert len(recent) < s.budget.writes  # (3)
            writes[charger].append(now)
            sent_at[command.port] = now
            if command.amps < was(command.port):
                last_decrease = now
                pending[command.port] = command.amps
            if accept:
                old = applies(command.port)
                if command.amps < old:
                    history[command.port].append((now, old))
                holds[command.port] = command.amps
                accepted_at[command.port] = now
        for port, amps in commands.items():
            if port in holds and amps < holds[port] - 1e-9:
                # Lowered and not confirmed, also where the lower limit went out
                # a moment ago (a cycle at the same instant does not send it twice).
                pending.setdefault(port, amps)
        for port, amps in list(pending.items()):
            if applies(port) <= amps + 1e-9:
                del pending[port]
        state = confirm(
            state,
            {
                p: (Held(holds[p], accepted_at[p]) if p in holds else None)
                for p in PORTS
            },
        )
        # (1) what every allocated port may apply, within one allocation.
        bounds.append({p: counted_at(p, target) for p in PORTS})
        applying = {p: may_apply(p) for p in target}
        assert any(
            all(applying[p] <= bound[p] + 1e-6 for p in target) for bound in bounds
        ), (applying, bounds)

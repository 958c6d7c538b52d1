"""Commands never exceed the allocation, decreases lead, increases wait."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.commands import (
    CommandState,
    SetpointRules,
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

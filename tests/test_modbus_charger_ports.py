"""How a Modbus charger's socket is counted (HA-free, no network): a property
test that whatever happens (writes that fail half-way, polls lost, someone else
setting the limit, time passing until the charger's timeout lapses), the source
never reports a socket as holding less than the charger may apply."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_power_share.core.commands import EPS
from custom_components.ev_power_share.modbus.charger_client import SocketReading
from custom_components.ev_power_share.modbus_charger_ports import (
    ModbusChargerConfig,
    SocketState,
    held_of,
    modbus_readings,
    socket_port,
    socket_state,
    socket_steps,
    too_slow,
)

CONFIG = ModbusChargerConfig(
    subentry_id="m",
    name="garage",
    group="site",
    host="127.0.0.1",
    model="heidelberg_ec",
    failsafe_a=8.0,
    stale_s=15.0,
)
TIMEOUT_S = CONFIG.map.failsafe.timeout_s


@dataclass
class Charger:
    """What the real charger does (the truth the source cannot see directly)."""

    limit_a: float = 16.0
    """A limit left by someone before we connected."""
    failsafe_a: float = 16.0
    contact_at: float = 0.0
    now: float = 0.0

    @property
    def lapsed(self) -> bool:
        return self.now - self.contact_at > TIMEOUT_S

    @property
    def applied(self) -> float:
        return self.failsafe_a if self.lapsed else self.limit_a

    def reading(self) -> SocketReading:
        self.contact_at = self.now  # any request keeps it alive
        return SocketReading(
            limit_a=self.limit_a,
            connected=True,
            charging=self.applied >= 6.0,
            currents_a=(self.applied,) * 3,
            energy_kwh=None,
            valid=True,
        )


amps = st.floats(0.0, 32.0).map(lambda a: round(a, 1))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("connect"), st.none()),
        st.tuples(st.just("command"), amps),
        st.tuples(st.just("write_ok"), st.none()),
        st.tuples(st.just("write_lost"), st.booleans()),
        st.tuples(st.just("poll"), st.none()),
        st.tuples(st.just("override"), amps),
        st.tuples(st.just("wait"), st.floats(0.0, 30.0)),
    ),
    max_size=40,
)


def step(op: str, arg: object, charger: Charger, state: SocketState) -> None:
    now = charger.now
    if op == "connect":
        charger.failsafe_a = CONFIG.failsafe_a  # programmed
        charger.limit_a = CONFIG.failsafe_a  # the limit set to it
        state.connected(charger.reading(), charger.failsafe_a, now)
    elif op == "command":
        state.commanded(float(arg), now)  # type: ignore[arg-type]
    elif op in ("write_ok", "write_lost") and state.wanted is not None:
        wanted, state.wanted = state.wanted, None
        if op == "write_ok":
            charger.limit_a = wanted
            state.written(wanted, charger.reading().limit_a, now)
        else:
            if arg:  # the write reached the charger, its answer was lost
                charger.limit_a = wanted
            state.wanted = wanted
    elif op == "poll" and state.reading is not None:
        state.polled(charger.reading(), now)
    elif op == "override" and state.reading is not None:
        charger.limit_a = float(arg)  # type: ignore[arg-type]
        state.polled(charger.reading(), now)  # seen at the next poll
    elif op == "wait":
        charger.now += float(arg)  # type: ignore[arg-type]


def check(charger: Charger, state: SocketState) -> None:
    now = charger.now
    port = socket_port(CONFIG, 1, state, now)
    # Online or not, what it is counted at is never below what it applies.
    assert port.failsafe_a is not None
    assert charger.applied <= port.failsafe_a + EPS
    if port.online and state.sent is None:
        held = held_of(state)
        level = socket_steps(CONFIG, state).failsafe_a if held is None else held.amps
        assert level is not None
        assert charger.applied <= level + EPS
    if not port.online:
        assert socket_state(CONFIG, state, now) == "unavailable"


@settings(max_examples=300, deadline=None)
@given(ops)
def test_never_counted_below_what_it_may_apply(steps: list[tuple[str, object]]) -> None:
    charger, state = Charger(), SocketState()
    check(charger, state)
    for op, arg in steps:
        step(op, arg, charger, state)
        check(charger, state)


def test_a_socket_never_read_is_offline_at_its_rating() -> None:
    readings = modbus_readings([CONFIG], {}, 0.0)
    (port,) = readings.ports
    assert not port.online
    assert port.failsafe_a == port.max_a == 16.0  # Heidelberg: at most 16 A
    assert readings.held == {"m:1": None}


def test_stale_after_half_the_timeout() -> None:
    charger, state = Charger(), SocketState()
    step("connect", None, charger, state)
    assert socket_port(CONFIG, 1, state, 0.0).online
    limit = min(CONFIG.stale_s, TIMEOUT_S / 2)
    assert socket_port(CONFIG, 1, state, limit).online
    assert not socket_port(CONFIG, 1, state, limit + 0.1).online


def test_session_energy_from_a_total_counter() -> None:
    state = SocketState()
    reading = SocketReading(16.0, True, True, (16.0,) * 3, 100.0, True)
    state.polled(reading, 0.0)
    state.polled(SocketReading(16.0, True, True, (16.0,) * 3, 101.5, True), 1.0)
    readings = modbus_readings([CONFIG], {"m:1": state}, 1.0)
    assert readings.session_kwh["m:1"] == 1.5
    assert state.energy.total_kwh == 101.5


def test_a_limit_with_a_validity_time_is_refreshed_before_it_lapses() -> None:
    alfen = ModbusChargerConfig("a", "drive", "site", "127.0.0.1", "alfen_eve")
    steps = socket_steps(alfen, SocketState())
    assert steps.refresh_s is not None
    assert steps.lapse_s == 60.0
    assert steps.refresh_s < steps.lapse_s
    assert socket_steps(CONFIG, SocketState()).lapse_s is None  # any request


def _charger(
    model: str, failsafe_a: float, watchdog_s: float = 120.0
) -> ModbusChargerConfig:
    return ModbusChargerConfig(
        subentry_id=f"sub-{model}",
        name=model,
        group="site",
        host="127.0.0.1",
        model=model,
        failsafe_a=failsafe_a,
        watchdog_s=watchdog_s,
    )


def test_margin_is_the_timeout_after_the_site_finds_it_silent() -> None:
    # Heidelberg's timeout register holds at most 65.535 s; Webasto takes the
    # site's watchdog; Alfen keeps its own (60 s).
    assert _charger("heidelberg_ec", 6.0).margin_s == pytest.approx(65.535 - 15.0)
    assert _charger("webasto_unite", 6.0).margin_s == pytest.approx(105.0)
    assert _charger("alfen_eve", 6.0).margin_s == pytest.approx(45.0)
    # A short watchdog: the site finds it silent after half of it.
    assert _charger("webasto_unite", 6.0, 20.0).margin_s == pytest.approx(10.0)


def test_too_slow_names_the_chargers_a_slow_load_cannot_make_room_for() -> None:
    chargers = [
        _charger("heidelberg_ec", 6.0),  # 50.5 s: 40.5 s at 5 s cycles
        _charger("webasto_unite", 6.0),  # 105 s: 95 s
        _charger("alfen_eve", 0.0),  # falls back to nothing: never too soon
    ]
    assert too_slow(chargers, {}, 5.0) == {}
    assert too_slow(chargers, {"Cloud": 30.0, "Outlet": 30.0}, 5.0) == {}
    assert too_slow(chargers, {"Zaptec": 60.0, "Outlet": 30.0}, 5.0) == {
        "sub-heidelberg_ec": ("Zaptec", 60.0)
    }
    # Slower cycles leave less of the margin.
    assert set(too_slow(chargers, {"Cloud": 30.0}, 12.0)) == {"sub-heidelberg_ec"}

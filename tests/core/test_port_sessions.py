"""Sessions of the ports without a card reader, from what their sources tell
each cycle: started when a vehicle is there, read, rebooked, ended when it
leaves or the port goes; the register never goes back within a session and
counts every rise of the port's figure (property)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.ev_power_share.core.port_sessions import (
    PortEventKind as K,
    PortSessions,
    PortView,
    presence,
)


def test_presence_of_each_state() -> None:
    assert presence("charging") is presence("connected") is True
    assert presence("idle") is False
    assert presence("off") is None  # a charger paused by us: still there
    assert presence("off", off_is_gone=True) is False  # an outlet
    assert presence("unavailable") is None


def test_a_session_from_plug_in_to_departure() -> None:
    ports = PortSessions(read_every_s=60)
    assert ports.observe(0, {"p": PortView(False, 5000.0)}) == []
    [start] = ports.observe(10, {"p": PortView(True, 5000.0, "u1")})
    assert (start.kind, start.wh, start.user_id) == (K.STARTED, 5000.0, "u1")
    assert ports.observe(20, {"p": PortView(True, 5100.0, "u1")}) == []  # too soon
    [read] = ports.observe(80, {"p": PortView(None, 5200.0, "u1")})
    assert (read.kind, read.wh) == (K.METERED, 5200.0)
    # The source is made anew (its figure starts again): nothing is lost.
    ports.observe(90, {"p": PortView(True, 0.0, "u1")})
    [moved] = ports.observe(100, {"p": PortView(True, 300.0, "u2")})
    assert (moved.kind, moved.user_id) == (K.ASSIGNED, "u2")
    [stop] = ports.observe(200, {"p": PortView(False, 400.0, "u2")})
    assert (stop.kind, stop.wh, stop.user_id) == (K.STOPPED, 5600.0, "u2")
    assert not ports.is_open("p")


def test_a_resumed_session_goes_on_and_a_removed_port_ends_its_own() -> None:
    ports = PortSessions()
    ports.resume("p", 7000.0, "u1")
    assert ports.observe(0, {"p": PortView(True, 100.0, "u1")}) == []
    [read] = ports.observe(100, {"p": PortView(True, 600.0, "u1")})
    assert read.wh == 7500.0
    [stop] = ports.observe(200, {})
    assert (stop.kind, stop.wh) == (K.STOPPED, 7500.0)


views = st.builds(
    PortView,
    st.sampled_from([True, False, None]),
    st.one_of(
        st.none(),
        st.floats(0, 1e6),
        st.sampled_from([float("nan"), float("inf"), -1.0]),
    ),
    st.sampled_from([None, "u1", "u2"]),
)


@given(st.lists(st.one_of(st.none(), views), max_size=60))
def test_sessions_alternate_and_their_register_never_goes_back(
    cycles: list[PortView | None],
) -> None:
    ports = PortSessions(read_every_s=30)
    open_at: float | None = None
    last = 0.0
    rises = 0.0
    seen: float | None = None
    for n, view in enumerate(cycles):
        observed = {} if view is None else {"p": view}
        figure = None if view is None else view.energy_wh
        if figure is not None and not 0 <= figure < 1e300:
            figure = None  # not plausible: not counted
        if open_at is not None and figure is not None:
            if seen is not None and figure > seen:
                rises += figure - seen
            seen = figure
        for event in ports.observe(n * 10.0, observed):
            if event.kind is K.STARTED:
                assert open_at is None
                open_at, last, rises, seen = event.wh, event.wh, 0.0, figure
                continue
            assert open_at is not None
            assert event.wh >= last
            last = event.wh
            if event.kind is K.STOPPED:
                assert event.wh == open_at + rises
                open_at = None
    assert (open_at is not None) == ports.is_open("p")

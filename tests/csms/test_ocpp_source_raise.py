"""OcppSource tells the allocator which offer a port's measured current answers:
a report that came in before the vehicle could follow a raise answers the lower
offer before it (``Vehicle.draw_offered_a``), so the draw cap does not take the
raise back at once (the demo's limits turned twice with every report)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from custom_components.ev_power_share.ocpp_limits import RAISE_SETTLE_S
from custom_components.ev_power_share.ocpp_source import ChargerConfig

from .conftest import ocpp_source


def test_a_report_before_a_raise_answers_the_lower_offer() -> None:
    clock = SimpleNamespace(now=1_000.0)
    source = ocpp_source(
        [ChargerConfig("cp-1", "One", "site")], clock=lambda: clock.now
    )
    station: Any = SimpleNamespace(id="cp-1")
    pid = "cp-1:1"

    def send(amps: float) -> None:
        source.limits._sent[pid] = source.limits.sending(pid, amps, clock.now, station)

    def report(at: float) -> None:
        clock.now = at
        source.on_meter(station, 1)

    send(8.0)  # the first offer: nothing to answer yet
    report(1_002.0)
    assert source.limits.draw_offered(pid) is None
    clock.now = 1_004.0
    send(15.0)  # raised: the report from 1 002 answers 8 A
    assert source.limits.draw_offered(pid) == 8.0
    report(1_004.0 + RAISE_SETTLE_S / 2)  # too soon to show the vehicle following
    assert source.limits.draw_offered(pid) == 8.0
    clock.now = 1_006.0
    send(20.0)  # raised again while settling: the lowest offer before
    assert source.limits.draw_offered(pid) == 8.0
    send(12.0)  # lowered: the report still answers 8 A
    assert source.limits.draw_offered(pid) == 8.0
    report(1_006.0 + RAISE_SETTLE_S)  # late enough: it answers what it holds
    assert source.limits.draw_offered(pid) is None
    clock.now = 1_020.0
    send(16.0)
    assert source.limits.draw_offered(pid) == 12.0

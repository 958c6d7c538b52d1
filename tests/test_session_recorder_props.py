"""Property: any sequence of starts, readings, stops, repeats, late offline
transactions and restarts keeps every session, once, with its energy its last
register reading minus its first (the recorder over a real ledger file)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from itertools import count, pairwise
import math
from pathlib import Path
import tempfile
from typing import Any

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from custom_components.ev_power_share.core.sessions import ClosedBy, SessionRecord
from custom_components.ev_power_share.ledger import Ledger
from custom_components.ev_power_share.session_recorder import SessionRecorder

T0 = 1_780_000_000.0
PORTS = ("cp-1:1", "cp-1:2")
ports = st.sampled_from(PORTS)
gaps = st.integers(1, 4000)
energies = st.floats(0, 20_000)


@dataclass
class Expected:
    """What the ledger must hold of one session."""

    start_wh: float
    last_wh: float
    closed_by: ClosedBy = ClosedBy.OPEN


@dataclass
class Port:
    register: float = 0.0
    open: tuple[float, str] | None = None
    """The open session's start time and transaction."""
    last_start: tuple[float, float, str] | None = None
    last_stop: tuple[float, float, str] | None = None
    late: list[tuple[float, float, float, float, str]] = field(default_factory=list)


class Recording(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "site.sqlite"
        self.loop = asyncio.new_event_loop()
        self.ledger = self.run(Ledger.open(self.path, min_interval_s=0.0))
        self.recorder = SessionRecorder(self.ledger)
        self.now = T0
        self.ids = count(1)
        self.ports = {p: Port() for p in PORTS}
        self.expected: dict[tuple[str, float], Expected] = {}

    def run[T](self, job: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(job)

    def teardown(self) -> None:
        self.run(self.ledger.close())
        self.loop.close()
        self.folder.cleanup()

    def tick(self, gap: int) -> float:
        self.now += gap
        return self.now

    def _ended_by_meter(self, port: str) -> None:
        state = self.ports[port]
        if state.open is not None:
            self.expected[(port, state.open[0])].closed_by = ClosedBy.METER
            state.open = None

    @rule(port=ports, gap=gaps)
    def start(self, port: str, gap: int) -> None:
        at, state = self.tick(gap), self.ports[port]
        tx = f"t{next(self.ids)}"
        self.run(
            self.recorder.started(
                port, "cp-1", 1, at, state.register, transaction_id=tx
            )
        )
        self._ended_by_meter(port)
        state.open, state.last_start = (at, tx), (at, state.register, tx)
        self.expected[(port, at)] = Expected(state.register, state.register)

    @rule(port=ports)
    def start_again(self, port: str) -> None:
        """The charger repeats a start (its reply was lost)."""
        state = self.ports[port]
        if state.last_start is not None:
            at, wh, tx = state.last_start
            self.run(self.recorder.started(port, "cp-1", 1, at, wh, transaction_id=tx))

    @rule(
        port=ports,
        gap=gaps,
        energy=energies,
        w=st.sampled_from([None, 7e3, math.nan, -1.0]),
    )
    def reading(self, port: str, gap: int, energy: float, w: float | None) -> None:
        at, state = self.tick(gap), self.ports[port]
        state.register += energy
        tx = state.open[1] if state.open else None
        self.run(self.recorder.metered(port, at, state.register, w, transaction_id=tx))
        if state.open is not None:
            self.expected[(port, state.open[0])].last_wh = state.register

    @rule(port=ports, back=st.integers(1, 5000), drop=st.floats(0, 10))
    def odd_reading(self, port: str, back: int, drop: float) -> None:
        """A reading out of order, or a register a little backwards: dropped
        or placed, the session's latest reading stays."""
        state = self.ports[port]
        self.run(self.recorder.metered(port, self.now - back, state.register))
        at = self.tick(1)
        self.run(self.recorder.metered(port, at, max(0.0, state.register - drop)))

    @rule(port=ports, gap=gaps)
    def register_reset(self, port: str, gap: int) -> None:
        state = self.ports[port]
        if state.register <= 100:
            return
        state.register = 0.0
        self.run(self.recorder.metered(port, self.tick(gap), 0.0))
        self._ended_by_meter(port)

    @rule(port=ports, gap=gaps)
    def stop(self, port: str, gap: int) -> None:
        state = self.ports[port]
        if state.open is None:
            return
        at, (started, tx) = self.tick(gap), state.open
        self.run(self.recorder.stopped(port, at, state.register, transaction_id=tx))
        expected = self.expected[(port, started)]
        expected.closed_by, expected.last_wh = ClosedBy.CHARGER, state.register
        state.open, state.last_stop = None, (at, state.register, tx)

    @rule(port=ports)
    def stop_again(self, port: str) -> None:
        state = self.ports[port]
        if state.last_stop is not None:
            at, wh, tx = state.last_stop
            self.run(self.recorder.stopped(port, at, wh, transaction_id=tx))

    @rule(port=ports, back=st.integers(2, 50_000), energy=energies, again=st.booleans())
    def late_transaction(
        self, port: str, back: int, energy: float, again: bool
    ) -> None:
        """A transaction that happened offline arrives now, maybe twice."""
        state = self.ports[port]
        before = state.open[0] if state.open else self.now
        start = before - back - 0.5  # never a start time already taken
        if (port, start) in self.expected:
            return
        tx = f"late{next(self.ids)}"
        for _ in range(2 if again else 1):
            self._send_late(port, start, 1000.0, energy, tx)
        self.expected[(port, start)] = Expected(
            1000.0, 1000.0 + energy, ClosedBy.CHARGER
        )

    def _send_late(
        self, port: str, start: float, wh: float, energy: float, tx: str
    ) -> None:
        self.run(self.recorder.started(port, "cp-1", 1, start, wh, transaction_id=tx))
        mid = (start + 0.25, wh + energy / 2)
        self.run(self.recorder.metered(port, *mid, transaction_id=tx))
        self.run(
            self.recorder.stopped(port, start + 0.5, wh + energy, transaction_id=tx)
        )

    @rule()
    def restart(self) -> None:
        self.run(self.ledger.close())
        self.ledger = self.run(Ledger.open(self.path, min_interval_s=0.0))
        self.recorder = SessionRecorder(self.ledger)

    @invariant()
    def every_session_kept_once_with_its_energy(self) -> None:
        sessions = self.run(self.ledger.sessions(-math.inf, math.inf))
        booked = {(s.port_id, s.started_at): s for s in sessions}
        assert len(booked) == len(sessions) == len(self.expected)
        for key, expected in self.expected.items():
            session = booked[key]
            _check_samples(session)
            assert session.closed_by is expected.closed_by
            assert session.meter_start_wh == expected.start_wh
            assert session.energy_wh == expected.last_wh - expected.start_wh


def _check_samples(session: SessionRecord) -> None:
    first, last = session.samples[0], session.samples[-1]
    assert (first.at, first.wh) == (session.started_at, session.meter_start_wh)
    assert session.energy_wh == last.wh - first.wh
    for a, b in pairwise(session.samples):
        assert a.at < b.at
        assert a.wh <= b.wh
    if not session.is_open:
        assert (last.at, last.wh) == (session.stopped_at, session.meter_stop_wh)


Recording.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestRecording = Recording.TestCase

"""Sessions of the ports without a card reader (chargers already in Home
Assistant, smart outlets, Modbus chargers), derived from what their sources tell
each cycle. No Home Assistant imports.

A session starts when a vehicle is there (the port charges, or is connected and
not drawing), is read from the port's energy figure, and ends when the vehicle
is gone (the port is idle; an outlet also once it is switched off: it cannot
tell a vehicle from none) or the port goes away. A port that cannot tell
(unavailable, or a charger paused by us) keeps what it had.

The session's register counts every rise of the port's energy figure while it
runs: a figure that goes back (a source made anew after a restart, a session
counter of a charger's own) adds nothing and is followed from there, so the
register never goes backwards within a session and the energy of a session is
its stop register minus its start. The register starts at the figure (or 0
while it is not known), so a total counter's register is the charger's own.

Readings are passed on when the register moved, at most one per
:data:`READ_EVERY_S` per port (the stop carries the latest register).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
import math

from .ports import PortState

READ_EVERY_S = 60.0
"""A port's readings are passed on at most this often."""


def presence(state: PortState, *, off_is_gone: bool = False) -> bool | None:
    """Whether a vehicle is at a port in this state (None: it cannot tell).
    ``off_is_gone``: the port's source tells no vehicle from a switched-off
    port (an outlet)."""
    if state in ("charging", "connected"):
        return True
    if state == "idle" or (state == "off" and off_is_gone):
        return False
    return None


def plausible_wh(value: float | None) -> float | None:
    """An energy figure (Wh) that can be right, else None (not known)."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return float(value)


@dataclass(frozen=True, slots=True)
class PortView:
    """One port as its source tells it in one cycle."""

    present: bool | None
    """A vehicle is there (True), is gone (False), or the port cannot tell."""
    energy_wh: float | None
    """The port's energy figure (Wh), if known."""
    user_id: str | None = None
    """The user chosen on the port (None: unassigned)."""


class PortEventKind(StrEnum):
    """What happened to a port's session."""

    STARTED = "started"
    METERED = "metered"
    STOPPED = "stopped"
    ASSIGNED = "assigned"
    """Its user changed (it is booked to ``user_id`` from its start)."""


@dataclass(frozen=True, slots=True)
class PortEvent:
    """One step of a port's session, for the ledger."""

    kind: PortEventKind
    port_id: str
    at: float
    wh: float
    """The session's register."""
    user_id: str | None = None


@dataclass(slots=True)
class _Open:
    register_wh: float
    user_id: str | None
    last_figure: float | None
    read_at: float = -math.inf
    read_wh: float = -math.inf


class PortSessions:
    """The open sessions of ports without a card reader."""

    def __init__(self, read_every_s: float = READ_EVERY_S) -> None:
        self.read_every_s = read_every_s
        self._open: dict[str, _Open] = {}

    def is_open(self, port_id: str) -> bool:
        """Whether a session runs on the port."""
        return port_id in self._open

    def resume(self, port_id: str, register_wh: float, user_id: str | None) -> None:
        """Continue a session that was open before (a restart): from its
        register as last booked; the port's next figure is followed from
        there (what it delivered meanwhile is not known)."""
        self._open[port_id] = _Open(register_wh, user_id, None, read_wh=register_wh)

    def observe(self, now: float, views: Mapping[str, PortView]) -> list[PortEvent]:
        """What the ports' views at ``now`` start, read, rebook and end (the
        sessions of ports not in ``views`` end)."""
        events = [self._stop(pid, now) for pid in list(self._open) if pid not in views]
        for pid, view in views.items():
            events.extend(self._port(pid, view, now))
        return events

    def _port(self, pid: str, view: PortView, now: float) -> list[PortEvent]:
        session = self._open.get(pid)
        figure = plausible_wh(view.energy_wh)
        if session is None:
            return [self._start(pid, view, figure, now)] if view.present else []
        _count(session, figure)
        if view.present is False:
            return [self._stop(pid, now)]
        events: list[PortEvent] = []
        if view.user_id != session.user_id:
            session.user_id = view.user_id
            events.append(
                PortEvent(
                    PortEventKind.ASSIGNED,
                    pid,
                    now,
                    session.register_wh,
                    view.user_id,
                )
            )
        moved = session.register_wh > session.read_wh
        if moved and now - session.read_at >= self.read_every_s:
            session.read_at, session.read_wh = now, session.register_wh
            events.append(
                PortEvent(PortEventKind.METERED, pid, now, session.register_wh)
            )
        return events

    def _start(
        self, pid: str, view: PortView, figure: float | None, now: float
    ) -> PortEvent:
        register = 0.0 if figure is None else figure
        self._open[pid] = _Open(register, view.user_id, figure, now, register)
        return PortEvent(PortEventKind.STARTED, pid, now, register, view.user_id)

    def _stop(self, pid: str, now: float) -> PortEvent:
        session = self._open.pop(pid)
        return PortEvent(
            PortEventKind.STOPPED, pid, now, session.register_wh, session.user_id
        )


def _count(session: _Open, figure: float | None) -> None:
    """Add what the figure rose by since it was last seen."""
    if figure is None:
        return
    last = session.last_figure
    if last is not None and figure > last:
        session.register_wh += figure - last
    session.last_figure = figure

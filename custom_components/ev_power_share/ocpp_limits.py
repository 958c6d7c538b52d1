"""What we sent each OCPP connector, what its charger confirmed, and whether it
follows: the limit-keeping half of the OCPP port source (``ocpp_source.py``
keeps who is connected and what they report).

* What is sent, and when, is the command writer's (``core.commands``): this
  only sends its writes (:meth:`SentLimits.async_apply`, decreases first) and
  says what each charger confirmed (:meth:`SentLimits.held`).
* A charger may keep the last limit we sent until that limit's ``validTo``, even
  offline: until then it is counted at that limit if it is above its failsafe
  (:meth:`SentLimits.held_a`). A limit it did not confirm counts the same way
  (it may still hold the old one).
* A changed limit is checked with GetCompositeSchedule (where the charger supports
  it). A connector that applies more than we set is driven by someone else (its
  own load management, a vendor cloud): it counts as offline at what it applies
  until a later check (at the refresh cadence) shows it follows us again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
import logging
import time
from typing import TYPE_CHECKING, Protocol

from .core.commands import Command, Commands, Held, PortSteps
from .core.model import CONNECTIONS
from .core.ports import PortId, charger_of
from .csms import Station, StationConfig

if TYPE_CHECKING:
    from .ocpp_chargers import ChargerConfig

_LOGGER = logging.getLogger(__name__)
VERIFY_TOLERANCE_A = 0.5
"""A charger may apply this much above our limit (rounding) and still follow it."""
RAISE_SETTLE_S = 5.0
"""A port's measured current answers a raised limit only if it was reported this
long after the raise (IEC 61851-1 gives a vehicle 5 s to follow a new PWM duty
cycle); an earlier report still answers the lower limit before it."""


class ChargerView(Protocol):
    """What :class:`SentLimits` reads of the chargers (the OCPP source)."""

    voltage_v: float
    """Line to neutral: what W a charger that takes only W is asked in."""

    @property
    def chargers(self) -> Mapping[str, ChargerConfig]:
        """Configured chargers by charge point id."""

    @property
    def stations(self) -> Mapping[str, Station]:
        """Connected chargers by charge point id."""

    def online(self, charge_point_id: str) -> bool:
        """Connected, accepted and holding our failsafe profile."""

    def failsafe_of(self, charger: ChargerConfig) -> float:
        """The current the charger falls back to."""

    def steps_of(self, charger: ChargerConfig, station: Station | None) -> PortSteps:
        """How the charger's ports take a limit."""


@dataclass(frozen=True, slots=True)
class _Sent:
    amps: float
    at: float
    station: Station
    """The connection it was sent on (a reconnected charger gets it again)."""
    raised_at: float | None = None
    """When the limit was last raised (None: never, as far as we know)."""
    before: float | None = None
    """The lowest limit it held during the :data:`RAISE_SETTLE_S` before that
    raise (what a report from then answers)."""


class SentLimits:
    """The limits sent to one site's OCPP connectors, and what came of them."""

    def __init__(
        self,
        view: ChargerView,
        config: StationConfig,
        *,
        on_change: Callable[[], None],
        on_disobeys: Callable[[str, bool], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._view = view
        self._config = config
        self._on_change = on_change
        self._on_disobeys = on_disobeys
        self._clock = clock
        self._sent: dict[str, _Sent] = {}
        self._metered: dict[str, float] = {}
        """When each port's last measurements came in (our clock)."""
        self._unsure: set[str] = set()
        """Ports whose last limit was not confirmed: they may hold the one before."""
        self._no_composite: dict[str, Station] = {}
        """Connections whose charger does not report its composite schedule."""
        self._disobeying: dict[str, float] = {}
        """Ports that apply more than our limit: the current (A) they reported."""
        self._checked: dict[str, float] = {}
        """When each disobeying port was last checked."""
        self.held_until_unknown = 0.0
        """Until then, chargers may hold limits a previous run sent (see
        :meth:`held_a`): set at start when that run did not end cleanly."""

    def forget(self, kept: Collection[str]) -> None:
        """Drop what is known of chargers not in ``kept`` (removed)."""
        for pid in [p for p in self._sent if charger_of(p) not in kept]:
            del self._sent[pid]
        gone = {charger_of(p) for p in self._disobeying} - set(kept)
        for pid in [p for p in self._disobeying if charger_of(p) in gone]:
            del self._disobeying[pid]
            self._checked.pop(pid, None)
        for cp_id in gone:
            self._on_disobeys(cp_id, False)

    def disconnected(self, station: Station) -> None:
        """A connection closed: a new one is asked about its composite schedule."""
        if self._no_composite.get(station.id) is station:
            del self._no_composite[station.id]

    def metered(self, pid: str) -> None:
        """New measurements on a port, now."""
        self._metered[pid] = self._clock()

    def unsure(self, pid: str, now: float) -> bool:
        """Whether a port may still hold a limit before the last one (which it
        did not confirm)."""
        return pid in self._unsure and self.held_a(pid, now) > 0.0

    def offered(self, pid: str) -> float | None:
        """The last limit the port's charger accepted (A)."""
        sent = self._sent.get(pid)
        return None if sent is None else sent.amps

    def held_after(self, cleared: Collection[str], now: float) -> float | None:
        """Until when a charger not in ``cleared`` may still hold a live limit
        of ours (None: none may)."""
        ends = [
            sent.at + self._config.watchdog_s
            for pid, sent in self._sent.items()
            if charger_of(pid) not in cleared
        ]
        return max((end for end in ends if end > now), default=None)

    def held_a(self, port_id: str, now: float) -> float:
        """The limit a port may still hold from us at ``now`` (0 once it lapsed).

        Until :attr:`held_until_unknown`, a port we have sent nothing to since
        the start may hold anything up to its maximum: what a previous run sent
        (it ended without clearing its limits) is not known.
        """
        sent = self._sent.get(port_id)
        if sent is None:
            if now < self.held_until_unknown:
                charger = self._view.chargers.get(charger_of(port_id))
                return 0.0 if charger is None else charger.max_current_a
            return 0.0
        if now >= sent.at + self._config.watchdog_s:
            return 0.0
        return sent.amps

    def held(self, pid: str, station: Station | None, now: float) -> Held | None:
        """What a port's charger confirmed it holds from us, on its current
        connection (None: nothing, or it lapsed); a port that applies more than
        our limit holds what it applies."""
        sent = self._sent.get(pid)
        if (
            sent is None
            or sent.station is not station
            or now >= sent.at + self._config.watchdog_s
        ):
            return None
        applied = self._disobeying.get(pid)
        return Held(sent.amps if applied is None else applied, sent.at)

    async def async_apply(self, commands: Commands) -> None:
        """Send the limits the command writer decided (its decreases first), and
        check each changed limit once accepted. A port that disobeyed gets its
        last limit again and is checked at the refresh cadence, until it follows
        it."""
        now = self._clock()
        refresh_after = self._config.watchdog_s / 2.0
        rechecks: list[Command] = []
        for pid in self._disobeying:
            cp_id = charger_of(pid)
            charger = self._view.chargers.get(cp_id)
            if (
                pid in commands
                or charger is None
                or not self._view.online(cp_id)
                or now - self._checked.get(pid, now) < refresh_after
            ):
                continue
            self._checked[pid] = now
            sent = self._sent.get(pid)
            amps = self._view.failsafe_of(charger) if sent is None else sent.amps
            steps = self._view.steps_of(charger, self._view.stations.get(cp_id))
            rechecks.append(Command(pid, amps, steps.value(amps), steps.unit, True))
        writes = getattr(commands, "writes", ())
        for wave in (
            rechecks + [c for c in writes if c.decrease],
            [c for c in writes if not c.decrease],
        ):
            if wave:
                await asyncio.gather(*(self._send(c, now) for c in wave))

    async def _send(self, command: Command, now: float) -> None:
        pid = command.port
        port = PortId.parse(pid)
        cp_id = port.charger
        charger = self._view.chargers.get(cp_id)
        station = self._view.stations.get(cp_id)
        if charger is None or station is None or not self._view.online(cp_id):
            return
        phases = len(CONNECTIONS[charger.connection].legs)
        sent = self._sent.get(pid)
        check = sent is None or sent.amps != command.amps or sent.station is not station
        if await station.set_limit(
            port.connector, command.value, phases, unit=command.unit
        ):
            self._sent[pid] = self.sending(pid, command.amps, now, station)
            self._unsure.discard(pid)
            if check or pid in self._disobeying:
                await self._verify(pid, station, command.amps, now, phases)
        else:
            # It may still hold its previous limit: count it at that until the
            # limit lapses, and send again when it is back under control.
            self._unsure.add(pid)
            _LOGGER.warning(
                "Charger %s did not accept a limit of %s %s",
                cp_id,
                command.value,
                command.unit,
            )

    async def _verify(
        self, pid: str, station: Station, amps: float, now: float, phases: int
    ) -> None:
        """Ask what the charger applies after accepting ``amps``; a connector above
        it is not under our control (counted at what it applies, not online)."""
        port = PortId.parse(pid)
        cp_id = port.charger
        disobeying = pid in self._disobeying
        if not disobeying and self._no_composite.get(cp_id) is station:
            return
        applied = await station.composite_limit(
            port.connector, number_phases=phases, voltage_v=self._view.voltage_v
        )
        if applied is None:
            # Not supported (or no answer): limits stay unverified on this
            # connection. A port that disobeyed stays counted so, and is asked
            # again at the next check.
            if not disobeying and self._no_composite.get(cp_id) is not station:
                self._no_composite[cp_id] = station
                _LOGGER.info(
                    "Charger %s does not report its composite schedule: the limits "
                    "it applies are not verified",
                    cp_id,
                )
            return
        if applied > amps + VERIFY_TOLERANCE_A:
            self._set_disobeys(pid, applied, amps, now)
        elif disobeying:
            self._set_complies(pid)

    def sending(self, pid: str, amps: float, now: float, station: Station) -> _Sent:
        """The record of ``amps`` sent to ``pid`` now, remembering a raise."""
        prev = self._sent.get(pid)
        if prev is None:
            return _Sent(amps, now, station)
        raised_at, before = prev.raised_at, prev.before
        if amps > prev.amps:
            settling = raised_at is not None and now - raised_at < RAISE_SETTLE_S
            before = (
                min(prev.amps, before) if settling and before is not None else prev.amps
            )
            raised_at = now
        return _Sent(amps, now, station, raised_at, before)

    def draw_offered(self, pid: str) -> float | None:
        """The lower limit a port's measured current answers, if it was reported
        before the vehicle could follow the last raise (see :data:`RAISE_SETTLE_S`)."""
        sent = self._sent.get(pid)
        if sent is None or sent.raised_at is None or sent.before is None:
            return None
        metered = self._metered.get(pid)
        if metered is not None and metered >= sent.raised_at + RAISE_SETTLE_S:
            return None
        return sent.before

    def _set_disobeys(self, pid: str, applied: float, amps: float, now: float) -> None:
        cp_id = charger_of(pid)
        first = not any(charger_of(p) == cp_id for p in self._disobeying)
        changed = self._disobeying.get(pid) != applied
        if pid not in self._disobeying:
            _LOGGER.warning(
                "Charger %s applies %s A on %s after accepting %s A: something else "
                "controls it; it is counted at %s A until it follows our limits",
                cp_id,
                applied,
                pid,
                amps,
                applied,
            )
        self._disobeying[pid] = applied
        self._checked[pid] = now
        if first:
            self._on_disobeys(cp_id, True)
        if changed:
            self._on_change()

    def _set_complies(self, pid: str) -> None:
        cp_id = charger_of(pid)
        del self._disobeying[pid]
        self._checked.pop(pid, None)
        _LOGGER.info("Charger %s follows our limits again on %s", cp_id, pid)
        if not any(charger_of(p) == cp_id for p in self._disobeying):
            self._on_disobeys(cp_id, False)
        self._on_change()

    def disobeys(self, port_id: str) -> float | None:
        """What a port applies (A) while it ignores our limit, else None."""
        return self._disobeying.get(port_id)

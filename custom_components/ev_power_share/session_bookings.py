"""The site's sessions booked into its ledger, one at a time, in the order they
came. No Home Assistant imports.

:class:`BookingQueue` takes bookings without waiting (``put`` is called from the
central system's message handling and after the control cycle) and runs them on
a task of its own (started when there are some, ended when there are none left),
each after the one before: a start is booked before its
readings. A booking that fails is logged (once, until one succeeds again) and
never raised; while the site has no ledger (it could not be opened) bookings
wait, at most :data:`MAX_WAITING` of them.

:class:`OcppBookings` turns the central system's transaction messages into
bookings; :func:`port_booking` those of the ports without a card reader
(:mod:`.core.port_sessions`). :class:`MonthEnergy` keeps what each user charged
this month, for the decision on a card (which cannot wait for the disk).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
import logging
from typing import Any

from .core.port_sessions import PortEvent, PortEventKind
from .core.ports import PortId
from .core.sessions import SessionRecord
from .csms import TransactionMessage, TxKind, TxSample
from .ledger import Ledger
from .session_recorder import SessionRecorder

_LOGGER = logging.getLogger(__name__)

type Booking = Callable[[SessionRecorder], Awaitable[str | None]]
"""One booking: the session it touched (None: none)."""

MAX_WAITING = 10_000
"""Bookings kept while the ledger cannot take them (more are dropped)."""
MAX_WAITING_STARTS = 256
"""Transaction starts without a register kept for their first reading."""


class BookingQueue:
    """Bookings run one at a time, in the order they were put."""

    def __init__(
        self,
        on_booked: Callable[[str], None] = lambda _session_id: None,
        *,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]] | None = None,
        limit: int = MAX_WAITING,
    ) -> None:
        """``on_booked(session id)`` after each booking that touched one;
        ``spawn`` runs the bookings' task (it ends when none are left)."""
        self._on_booked = on_booked
        self._spawn = spawn or asyncio.ensure_future
        self._limit = limit
        self._jobs: deque[tuple[str, Booking]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._recorder: SessionRecorder | None = None
        self._closing = False
        self._failing = False
        self._dropping = False

    @property
    def waiting(self) -> int:
        """Bookings not run yet."""
        return len(self._jobs)

    def set_recorder(self, recorder: SessionRecorder | None) -> None:
        """Book into this recorder from now on (None: keep them waiting)."""
        self._recorder = recorder
        self._kick()

    def put(self, what: str, booking: Booking) -> None:
        """Run ``booking`` after those before it (``what`` names it in the log)."""
        if self._closing:
            return
        if len(self._jobs) >= self._limit:
            if not self._dropping:
                _LOGGER.warning(
                    "Session ledger: %d bookings waiting, dropping more", self._limit
                )
                self._dropping = True
            return
        self._jobs.append((what, booking))
        self._kick()

    def _kick(self) -> None:
        """Start the task that books, unless it runs (or cannot book yet)."""
        running = self._worker is not None and not self._worker.done()
        if not running and self._jobs and self._recorder is not None:
            self._worker = self._spawn(self._run())

    async def _run(self) -> None:
        while self._jobs and (recorder := self._recorder) is not None:
            what, booking = self._jobs.popleft()
            await self._book(what, booking, recorder)

    async def _book(
        self, what: str, booking: Booking, recorder: SessionRecorder
    ) -> None:
        try:
            session_id = await booking(recorder)
        except Exception:
            if not self._failing:
                _LOGGER.warning(
                    "Session ledger: booking %s failed", what, exc_info=True
                )
            self._failing = True
            return
        self._failing = self._dropping = False
        if session_id is not None:
            try:
                self._on_booked(session_id)
            except Exception:
                _LOGGER.exception("Session ledger: telling of session %s", session_id)

    async def idle(self) -> None:
        """Wait until every booking put so far ran (those waiting for a
        ledger excepted)."""
        while (worker := self._worker) is not None and not worker.done():
            await asyncio.shield(worker)

    async def close(self) -> None:
        """Take no more, and wait for those waiting to be booked."""
        self._closing = True
        await self.idle()


def _connector(port_id: str) -> tuple[str, int]:
    try:
        port = PortId.parse(port_id)
    except ValueError:
        return port_id, 1
    return port.charger, port.connector


def port_booking(event: PortEvent, charger: str | None = None) -> Booking:
    """The booking of one step of a port's session (``charger``: the id it is
    booked under; the port id's charger by default)."""
    owner, connector = _connector(event.port_id)
    charger = charger or owner

    async def book(recorder: SessionRecorder) -> str | None:
        if event.kind is PortEventKind.STARTED:
            record = await recorder.started(
                event.port_id,
                charger,
                connector,
                event.at,
                event.wh,
                user_id=event.user_id,
            )
            return record.id
        if event.kind is PortEventKind.METERED:
            return await recorder.metered(event.port_id, event.at, event.wh)
        if event.kind is PortEventKind.STOPPED:
            stopped = await recorder.stopped(event.port_id, event.at, event.wh)
            return None if stopped is None else stopped.id
        return await _assign(recorder.ledger, event.port_id, event.user_id)

    return book


async def _assign(ledger: Ledger, port_id: str, user_id: str | None) -> str | None:
    """Book the port's open session to another user."""
    running = await ledger.open_sessions(port_id)
    if not running:
        return None
    record = await ledger.assign_user(running[-1].id, user_id)
    return record.id


@dataclass(slots=True)
class OcppBookings:
    """The bookings of OCPP transaction messages."""

    port_of: Callable[[str, int], str | None]
    """A station's connector as a port id (None: not one of the site's)."""
    _starts: dict[tuple[str, str], TransactionMessage] = field(default_factory=dict)
    """Starts that carried no register, waiting for their first reading."""

    def booking(self, message: TransactionMessage) -> Booking:
        """The booking of one message."""

        async def book(recorder: SessionRecorder) -> str | None:
            port = await self._port(message, recorder.ledger)
            if port is None:
                return None
            if message.kind is TxKind.STARTED:
                return await self._started(message, port, recorder)
            session = await self._session(message, port, recorder)
            if session is None:
                return None
            await _metered(recorder, port, message)
            if message.kind is TxKind.UPDATED:
                return session.id
            return await self._ended(message, port, session, recorder)

        return book

    async def _port(self, message: TransactionMessage, ledger: Ledger) -> str | None:
        """Its port; a message that names no connector (1.6 StopTransaction
        of a transaction we did not see start): the port its session is on."""
        if message.connector > 0:
            return self.port_of(message.station, message.connector)
        found = await ledger.charger_transaction(
            message.station, message.transaction_id
        )
        return None if found is None else found.port_id

    async def _started(
        self, message: TransactionMessage, port: str, recorder: SessionRecorder
    ) -> str | None:
        wh = message.meter_wh
        if wh is None:
            wh = _first_register(message.samples)
        if wh is None:  # booked at its first reading
            if len(self._starts) >= MAX_WAITING_STARTS:
                self._starts.pop(next(iter(self._starts)))
            self._starts[message.station, message.transaction_id] = message
            return None
        record = await _start(recorder, port, message, message.at, wh)
        await _metered(recorder, port, message)
        return record.id

    async def _session(
        self, message: TransactionMessage, port: str, recorder: SessionRecorder
    ) -> SessionRecord | None:
        """The session of the message's transaction; started now at its first
        reading if its start came without a register (or never came)."""
        found = await recorder.ledger.transaction(port, message.transaction_id)
        if found is not None:
            return found
        start = self._starts.pop((message.station, message.transaction_id), message)
        first = next((s for s in message.samples if s.wh is not None), None)
        if first is None or first.wh is None:
            return None
        at = min(start.at, first.at)
        return await _start(recorder, port, start, at, first.wh)

    async def _ended(
        self,
        message: TransactionMessage,
        port: str,
        session: SessionRecord,
        recorder: SessionRecorder,
    ) -> str | None:
        wh = message.meter_wh
        if wh is None:
            wh = (await recorder.ledger.last_sample(session.id)).wh
        stopped = await recorder.stopped(
            port, message.at, wh, transaction_id=message.transaction_id
        )
        return None if stopped is None else stopped.id


def _first_register(samples: tuple[TxSample, ...]) -> float | None:
    return next((s.wh for s in samples if s.wh is not None), None)


async def _start(
    recorder: SessionRecorder,
    port: str,
    message: TransactionMessage,
    at: float,
    wh: float,
) -> SessionRecord:
    _charger, connector = _connector(port)
    return await recorder.started(
        port,
        message.station,
        message.connector or connector,
        at,
        wh,
        user_id=message.user_id,
        token=message.id_token,
        transaction_id=message.transaction_id,
    )


async def _metered(
    recorder: SessionRecorder, port: str, message: TransactionMessage
) -> None:
    for sample in message.samples:
        if sample.wh is not None:
            await recorder.metered(
                port,
                sample.at,
                sample.wh,
                sample.w,
                transaction_id=message.transaction_id,
            )


def energy_between(record: SessionRecord, start: float, end: float) -> float:
    """A session's energy (Wh) in [start, end): its register at the last
    reading before ``end`` less that at the last reading at or before
    ``start`` (its start register, if none)."""

    def register(at: float) -> float:
        kept = [s.wh for s in record.samples if s.at <= at]
        return kept[-1] if kept else record.meter_start_wh

    return max(0.0, register(end - 1e-6) - register(start))


class MonthEnergy:
    """What each user charged this month (kWh), kept per session."""

    def __init__(
        self,
        month_of: Callable[[float], tuple[float, float]],
        clock: Callable[[], float],
    ) -> None:
        """``month_of(t)``: the bounds (timestamps) of the month ``t`` is in."""
        self._month_of = month_of
        self._clock = clock
        self._month: tuple[float, float] | None = None
        self._sessions: dict[str, tuple[str | None, float]] = {}

    @property
    def current(self) -> bool:
        """Whether it is of the month it is now."""
        return self._month is not None and self._month == self._month_of(self._clock())

    def kwh(self, user_id: str) -> float:
        """What a user charged this month, as far as it knows (0 in a month
        it has not read yet)."""
        if not self.current:
            return 0.0
        wh = sum(e for u, e in self._sessions.values() if u == user_id)
        return wh / 1000.0

    async def reload(self, ledger: Ledger) -> None:
        """Read this month's sessions afresh."""
        month = self._month_of(self._clock())
        records = await ledger.sessions(*month)
        self._sessions = {r.id: (r.user_id, energy_between(r, *month)) for r in records}
        self._month = month

    async def refresh(self, ledger: Ledger, session_id: str) -> None:
        """A session was booked: read it again (and the month, in a new one)."""
        if not self.current or self._month is None:
            await self.reload(ledger)
            return
        record = await ledger.session(session_id)
        if record is not None:
            self._sessions[session_id] = (
                record.user_id,
                energy_between(record, *self._month),
            )

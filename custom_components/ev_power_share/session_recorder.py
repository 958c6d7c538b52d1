"""A port's sessions as its charger reports them, booked in the ledger. No Home
Assistant imports.

The ledger is the only state: a restart (a new recorder over the reopened
ledger) continues every open session, and a charger that reconnects continues
its own. Times are the charger's own where it gives them, so a transaction that
happened offline and arrives late lands in its period.

The rules:

- A start repeats an earlier one (the same port and start time, or the same
  transaction while open): the earlier session, unchanged.
- A start ends the port's open sessions that started before it and whose stop
  never came, by the meter, at their last reading before it. A start older
  than a session already open on the port (a transaction that happened offline)
  is booked beside it and waits for its own stop.
- A reading goes to the session of its transaction (if it names one) or to the
  port's latest open session that started before it; the ledger keeps or drops
  it (``ledger`` module's rule). A reading that names a transaction the port
  never started shows the charger started a new one: the port's open sessions
  of other transactions end by the meter. A register more than
  ``RESET_DROP_WH`` below the session's latest reading shows a new session on
  the charger (its register was reset): the open one ends by the meter.
- A stop goes to the session of the transaction it names (none if the port
  never started it), or, naming none, to the port's latest session that
  started before it; a repeat changes nothing.
"""

from __future__ import annotations

import asyncio

from .core.sessions import ClosedBy, MeterSample, SessionRecord
from .ledger import Ledger, NewSession, check_at, check_wh, plausible_w

RESET_DROP_WH = 10.0
"""A register this far below the latest reading was reset; less is jitter
(the reading is dropped)."""


class SessionRecorder:
    """Starts, readings and stops of the site's ports, into one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._lock = (
            asyncio.Lock()
        )  # one event at a time: each reads what the last wrote

    async def started(
        self,
        port_id: str,
        charger: str,
        connector: int,
        at: float,
        meter_wh: float,
        *,
        user_id: str | None = None,
        token: str | None = None,
        transaction_id: str | None = None,
    ) -> SessionRecord:
        """A session started (ValueError or TypeError if the start cannot be right)."""
        new = NewSession(
            charger, connector, port_id, at, meter_wh, user_id, token, transaction_id
        )
        async with self._lock:
            for session in await self.ledger.open_sessions(port_id):
                ended = session.started_at < at and (
                    transaction_id is None or session.transaction_id != transaction_id
                )
                if ended:
                    await self.ledger.close_at_last_reading(session.id, at)
            return await self.ledger.add_session(new)

    async def metered(
        self,
        port_id: str,
        at: float,
        wh: float,
        w: float | None = None,
        *,
        transaction_id: str | None = None,
    ) -> str | None:
        """A reading of the port's register: the session it was booked to, or
        None (no session takes it, or it cannot be right)."""
        try:
            sample = MeterSample(check_at(at), check_wh(wh), plausible_w(w))
        except (TypeError, ValueError):
            return None
        async with self._lock:
            session = await self._session_of(port_id, sample.at, transaction_id)
            if session is None or await self._was_reset(session, sample):
                return None
            kept = await self.ledger.add_samples(session.id, [sample])
            return session.id if kept else None

    async def _session_of(
        self, port_id: str, at: float, transaction_id: str | None
    ) -> SessionRecord | None:
        if transaction_id is not None:
            found = await self.ledger.transaction(port_id, transaction_id)
            if found is not None:
                return found
            await self._end_others(port_id, at, transaction_id)
            return None
        running = [
            s for s in await self.ledger.open_sessions(port_id) if s.started_at <= at
        ]
        return running[-1] if running else None

    async def _end_others(self, port_id: str, at: float, transaction_id: str) -> None:
        """The charger reports a transaction it never started here: it did."""
        for session in await self.ledger.open_sessions(port_id):
            other = session.transaction_id not in (None, transaction_id)
            if other and session.started_at < at:
                await self.ledger.close_at_last_reading(session.id, at)

    async def _was_reset(self, session: SessionRecord, sample: MeterSample) -> bool:
        """Whether the reading shows the register reset (ending the session)."""
        if not session.is_open:
            return False
        last = await self.ledger.last_sample(session.id)
        if sample.at <= last.at or sample.wh >= last.wh - RESET_DROP_WH:
            return False
        await self.ledger.close_at_last_reading(session.id)
        return True

    async def stopped(
        self,
        port_id: str,
        at: float,
        meter_wh: float,
        *,
        transaction_id: str | None = None,
    ) -> SessionRecord | None:
        """A session stopped (by its charger): the session, or None if the port
        has none it could be (ValueError or TypeError if it cannot be right)."""
        at, meter_wh = check_at(at), check_wh(meter_wh)
        async with self._lock:
            if transaction_id is not None:
                session = await self.ledger.transaction(port_id, transaction_id)
            else:
                session = await self.ledger.latest(port_id, at)
            if session is None:
                return None
            return await self.ledger.close_session(
                session.id, at, meter_wh, ClosedBy.CHARGER
            )

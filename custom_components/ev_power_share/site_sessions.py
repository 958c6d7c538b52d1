"""Every session of a site booked in its ledger, in Home Assistant.

OCPP transaction messages (the central system's ``on_transaction``) and the
sessions of the ports without a card reader (derived after each control cycle
from its snapshot: :mod:`.core.port_sessions`) go into one
:class:`~.session_bookings.BookingQueue`, booked one at a time on its own task:
neither the control cycle nor the central system's message handling ever waits
for it, and a booking that fails never reaches them. After each booking,
``signal_sessions_changed(entry id)`` is sent with the session's id.

A ledger that cannot be opened leaves the site running without one (a repair
issue says why); it is tried again every :data:`RETRY_EVERY`, and the bookings
made meanwhile wait for it. At unload the bookings still waiting are run, then
the ledger is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
import logging
from typing import Any, Protocol

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.dispatcher import (
    async_dispatcher_connect,
    async_dispatcher_send,
)
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import DOMAIN, SUBENTRY_USER, signal_sessions_changed
from .controller import SiteController
from .core.port_sessions import PortSessions, PortView, presence
from .core.ports import PortStatus
from .csms import TransactionMessage
from .data import EvPowerShareConfigEntry
from .ledger import Ledger
from .ledger_setup import async_open_ledger
from .session_bookings import BookingQueue, MonthEnergy, OcppBookings, port_booking
from .session_recorder import SessionRecorder

_LOGGER = logging.getLogger(__name__)

RETRY_EVERY = timedelta(minutes=5)
"""How often a ledger that could not be opened is tried again."""
CLOSE_WITHIN_S = 5.0
"""At unload, how long the bookings still waiting may take."""


class StatusSource(PortStatus, Protocol):
    """A port source of subentries that can list its ports."""

    def port_ids(self) -> list[str]:
        """Every port it serves."""


def month_of(at: float) -> tuple[float, float]:
    """The bounds of the local calendar month ``at`` is in (timestamps)."""
    local = dt_util.as_local(dt_util.utc_from_timestamp(at))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start.timestamp(), following.timestamp()


def _now() -> float:
    return dt_util.utcnow().timestamp()


class SiteSessions:
    """A site's ledger and what books its sessions into it."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvPowerShareConfigEntry,
        controller: SiteController,
        port_of: Callable[[str, int], str | None],
    ) -> None:
        """``port_of(station, connector)``: an OCPP port's id."""
        self._hass = hass
        self._entry = entry
        self._controller = controller
        self._sources: list[tuple[StatusSource, bool]] = []
        self.ledger: Ledger | None = None
        self.queue = BookingQueue(self._booked, spawn=self._spawn)
        self.ocpp = OcppBookings(port_of)
        self.ports = PortSessions()
        self.month = MonthEnergy(month_of, _now)
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._retry: CALLBACK_TYPE | None = None
        self._opening = asyncio.Lock()
        self._cycle_failed = False
        self._closed = False

    async def async_start(self, sources: Sequence[tuple[StatusSource, bool]]) -> None:
        """Open the ledger (or try again later) and book from now on.
        ``sources``: the port sources without card readers, each with whether
        it tells no vehicle from a switched-off port (an outlet)."""
        self._sources = list(sources)
        self._entry.async_on_unload(self.async_close)
        self._entry.async_on_unload(
            self._hass.bus.async_listen_once(
                EVENT_HOMEASSISTANT_FINAL_WRITE, self.async_close
            )
        )
        if not await self._async_open():
            self._retry = async_track_time_interval(
                self._hass, self._async_retry, RETRY_EVERY
            )
        signal = signal_sessions_changed(self._entry.entry_id)
        self._unsubscribe += [
            self._controller.async_add_listener(self._cycle),
            async_dispatcher_connect(self._hass, signal, self._refresh_month),
        ]

    async def _async_open(self) -> bool:
        async with self._opening:  # one try at a time (a retry may overlap)
            if self.ledger is None and not self._closed:
                await self._async_try_open()
            return self.ledger is not None

    async def _async_try_open(self) -> None:
        ledger = await async_open_ledger(self._hass, self._entry)
        if ledger is None:
            return
        self.ledger = ledger
        if runtime := getattr(self._entry, "runtime_data", None):
            runtime.ledger = ledger
        await self._async_resume(ledger)
        self.queue.set_recorder(SessionRecorder(ledger))

    async def _async_resume(self, ledger: Ledger) -> None:
        """Continue what was open before: the sessions of the ports without a
        card reader that are still the site's, and the month's figures."""
        served = {pid for source, _ in self._sources for pid in source.port_ids()}
        for session in await ledger.open_sessions():
            if session.port_id in served and not self.ports.is_open(session.port_id):
                last = await ledger.last_sample(session.id)
                self.ports.resume(session.port_id, last.wh, session.user_id)
        await self.month.reload(ledger)

    async def _async_retry(self, _now: datetime) -> None:
        if await self._async_open() and self._retry is not None:
            self._retry()
            self._retry = None

    def forget_removed_users(
        self,
        before: Mapping[str, ConfigSubentry],
        after: Mapping[str, ConfigSubentry],
    ) -> None:
        """The users of ``before`` that ``after`` no longer has are forgotten
        (:meth:`forget_user`)."""
        for sid, subentry in before.items():
            if subentry.subentry_type == SUBENTRY_USER and sid not in after:
                self.forget_user(sid)

    def forget_user(self, user_id: str) -> None:
        """A user was removed: their sessions are booked to a pseudonym and
        their cards dropped (in their turn: after what was booked to them)."""

        async def forget(recorder: SessionRecorder) -> None:
            pseudonym = await recorder.ledger.forget_user(user_id)
            _LOGGER.info(
                "%s: a removed user's sessions are kept as %s",
                self._entry.title,
                pseudonym,
            )

        self.queue.put("forgetting a removed user", forget)

    def transaction(self, message: TransactionMessage) -> None:
        """A transaction message: booked in its turn."""
        self.queue.put(
            f"{message.kind} of {message.station}", self.ocpp.booking(message)
        )

    @callback
    def _cycle(self) -> None:
        """After a cycle: the sessions of the ports without a card reader."""
        try:
            events = self.ports.observe(_now(), self._views())
        except Exception:
            if not self._cycle_failed:
                _LOGGER.exception("%s: reading the ports' sessions", self._entry.title)
            self._cycle_failed = True
            return
        self._cycle_failed = False
        for event in events:
            self.queue.put(f"{event.kind} of {event.port_id}", port_booking(event))

    def _views(self) -> dict[str, PortView]:
        snapshot = self._controller.data
        users = {
            sid
            for sid, s in self._entry.subentries.items()
            if s.subentry_type == SUBENTRY_USER
        }
        views: dict[str, PortView] = {}
        for source, off_is_gone in self._sources:
            for pid in source.port_ids():
                user = snapshot.inputs.port_settings(pid).user_id
                energy = source.energy_kwh(pid)
                # A user removed meanwhile keeps the session they started (it
                # is kept under a pseudonym); the port's next one is unassigned.
                kept = user in users or (user is not None and self.ports.is_open(pid))
                views[pid] = PortView(
                    presence(source.port_state(pid), off_is_gone=off_is_gone),
                    None if energy is None else energy * 1000.0,
                    user if kept else None,
                )
        return views

    def _spawn(self, booking: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        # Not the entry's: those are cancelled at unload, before what is still
        # waiting was booked.
        return self._hass.async_create_background_task(
            booking, f"{DOMAIN} session bookings"
        )

    @callback
    def _booked(self, session_id: str) -> None:
        async_dispatcher_send(
            self._hass, signal_sessions_changed(self._entry.entry_id), session_id
        )

    @callback
    def _refresh_month(self, session_id: str) -> None:
        async def refresh(recorder: SessionRecorder) -> None:
            await self.month.refresh(recorder.ledger, session_id)

        self.queue.put("this month's energy", refresh)

    def month_kwh(self, user_id: str) -> float:
        """What a user charged this month (for their cap)."""
        if not self.month.current and self.ledger is not None:
            ledger = self.ledger

            async def reload(_recorder: SessionRecorder) -> None:
                await self.month.reload(ledger)

            self.queue.put("a new month", reload)
        return self.month.kwh(user_id)

    async def async_close(self, _event: Event | None = None) -> None:
        """Run the bookings still waiting, then close the ledger (once)."""
        if self._closed:
            return
        self._closed = True
        if self._retry is not None:
            self._retry()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        try:
            async with asyncio.timeout(CLOSE_WITHIN_S):
                await self.queue.close()
        except TimeoutError:
            _LOGGER.warning("%s: bookings left unbooked", self._entry.title)
        async with self._opening:
            if self.ledger is not None:
                await self.ledger.close()

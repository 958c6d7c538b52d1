"""Each user's figures this month, kept in memory per site for the sensors.

Loaded from the ledger at set-up (the sessions that started this month and
the last, priced in the executor), then kept up to date: a session booked
(``signal_sessions_changed``) is read again and priced again, the users,
plans or options changed price everything again, and at the month's turn on
the site's wall clock the window moves on. The sensors read the figures
here, never the ledger. Bookings that come while one is being read are taken
together.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
import logging
import math
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import CONF_DEFAULT_TARIFF, DOMAIN, signal_sessions_changed
from .core.planner import PriceSlot
from .core.price_history import price_slots
from .core.session_costs import SessionCost
from .core.sessions import SessionRecord
from .core.site_billing import MonthFigures, SitePlans, month_figures, price
from .core.statements import Month
from .data import EvPowerShareConfigEntry
from .ledger import Ledger, LedgerError
from .price_recorder import PriceRecorder
from .tariff_flow import site_tariff_plans
from .users import site_users

_LOGGER = logging.getLogger(__name__)


def site_plans(hass: HomeAssistant, entry: EvPowerShareConfigEntry) -> SitePlans:
    """Who the site's users are and which plan prices their sessions."""
    users = site_users(entry.subentries)
    return SitePlans(
        names={u.id: u.name for u in users},
        user_plans={u.id: u.tariff for u in users if u.tariff},
        plans=site_tariff_plans(entry),
        default_plan_id=entry.options.get(CONF_DEFAULT_TARIFF) or None,
        currency=hass.config.currency,
    )


def site_time_zone() -> tzinfo:
    """The site's wall clock: Home Assistant's time zone."""
    return dt_util.get_default_time_zone()


async def async_price_slots(
    ledger: Ledger, plans: SitePlans, start: float, end: float
) -> dict[str, list[PriceSlot]]:
    """Each price sensor's slots over [start, end), from the ledger."""
    return {
        entity_id: price_slots(await ledger.prices(entity_id, start, end))
        for entity_id in sorted(plans.price_entities())
    }


def price_all(
    sessions: Iterable[SessionRecord],
    plans: SitePlans,
    tz: tzinfo,
    slots: Mapping[str, Sequence[PriceSlot]],
) -> dict[str, SessionCost]:
    """Every session priced (for the executor: a month may hold thousands)."""
    return {s.id: price(s, plans, tz, slots) for s in sessions}


class SiteFigures:
    """A site's figures this month, and each user's last session."""

    def __init__(
        self, hass: HomeAssistant, entry: EvPowerShareConfigEntry, ledger: Ledger
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._ledger = ledger
        self._costs: dict[str, SessionCost] = {}
        self._pending: set[str] = set()
        self._reading = False
        self._listeners: list[Callable[[], None]] = []
        self.prices = PriceRecorder(hass, ledger, self._spawn)
        self.plans = site_plans(hass, entry)
        self.month = Month.of(dt_util.utcnow().timestamp(), site_time_zone())
        self.figures: MonthFigures | None = None
        self.last: dict[str, SessionCost] = {}
        """Each user's latest ended session of this month and the last."""

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._entry.async_create_background_task(self._hass, coro, name)

    async def async_start(self) -> None:
        """Load the figures, then follow the ledger, the entry and the clock."""
        await self.async_load()
        entry = self._entry
        entry.async_on_unload(
            async_dispatcher_connect(
                self._hass, signal_sessions_changed(entry.entry_id), self._booked
            )
        )
        entry.async_on_unload(entry.add_update_listener(self._entry_changed))
        entry.async_on_unload(self.prices.stop)
        entry.async_on_unload(self._cancel_turn)
        self._schedule_turn(self.month)

    async def async_load(self) -> None:
        """Read and price this month's and the last month's sessions."""
        tz = site_time_zone()
        self.plans = site_plans(self._hass, self._entry)
        self.prices.track(self.plans.price_entities())
        self.month = Month.of(dt_util.utcnow().timestamp(), tz)
        start = _previous(self.month).bounds(tz)[0]
        sessions = [
            s
            for s in await self._ledger.sessions(start, math.inf)
            if s.started_at >= start
        ]
        slots = await async_price_slots(self._ledger, self.plans, start, math.inf)
        self._costs = await self._hass.async_add_executor_job(
            price_all, sessions, self.plans, tz, slots
        )
        self._publish()

    @callback
    def async_listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` when the figures change; returns the undo."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _publish(self) -> None:
        tz = site_time_zone()
        self.figures = month_figures(self.month, self._costs.values(), self.plans, tz)
        last: dict[str, SessionCost] = {}
        for cost in self._costs.values():
            session = cost.session
            if session.user_id is None or session.stopped_at is None:
                continue
            known = last.get(session.user_id)
            if known is None or (known.session.stopped_at or 0) <= session.stopped_at:
                last[session.user_id] = cost
        self.last = last
        for listener in list(self._listeners):
            listener()

    @callback
    def _booked(self, session_id: str) -> None:
        self._pending.add(str(session_id))
        if not self._reading:
            self._reading = True
            self._spawn(self._async_read_pending(), f"{DOMAIN} figures")

    async def _async_read_pending(self) -> None:
        try:
            while self._pending:
                ids, self._pending = sorted(self._pending), set()
                for session_id in ids:
                    await self._async_read(session_id)
                self._publish()
        except (LedgerError, ValueError) as err:
            _LOGGER.debug("Figures not updated: %s", err)
        finally:
            self._reading = False

    async def _async_read(self, session_id: str) -> None:
        session = await self._ledger.session(session_id)
        tz = site_time_zone()
        if session is None or session.started_at < _previous(self.month).bounds(tz)[0]:
            self._costs.pop(session_id, None)
            return
        end = math.inf if session.stopped_at is None else session.stopped_at
        slots = await async_price_slots(
            self._ledger, self.plans, session.started_at, end
        )
        self._costs[session_id] = await self._hass.async_add_executor_job(
            price, session, self.plans, tz, slots
        )

    async def _entry_changed(
        self, hass: HomeAssistant, entry: EvPowerShareConfigEntry
    ) -> None:
        """Users, plans or the default plan may have changed: price again."""
        if site_plans(hass, entry) != self.plans:
            await self._async_reload()

    async def _async_reload(self) -> None:
        try:
            await self.async_load()
        except LedgerError as err:
            _LOGGER.debug("Figures not reloaded: %s", err)

    _turn: Callable[[], None] | None = None

    def _schedule_turn(self, month: Month) -> None:
        """Move on at the start of the month after ``month`` (wall clock)."""
        start = month.next().bounds(site_time_zone())[0]
        self._turn = async_track_point_in_utc_time(
            self._hass, self._month_turned, datetime.fromtimestamp(start, UTC)
        )

    @callback
    def _month_turned(self, now: datetime) -> None:
        self._schedule_turn(Month.of(now.timestamp(), site_time_zone()))
        self._spawn(self._async_reload(), f"{DOMAIN} month's turn")

    @callback
    def _cancel_turn(self) -> None:
        if self._turn is not None:
            self._turn()
            self._turn = None


def _previous(month: Month) -> Month:
    if month.month == 1:
        return Month(month.year - 1, 12)
    return Month(month.year, month.month - 1)


async def async_start_figures(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry, ledger: Ledger | None
) -> SiteFigures | None:
    """The site's figures, loaded and followed (None without a ledger, or
    while it cannot be read: the sensors are then not made)."""
    if ledger is None:
        return None
    figures = SiteFigures(hass, entry, ledger)
    try:
        await figures.async_start()
    except LedgerError as err:
        _LOGGER.warning("The figures of %s cannot be read: %s", entry.title, err)
        return None
    return figures

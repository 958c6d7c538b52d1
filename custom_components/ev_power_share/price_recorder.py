"""The prices of the site's price sensor plans, kept in the ledger as they
change (``core.price_history``): a statement made months later bills each
interval at the price shown then."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
import logging
from typing import Any

from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import async_track_state_change_event

from .core.price_history import price_text
from .ledger import Ledger, LedgerError

_LOGGER = logging.getLogger(__name__)

type Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class PriceRecorder:
    """Writes each change of the tracked sensors' prices to the ledger."""

    def __init__(self, hass: HomeAssistant, ledger: Ledger, spawn: Spawn) -> None:
        self._hass = hass
        self._ledger = ledger
        self._spawn = spawn
        self._tracked: frozenset[str] = frozenset()
        self._unsubscribe: Callable[[], None] | None = None

    @callback
    def track(self, entity_ids: Iterable[str]) -> None:
        """Follow these sensors (and keep their prices now)."""
        wanted = frozenset(entity_ids)
        if wanted == self._tracked:
            return
        self.stop()
        self._tracked = wanted
        if not wanted:
            return
        self._unsubscribe = async_track_state_change_event(
            self._hass, sorted(wanted), self._changed
        )
        for entity_id in sorted(wanted):
            if (state := self._hass.states.get(entity_id)) is not None:
                self._record(state)

    @callback
    def stop(self) -> None:
        """Follow nothing."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._tracked = frozenset()

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        if (state := event.data["new_state"]) is not None:
            self._record(state)

    @callback
    def _record(self, state: State) -> None:
        self._spawn(
            self._async_write(
                state.entity_id, state.last_changed.timestamp(), price_text(state.state)
            ),
            f"price of {state.entity_id}",
        )

    async def _async_write(self, entity_id: str, at: float, price: str | None) -> None:
        try:
            await self._ledger.add_price(entity_id, at, price)
        except LedgerError as err:  # closed while unloading, or unusable
            _LOGGER.debug("Price of %s not kept: %s", entity_id, err)

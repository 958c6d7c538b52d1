"""Which connector runs which transaction, on one connection of a station.

A transaction we saw start is its connector's. One that started before this
connection (the station reconnected, or we restarted) is *adopted* by the connector
a message names, or, from a message that names none, by the one connector that
may run a transaction we do not know, if there is exactly one: never a guess.
Transactions that ended on this connection are remembered, never adopted again.
"""

from __future__ import annotations

import logging

from .state import ConnectorState, connector_state

_LOGGER = logging.getLogger(__name__)
ENDED_KEPT = 256
"""Ended transaction ids remembered per connection (never adopted again)."""


class Transactions:
    """The transactions of a station's connectors (their state is the station's)."""

    def __init__(
        self,
        station_id: str,
        connectors: dict[int, ConnectorState],
        idle_statuses: frozenset[str],
    ) -> None:
        """``idle_statuses``: the statuses that say no transaction runs."""
        self._station_id = station_id
        self._connectors = connectors
        self._idle_statuses = idle_statuses
        self._finished: set[int] = set()
        """Connectors whose transaction ended on this connection, while the
        vehicle stays plugged in (they run no transaction we do not know)."""
        self._ended: dict[str, None] = {}
        """Transactions that ended on this connection, oldest first; the last
        :data:`ENDED_KEPT`."""

    def connector_of(self, transaction_id: str) -> int | None:
        """Which connector runs this transaction."""
        for connector_id, state in self._connectors.items():
            if state.transaction_id == transaction_id:
                return connector_id
        return None

    def unknown(self, transaction_id: str) -> bool:
        """Neither running on a connector nor ended on this connection."""
        return (
            transaction_id not in self._ended
            and self.connector_of(transaction_id) is None
        )

    def adoptable(self, connector_id: int, transaction_id: str) -> bool:
        """Whether a message of a connector that names an unknown transaction
        makes it that connector's: none is known there, and its status does not
        say that none runs."""
        state = connector_state(self._connectors, connector_id)
        return (
            state.transaction_id is None
            and state.status not in self._idle_statuses
            and self.unknown(transaction_id)
        )

    def find(self, transaction_id: str) -> int | None:
        """The connector of a transaction named by a message that does not name
        its connector: the one that runs it; for an unknown one, the one connector
        that may run it (see :meth:`_untracked`), if there is exactly one."""
        connector_id = self.connector_of(transaction_id)
        if connector_id is not None or not self.unknown(transaction_id):
            return connector_id
        candidates = self._untracked()
        if len(candidates) == 1:
            return candidates[0]
        _LOGGER.info(
            "%s: cannot tell which connector runs transaction %s (%s candidates)",
            self._station_id,
            transaction_id,
            len(candidates),
        )
        return None

    def started(self, connector_id: int, transaction_id: str) -> None:
        """A transaction runs on a connector (its start seen, or adopted)."""
        connector_state(self._connectors, connector_id).transaction_id = transaction_id
        self._finished.discard(connector_id)

    def adopt(self, connector_id: int, transaction_id: str) -> None:
        """A transaction that started before this connection (we did not see it
        start) runs on a connector: from now on it is that connector's."""
        _LOGGER.info(
            "%s: transaction %s on connector %s started before this connection",
            self._station_id,
            transaction_id,
            connector_id,
        )
        self.started(connector_id, transaction_id)
        state = connector_state(self._connectors, connector_id)
        state.session_start_wh = None  # the session energy counts from here
        if state.status is None:
            state.vehicle_connected = True  # a transaction runs: it is plugged

    def ended(self, connector_id: int) -> None:
        """The transaction of a connector ended (the vehicle may stay plugged)."""
        state = connector_state(self._connectors, connector_id)
        if state.transaction_id is not None:
            self._ended[state.transaction_id] = None
            while len(self._ended) > ENDED_KEPT:
                del self._ended[next(iter(self._ended))]
        state.transaction_id = None
        state.draws_nothing()
        self._finished.add(connector_id)

    def vehicle_left(self, connector_id: int) -> None:
        """No vehicle is plugged in at a connector (any transaction there is
        one we would see start)."""
        self._finished.discard(connector_id)

    def _untracked(self) -> list[int]:
        """Connectors that may run a transaction we do not know: a vehicle is
        plugged in, no transaction is known, none ended there on this connection,
        and the status does not say that none runs."""
        return [
            connector_id
            for connector_id, state in self._connectors.items()
            if connector_id > 0
            and state.vehicle_connected
            and state.transaction_id is None
            and connector_id not in self._finished
            and state.status not in self._idle_statuses
        ]

"""Shared state of a connected charging station, and the interface both versions keep.

A :class:`Station` is one websocket connection. Its OCPP-version subclass
(:mod:`.v16`, :mod:`.v201`) answers the station's messages through the ``ocpp``
library and sends our commands; this base class holds the state the rest of the
integration reads, the listener calls, and the plumbing (background tasks, calls that
fail soft instead of raising, a clean shutdown).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
import logging
from typing import Any, Literal, Protocol

from ocpp.exceptions import OCPPError

from ._ocpp import frame_error
from .meter import MeterReading

_LOGGER = logging.getLogger(__name__)


class Admission(StrEnum):
    """What the central system does with a charge point id (and its password)."""

    ACCEPTED = "accepted"
    PENDING = "pending"
    """Socket accepted, BootNotification answered Pending, nothing ever sent to it."""
    REJECTED = "rejected"
    """HTTP 401 at the websocket handshake."""


@dataclass(frozen=True, slots=True)
class StationConfig:
    """Settings shared by every station of a central system."""

    meter_interval_s: int = 10
    """MeterValueSampleInterval we configure after an accepted boot."""
    watchdog_s: float = 120.0
    """``validTo`` horizon of the live profile: it lapses this long after a refresh."""
    response_timeout_s: float = 10.0
    """How long we wait for the answer to one of our calls."""
    heartbeat_s: int = 300
    """Heartbeat interval given in an accepted BootNotification response."""
    pending_retry_s: int = 60
    """Interval given in a Pending BootNotification response (when to boot again)."""


@dataclass(slots=True)
class StationInfo:
    """From BootNotification."""

    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None


_CONNECTED_STATUSES = frozenset(
    {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Occupied"}
)


@dataclass(slots=True)
class ConnectorState:
    """One connector (1.6) or EVSE (2.0.1); id 0 is the station as a whole."""

    status: str | None = None
    vehicle_connected: bool = False
    transaction_id: str | None = None
    id_tag: str | None = None
    current_a: tuple[float, ...] = ()
    """Per phase (L1, L2, L3), as last measured."""
    power_w: float | None = None
    energy_wh: float | None = None
    """The meter register."""
    session_start_wh: float | None = None
    soc: float | None = None
    last_meter_at: datetime | None = None
    charging_state: str | None = None
    """2.0.1 only: Charging, EVConnected, SuspendedEV, SuspendedEVSE, Idle."""

    @property
    def session_energy_wh(self) -> float | None:
        """Energy of the current (or last) session, from the register."""
        if self.energy_wh is None or self.session_start_wh is None:
            return None
        return max(0.0, self.energy_wh - self.session_start_wh)

    def set_status(self, status: str) -> None:
        """Store a status and what it says about a plugged-in vehicle."""
        self.status = status
        self.vehicle_connected = status in _CONNECTED_STATUSES

    def apply(self, reading: MeterReading, now: datetime) -> bool:
        """Fold a meter reading in; False if it carried nothing we use."""
        if reading.empty:
            return False
        if reading.current_a:
            self.current_a = reading.currents()
        if reading.power_w is not None:
            self.power_w = reading.power_w
        if reading.energy_wh is not None:
            self.energy_wh = reading.energy_wh
            if self.transaction_id is not None and self.session_start_wh is None:
                self.session_start_wh = reading.energy_wh
        if reading.soc is not None:
            self.soc = reading.soc
        self.last_meter_at = now
        return True


class StationListener(Protocol):
    """Callbacks from the central system; synchronous, called in the event loop."""

    def on_connected(self, station: Station) -> None:
        """A websocket was accepted (before any message)."""

    def on_disconnected(self, station: Station) -> None:
        """The websocket closed (``station.online`` is False)."""

    def on_boot(self, station: Station) -> None:
        """BootNotification arrived; ``station.info`` is filled."""

    def on_status(self, station: Station, connector_id: int) -> None:
        """A status or transaction change on a connector."""

    def on_meter(self, station: Station, connector_id: int) -> None:
        """New measurements on a connector."""


class Connection(Protocol):
    """What a station needs from its websocket (see :mod:`.server`)."""

    async def send(self, message: str) -> None:
        """Send one text frame."""

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close the websocket."""


class Station(ABC):
    """A connected charging station: state, and the commands we send it."""

    version: Literal["1.6", "2.0.1"]

    def __init__(
        self,
        station_id: str,
        connection: Connection,
        *,
        admission: Admission,
        listener: StationListener,
        config: StationConfig,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
    ) -> None:
        self.id = station_id
        self.admission = admission
        self.online = True
        self.booted = False
        self.info = StationInfo()
        self.connectors: dict[int, ConnectorState] = {}
        self.last_seen: datetime = datetime.now(UTC)
        self.config = config
        self._connection = connection
        self._listener = listener
        self._wire_logger = logger or _LOGGER
        self._tasks: set[asyncio.Task[Any]] = set()
        self._calls: set[asyncio.Task[Any]] = set()
        self.profile_ids: set[int] = set()
        """Ids of the charging profiles we installed on this connection."""

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.id!r} {self.admission} online={self.online}>"
        )

    # --- incoming -------------------------------------------------------------

    @property
    @abstractmethod
    def _cp(self) -> Any:
        """The ``ocpp`` library ChargePoint that routes this station's messages."""

    async def handle_text(self, text: str) -> None:
        """Route one text frame; never raises (a bad frame only gets a CALLERROR)."""
        self.last_seen = datetime.now(UTC)
        try:
            error = frame_error(text)
            if error is not None:
                _LOGGER.warning(
                    "%s: unparseable frame answered with CALLERROR", self.id
                )
                await self._connection.send(error)
                return
            await self._cp.route_message(text)
        except ConnectionError:
            _LOGGER.debug("%s: connection closed while answering", self.id)
        except Exception:
            _LOGGER.exception("%s: error while handling a frame", self.id)

    def connector(self, connector_id: int) -> ConnectorState:
        """The state of a connector, created on first mention."""
        state = self.connectors.get(connector_id)
        if state is None:
            state = self.connectors[connector_id] = ConnectorState()
        return state

    def connector_of_transaction(self, transaction_id: str) -> int | None:
        """Which connector runs this transaction."""
        for connector_id, state in self.connectors.items():
            if state.transaction_id == transaction_id:
                return connector_id
        return None

    def _boot_accepted(
        self,
        vendor: str | None,
        model: str | None,
        serial: str | None,
        firmware: str | None,
    ) -> bool:
        """Store BootNotification data, tell the listener; True if Accepted."""
        self.info = StationInfo(
            vendor=vendor, model=model, serial=serial, firmware=firmware
        )
        self.booted = True
        self._notify("on_boot")
        if self.admission is not Admission.ACCEPTED:
            return False
        self.spawn(self._configure_after_boot())
        return True

    @abstractmethod
    async def _configure_after_boot(self) -> None:
        """Set the meter sampling configuration (a background task)."""

    def _notify(self, callback: str, *args: Any) -> None:
        try:
            getattr(self._listener, callback)(self, *args)
        except Exception:
            _LOGGER.exception("%s: listener %s failed", self.id, callback)

    # --- plumbing ---------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine in the background; cancelled when the station goes."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOGGER.error("%s: background task failed: %r", self.id, error)

    @property
    def commandable(self) -> bool:
        """True if we may send commands (online, and not pending or rejected)."""
        return self.online and self.admission is Admission.ACCEPTED

    async def call(self, payload: Any) -> Any | None:
        """Send a call; the response dataclass, or ``None`` on error/timeout/close."""
        if not self.commandable:
            return None
        task = asyncio.get_running_loop().create_task(
            self._cp.call(payload, suppress=False)
        )
        self._calls.add(task)
        action = type(payload).__name__
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            _LOGGER.debug("%s: %s abandoned, station disconnected", self.id, action)
        except TimeoutError:
            _LOGGER.warning("%s: no answer to %s", self.id, action)
        except OCPPError as error:
            _LOGGER.warning("%s: %s answered with %s", self.id, action, error.code)
        except ConnectionError:
            _LOGGER.debug("%s: %s not sent, connection closed", self.id, action)
        finally:
            self._calls.discard(task)
        return None

    async def disconnect(self) -> None:
        """Close this station's websocket (it will usually reconnect)."""
        await self._connection.close(code=1000, message=b"closed by central system")

    async def connection_lost(self) -> None:
        """The websocket is gone: cancel our work, tell the listener."""
        self.online = False
        pending = [*self._tasks, *self._calls]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._notify("on_disconnected")

    # --- the commands (one implementation per version) -------------------------

    @abstractmethod
    async def set_failsafe(self, amps: float, number_phases: int = 3) -> bool:
        """Install the permanent failsafe TxDefaultProfile on connector 0."""

    @abstractmethod
    async def set_limit(
        self, connector_id: int, amps: float, number_phases: int = 3
    ) -> bool:
        """Install (or refresh) the live limit of a connector; True if accepted."""

    @abstractmethod
    async def clear_limits(self, *, keep_failsafe: bool = False) -> None:
        """Remove the charging profiles we installed (all, or all but the failsafe:
        then the station falls back to the failsafe at once)."""

    @abstractmethod
    async def composite_limit(
        self, connector_id: int, duration_s: int = 60
    ) -> float | None:
        """The limit (A) the station applies now, or ``None`` if it cannot tell."""

    @abstractmethod
    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        """Ask the station to start a transaction."""

    @abstractmethod
    async def remote_stop(self, connector_id: int) -> bool:
        """Ask the station to stop the transaction on a connector."""

    @abstractmethod
    async def unlock(self, connector_id: int) -> bool:
        """Unlock a connector."""

    @abstractmethod
    async def reset(self, hard: bool = False) -> bool:
        """Reboot the station (hard: at once; soft: when idle)."""

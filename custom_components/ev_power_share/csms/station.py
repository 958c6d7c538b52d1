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
from collections import Counter
from collections.abc import Collection, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import logging
from typing import Any, Protocol
import uuid

from ocpp.exceptions import PropertyConstraintViolationError

from ..core.commands import quantize  # noqa: TID252 - the one round-down (pure core)
from ._ocpp import Version, call_error, fault_of, screen_frame
from .logs import RateLimitedLog, clip
from .meter import MeterReading, parse_meter_values
from .profiles import (
    FAILSAFE_PROFILE_ID,
    FAILSAFE_STACK_LEVEL,
    RateUnit,
    live_profile_id,
    live_stack_level,
    our_profile_ids,
)

_LOGGER = logging.getLogger(__name__)
_WIRE_LOGGER = logging.getLogger(f"{__package__}.wire")
MAX_CONNECTOR_ID = 32
"""Connector (EVSE) ids a station may name: 0 (the station) to this. A message
naming another is refused, so that a station cannot make us keep state for any
number of connectors."""
ENDED_KEPT = 256
"""Ended transaction ids remembered per connection (never adopted again)."""


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
    resume_grace_s: float = 5.0
    """How long a charger that connected may take to send its BootNotification
    before it is taken as resuming: reconnected (after a network blip, or our
    restart) without rebooting, so it will not boot at all."""


@dataclass(frozen=True, slots=True)
class SmartCharging:
    """What a station says of its smart charging (read after its boot)."""

    rate_units: frozenset[RateUnit] | None = None
    """``ChargingScheduleAllowedChargingRateUnit`` (1.6) / ``SmartChargingCtrlr
    RateUnit`` (2.0.1): the units its schedules take; None: it did not say."""
    max_stack_level: int | None = None
    """``ChargeProfileMaxStackLevel`` (1.6) / ``SmartChargingCtrlr
    ProfileStackLevel`` (2.0.1); None: it did not say."""

    @property
    def unit(self) -> RateUnit:
        """The unit to send limits in: W only for a station that takes only W."""
        return "W" if self.rate_units == frozenset({"W"}) else "A"


def rate_units(value: object) -> frozenset[RateUnit] | None:
    """The units of a configuration value ("Current,Power" in 1.6, "A,W" in 2.0.1)."""
    if not isinstance(value, str):
        return None
    names = {"current": "A", "a": "A", "power": "W", "w": "W"}
    units: set[RateUnit] = set()
    for item in value.split(","):
        unit = names.get(item.strip().lower())
        if unit == "A":
            units.add("A")
        elif unit == "W":
            units.add("W")
    return frozenset(units) or None


def stack_level(value: object) -> int | None:
    """A configured maximum stack level, if it is one."""
    try:
        level = int(str(value).strip())
    except ValueError:
        return None
    return level if level >= 0 else None


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
        self.set_vehicle(status in _CONNECTED_STATUSES)

    def set_vehicle(self, connected: bool) -> None:
        """Store whether a vehicle is plugged in; without one, nothing is drawn
        and no state of charge is known."""
        self.vehicle_connected = connected
        if not connected:
            self.draws_nothing()
            self.soc = None

    def draws_nothing(self) -> None:
        """No vehicle draws here (its transaction ended, or it left): the last
        measured current and power are 0 until the next reading. The energy
        register is kept. Only for what we know, never for a charger that went
        offline (it may still be charging; it is counted at what it may hold)."""
        self.current_a = tuple(0.0 for _ in self.current_a)
        if self.power_w is not None:
            self.power_w = 0.0

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


class _LibraryLog(logging.LoggerAdapter[logging.Logger]):
    """What the ``ocpp`` library logs about one station.

    It logs every frame at INFO: that is DEBUG here. Its warnings and errors are
    about the station's frames (an answer to nothing, a CALLERROR, a handler's
    failure on odd data): they go through the station's rate limit, without
    tracebacks (those go to DEBUG).
    """

    def __init__(self, station: Station) -> None:
        super().__init__(_WIRE_LOGGER, {})
        self._station = station

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level < logging.WARNING:
            if self.logger.isEnabledFor(logging.DEBUG):
                self.logger.debug(msg, *args)
            return
        station = self._station
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = str(msg)
        station.log.log(
            (station.id, "library"),
            logging.WARNING,
            "%s: %s",
            station.id,
            clip(text),
            exc_info=kwargs.get("exc_info"),
        )


class GuardedCalls:
    """Mixin for the library's ChargePoint subclasses: a call that fails schema
    validation (or breaks a handler) is answered with its version's CALLERROR and
    logged through the station's rate limit (the library would log a traceback
    for each, and uses 2.0.1's codes for 1.6)."""

    station: Station

    async def _handle_call(self, msg: Any) -> Any:
        try:
            return await super()._handle_call(msg)  # type: ignore[misc]
        except ConnectionError:
            raise
        except Exception as error:  # noqa: BLE001 - answered, never raised
            await self.station.answer_call_error(msg.unique_id, error)
            return None


class Station(ABC):
    """A connected charging station: state, and the commands we send it."""

    version: Version
    _idle_statuses: frozenset[str] = frozenset()
    """Statuses that say no transaction runs on a connector."""

    def __init__(
        self,
        station_id: str,
        connection: Connection,
        *,
        admission: Admission,
        listener: StationListener,
        config: StationConfig,
        log: RateLimitedLog | None = None,
    ) -> None:
        """``log``: where this station's problems are written, rate limited (the
        central system shares one between its stations)."""
        self.id = station_id
        self.admission = admission
        self.online = True
        self.booted = False
        self.info = StationInfo()
        self.smart_charging = SmartCharging()
        """Read after its boot (or resume); until then, nothing is known."""
        self.configured = asyncio.Event()
        """Clear while it is configured after a boot (:meth:`configure`)."""
        self.configured.set()
        self.connectors: dict[int, ConnectorState] = {}
        self.last_seen: datetime = datetime.now(UTC)
        self.config = config
        self._connection = connection
        self._listener = listener
        self.log = log or RateLimitedLog(_LOGGER)
        self.wire_logger = _LibraryLog(self)
        self.malformed_frames = 0
        """Frames that were not well-formed OCPP-J (answered, or dropped)."""
        self.discarded_values = 0
        """Meter values dropped as unreadable or implausible."""
        self.gone = asyncio.Event()
        """Set once the connection is gone (:meth:`connection_lost`)."""
        self._awaited: set[str] = set()
        """Message ids of our calls that wait for their answer."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._calls: set[asyncio.Task[Any]] = set()
        self.profile_ids: set[int] = set()
        """Ids of the charging profiles we installed on this connection."""
        self._status_reports: Counter[int] = Counter()
        """StatusNotifications received on this connection, per connector."""
        self._status_reported = asyncio.Event()
        self._finished: set[int] = set()
        """Connectors whose transaction ended on this connection, while the
        vehicle stays plugged in (they run no transaction we do not know)."""
        self._ended_transactions: dict[str, None] = {}
        """Transactions that ended on this connection (never adopted again),
        oldest first; the last :data:`ENDED_KEPT`."""

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
        """Route one text frame; never raises (a bad frame only gets a CALLERROR,
        or is dropped if it is an answer; either is counted and logged, rate
        limited)."""
        self.last_seen = datetime.now(UTC)
        try:
            screened = screen_frame(
                text, self.version, self._cp.route_map, self._awaited
            )
            if screened.problem is not None:
                self.count_malformed(screened.problem, text)
            if screened.reply is not None:
                await self._connection.send(screened.reply)
            if screened.route:
                await self._cp.route_message(text)
        except ConnectionError:
            _LOGGER.debug("%s: connection closed while answering", self.id)
        except Exception as error:  # one frame never stops the station
            self.log.log(
                (self.id, "internal"),
                logging.ERROR,
                "%s: error while handling a frame: %r",
                self.id,
                error,
                exc_info=error,
                traceback=True,
            )

    def count_malformed(self, problem: str, text: str) -> None:
        self.malformed_frames += 1
        self.log.report(
            (self.id, "frame"),
            "%s: malformed frame (%s): %s",
            self.id,
            problem,
            clip(text, 120),
        )

    async def answer_call_error(self, unique_id: str, error: BaseException) -> None:
        """Answer a call that failed validation or handling with a CALLERROR
        (with this version's code for what went wrong)."""
        self.count_malformed(f"call {unique_id} refused: {clip(error, 160)}", "")
        await self._connection.send(
            call_error(self.version, unique_id, fault_of(error), clip(error, 160))
        )

    def parse_meter(self, meter_value: object) -> MeterReading:
        """A MeterValues payload as a reading; what it carried that cannot be
        used is counted and logged."""
        reading = parse_meter_values(meter_value)
        if reading.discarded:
            self.discarded_values += len(reading.discarded)
            self.log.report(
                (self.id, "meter"),
                "%s: meter values discarded: %s",
                self.id,
                clip("; ".join(reading.discarded)),
            )
        return reading

    @staticmethod
    def check_connector(connector_id: object) -> int:
        """``connector_id`` if a station may name it; else the call is refused
        (PropertyConstraintViolation)."""
        if (
            isinstance(connector_id, bool)
            or not isinstance(connector_id, int)
            or not 0 <= connector_id <= MAX_CONNECTOR_ID
        ):
            raise PropertyConstraintViolationError(
                details={"cause": f"connector {connector_id!r} out of range"}
            )
        return connector_id

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

    def report_status(self, connector_id: int, status: str) -> None:
        """A StatusNotification: store it, tell the listener."""
        state = self.connector(connector_id)
        state.set_status(status)
        if not state.vehicle_connected:
            self._finished.discard(connector_id)
        self._status_reports[connector_id] += 1
        self._status_reported.set()
        self.notify("on_status", connector_id)

    def _started(self, connector_id: int, transaction_id: str) -> None:
        """A transaction runs on a connector (its start seen, or adopted)."""
        self.connector(connector_id).transaction_id = transaction_id
        self._finished.discard(connector_id)

    def _ended(self, connector_id: int) -> None:
        """The transaction of a connector ended (the vehicle may stay plugged)."""
        state = self.connector(connector_id)
        if state.transaction_id is not None:
            self._ended_transactions[state.transaction_id] = None
            while len(self._ended_transactions) > ENDED_KEPT:
                del self._ended_transactions[next(iter(self._ended_transactions))]
        state.transaction_id = None
        state.draws_nothing()
        self._finished.add(connector_id)

    def _unknown_transaction(self, transaction_id: str) -> bool:
        """Neither running on a connector nor ended on this connection."""
        return (
            transaction_id not in self._ended_transactions
            and self.connector_of_transaction(transaction_id) is None
        )

    def _adopt_transaction(self, connector_id: int, transaction_id: str) -> None:
        """A transaction that started before this connection (we did not see it
        start) runs on a connector: from now on it is that connector's."""
        _LOGGER.info(
            "%s: transaction %s on connector %s started before this connection",
            self.id,
            transaction_id,
            connector_id,
        )
        self._started(connector_id, transaction_id)
        state = self.connector(connector_id)
        state.session_start_wh = None  # the session energy counts from here
        if state.status is None:
            state.vehicle_connected = True  # a transaction runs: it is plugged

    def _untracked(self) -> list[int]:
        """Connectors that may run a transaction we do not know: a vehicle is
        plugged in, no transaction is known, none ended there on this connection,
        and the status does not say that none runs."""
        return [
            connector_id
            for connector_id, state in self.connectors.items()
            if connector_id > 0
            and state.vehicle_connected
            and state.transaction_id is None
            and connector_id not in self._finished
            and state.status not in self._idle_statuses
        ]

    def _attribute(self, transaction_id: str) -> int | None:
        """The connector of a transaction we did not see start, from a message
        that does not name its connector: the one connector that may run an
        unknown transaction (see :meth:`_untracked`), if there is exactly one.
        Never a guess among several, nor when none is known to be occupied."""
        candidates = self._untracked()
        if len(candidates) == 1:
            return candidates[0]
        _LOGGER.info(
            "%s: cannot tell which connector runs transaction %s (%s candidates)",
            self.id,
            transaction_id,
            len(candidates),
        )
        return None

    def boot_accepted(
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
        self.notify("on_boot")
        if self.admission is not Admission.ACCEPTED:
            return False
        self.configured.clear()
        self.spawn(self.configure())
        return True

    async def configure(self) -> None:
        """Set the meter sampling configuration, and read how the station takes
        charging profiles (:attr:`smart_charging`); :attr:`configured` is set
        once done (whatever the station answered)."""
        try:
            # At once (not to delay the station's control by a round trip).
            _, self.smart_charging = await asyncio.gather(
                self._configure_after_boot(), self._read_smart_charging()
            )
        finally:
            self.configured.set()

    @abstractmethod
    async def _configure_after_boot(self) -> None:
        """Set the meter sampling configuration."""

    @abstractmethod
    async def _read_smart_charging(self) -> SmartCharging:
        """Ask the station for its rate units and maximum stack level."""

    def notify(self, callback: str, *args: Any) -> None:
        try:
            getattr(self._listener, callback)(self, *args)
        except Exception:
            self.log.log(
                (self.id, "listener", callback),
                logging.ERROR,
                "%s: listener %s failed",
                self.id,
                callback,
                exc_info=True,
                traceback=True,
            )

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

    async def _trigger_all(self, requests: list[tuple[Any, int | None]]) -> bool:
        """Send TriggerMessages in order: ``(payload, connector)``, where a
        connector is given for a request of its StatusNotification. True once each
        of those connectors reported its status (waited for at most the response
        timeout).

        Rejected refuses that one message (2.0.1 refuses a TransactionEvent of an
        EVSE without transaction). NotImplemented, a CALLERROR or no answer means
        the station does not do TriggerMessage: nothing more is asked.
        """
        before = self._status_reports.copy()
        wanted = [c for _, c in requests if c is not None]
        reporting: list[int] = []
        for payload, connector_id in requests:
            result = await self.call(payload)
            if result is None or result.status == "NotImplemented":
                _LOGGER.info("%s: does not report its state on request", self.id)
                break
            if connector_id is not None and result.status == "Accepted":
                reporting.append(connector_id)
        if not reporting:
            return False
        return await self._statuses_reported(reporting, before) and reporting == wanted

    async def _statuses_reported(
        self, connector_ids: Collection[int], before: Counter[int]
    ) -> bool:
        """Wait (at most the response timeout) until each connector sent a
        StatusNotification after ``before`` (a copy of the report counts)."""
        try:
            async with asyncio.timeout(self.config.response_timeout_s):
                while any(self._status_reports[c] <= before[c] for c in connector_ids):
                    self._status_reported.clear()
                    await self._status_reported.wait()
        except TimeoutError:
            return False
        return True

    async def call(self, payload: Any) -> Any | None:
        """Send a call; the response dataclass, or ``None`` on error/timeout/close."""
        if not self.commandable:
            return None
        unique_id = str(uuid.uuid4())
        task = asyncio.get_running_loop().create_task(
            self._cp.call(payload, suppress=False, unique_id=unique_id)
        )
        self._calls.add(task)
        self._awaited.add(unique_id)
        action = type(payload).__name__
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            _LOGGER.debug("%s: %s abandoned, station disconnected", self.id, action)
        except TimeoutError:
            self.log.report(
                (self.id, "timeout"), "%s: no answer to %s", self.id, action
            )
        except ConnectionError:
            _LOGGER.debug("%s: %s not sent, connection closed", self.id, action)
        except Exception as error:  # noqa: BLE001 - a CALLERROR, or an answer that
            # fails its schema or names an unknown error code: no answer at all.
            self.log.report(
                (self.id, "answer"),
                "%s: %s answered with %s",
                self.id,
                action,
                clip(getattr(error, "code", None) or repr(error), 160),
            )
        finally:
            self._calls.discard(task)
            self._awaited.discard(unique_id)
        return None

    async def disconnect(self) -> None:
        """Close this station's websocket (it will usually reconnect)."""
        await self._connection.close(code=1000, message=b"closed by central system")

    async def connection_lost(self) -> None:
        """The websocket is gone: cancel our work, tell the listener."""
        self.online = False
        self.gone.set()
        pending = [*self._tasks, *self._calls]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self.notify("on_disconnected")

    # --- the commands (one implementation per version) -------------------------

    # Charging profiles: built and sent per version, installed and cleared alike.

    @abstractmethod
    def _profile(
        self,
        *,
        profile_id: int,
        stack_level: int,
        limit: float,
        unit: RateUnit,
        number_phases: int,
        now: datetime,
        valid_to: datetime | None,
    ) -> Any:
        """This version's TxDefaultProfile with one period of ``limit``."""

    @abstractmethod
    async def _set_profile(self, connector_id: int, profile: Any) -> bool:
        """Send SetChargingProfile; True if accepted."""

    @abstractmethod
    async def _clear_profile(self, profile_id: int) -> None:
        """Send ClearChargingProfile for one of our profile ids."""

    async def set_failsafe(
        self, limit: float, number_phases: int = 3, *, unit: RateUnit = "A"
    ) -> bool:
        """Install the permanent failsafe TxDefaultProfile on connector 0
        (``limit`` in ``unit``, whole units, rounded down)."""
        profile = self._profile(
            profile_id=FAILSAFE_PROFILE_ID,
            stack_level=FAILSAFE_STACK_LEVEL,
            limit=quantize(limit, 1.0),
            unit=unit,
            number_phases=number_phases,
            now=datetime.now(UTC),
            valid_to=None,
        )
        return await self._set_profile(0, profile)

    async def set_limit(
        self,
        connector_id: int,
        limit: float,
        number_phases: int = 3,
        *,
        unit: RateUnit = "A",
    ) -> bool:
        """Install (or refresh) the live limit of a connector (``limit`` in
        ``unit``, whole units, rounded down); True if accepted."""
        now = datetime.now(UTC)
        profile = self._profile(
            profile_id=live_profile_id(connector_id),
            stack_level=live_stack_level(self.smart_charging.max_stack_level),
            limit=quantize(limit, 1.0),
            unit=unit,
            number_phases=number_phases,
            now=now,
            valid_to=now + timedelta(seconds=self.config.watchdog_s),
        )
        return await self._set_profile(connector_id, profile)

    async def clear_limits(self, *, keep_failsafe: bool = False) -> None:
        """Remove the charging profiles we installed (all, or all but the failsafe:
        then the station falls back to the failsafe at once)."""
        for profile_id in our_profile_ids(self.connectors, self.profile_ids):
            if keep_failsafe and profile_id == FAILSAFE_PROFILE_ID:
                continue
            await self._clear_profile(profile_id)

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

    @abstractmethod
    async def trigger_status(self, connectors: int) -> bool:
        """Ask a station that did not boot on this connection to report its state
        (TriggerMessage): the status of connectors 1..``connectors``, and what it
        knows of their transactions and meters. True once every connector
        reported its status; False if it refused (Rejected, NotImplemented) or
        did not report in time: its state is then learned from its next
        messages."""

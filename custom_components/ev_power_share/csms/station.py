"""A connected charging station: the state the integration reads, and our commands.

A :class:`Station` is one websocket connection (:class:`~.link.Link`). Its
OCPP-version subclass (:mod:`.v16`, :mod:`.v201`) answers the station's messages
through the ``ocpp`` library and builds our calls; this class holds what both keep
alike: the state the rest of the integration reads, the listener it tells, how a
station is configured after its boot, and the commands, sent the same way in both
versions.
"""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from ocpp.exceptions import PropertyConstraintViolationError

from ..core.commands import quantize  # noqa: TID252 - the one round-down (pure core)
from .config import Admission, StationConfig, StationListener
from .handler import Connection
from .id_tokens import (
    INVALID,
    AcceptAll,
    IdTokens,
    LocalList,
    TokenAnswer,
    list_changes,
    screened,
)
from .link import Link
from .logs import RateLimitedLog, clip
from .meter import MeterReading, parse_meter_values
from .profiles import (
    FAILSAFE_PROFILE_ID,
    FAILSAFE_STACK_LEVEL,
    ProfileSpec,
    RateUnit,
    applied_limit_a,
    live_profile_id,
    live_stack_level,
    our_profile_ids,
)
from .smart_charging import (
    NOMINAL_VOLTAGE_V,
    SmartCharging,
)
from .state import ConnectorState, StationInfo, connector_state
from .transactions import Transactions
from .tx_messages import TransactionMessage

_LOGGER = logging.getLogger(__name__)
MAX_CONNECTOR_ID = 32
"""Connector (EVSE) ids a station may name: 0 (the station) to this. A message
naming another is refused, so that a station cannot make us keep state for any
number of connectors."""


class Station(Link):
    """A connected charging station: state, and the commands we send it."""

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
        tokens: IdTokens | None = None,
        on_transaction: Callable[[TransactionMessage], None] | None = None,
    ) -> None:
        super().__init__(station_id, connection, admission=admission, log=log)
        self._tokens: IdTokens = tokens or AcceptAll()
        self._on_transaction = on_transaction
        self.local_list: LocalList | None = None
        """The local authorisation list it holds, as far as we know (learned
        or sent on this connection)."""
        self._list_lock = asyncio.Lock()
        self.booted = False
        self.info = StationInfo()
        self.smart_charging = SmartCharging()
        """Read after its boot (or resume); until then, nothing is known."""
        self._smart_charging_read = asyncio.Event()
        """Clear while it is asked how it takes profiles, after a boot."""
        self._smart_charging_read.set()
        self.configured = asyncio.Event()
        """Clear while it is configured after a boot (:meth:`configure`)."""
        self.configured.set()
        self.connectors: dict[int, ConnectorState] = {}
        self.transactions = Transactions(
            station_id, self.connectors, self._idle_statuses
        )
        self.config = config
        self._listener = listener
        self.discarded_values = 0
        """Meter values dropped as unreadable or implausible."""
        self.profile_ids: set[int] = set()
        """Ids of the charging profiles we installed on this connection."""
        self._status_reports: Counter[int] = Counter()
        """StatusNotifications received on this connection, per connector."""
        self._status_reported = asyncio.Event()

    # --- what the station tells us ---------------------------------------------

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
        return connector_state(self.connectors, connector_id)

    def connector_of_transaction(self, transaction_id: str) -> int | None:
        """Which connector runs this transaction."""
        return self.transactions.connector_of(transaction_id)

    def report_status(self, connector_id: int, status: str) -> None:
        """A StatusNotification: store it, tell the listener."""
        state = self.connector(connector_id)
        state.set_status(status)
        if not state.vehicle_connected:
            self.transactions.vehicle_left(connector_id)
        self._status_reports[connector_id] += 1
        self._status_reported.set()
        self.notify("on_status", connector_id)

    def take_meter_values(self, connector_id: int, meter_value: object) -> bool:
        """Fold meter values into a connector's state; False if they carried
        nothing we use."""
        if not meter_value:
            return False
        return self.connector(connector_id).apply(
            self.parse_meter(meter_value), datetime.now(UTC)
        )

    def answer_token(self, connector_id: int, id_token: object) -> TokenAnswer:
        """Whether an id token may charge at a connector (0: the station); an
        authoriser that fails refuses it (and is logged)."""
        try:
            answer = self._tokens.authorize(self.id, connector_id, id_token)
        except Exception:
            self.log.log(
                (self.id, "tokens"),
                logging.ERROR,
                "%s: the id token check failed; the token is refused",
                self.id,
                exc_info=True,
                traceback=True,
            )
            return TokenAnswer(INVALID)
        return screened(answer)

    def tell_transaction(self, message: TransactionMessage) -> None:
        """Hand a transaction message to whoever books sessions."""
        if self._on_transaction is None:
            return
        try:
            self._on_transaction(message)
        except Exception:
            self.log.log(
                (self.id, "transaction"),
                logging.ERROR,
                "%s: booking a transaction message failed",
                self.id,
                exc_info=True,
                traceback=True,
            )

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
        self._smart_charging_read.clear()
        self.spawn(self.configure())
        return True

    async def configure(self) -> None:
        """Set the meter sampling configuration, and read how the station takes
        charging profiles (:attr:`smart_charging`); :attr:`configured` is set
        once done (whatever the station answered)."""
        self.spawn(self.sync_local_list())
        try:
            # At once (not to delay the station's control by a round trip).
            await asyncio.gather(
                self._configure_after_boot(), self._learn_smart_charging()
            )
        finally:
            self._smart_charging_read.set()
            self.configured.set()

    async def _learn_smart_charging(self) -> None:
        """Read how the station takes profiles: the failsafe waits for this
        answer only (:meth:`_taken_unit`), not for the metering settings."""
        try:
            self.smart_charging = await self._read_smart_charging()
        finally:
            self._smart_charging_read.set()

    async def _taken_unit(self) -> RateUnit:
        """The unit the station takes limits in; after a boot, once it said."""
        await self._smart_charging_read.wait()
        return self.smart_charging.unit

    # --- the local authorisation list ----------------------------------------

    async def sync_local_list(self) -> bool:
        """Give the station the list it is to keep (after its boot or resume,
        and when the users change): nothing if it holds that version already, a
        differential update from the list we sent on this connection, else the
        full list. False if it has no list for us, or refused it."""
        try:
            wanted = self._tokens.local_list(self.id)
        except Exception:
            _LOGGER.exception("%s: the local list could not be made", self.id)
            return False
        if wanted is None or not self.commandable:
            return False
        async with self._list_lock:
            if self.local_list is None:
                version = await self._local_list_version()
                if version is None:
                    return False
                self.local_list = LocalList(version)
            if self.local_list.version == wanted.version:
                self.local_list = wanted
                return True
            return await self._send_list(wanted)

    async def _send_list(self, wanted: LocalList) -> bool:
        sent = self.local_list
        if sent is not None and sent.entries and 0 < sent.version < wanted.version:
            changes = list_changes(sent.entries, wanted.entries)
            if await self.succeeds(
                self._send_list_call(wanted.version, changes, False)
            ):
                self.local_list = wanted
                return True
        full: Mapping[str, str | None] = dict(wanted.entries)
        if await self.succeeds(self._send_list_call(wanted.version, full, True)):
            self.local_list = wanted
            return True
        _LOGGER.info("%s: did not take local list %s", self.id, wanted.version)
        return False

    @abstractmethod
    async def _local_list_version(self) -> int | None:
        """The version of the station's local list; None if it has none for
        us (it does not support one, or does not say)."""

    @abstractmethod
    def _send_list_call(
        self, version: int, entries: Mapping[str, str | None], full: bool
    ) -> Any:
        """SendLocalList: the full list, or the changes (None: remove)."""

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

    async def connection_lost(self) -> None:
        """The websocket is gone: cancel our work, tell the listener."""
        await super().connection_lost()
        self.notify("on_disconnected")

    # --- the commands: sent alike, each call built per version ----------------

    @staticmethod
    @abstractmethod
    def _profile(spec: ProfileSpec) -> Any:
        """This version's TxDefaultProfile."""

    @abstractmethod
    def _set_profile_call(self, connector_id: int, profile: Any) -> Any:
        """SetChargingProfile of ``profile`` on a connector (EVSE)."""

    @abstractmethod
    def _clear_profile_call(self, profile_id: int) -> Any:
        """ClearChargingProfile of one of our profile ids."""

    @abstractmethod
    def _composite_call(
        self, connector_id: int, duration_s: int, unit: RateUnit
    ) -> Any:
        """GetCompositeSchedule of a connector (EVSE), in ``unit``."""

    @staticmethod
    @abstractmethod
    def _composite_schedule(result: Any) -> Any:
        """The schedule of an accepted GetCompositeSchedule answer."""

    async def _install(self, connector_id: int, spec: ProfileSpec) -> bool:
        if self.commandable:
            self.profile_ids.add(spec.profile_id)
        return await self.succeeds(
            self._set_profile_call(connector_id, self._profile(spec))
        )

    async def set_failsafe(
        self,
        limit: float,
        number_phases: int = 3,
        *,
        voltage_v: float = NOMINAL_VOLTAGE_V,
        unit: RateUnit | None = None,
    ) -> bool:
        """Install the permanent failsafe TxDefaultProfile on connector 0:
        ``limit`` A per phase, in ``unit`` or else the unit the station takes
        (after a boot, once it said which): whole A, or whole W
        (× ``number_phases`` × ``voltage_v``), rounded down."""
        if unit is None:
            unit = await self._taken_unit()
        value = limit if unit == "A" else limit * number_phases * voltage_v
        spec = ProfileSpec(
            profile_id=FAILSAFE_PROFILE_ID,
            stack_level=FAILSAFE_STACK_LEVEL,
            limit=quantize(value, 1.0),
            unit=unit,
            number_phases=number_phases,
            now=datetime.now(UTC),
            valid_to=None,
        )
        return await self._install(0, spec)

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
        spec = ProfileSpec(
            profile_id=live_profile_id(connector_id),
            stack_level=live_stack_level(self.smart_charging.max_stack_level),
            limit=quantize(limit, 1.0),
            unit=unit,
            number_phases=number_phases,
            now=now,
            valid_to=now + timedelta(seconds=self.config.watchdog_s),
        )
        return await self._install(connector_id, spec)

    async def clear_limits(self, *, keep_failsafe: bool = False) -> None:
        """Remove the charging profiles we installed (all, or all but the failsafe:
        then the station falls back to the failsafe at once)."""
        for profile_id in our_profile_ids(self.connectors, self.profile_ids):
            if keep_failsafe and profile_id == FAILSAFE_PROFILE_ID:
                continue
            await self.call(self._clear_profile_call(profile_id))

    async def composite_limit(
        self,
        connector_id: int,
        duration_s: int = 60,
        *,
        number_phases: int = 3,
        voltage_v: float = NOMINAL_VOLTAGE_V,
    ) -> float | None:
        """The limit (A per phase) the station applies now, or ``None`` if it
        cannot tell. Asked in the unit the station takes; an answer in W is
        A × ``number_phases`` × ``voltage_v``."""
        result = await self.call(
            self._composite_call(connector_id, duration_s, self.smart_charging.unit)
        )
        if result is None or result.status != "Accepted":
            return None
        return applied_limit_a(
            self._composite_schedule(result), number_phases * voltage_v
        )

    def _transaction_of(self, connector_id: int) -> str | None:
        """The transaction running on a connector, if we know one."""
        state = self.connectors.get(connector_id)
        return None if state is None else state.transaction_id

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

    # --- what a station that did not boot is asked ------------------------------

    @abstractmethod
    def _status_trigger(self, connector_id: int) -> Any:
        """TriggerMessage of a connector's StatusNotification."""

    @abstractmethod
    def _state_trigger(self, connector_id: int) -> Any:
        """TriggerMessage of what a station knows of a connector's transaction
        and meter."""

    async def trigger_status(self, connectors: int) -> bool:
        """Ask a station that did not boot on this connection to report its state
        (TriggerMessage): the status of connectors 1..``connectors``, then what it
        knows of their transactions and meters. True once every connector
        reported its status; False if it refused (Rejected, NotImplemented) or
        did not report in time: its state is then learned from its next
        messages.

        Rejected refuses that one message (2.0.1 refuses a TransactionEvent of an
        EVSE without transaction). NotImplemented, a CALLERROR or no answer means
        the station does not do TriggerMessage: nothing more is asked.
        """
        ids = range(1, connectors + 1)
        before = self._status_reports.copy()
        wanted = list(ids)
        reporting: list[int] = []
        requests: list[tuple[Any, int | None]] = [
            (self._status_trigger(c), c) for c in ids
        ]
        requests += [(self._state_trigger(c), None) for c in ids]
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

"""OCPP 1.6J: the messages a station sends us, and our commands to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
import logging
from typing import Any

from ocpp.v16 import ChargePoint as _ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    ChargingRateUnitType,
    ConfigurationStatus,
    DataTransferStatus,
    MessageTrigger,
    RegistrationStatus,
    ResetType,
)

from ._ocpp import ocpp_time, on
from .logs import RateLimitedLog
from .profiles import (
    first_limit_a,
    v16_profile,
)
from .station import (
    Admission,
    Connection,
    GuardedCalls,
    SmartCharging,
    Station,
    StationConfig,
    StationListener,
    rate_units,
    stack_level,
)

_LOGGER = logging.getLogger(__name__)

RATE_UNIT_KEY = "ChargingScheduleAllowedChargingRateUnit"
STACK_LEVEL_KEY = "ChargeProfileMaxStackLevel"
MEASURANDS = "Energy.Active.Import.Register,Current.Import,Power.Active.Import,SoC"
_ACCEPTED = {"status": AuthorizationStatus.accepted}
_NO_TRANSACTION = frozenset({"Available", "Finishing", "Reserved", "Unavailable"})
"""1.6 statuses that say no transaction runs on the connector."""


class V16Station(Station):
    """A station speaking OCPP 1.6J."""

    version = "1.6"
    _idle_statuses = _NO_TRANSACTION

    def __init__(
        self,
        station_id: str,
        connection: Connection,
        *,
        admission: Admission,
        listener: StationListener,
        config: StationConfig,
        next_transaction_id: Callable[[], int],
        log: RateLimitedLog | None = None,
    ) -> None:
        super().__init__(
            station_id,
            connection,
            admission=admission,
            listener=listener,
            config=config,
            log=log,
        )
        self._next_transaction_id = next_transaction_id
        self._handler = _Handler16(self, connection)

    @property
    def _cp(self) -> Any:
        return self._handler

    async def _configure_after_boot(self) -> None:
        for key, value in (
            ("MeterValueSampleInterval", str(self.config.meter_interval_s)),
            ("MeterValuesSampledData", MEASURANDS),
        ):
            result = await self.call(call.ChangeConfiguration(key=key, value=value))
            if result is None or result.status not in (
                ConfigurationStatus.accepted,
                ConfigurationStatus.reboot_required,
            ):
                _LOGGER.info("%s: %s not accepted", self.id, key)

    async def _read_smart_charging(self) -> SmartCharging:
        result = await self.call(
            call.GetConfiguration(key=[RATE_UNIT_KEY, STACK_LEVEL_KEY])
        )
        values: dict[str, object] = {}
        for item in getattr(result, "configuration_key", None) or ():
            if isinstance(item, dict):
                values[str(item.get("key"))] = item.get("value")
        return SmartCharging(
            rate_units=rate_units(values.get(RATE_UNIT_KEY)),
            max_stack_level=stack_level(values.get(STACK_LEVEL_KEY)),
        )

    async def _set_profile(self, connector_id: int, profile: Any) -> bool:
        if self.commandable:
            self.profile_ids.add(profile.charging_profile_id)
        result = await self.call(
            call.SetChargingProfile(
                connector_id=connector_id, cs_charging_profiles=profile
            )
        )
        return result is not None and result.status == "Accepted"

    _profile = staticmethod(v16_profile)

    async def _clear_profile(self, profile_id: int) -> None:
        await self.call(call.ClearChargingProfile(id=profile_id))

    async def composite_limit(
        self, connector_id: int, duration_s: int = 60
    ) -> float | None:
        result = await self.call(
            call.GetCompositeSchedule(
                connector_id=connector_id,
                duration=duration_s,
                charging_rate_unit=ChargingRateUnitType.amps,
            )
        )
        if result is None or result.status != "Accepted":
            return None
        return first_limit_a(result.charging_schedule)

    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        result = await self.call(
            call.RemoteStartTransaction(id_tag=id_tag, connector_id=connector_id)
        )
        return result is not None and result.status == "Accepted"

    async def remote_stop(self, connector_id: int) -> bool:
        state = self.connectors.get(connector_id)
        if state is None or state.transaction_id is None:
            return False
        try:
            transaction_id = int(state.transaction_id)
        except ValueError:
            return False
        result = await self.call(
            call.RemoteStopTransaction(transaction_id=transaction_id)
        )
        return result is not None and result.status == "Accepted"

    async def unlock(self, connector_id: int) -> bool:
        result = await self.call(call.UnlockConnector(connector_id=connector_id))
        return result is not None and result.status == "Unlocked"

    async def reset(self, hard: bool = False) -> bool:
        result = await self.call(
            call.Reset(type=ResetType.hard if hard else ResetType.soft)
        )
        return result is not None and result.status == "Accepted"

    async def trigger_status(self, connectors: int) -> bool:
        """StatusNotification, then MeterValues (which carry the transaction id of
        a running transaction), per connector."""
        ids = range(1, connectors + 1)
        return await self._trigger_all(
            [
                (
                    call.TriggerMessage(
                        requested_message=MessageTrigger.status_notification,
                        connector_id=connector_id,
                    ),
                    connector_id,
                )
                for connector_id in ids
            ]
            + [
                (
                    call.TriggerMessage(
                        requested_message=MessageTrigger.meter_values,
                        connector_id=connector_id,
                    ),
                    None,
                )
                for connector_id in ids
            ]
        )

    # --- messages from the station ---------------------------------------------

    def _meter(self, connector_id: int, meter_value: list[Any]) -> None:
        state = self.connector(connector_id)
        if state.apply(self.parse_meter(meter_value), datetime.now(UTC)):
            self.notify("on_meter", connector_id)

    def meter_values(
        self, connector_id: int, meter_value: list[Any], transaction_id: int | None
    ) -> None:
        """MeterValues; one naming a transaction we did not see start (it started
        before this connection) makes it the connector's."""
        if transaction_id is not None and connector_id > 0:
            state = self.connector(connector_id)
            if (
                state.transaction_id is None
                and state.status not in self._idle_statuses
                and self._unknown_transaction(str(transaction_id))
            ):
                self._adopt_transaction(connector_id, str(transaction_id))
                self.notify("on_status", connector_id)
        self._meter(connector_id, meter_value)

    def start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int
    ) -> int:
        """StartTransaction: a new transaction id, the session starts at ``meter_start``."""
        transaction_id = self._next_transaction_id()
        self._started(connector_id, str(transaction_id))
        state = self.connector(connector_id)
        state.id_tag = id_tag
        state.session_start_wh = float(meter_start)
        state.energy_wh = float(meter_start)
        state.vehicle_connected = True
        self.notify("on_status", connector_id)
        return transaction_id

    def stop_transaction(
        self, transaction_id: int, meter_stop: int, data: list[Any] | None
    ) -> None:
        """StopTransaction: the register reads ``meter_stop``; the session is over."""
        connector_id = self.connector_of_transaction(str(transaction_id))
        if connector_id is None:
            # It started before this connection (or it ended already).
            # StopTransaction names no connector: it is the one plugged-in
            # connector without a known transaction, if there is exactly one.
            if not self._unknown_transaction(str(transaction_id)):
                return
            connector_id = self._attribute(str(transaction_id))
            if connector_id is None:
                return
            self._adopt_transaction(connector_id, str(transaction_id))
        if data:
            self._meter(connector_id, data)
        self.connector(connector_id).energy_wh = float(meter_stop)
        self._ended(connector_id)
        self.notify("on_status", connector_id)


def _now() -> str:
    return ocpp_time(datetime.now(UTC))


class _Handler16(GuardedCalls, _ChargePoint):  # type: ignore[misc]
    """Routes 1.6 messages (schema-validated by the library) to the station."""

    station: V16Station

    def __init__(self, station: V16Station, connection: Connection) -> None:
        super().__init__(
            station.id,
            connection,
            response_timeout=station.config.response_timeout_s,
            logger=station.wire_logger,
        )
        self.station = station

    @on(Action.boot_notification)
    def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> Any:
        serial = kwargs.get("charge_point_serial_number") or kwargs.get(
            "charge_box_serial_number"
        )
        accepted = self.station.boot_accepted(
            charge_point_vendor,
            charge_point_model,
            serial,
            kwargs.get("firmware_version"),
        )
        config = self.station.config
        return call_result.BootNotification(
            current_time=_now(),
            interval=config.heartbeat_s if accepted else config.pending_retry_s,
            status=RegistrationStatus.accepted
            if accepted
            else RegistrationStatus.pending,
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status_notification(self, connector_id: int, status: str, **_: Any) -> Any:
        self.station.report_status(self.station.check_connector(connector_id), status)
        return call_result.StatusNotification()

    @on(Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[Any], **kwargs: Any
    ) -> Any:
        self.station.meter_values(
            self.station.check_connector(connector_id),
            meter_value,
            kwargs.get("transaction_id"),
        )
        return call_result.MeterValues()

    @on(Action.start_transaction)
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, **_: Any
    ) -> Any:
        transaction_id = self.station.start_transaction(
            self.station.check_connector(connector_id), id_tag, meter_start
        )
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info=_ACCEPTED
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self, transaction_id: int, meter_stop: int, **kwargs: Any
    ) -> Any:
        self.station.stop_transaction(
            transaction_id, meter_stop, kwargs.get("transaction_data")
        )
        if kwargs.get("id_tag") is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info=_ACCEPTED)

    @on(Action.authorize)
    def on_authorize(self, **_: Any) -> Any:
        return call_result.Authorize(id_tag_info=_ACCEPTED)

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @on(Action.firmware_status_notification)
    def on_firmware_status_notification(self, **_: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(self, **_: Any) -> Any:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event_notification(self, **_: Any) -> Any:
        return call_result.SecurityEventNotification()

    @on(Action.log_status_notification)
    def on_log_status_notification(self, **_: Any) -> Any:
        return call_result.LogStatusNotification()

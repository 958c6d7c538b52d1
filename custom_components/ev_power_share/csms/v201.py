"""OCPP 2.0.1: the messages a station sends us, and our commands to it.

Our ``connector_id`` is the 2.0.1 EVSE id (each EVSE has one connector in the homes
and buildings we serve); connector 0 is the station as a whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
import itertools
import logging
from typing import Any

from ocpp.v201 import ChargePoint as _ChargePoint, call, call_result
from ocpp.v201.datatypes import (
    ComponentType,
    EVSEType,
    GetVariableDataType,
    IdTokenType,
    SetVariableDataType,
    VariableType,
)
from ocpp.v201.enums import (
    Action,
    AuthorizationStatusEnumType,
    ChargingRateUnitEnumType,
    DataTransferStatusEnumType,
    IdTokenEnumType,
    MessageTriggerEnumType,
    RegistrationStatusEnumType,
    ResetEnumType,
)

from ._ocpp import ocpp_time, on
from .logs import RateLimitedLog
from .profiles import (
    first_limit_a,
    v201_profile,
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

SMART_CHARGING = "SmartChargingCtrlr"
RATE_UNIT = "RateUnit"
STACK_LEVEL = "ProfileStackLevel"
"""The maximum stack level (1.6's ChargeProfileMaxStackLevel)."""
MEASURANDS = "Energy.Active.Import.Register,Current.Import,Power.Active.Import,SoC"
_ACCEPTED = {"status": AuthorizationStatusEnumType.accepted}
_VEHICLE_STATES = frozenset({"Charging", "EVConnected", "SuspendedEV", "SuspendedEVSE"})


def _variable(component: str, variable: str, value: str) -> Any:
    return SetVariableDataType(
        attribute_value=value,
        component=ComponentType(name=component),
        variable=VariableType(name=variable),
    )


class V201Station(Station):
    """A station speaking OCPP 2.0.1."""

    version = "2.0.1"

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
        super().__init__(
            station_id,
            connection,
            admission=admission,
            listener=listener,
            config=config,
            log=log,
        )
        self._handler = _Handler201(self, connection)
        self._remote_start_ids = itertools.count(1)

    @property
    def _cp(self) -> Any:
        return self._handler

    async def _configure_after_boot(self) -> None:
        interval = str(self.config.meter_interval_s)
        result = await self.call(
            call.SetVariables(
                set_variable_data=[
                    _variable("SampledDataCtrlr", "TxUpdatedInterval", interval),
                    _variable("SampledDataCtrlr", "TxUpdatedMeasurands", MEASURANDS),
                    _variable("AlignedDataCtrlr", "Interval", interval),
                    _variable("AlignedDataCtrlr", "Measurands", MEASURANDS),
                ]
            )
        )
        if result is not None:
            for item in result.set_variable_result:
                if item.get("attribute_status") not in ("Accepted", "RebootRequired"):
                    _LOGGER.info("%s: SetVariables %s", self.id, item)

    async def _read_smart_charging(self) -> SmartCharging:
        result = await self.call(
            call.GetVariables(
                get_variable_data=[
                    GetVariableDataType(
                        component=ComponentType(name=SMART_CHARGING),
                        variable=VariableType(name=name),
                    )
                    for name in (RATE_UNIT, STACK_LEVEL)
                ]
            )
        )
        values: dict[str, object] = {}
        for item in getattr(result, "get_variable_result", None) or ():
            if isinstance(item, dict) and item.get("attribute_status") == "Accepted":
                variable = item.get("variable")
                if isinstance(variable, dict):
                    values[str(variable.get("name"))] = item.get("attribute_value")
        return SmartCharging(
            rate_units=rate_units(values.get(RATE_UNIT)),
            max_stack_level=stack_level(values.get(STACK_LEVEL)),
        )

    async def _set_profile(self, evse_id: int, profile: Any) -> bool:
        if self.commandable:
            self.profile_ids.add(profile.id)
        result = await self.call(
            call.SetChargingProfile(evse_id=evse_id, charging_profile=profile)
        )
        return result is not None and result.status == "Accepted"

    _profile = staticmethod(v201_profile)

    async def _clear_profile(self, profile_id: int) -> None:
        await self.call(call.ClearChargingProfile(charging_profile_id=profile_id))

    async def composite_limit(
        self, connector_id: int, duration_s: int = 60
    ) -> float | None:
        result = await self.call(
            call.GetCompositeSchedule(
                duration=duration_s,
                evse_id=connector_id,
                charging_rate_unit=ChargingRateUnitEnumType.amps,
            )
        )
        if result is None or result.status != "Accepted":
            return None
        return first_limit_a(result.schedule)

    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        result = await self.call(
            call.RequestStartTransaction(
                id_token=IdTokenType(id_token=id_tag, type=IdTokenEnumType.central),
                remote_start_id=next(self._remote_start_ids),
                evse_id=connector_id,
            )
        )
        return result is not None and result.status == "Accepted"

    async def remote_stop(self, connector_id: int) -> bool:
        state = self.connectors.get(connector_id)
        if state is None or state.transaction_id is None:
            return False
        result = await self.call(
            call.RequestStopTransaction(transaction_id=state.transaction_id)
        )
        return result is not None and result.status == "Accepted"

    async def unlock(self, connector_id: int) -> bool:
        result = await self.call(
            call.UnlockConnector(evse_id=connector_id, connector_id=1)
        )
        return result is not None and result.status == "Unlocked"

    async def reset(self, hard: bool = False) -> bool:
        kind = ResetEnumType.immediate if hard else ResetEnumType.on_idle
        result = await self.call(call.Reset(type=kind))
        return result is not None and result.status in ("Accepted", "Scheduled")

    async def trigger_status(self, connectors: int) -> bool:
        """StatusNotification per EVSE (of its connector 1: 2.0.1 refuses one
        without a connector), then TransactionEvent per EVSE: a station sends it,
        with ``evse``, for an EVSE that runs a transaction, and refuses it for one
        that runs none."""
        ids = range(1, connectors + 1)
        return await self._trigger_all(
            [
                (
                    call.TriggerMessage(
                        requested_message=MessageTriggerEnumType.status_notification,
                        evse=EVSEType(id=evse_id, connector_id=1),
                    ),
                    evse_id,
                )
                for evse_id in ids
            ]
            + [
                (
                    call.TriggerMessage(
                        requested_message=MessageTriggerEnumType.transaction_event,
                        evse=EVSEType(id=evse_id),
                    ),
                    None,
                )
                for evse_id in ids
            ]
        )

    # --- messages from the station ---------------------------------------------

    def take_meter_values(self, evse_id: int, meter_value: list[Any] | None) -> bool:
        if not meter_value:
            return False
        return self.connector(evse_id).apply(
            self.parse_meter(meter_value), datetime.now(UTC)
        )

    def transaction_event(
        self,
        event_type: str,
        transaction_info: dict[str, Any],
        evse: dict[str, Any] | None,
        id_token: dict[str, Any] | None,
        meter_value: list[Any] | None,
    ) -> None:
        """TransactionEvent Started / Updated / Ended.

        Its EVSE: the ``evse`` it carries (a station sends it in the first event
        of a transaction, and in triggered ones), else the EVSE that runs the
        transaction. A transaction we did not see start (it started before this
        connection) that comes without ``evse`` is the one EVSE with a vehicle
        and no known transaction, if there is exactly one; with several (or
        none) it is not attributed: we never guess.
        """
        transaction_id = str(transaction_info["transaction_id"])
        evse_id = evse.get("id") if evse else None
        if not isinstance(evse_id, int):
            evse_id = self.connector_of_transaction(transaction_id)
            if evse_id is None and self._unknown_transaction(transaction_id):
                evse_id = self._attribute(transaction_id)
        if evse_id is None:
            _LOGGER.info("%s: event of unknown transaction %s", self.id, transaction_id)
            return
        state = self.connector(evse_id)
        changed = False
        if event_type == "Started":
            self._started(evse_id, transaction_id)
            state.session_start_wh = None
            changed = True
        elif state.transaction_id != transaction_id and self._unknown_transaction(
            transaction_id
        ):
            self._adopt_transaction(evse_id, transaction_id)
            changed = True
        if id_token:
            state.id_tag = id_token.get("id_token")
        charging_state = transaction_info.get("charging_state")
        if charging_state is not None and charging_state != state.charging_state:
            state.charging_state = charging_state
            state.set_vehicle(charging_state in _VEHICLE_STATES)
            changed = True
        metered = self.take_meter_values(evse_id, meter_value)
        if event_type == "Ended":
            self._ended(evse_id)
            changed = True
        if changed:
            self.notify("on_status", evse_id)
        if metered:
            self.notify("on_meter", evse_id)


def _now() -> str:
    return ocpp_time(datetime.now(UTC))


class _Handler201(GuardedCalls, _ChargePoint):  # type: ignore[misc]
    """Routes 2.0.1 messages (schema-validated by the library) to the station."""

    station: V201Station

    def __init__(self, station: V201Station, connection: Connection) -> None:
        super().__init__(
            station.id,
            connection,
            response_timeout=station.config.response_timeout_s,
            logger=station.wire_logger,
        )
        self.station = station

    @on(Action.boot_notification)
    def on_boot_notification(self, charging_station: dict[str, Any], **_: Any) -> Any:
        accepted = self.station.boot_accepted(
            charging_station.get("vendor_name"),
            charging_station.get("model"),
            charging_station.get("serial_number"),
            charging_station.get("firmware_version"),
        )
        config = self.station.config
        return call_result.BootNotification(
            current_time=_now(),
            interval=config.heartbeat_s if accepted else config.pending_retry_s,
            status=(
                RegistrationStatusEnumType.accepted
                if accepted
                else RegistrationStatusEnumType.pending
            ),
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status_notification(
        self, evse_id: int, connector_status: str, **_: Any
    ) -> Any:
        self.station.report_status(
            self.station.check_connector(evse_id), connector_status
        )
        return call_result.StatusNotification()

    @on(Action.meter_values)
    def on_meter_values(self, evse_id: int, meter_value: list[Any], **_: Any) -> Any:
        evse_id = self.station.check_connector(evse_id)
        if self.station.take_meter_values(evse_id, meter_value):
            self.station.notify("on_meter", evse_id)
        return call_result.MeterValues()

    @on(Action.transaction_event)
    def on_transaction_event(
        self, event_type: str, transaction_info: dict[str, Any], **kwargs: Any
    ) -> Any:
        id_token = kwargs.get("id_token")
        evse = kwargs.get("evse")
        if isinstance(evse, dict) and "id" in evse:
            self.station.check_connector(evse["id"])
        self.station.transaction_event(
            event_type,
            transaction_info,
            kwargs.get("evse"),
            id_token,
            kwargs.get("meter_value"),
        )
        if id_token is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=_ACCEPTED)

    @on(Action.authorize)
    def on_authorize(self, **_: Any) -> Any:
        return call_result.Authorize(id_token_info=_ACCEPTED)

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(
            status=DataTransferStatusEnumType.unknown_vendor_id
        )

    @on(Action.firmware_status_notification)
    def on_firmware_status_notification(self, **_: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event_notification(self, **_: Any) -> Any:
        return call_result.SecurityEventNotification()

    @on(Action.notify_report)
    def on_notify_report(self, **_: Any) -> Any:
        return call_result.NotifyReport()

    @on(Action.notify_event)
    def on_notify_event(self, **_: Any) -> Any:
        return call_result.NotifyEvent()

    @on(Action.log_status_notification)
    def on_log_status_notification(self, **_: Any) -> Any:
        return call_result.LogStatusNotification()

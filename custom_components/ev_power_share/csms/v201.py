"""OCPP 2.0.1: the messages a station sends us, and our commands to it.

Our ``connector_id`` is the 2.0.1 EVSE id (each EVSE has one connector in the homes
and buildings we serve); connector 0 is the station as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
import itertools
import logging
import re
from typing import Any, Unpack

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
    UpdateEnumType,
)

from ._ocpp import on
from .config import StationOptions
from .handler import Connection, StationHandler, ocpp_now
from .id_tokens import TokenAnswer
from .profiles import RateUnit, v201_profile
from .smart_charging import SmartCharging, rate_units, stack_level
from .state import ConnectorState
from .station import Station
from .tx_messages import TxKind, message, register_of, samples_of

_LOGGER = logging.getLogger(__name__)

SMART_CHARGING = "SmartChargingCtrlr"
RATE_UNIT = "RateUnit"
STACK_LEVEL = "ProfileStackLevel"
"""The maximum stack level (1.6's ChargeProfileMaxStackLevel)."""
MEASURANDS = "Energy.Active.Import.Register,Current.Import,Power.Active.Import,SoC"
_RFID_UID = re.compile(r"(?:[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})")
"""A card's uid in hex: 4, 7 or 10 bytes (ISO 14443)."""
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
        **options: Unpack[StationOptions],
    ) -> None:
        super().__init__(station_id, connection, **options)
        self._cp = _Handler201(self, connection)
        self._remote_start_ids = itertools.count(1)

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

    async def _local_list_version(self) -> int | None:
        result = await self.call(call.GetLocalListVersion())
        version = getattr(result, "version_number", None)
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            return None
        return version

    def _send_list_call(
        self, version: int, entries: Mapping[str, str | None], full: bool
    ) -> Any:
        items: list[dict[str, Any]] = []
        for token, status in entries.items():
            item: dict[str, Any] = {"id_token": _id_token(token)}
            if status is not None:
                item["id_token_info"] = {"status": status}
            items.append(item)
        return call.SendLocalList(
            version_number=version,
            update_type=UpdateEnumType.full if full else UpdateEnumType.differential,
            local_authorization_list=items,
        )

    _profile = staticmethod(v201_profile)

    def _set_profile_call(self, connector_id: int, profile: Any) -> Any:
        return call.SetChargingProfile(evse_id=connector_id, charging_profile=profile)

    def _clear_profile_call(self, profile_id: int) -> Any:
        return call.ClearChargingProfile(charging_profile_id=profile_id)

    def _composite_call(
        self, connector_id: int, duration_s: int, unit: RateUnit
    ) -> Any:
        return call.GetCompositeSchedule(
            duration=duration_s,
            evse_id=connector_id,
            charging_rate_unit=ChargingRateUnitEnumType(unit),
        )

    @staticmethod
    def _composite_schedule(result: Any) -> Any:
        return result.schedule

    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        return await self.succeeds(
            call.RequestStartTransaction(
                id_token=IdTokenType(id_token=id_tag, type=IdTokenEnumType.central),
                remote_start_id=next(self._remote_start_ids),
                evse_id=connector_id,
            )
        )

    async def remote_stop(self, connector_id: int) -> bool:
        transaction_id = self._transaction_of(connector_id)
        if transaction_id is None:
            return False
        return await self.succeeds(
            call.RequestStopTransaction(transaction_id=transaction_id)
        )

    async def unlock(self, connector_id: int) -> bool:
        return await self.succeeds(
            call.UnlockConnector(evse_id=connector_id, connector_id=1), "Unlocked"
        )

    async def reset(self, hard: bool = False) -> bool:
        kind = ResetEnumType.immediate if hard else ResetEnumType.on_idle
        return await self.succeeds(call.Reset(type=kind), "Accepted", "Scheduled")

    def _status_trigger(self, connector_id: int) -> Any:
        """Of the EVSE's connector 1: 2.0.1 refuses one without a connector."""
        return call.TriggerMessage(
            requested_message=MessageTriggerEnumType.status_notification,
            evse=EVSEType(id=connector_id, connector_id=1),
        )

    def _state_trigger(self, connector_id: int) -> Any:
        """TransactionEvent: a station sends it, with ``evse``, for an EVSE that
        runs a transaction, and refuses it for one that runs none."""
        return call.TriggerMessage(
            requested_message=MessageTriggerEnumType.transaction_event,
            evse=EVSEType(id=connector_id),
        )

    # --- messages from the station ---------------------------------------------

    def transaction_event(
        self,
        event_type: str,
        transaction_info: dict[str, Any],
        event: Mapping[str, Any],
    ) -> TokenAnswer | None:
        """TransactionEvent Started / Updated / Ended (``event``: its other
        fields); the answer to its id token, if it names one."""
        transaction_id = str(transaction_info["transaction_id"])
        evse_id = self._evse_of(transaction_id, event.get("evse"))
        id_token = event.get("id_token")
        answer = None
        if isinstance(id_token, dict):
            answer = self.answer_token(evse_id or 0, id_token.get("id_token"))
        user_id = None if answer is None else answer.user_id
        if evse_id is None:
            _LOGGER.info("%s: event of unknown transaction %s", self.id, transaction_id)
        else:
            user_id = self._track(evse_id, event_type, transaction_info, event, answer)
        self._tell_event(
            event_type, evse_id or 0, transaction_info, event, answer, user_id
        )
        return answer

    def _track(
        self,
        evse_id: int,
        event_type: str,
        transaction_info: dict[str, Any],
        event: Mapping[str, Any],
        answer: TokenAnswer | None,
    ) -> str | None:
        """Keep what an event tells of its EVSE; the user its transaction is
        booked to."""
        transaction_id = str(transaction_info["transaction_id"])
        state = self.connector(evse_id)
        changed = self._runs(evse_id, event_type, transaction_id)
        if answer is not None:
            state.id_tag = event["id_token"].get("id_token")
            state.user_id = answer.user_id
        user_id = state.user_id
        changed = _new_charging_state(state, transaction_info) or changed
        metered = self.take_meter_values(evse_id, event.get("meter_value"))
        if event_type == "Ended":
            self.transactions.ended(evse_id)
            state.user_id = None
            changed = True
        if changed:
            self.notify("on_status", evse_id)
        if metered:
            self.notify("on_meter", evse_id)
        return user_id

    def _tell_event(
        self,
        event_type: str,
        evse_id: int,
        transaction_info: dict[str, Any],
        event: Mapping[str, Any],
        answer: TokenAnswer | None,
        user_id: str | None,
    ) -> None:
        """A transaction event, for the session ledger."""
        kind = {"Started": TxKind.STARTED, "Ended": TxKind.ENDED}.get(
            event_type, TxKind.UPDATED
        )
        samples = samples_of(event.get("meter_value"))
        id_token = event.get("id_token") or {}
        self.tell_transaction(
            message(
                kind,
                self.id,
                evse_id,
                str(transaction_info["transaction_id"]),
                event.get("timestamp"),
                offline=bool(event.get("offline", False)),
                id_token=id_token.get("id_token"),
                user_id=user_id,
                status=None if answer is None else answer.status,
                meter_wh=None
                if kind is TxKind.UPDATED
                else register_of(samples, last=kind is TxKind.ENDED),
                samples=samples,
                reason=transaction_info.get("stopped_reason"),
            )
        )

    def _evse_of(self, transaction_id: str, evse: dict[str, Any] | None) -> int | None:
        """The EVSE of a transaction event: the ``evse`` it carries (a station
        sends it in the first event of a transaction, and in triggered ones), else
        the EVSE that runs the transaction. A transaction we did not see start (it
        started before this connection) that comes without ``evse`` is the one
        EVSE with a vehicle and no known transaction, if there is exactly one;
        with several (or none) it is not attributed: we never guess."""
        evse_id = evse.get("id") if evse else None
        if isinstance(evse_id, int):
            return evse_id
        return self.transactions.find(transaction_id)

    def _runs(self, evse_id: int, event_type: str, transaction_id: str) -> bool:
        """The transaction of an event runs on its EVSE: it started, or it started
        before this connection (adopted). True if that is news."""
        if event_type == "Started":
            self.transactions.started(evse_id, transaction_id)
            self.connector(evse_id).session_start_wh = None
            return True
        known = self.connector(evse_id).transaction_id == transaction_id
        if not known and self.transactions.unknown(transaction_id):
            self.transactions.adopt(evse_id, transaction_id)
            return True
        return False


def _new_charging_state(
    state: ConnectorState, transaction_info: dict[str, Any]
) -> bool:
    """Store the charging state an event tells (and whether a vehicle is
    plugged in); True if it changed."""
    charging_state = transaction_info.get("charging_state")
    if charging_state is None or charging_state == state.charging_state:
        return False
    state.charging_state = charging_state
    state.set_vehicle(charging_state in _VEHICLE_STATES)
    return True


class _Handler201(StationHandler, _ChargePoint):  # type: ignore[misc]
    """Routes 2.0.1 messages to the station."""

    station: V201Station
    acknowledged = (
        call_result.FirmwareStatusNotification,
        call_result.SecurityEventNotification,
        call_result.NotifyReport,
        call_result.NotifyEvent,
        call_result.LogStatusNotification,
    )

    @on(Action.boot_notification)
    def on_boot_notification(self, charging_station: dict[str, Any], **_: Any) -> Any:
        accepted = self.station.boot_accepted(
            charging_station.get("vendor_name"),
            charging_station.get("model"),
            charging_station.get("serial_number"),
            charging_station.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=ocpp_now(),
            interval=self.boot_interval(accepted),
            status=(
                RegistrationStatusEnumType.accepted
                if accepted
                else RegistrationStatusEnumType.pending
            ),
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=ocpp_now())

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
        evse = kwargs.get("evse")
        if isinstance(evse, dict) and "id" in evse:
            self.station.check_connector(evse["id"])
        answer = self.station.transaction_event(event_type, transaction_info, kwargs)
        if answer is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=_token_info(answer))

    @on(Action.authorize)
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        answer = self.station.answer_token(0, id_token.get("id_token"))
        return call_result.Authorize(id_token_info=_token_info(answer))

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(
            status=DataTransferStatusEnumType.unknown_vendor_id
        )


def _token_info(answer: TokenAnswer) -> dict[str, Any]:
    """2.0.1 IdTokenInfo of an answer (its status is one 2.0.1 knows: screened)."""
    return {"status": AuthorizationStatusEnumType(answer.status)}


def _id_token(token: str) -> dict[str, str]:
    """An IdToken of a list entry: a card's uid is ISO 14443, any other token
    one of the site's own (Local)."""
    kind = (
        IdTokenEnumType.iso14443
        if _RFID_UID.fullmatch(token)
        else IdTokenEnumType.local
    )
    return {"id_token": token, "type": kind}

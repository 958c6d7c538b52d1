"""OCPP 1.6J: the messages a station sends us, and our commands to it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import logging
from typing import Any, Unpack

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
    UpdateType,
)

from ._ocpp import on
from .config import StationOptions
from .handler import Connection, StationHandler, ocpp_now
from .id_tokens import TokenAnswer
from .profiles import RateUnit, v16_profile
from .smart_charging import SmartCharging, rate_units, stack_level
from .station import Station
from .tx_messages import TxKind, message, samples_of

_LOGGER = logging.getLogger(__name__)

RATE_UNIT_KEY = "ChargingScheduleAllowedChargingRateUnit"
STACK_LEVEL_KEY = "ChargeProfileMaxStackLevel"
FEATURE_PROFILES_KEY = "SupportedFeatureProfiles"
LOCAL_LIST_PROFILE = "LocalAuthListManagement"
MEASURANDS = "Energy.Active.Import.Register,Current.Import,Power.Active.Import,SoC"
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
        next_transaction_id: Callable[[], int],
        **options: Unpack[StationOptions],
    ) -> None:
        super().__init__(station_id, connection, **options)
        self._next_transaction_id = next_transaction_id
        self._cp = _Handler16(self, connection)

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

    async def _configuration(self, *keys: str) -> dict[str, object]:
        """The values of configuration keys the station reports."""
        result = await self.call(call.GetConfiguration(key=list(keys)))
        values: dict[str, object] = {}
        for item in getattr(result, "configuration_key", None) or ():
            if isinstance(item, dict):
                values[str(item.get("key"))] = item.get("value")
        return values

    async def _read_smart_charging(self) -> SmartCharging:
        values = await self._configuration(RATE_UNIT_KEY, STACK_LEVEL_KEY)
        return SmartCharging(
            rate_units=rate_units(values.get(RATE_UNIT_KEY)),
            max_stack_level=stack_level(values.get(STACK_LEVEL_KEY)),
        )

    async def _local_list_version(self) -> int | None:
        """Asked only of a station with the LocalAuthListManagement feature
        profile (or that does not say which it has); -1 says it has none."""
        profiles = (await self._configuration(FEATURE_PROFILES_KEY)).get(
            FEATURE_PROFILES_KEY
        )
        if isinstance(profiles, str) and LOCAL_LIST_PROFILE not in {
            p.strip() for p in profiles.split(",")
        }:
            return None
        result = await self.call(call.GetLocalListVersion())
        version = getattr(result, "list_version", None)
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            return None
        return version

    def _send_list_call(
        self, version: int, entries: Mapping[str, str | None], full: bool
    ) -> Any:
        return call.SendLocalList(
            list_version=version,
            update_type=UpdateType.full if full else UpdateType.differential,
            local_authorization_list=[
                {"id_tag": token}
                if status is None
                else {"id_tag": token, "id_tag_info": {"status": status}}
                for token, status in entries.items()
            ],
        )

    _profile = staticmethod(v16_profile)

    def _set_profile_call(self, connector_id: int, profile: Any) -> Any:
        return call.SetChargingProfile(
            connector_id=connector_id, cs_charging_profiles=profile
        )

    def _clear_profile_call(self, profile_id: int) -> Any:
        return call.ClearChargingProfile(id=profile_id)

    def _composite_call(
        self, connector_id: int, duration_s: int, unit: RateUnit
    ) -> Any:
        return call.GetCompositeSchedule(
            connector_id=connector_id,
            duration=duration_s,
            charging_rate_unit=ChargingRateUnitType(unit),
        )

    @staticmethod
    def _composite_schedule(result: Any) -> Any:
        return result.charging_schedule

    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        return await self.succeeds(
            call.RemoteStartTransaction(id_tag=id_tag, connector_id=connector_id)
        )

    async def remote_stop(self, connector_id: int) -> bool:
        transaction_id = self._transaction_of(connector_id)
        if transaction_id is None:
            return False
        try:
            number = int(transaction_id)
        except ValueError:
            return False
        return await self.succeeds(call.RemoteStopTransaction(transaction_id=number))

    async def unlock(self, connector_id: int) -> bool:
        return await self.succeeds(
            call.UnlockConnector(connector_id=connector_id), "Unlocked"
        )

    async def reset(self, hard: bool = False) -> bool:
        kind = ResetType.hard if hard else ResetType.soft
        return await self.succeeds(call.Reset(type=kind))

    def _status_trigger(self, connector_id: int) -> Any:
        return call.TriggerMessage(
            requested_message=MessageTrigger.status_notification,
            connector_id=connector_id,
        )

    def _state_trigger(self, connector_id: int) -> Any:
        """MeterValues: they carry the transaction id of a running transaction."""
        return call.TriggerMessage(
            requested_message=MessageTrigger.meter_values,
            connector_id=connector_id,
        )

    # --- messages from the station ---------------------------------------------

    def _meter(self, connector_id: int, meter_value: list[Any]) -> None:
        if self.take_meter_values(connector_id, meter_value):
            self.notify("on_meter", connector_id)

    def meter_values(
        self, connector_id: int, meter_value: list[Any], transaction_id: int | None
    ) -> None:
        """MeterValues; one naming a transaction we did not see start (it started
        before this connection) makes it the connector's."""
        if (
            transaction_id is not None
            and connector_id > 0
            and self.transactions.adoptable(connector_id, str(transaction_id))
        ):
            self.transactions.adopt(connector_id, str(transaction_id))
            self.notify("on_status", connector_id)
        self._meter(connector_id, meter_value)
        if transaction_id is not None:
            self._tell_meter(connector_id, str(transaction_id), meter_value)

    def _tell_meter(
        self, connector_id: int, transaction_id: str, meter_value: list[Any]
    ) -> None:
        """Meter values of a transaction, for the session ledger."""
        samples = samples_of(meter_value)
        if not samples:
            return
        state = self.connector(connector_id)
        self.tell_transaction(
            message(
                TxKind.UPDATED,
                self.id,
                connector_id,
                transaction_id,
                samples[-1].at,
                user_id=state.user_id
                if state.transaction_id == transaction_id
                else None,
                samples=samples,
            )
        )

    def start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        answer: TokenAnswer,
        station_time: object = None,
    ) -> int:
        """StartTransaction: a new transaction id, the session starts at
        ``meter_start`` (at the station's ``station_time``), booked to the user
        of ``id_tag`` (``answer``)."""
        transaction_id = self._next_transaction_id()
        self.transactions.started(connector_id, str(transaction_id))
        state = self.connector(connector_id)
        state.id_tag = id_tag
        state.user_id = answer.user_id
        state.session_start_wh = float(meter_start)
        state.energy_wh = float(meter_start)
        state.vehicle_connected = True
        self.notify("on_status", connector_id)
        self.tell_transaction(
            message(
                TxKind.STARTED,
                self.id,
                connector_id,
                str(transaction_id),
                station_time,
                id_token=id_tag,
                user_id=answer.user_id,
                status=answer.status,
                meter_wh=float(meter_start),
            )
        )
        return transaction_id

    def stop_transaction(
        self, transaction_id: int, meter_stop: int, stop: Mapping[str, Any]
    ) -> TokenAnswer | None:
        """StopTransaction: the register reads ``meter_stop``; the session is
        over. ``stop``: its other fields (the id tag, why, when, the
        transaction data). The answer to its id tag, if it names one.

        It names no connector: one that started before this connection (we did
        not see it start) is the one plugged-in connector without a known
        transaction, if there is exactly one (else it is told as connector 0)."""
        connector_id = self.transactions.find(str(transaction_id))
        user_id = None
        if connector_id is not None:
            user_id = self._end(connector_id, transaction_id, meter_stop, stop)
        id_tag = stop.get("id_tag")
        answer = (
            None if id_tag is None else self.answer_token(connector_id or 0, id_tag)
        )
        self.tell_transaction(
            message(
                TxKind.ENDED,
                self.id,
                connector_id or 0,
                str(transaction_id),
                stop.get("timestamp"),
                id_token=id_tag,
                user_id=user_id or (answer and answer.user_id),
                status=None if answer is None else answer.status,
                meter_wh=float(meter_stop),
                samples=samples_of(stop.get("transaction_data")),
                reason=stop.get("reason"),
            )
        )
        return answer

    def _end(
        self,
        connector_id: int,
        transaction_id: int,
        meter_stop: int,
        stop: Mapping[str, Any],
    ) -> str | None:
        """End a connector's transaction; the user it was booked to."""
        if self.transactions.unknown(str(transaction_id)):
            self.transactions.adopt(connector_id, str(transaction_id))
        if data := stop.get("transaction_data"):
            self._meter(connector_id, data)
        state = self.connector(connector_id)
        user_id = state.user_id
        state.energy_wh = float(meter_stop)
        state.user_id = None
        self.transactions.ended(connector_id)
        self.notify("on_status", connector_id)
        return user_id


class _Handler16(StationHandler, _ChargePoint):  # type: ignore[misc]
    """Routes 1.6 messages to the station."""

    station: V16Station
    acknowledged = (
        call_result.FirmwareStatusNotification,
        call_result.DiagnosticsStatusNotification,
        call_result.SecurityEventNotification,
        call_result.LogStatusNotification,
    )

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
        return call_result.BootNotification(
            current_time=ocpp_now(),
            interval=self.boot_interval(accepted),
            status=RegistrationStatus.accepted
            if accepted
            else RegistrationStatus.pending,
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=ocpp_now())

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
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: str,
        **_: Any,
    ) -> Any:
        connector = self.station.check_connector(connector_id)
        answer = self.station.answer_token(connector, id_tag)
        transaction_id = self.station.start_transaction(
            connector, id_tag, meter_start, answer, timestamp
        )
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info=_tag_info(answer)
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self, transaction_id: int, meter_stop: int, **kwargs: Any
    ) -> Any:
        answer = self.station.stop_transaction(transaction_id, meter_stop, kwargs)
        if answer is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info=_tag_info(answer))

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        answer = self.station.answer_token(0, id_tag)
        return call_result.Authorize(id_tag_info=_tag_info(answer))

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)


def _tag_info(answer: TokenAnswer) -> dict[str, Any]:
    """1.6 IdTagInfo of an answer (its status is one 1.6 knows: screened)."""
    return {"status": AuthorizationStatus(answer.status)}

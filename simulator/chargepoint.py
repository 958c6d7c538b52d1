"""A simulated OCPP charge point (1.6J or 2.0.1) over a real websocket.

It connects as a client with aiohttp, answers the central system's commands with the
``ocpp`` library's ChargePoint classes (schema-validated both ways), keeps the
charging profiles it receives in a :class:`~.smart.SmartCharging` engine and can say
at any instant which current it would allow (:meth:`effective_limit`), and when that
changed (:meth:`limit_changes`, :attr:`limit_log`).

    async with SimulatedChargePoint("cp-1", "ws://127.0.0.1:9000", version="2.0.1") as cp:
        await cp.boot()
        await cp.plug_in(1)
        await cp.start_transaction(1, "TAG")
        await cp.send_meter_values(1, currents=(16, 16, 16), energy_wh=1200)
        await cp.reconnect()  # a network blip: no BootNotification, state kept

It answers TriggerMessage as chargers do: Accepted, then the requested messages
(sent after the response), or as told by ``trigger_message``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
import itertools
import logging
import ssl
from typing import Any, Literal, Self, cast
import uuid

import aiohttp
from ocpp.exceptions import (
    NotImplementedError as OcppNotImplementedError,
    NotSupportedError as OcppNotSupportedError,
)
from ocpp.routing import after as _after, on as _on
from ocpp.v16 import (
    ChargePoint as ChargePoint16,
    call as call16,
    call_result as result16,
)
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import (
    ChargePoint as ChargePoint201,
    call as call201,
    call_result as result201,
)
from ocpp.v201.enums import Action as Action201

from .local_list import LocalAuthList, OfflineQueue
from .smart import Profile, SmartCharging

_LOGGER = logging.getLogger(__name__)

Version = Literal["1.6", "2.0.1"]
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
TriggerAnswer = Literal["Accepted", "Rejected", "NotImplemented", "CallError"]
CONNECT_ERRORS = (aiohttp.ClientError, OSError)


def on[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """The library's ``@on`` route decorator, typed for mypy."""
    return cast("Callable[[F], F]", _on(action))


def after[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """The library's ``@after`` hook decorator (runs once the response is sent)."""
    return cast("Callable[[F], F]", _after(action))


def _ocpp_time(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class _ClientConnection:
    """``send``/``recv`` for the ``ocpp`` library over an aiohttp client websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    async def send(self, message: str) -> None:
        if self._ws.closed:
            raise ConnectionResetError("websocket closed")
        await self._ws.send_str(message)

    async def recv(self) -> str:
        msg = await self._ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            return str(msg.data)
        raise ConnectionResetError(f"websocket closed ({msg.type.name})")


class SimulatedChargePoint:
    """One simulated charge point with ``connectors`` connectors (EVSEs in 2.0.1)."""

    def __init__(
        self,
        station_id: str,
        url: str,
        *,
        version: Version = "1.6",
        password: str | None = None,
        connectors: int = 1,
        max_current_a: float = 32.0,
        vendor: str = "EV Power Share",
        model: str = "Simulator",
        serial: str | None = None,
        firmware: str = "1.0.0",
        clock: Callable[[], datetime] | None = None,
        response_timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        composite_schedule: bool = True,
        obeys_profiles: bool = True,
        trigger_message: TriggerAnswer = "Accepted",
        rate_units: tuple[str, ...] = ("A", "W"),
        max_stack_level: int = 8,
        local_auth_list: bool = True,
    ) -> None:
        """``composite_schedule=False``: GetCompositeSchedule is answered Rejected,
        as by chargers that do not implement it. ``obeys_profiles=False``:
        SetChargingProfile is answered Accepted but the profile is dropped, as when
        the charger's own load management or a vendor cloud drives it; its limit
        stays at its own maximum. ``trigger_message``: how TriggerMessage is
        answered; ``"Accepted"`` (the default) sends the requested messages after
        the response; ``"Rejected"`` and ``"NotImplemented"`` are the response's
        status, ``"CallError"`` a CALLERROR NotImplemented (as from chargers without
        the feature), and nothing is sent. ``rate_units``: the units its charging
        schedules take ("A", "W"; a profile in another is Rejected), reported as
        ``ChargingScheduleAllowedChargingRateUnit`` (1.6) / SmartChargingCtrlr
        ``RateUnit`` (2.0.1); ``max_stack_level``: the highest stack level it
        takes (``ChargeProfileMaxStackLevel`` / ``ProfileStackLevel``). All may be
        changed while it runs. ``local_auth_list``: whether it keeps a local
        authorisation list (1.6 feature profile LocalAuthListManagement)."""
        self.id = station_id
        self.url = f"{url.rstrip('/')}/{station_id}"
        self.version: Version = version
        self.password = password
        self.connectors = connectors
        self.vendor, self.model, self.firmware = vendor, model, firmware
        self.serial = serial or f"SIM-{station_id}"
        self.clock = clock or (lambda: datetime.now(UTC))
        self.response_timeout = response_timeout
        self.ssl_context = ssl_context
        """For a wss:// url: the context that trusts the central system's certificate."""
        self.composite_schedule = composite_schedule
        self.obeys_profiles = obeys_profiles
        self.trigger_message: TriggerAnswer = trigger_message
        self.rate_units = rate_units
        self.max_stack_level = max_stack_level
        self.smart = SmartCharging(max_current_a, self.clock())
        self.configuration: dict[str, str] = {}
        """Keys set by ChangeConfiguration (1.6) / ``Component.Variable`` by SetVariables."""
        self.received: list[tuple[str, dict[str, Any]]] = []
        """Every command received: (action, snake_cased payload)."""
        self.limit_log: list[tuple[datetime, int, float]] = []
        """(when, connector, new limit) each time a command or transaction changed it."""
        self.plugged: dict[int, bool] = dict.fromkeys(range(1, connectors + 1), False)
        self.transactions: dict[int, str] = {}
        self.energy_wh: dict[int, float] = dict.fromkeys(range(1, connectors + 1), 0.0)
        self.statuses: dict[int, str] = {}
        """The last status sent per connector (a triggered report repeats it)."""
        self.measurements: dict[int, dict[str, Any]] = {}
        """The last currents, power and SoC sent per connector (reported again when
        asked, with the energy register)."""
        self.boot_status: str | None = None
        self.local_list = LocalAuthList(supported=local_auth_list)
        """Its local authorisation list (Authorize reads it while offline)."""
        self.queue = OfflineQueue()
        """Transaction messages made while offline, sent on reconnection."""
        self.start_status: dict[int, str] = {}
        """How the central system answered the id tag of each connector's last
        transaction start."""
        self._offline_ids = itertools.count(1)
        self._assigned_ids: dict[str, str] = {}
        self.unlocked: list[int] = []
        self.resets: list[str] = []
        self._seq = itertools.count()
        self._remote_ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._cp: Any = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_limits: dict[int, float] = {}
        self._record_limits()

    # --- connection ------------------------------------------------------------

    async def connect(self, *, protocols: tuple[str, ...] | None = None) -> None:
        """Open the websocket (raises aiohttp.WSServerHandshakeError if refused)."""
        self._session = aiohttp.ClientSession()
        headers = {}
        if self.password is not None:  # HTTP Basic, OCPP security profile 1
            token = base64.b64encode(f"{self.id}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        try:
            self._ws = await self._session.ws_connect(
                self.url,
                protocols=protocols or (SUBPROTOCOL[self.version],),
                headers=headers,
                ssl=self.ssl_context if self.ssl_context is not None else True,
            )
        except BaseException:
            await self._session.close()
            self._session = None
            raise
        connection = _ClientConnection(self._ws)
        handler = _Handler16 if self.version == "1.6" else _Handler201
        self._cp = handler(self, connection)
        self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await self._cp.start()
        except ConnectionError:
            _LOGGER.debug("%s: connection closed", self.id)

    @property
    def connected(self) -> bool:
        """True while the websocket is open."""
        return self._ws is not None and not self._ws.closed

    async def wait_closed(self) -> None:
        """Until the central system (or we) closed the websocket."""
        if self._runner is not None:
            await asyncio.shield(self._runner)

    async def close(self) -> None:
        """Close the websocket and stop every background task."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self._ws = self._session = self._runner = None

    async def reconnect(self, *, within: float = 0.0, retry_s: float = 0.2) -> None:
        """Close the websocket and connect again, without booting: plugged vehicles,
        transactions, profiles and configuration are kept, as by a charger whose
        network blipped or whose central system restarted. Retries for ``within``
        seconds while the central system is not there (then raises). Once
        connected, the transaction messages queued meanwhile are sent."""
        await self.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                await self.connect()
            except CONNECT_ERRORS:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(retry_s)
            else:
                await self.queue.flush()
                return

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, payload: Any) -> Any:
        return await asyncio.wait_for(
            self._cp.call(payload, suppress=False), self.response_timeout
        )

    # --- smart charging --------------------------------------------------------

    def effective_limit(self, connector: int, now: datetime | None = None) -> float:
        """The current (A per phase) this charger allows on a connector at ``now``."""
        return self.smart.limit(connector, now or self.clock())

    def limit_changes(
        self, connector: int, until: datetime | None = None
    ) -> list[tuple[datetime, float]]:
        """Every change of a connector's limit before ``until`` (default now), including
        the ones time alone makes (a ``validTo`` passing)."""
        return self.smart.changes(connector, until or self.clock())

    def _record_limits(self, now: datetime | None = None) -> None:
        now = now or self.clock()
        for connector in range(1, self.connectors + 1):
            limit = self.smart.limit(connector, now)
            if self._last_limits.get(connector) != limit:
                self._last_limits[connector] = limit
                self.limit_log.append((now, connector, limit))

    def _transaction_changed(self, connector: int, transaction_id: str | None) -> None:
        now = self.clock()
        if transaction_id is None:
            self.smart.stop_transaction(connector, now)
        else:
            self.smart.start_transaction(connector, transaction_id, now)
        self._record_limits(now)

    def store_profile(self, connector: int, data: dict[str, Any]) -> bool:
        if not 0 <= connector <= self.connectors:
            return False
        now = self.clock()
        try:
            profile = Profile.from_ocpp(connector, data, now)
            schedule = data["charging_schedule"]
            if isinstance(schedule, list):
                schedule = schedule[0]
            unit = schedule["charging_rate_unit"]
        except (KeyError, TypeError, ValueError, IndexError):
            return False
        if unit not in self.rate_units or profile.stack_level > self.max_stack_level:
            return False
        if not self.obeys_profiles:
            return True  # "Accepted", and ignored
        accepted = self.smart.add(profile, now)
        self._record_limits(now)
        return accepted

    def clear_profiles(self, **criteria: Any) -> bool:
        now = self.clock()
        cleared = self.smart.clear(now, **criteria)
        self._record_limits(now)
        return cleared

    def composite(self, connector: int, duration: int) -> list[dict[str, Any]]:
        now = self.clock()
        periods = [
            {"start_period": 0, "limit": round(self.smart.limit(connector, now), 1)}
        ]
        for at, limit in self.smart.changes(
            connector, now + timedelta(seconds=duration)
        ):
            offset = int((at - now).total_seconds())
            if 0 < offset < duration and round(limit, 1) != periods[-1]["limit"]:
                periods.append({"start_period": offset, "limit": round(limit, 1)})
        return periods

    # --- what a charger sends ----------------------------------------------------

    async def boot(self) -> str:
        """BootNotification; returns the status (Accepted, Pending, Rejected)."""
        if self.version == "1.6":
            result = await self._call(
                call16.BootNotification(
                    charge_point_model=self.model,
                    charge_point_vendor=self.vendor,
                    charge_point_serial_number=self.serial,
                    firmware_version=self.firmware,
                )
            )
        else:
            result = await self._call(
                call201.BootNotification(
                    charging_station={
                        "vendor_name": self.vendor,
                        "model": self.model,
                        "serial_number": self.serial,
                        "firmware_version": self.firmware,
                    },
                    reason="PowerUp",
                )
            )
        self.boot_status = str(result.status)
        return self.boot_status

    async def heartbeat(self) -> None:
        """Heartbeat."""
        await self._call(
            call16.Heartbeat() if self.version == "1.6" else call201.Heartbeat()
        )

    async def status(self, connector: int, status: str) -> None:
        """StatusNotification with a raw status of the protocol version (not
        sent while offline: a charger reports its status when it reconnects)."""
        self.statuses[connector] = status
        if not self.connected:
            return
        if self.version == "1.6":
            await self._call(
                call16.StatusNotification(
                    connector_id=connector, error_code="NoError", status=status
                )
            )
        else:
            await self._call(
                call201.StatusNotification(
                    timestamp=_ocpp_time(self.clock()),
                    connector_status=status,
                    evse_id=connector,
                    connector_id=1,
                )
            )

    async def plug_in(self, connector: int = 1) -> None:
        """A vehicle is plugged in."""
        self.plugged[connector] = True
        await self.status(
            connector, "Preparing" if self.version == "1.6" else "Occupied"
        )

    async def unplug(self, connector: int = 1) -> None:
        """The vehicle leaves."""
        self.plugged[connector] = False
        await self.status(connector, "Available")

    async def authorize(self, id_tag: str) -> bool:
        """Authorize; True if accepted. Offline, its local list answers."""
        if not self.connected:
            return self.local_list.accepts(id_tag)
        if self.version == "1.6":
            result = await self._call(call16.Authorize(id_tag=id_tag))
            return bool(result.id_tag_info["status"] == "Accepted")
        result = await self._call(
            call201.Authorize(id_token={"id_token": id_tag, "type": "ISO14443"})
        )
        return bool(result.id_token_info["status"] == "Accepted")

    def _energy_sample(self, connector: int) -> dict[str, Any]:
        return {
            "timestamp": _ocpp_time(self.clock()),
            "sampled_value": [
                {
                    "value": self.energy_wh[connector],
                    "measurand": "Energy.Active.Import.Register",
                    "unit_of_measure": {"unit": "Wh"},
                }
            ],
        }

    async def _send_or_queue(self, send: Callable[[], Awaitable[None]]) -> None:
        """A transaction message: sent now, or queued while offline (then its
        timestamp is when it happened, and it goes out on reconnection)."""
        if self.connected:
            await send()
        else:
            self.queue.add(send)

    def _transaction_id(self, local_id: str) -> str:
        """The id a (1.6) transaction got from the central system; one that
        started offline has a local id until its StartTransaction is answered."""
        return self._assigned_ids.get(local_id, local_id)

    async def start_transaction(
        self,
        connector: int,
        id_tag: str,
        *,
        meter_start_wh: float | None = None,
        remote_start_id: int | None = None,
    ) -> str:
        """Start a transaction; returns its id (the central system's, in 1.6;
        offline, a local one until its queued start is answered). The answer to
        its id tag is in :attr:`start_status`."""
        if meter_start_wh is not None:
            self.energy_wh[connector] = meter_start_wh
        if self.version == "1.6":
            transaction_id = await self._start_16(connector, id_tag)
            await self.status(connector, "Charging")
            return transaction_id
        transaction_id = uuid.uuid4().hex[:16]
        self.transactions[connector] = transaction_id
        self._transaction_changed(connector, transaction_id)
        info: dict[str, Any] = {
            "transaction_id": transaction_id,
            "charging_state": "Charging",
        }
        if remote_start_id is not None:
            info["remote_start_id"] = remote_start_id
        event = call201.TransactionEvent(
            event_type="Started",
            timestamp=_ocpp_time(self.clock()),
            trigger_reason="RemoteStart"
            if remote_start_id is not None
            else "Authorized",
            seq_no=next(self._seq),
            transaction_info=info,
            evse={"id": connector, "connector_id": 1},
            id_token={"id_token": id_tag, "type": "ISO14443"},
            meter_value=[self._energy_sample(connector)],
            offline=None if self.connected else True,
        )

        async def send() -> None:
            result = await self._call(event)
            self.start_status[connector] = result.id_token_info["status"]

        await self._send_or_queue(send)
        return transaction_id

    async def _start_16(self, connector: int, id_tag: str) -> str:
        start = call16.StartTransaction(
            connector_id=connector,
            id_tag=id_tag,
            meter_start=int(self.energy_wh[connector]),
            timestamp=_ocpp_time(self.clock()),
        )
        local_id = f"offline-{next(self._offline_ids)}"

        async def send() -> None:
            result = await self._call(start)
            self.start_status[connector] = result.id_tag_info["status"]
            assigned = str(result.transaction_id)
            self._assigned_ids[local_id] = assigned
            if self.transactions.get(connector) == local_id:
                self.transactions[connector] = assigned
                self._transaction_changed(connector, assigned)

        self.transactions[connector] = local_id
        self._transaction_changed(connector, local_id)
        await self._send_or_queue(send)
        return self.transactions[connector]

    async def stop_transaction(
        self,
        connector: int,
        *,
        meter_stop_wh: float | None = None,
        reason: str = "Local",
    ) -> None:
        """Stop the transaction on a connector (queued while offline)."""
        transaction_id = self.transactions.pop(connector)
        if meter_stop_wh is not None:
            self.energy_wh[connector] = meter_stop_wh
        self._transaction_changed(connector, None)
        if self.version == "1.6":
            meter_stop, at = int(self.energy_wh[connector]), self.clock()

            async def send() -> None:
                await self._call(
                    call16.StopTransaction(
                        meter_stop=meter_stop,
                        timestamp=_ocpp_time(at),
                        transaction_id=int(self._transaction_id(transaction_id)),
                        reason=reason,
                    )
                )

            await self._send_or_queue(send)
            await self.status(connector, "Finishing")
            return
        await self._send_or_queue(
            self._sender(
                call201.TransactionEvent(
                    event_type="Ended",
                    timestamp=_ocpp_time(self.clock()),
                    trigger_reason="RemoteStop"
                    if reason == "Remote"
                    else "StopAuthorized",
                    seq_no=next(self._seq),
                    transaction_info={
                        "transaction_id": transaction_id,
                        "charging_state": "EVConnected",
                        "stopped_reason": reason,
                    },
                    evse={"id": connector, "connector_id": 1},
                    meter_value=[self._energy_sample(connector)],
                    offline=None if self.connected else True,
                )
            )
        )

    def _sender(self, payload: Any) -> Callable[[], Awaitable[None]]:
        """Sends a message built now (its time is now) when it is sent."""

        async def send() -> None:
            await self._call(payload)

        return send

    async def send_meter_values(
        self,
        connector: int = 1,
        *,
        currents: tuple[float, ...] = (),
        power_w: float | None = None,
        energy_wh: float | None = None,
        energy_unit: Literal["Wh", "kWh"] = "Wh",
        soc: float | None = None,
    ) -> None:
        """MeterValues (or a 2.0.1 TransactionEvent Updated during a
        transaction); a transaction's are queued while offline, others are
        not sent."""
        self.measurements[connector] = {
            "currents": currents,
            "power_w": power_w,
            "soc": soc,
        }
        if energy_wh is not None:
            self.energy_wh[connector] = energy_wh
        meter_value = self._meter_value(
            currents=currents,
            power_w=power_w,
            energy_wh=energy_wh,
            energy_unit=energy_unit,
            soc=soc,
            context="Sample.Periodic",
        )
        transaction_id = self.transactions.get(connector)
        if transaction_id is None and not self.connected:
            return
        if self.version == "1.6":
            await self._meter_values_16(connector, meter_value, transaction_id)
        elif transaction_id is not None:
            await self._send_or_queue(
                self._sender(
                    call201.TransactionEvent(
                        event_type="Updated",
                        timestamp=_ocpp_time(self.clock()),
                        trigger_reason="MeterValuePeriodic",
                        seq_no=next(self._seq),
                        transaction_info={
                            "transaction_id": transaction_id,
                            "charging_state": "Charging",
                        },
                        meter_value=meter_value,
                        offline=None if self.connected else True,
                    )
                )
            )
        else:
            await self._call(
                call201.MeterValues(evse_id=connector, meter_value=meter_value)
            )

    async def _meter_values_16(
        self, connector: int, meter_value: list[dict[str, Any]], local_id: str | None
    ) -> None:
        async def send() -> None:
            transaction_id = (
                None if local_id is None else self._transaction_id(local_id)
            )
            await self._call(
                call16.MeterValues(
                    connector_id=connector,
                    meter_value=meter_value,
                    transaction_id=int(transaction_id) if transaction_id else None,
                )
            )

        await self._send_or_queue(send)

    def _meter_value(
        self,
        *,
        currents: tuple[float, ...] = (),
        power_w: float | None = None,
        energy_wh: float | None = None,
        energy_unit: Literal["Wh", "kWh"] = "Wh",
        soc: float | None = None,
        context: str,
    ) -> list[dict[str, Any]]:
        """One MeterValue (a list of one, as messages carry them)."""
        v16 = self.version == "1.6"
        samples: list[dict[str, Any]] = []

        def sample(
            value: float, measurand: str, unit: str, phase: str | None = None
        ) -> None:
            item: dict[str, Any] = {"measurand": measurand, "context": context}
            if v16:
                item |= {"value": f"{value:g}", "unit": unit}
            else:
                item |= {"value": value, "unit_of_measure": {"unit": unit}}
            if phase is not None:
                item["phase"] = phase
            if measurand == "SoC":
                item["location"] = "EV"
            samples.append(item)

        for index, current in enumerate(currents):
            sample(current, "Current.Import", "A", f"L{index + 1}")
        if power_w is not None:
            sample(power_w, "Power.Active.Import", "W")
        if energy_wh is not None:
            value = energy_wh / 1000 if energy_unit == "kWh" else energy_wh
            sample(value, "Energy.Active.Import.Register", energy_unit)
        if soc is not None:
            sample(soc, "SoC", "Percent")
        return [{"timestamp": _ocpp_time(self.clock()), "sampled_value": samples}]

    def _latest(self, connector: int) -> list[dict[str, Any]]:
        """The last measurements of a connector and its register, as asked for."""
        last = self.measurements.get(connector, {})
        return self._meter_value(
            currents=last.get("currents", ()),
            power_w=last.get("power_w"),
            energy_wh=self.energy_wh[connector],
            soc=last.get("soc"),
            context="Trigger",
        )

    def _current_status(self, connector: int) -> str:
        """What a connector shows now: the last status sent, else what its state
        says."""
        if connector in self.statuses:
            return self.statuses[connector]
        if connector in self.transactions:
            return "Charging" if self.version == "1.6" else "Occupied"
        if self.plugged.get(connector):
            return "Preparing" if self.version == "1.6" else "Occupied"
        return "Available"

    # --- TriggerMessage ------------------------------------------------------------

    def trigger_answer(self, message: str, connector: int | None) -> str:
        """The status a TriggerMessage is answered with (a CALLERROR is raised)."""
        if self.trigger_message == "CallError":
            raise OcppNotImplementedError(description="TriggerMessage not supported")
        if self.trigger_message != "Accepted":
            return self.trigger_message
        if connector is not None and not 1 <= connector <= self.connectors:
            return "Rejected"
        v16 = self.version == "1.6"
        if message in ("MeterValues", "Heartbeat"):
            return "Accepted"
        if message == "StatusNotification":
            # 2.0.1 refuses it without an EVSE and connector (F06.FR.12).
            return "Accepted" if v16 or connector is not None else "Rejected"
        if message == "BootNotification":
            return "Accepted" if v16 or self.boot_status != "Accepted" else "Rejected"
        if message == "TransactionEvent" and not v16:
            running = [
                c for c in self._connectors_of(connector) if c in self.transactions
            ]
            return "Accepted" if running else "Rejected"
        return "NotImplemented"

    def _connectors_of(self, connector: int | None) -> list[int]:
        if connector is None:
            return list(range(1, self.connectors + 1))
        return [connector]

    async def _send_latest(self, c: int) -> None:
        """A connector's latest meter values, as a triggered MeterValues."""
        if self.version == "1.6":
            transaction_id = self.transactions.get(c)
            await self._call(
                call16.MeterValues(
                    connector_id=c,
                    meter_value=self._latest(c),
                    transaction_id=int(transaction_id) if transaction_id else None,
                )
            )
        else:
            await self._call(
                call201.MeterValues(evse_id=c, meter_value=self._latest(c))
            )

    async def send_triggered(self, message: str, connector: int | None) -> None:
        """The messages a TriggerMessage asked for, sent after its response."""
        if message == "BootNotification":
            await self.boot()
        elif message == "Heartbeat":
            await self.heartbeat()
        elif message == "StatusNotification":
            for c in self._connectors_of(connector):
                await self.status(c, self._current_status(c))
        elif message == "MeterValues":
            for c in self._connectors_of(connector):
                await self._send_latest(c)
        elif message == "TransactionEvent":
            for c in self._connectors_of(connector):
                if (transaction_id := self.transactions.get(c)) is None:
                    continue
                await self._call(
                    call201.TransactionEvent(
                        event_type="Updated",
                        timestamp=_ocpp_time(self.clock()),
                        trigger_reason="Trigger",
                        seq_no=next(self._seq),
                        transaction_info={
                            "transaction_id": transaction_id,
                            "charging_state": "Charging",
                        },
                        evse={"id": c, "connector_id": 1},
                        meter_value=self._latest(c),
                    )
                )

    async def handle_remote_start(
        self, connector: int, id_tag: str, remote_start_id: int | None
    ) -> None:
        if not self.plugged.get(connector):
            await self.plug_in(connector)
        await self.start_transaction(connector, id_tag, remote_start_id=remote_start_id)

    def feature_profiles(self) -> list[str]:
        """The 1.6 feature profiles it reports (SupportedFeatureProfiles)."""
        profiles = ["Core", "SmartCharging", "RemoteTrigger"]
        if self.local_list.supported:
            profiles.append("LocalAuthListManagement")
        return profiles

    def connector_of(self, transaction_id: str) -> int | None:
        return next(
            (c for c, t in self.transactions.items() if t == transaction_id), None
        )


class _Handler16(ChargePoint16):  # type: ignore[misc]
    """The commands a 1.6 charge point answers."""

    def __init__(
        self, sim: SimulatedChargePoint, connection: _ClientConnection
    ) -> None:
        super().__init__(sim.id, connection, response_timeout=sim.response_timeout)
        self.sim = sim
        self._triggered: tuple[str, int | None, str] = ("", None, "")

    def _log(self, action: str, payload: dict[str, Any]) -> None:
        self.sim.received.append((action, payload))

    @on(Action16.change_configuration)
    def on_change_configuration(self, key: str, value: str) -> Any:
        self._log("ChangeConfiguration", {"key": key, "value": value})
        self.sim.configuration[key] = value
        return result16.ChangeConfiguration(status="Accepted")

    @on(Action16.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        self._log("GetConfiguration", {"key": key})
        known = {
            "ChargingScheduleAllowedChargingRateUnit": ",".join(
                {"A": "Current", "W": "Power"}[u] for u in self.sim.rate_units
            ),
            "ChargeProfileMaxStackLevel": str(self.sim.max_stack_level),
            "SupportedFeatureProfiles": ",".join(self.sim.feature_profiles()),
            **self.sim.configuration,
        }
        wanted = key or list(known)
        return result16.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": True, "value": known[k]}
                for k in wanted
                if k in known
            ],
            unknown_key=[k for k in wanted if k not in known] or None,
        )

    @on(Action16.get_local_list_version)
    def on_get_local_list_version(self) -> Any:
        self._log("GetLocalListVersion", {})
        local_list = self.sim.local_list
        version = local_list.version if local_list.supported else -1
        return result16.GetLocalListVersion(list_version=version)

    @on(Action16.send_local_list)
    def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
    ) -> Any:
        items = local_authorization_list or []
        self._log(
            "SendLocalList",
            {"list_version": list_version, "update_type": update_type, "items": items},
        )
        status = self.sim.local_list.update(
            list_version,
            update_type,
            [(i["id_tag"], (i.get("id_tag_info") or {}).get("status")) for i in items],
        )
        return result16.SendLocalList(status=status)

    @on(Action16.set_charging_profile)
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> Any:
        self._log(
            "SetChargingProfile",
            {
                "connector_id": connector_id,
                "cs_charging_profiles": cs_charging_profiles,
            },
        )
        accepted = self.sim.store_profile(connector_id, cs_charging_profiles)
        return result16.SetChargingProfile(
            status="Accepted" if accepted else "Rejected"
        )

    @on(Action16.clear_charging_profile)
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        self._log("ClearChargingProfile", kwargs)
        cleared = self.sim.clear_profiles(
            profile_id=kwargs.get("id"),
            connector=kwargs.get("connector_id"),
            purpose=kwargs.get("charging_profile_purpose"),
            stack_level=kwargs.get("stack_level"),
        )
        return result16.ClearChargingProfile(
            status="Accepted" if cleared else "Unknown"
        )

    @on(Action16.get_composite_schedule)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, **kwargs: Any
    ) -> Any:
        self._log(
            "GetCompositeSchedule",
            {"connector_id": connector_id, "duration": duration, **kwargs},
        )
        if not self.sim.composite_schedule or not (
            0 <= connector_id <= self.sim.connectors
        ):
            return result16.GetCompositeSchedule(status="Rejected")
        now = _ocpp_time(self.sim.clock())
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=now,
            charging_schedule={
                "duration": duration,
                "start_schedule": now,
                "charging_rate_unit": "A",
                "charging_schedule_period": self.sim.composite(connector_id, duration),
            },
        )

    @on(Action16.remote_start_transaction)
    def on_remote_start_transaction(
        self, id_tag: str, connector_id: int | None = None, **kwargs: Any
    ) -> Any:
        self._log(
            "RemoteStartTransaction",
            {"id_tag": id_tag, "connector_id": connector_id, **kwargs},
        )
        connector = connector_id or 1
        if (
            connector in self.sim.transactions
            or not 1 <= connector <= self.sim.connectors
        ):
            return result16.RemoteStartTransaction(status="Rejected")
        self.sim.spawn(self.sim.handle_remote_start(connector, id_tag, None))
        return result16.RemoteStartTransaction(status="Accepted")

    @on(Action16.remote_stop_transaction)
    def on_remote_stop_transaction(self, transaction_id: int) -> Any:
        self._log("RemoteStopTransaction", {"transaction_id": transaction_id})
        connector = self.sim.connector_of(str(transaction_id))
        if connector is None:
            return result16.RemoteStopTransaction(status="Rejected")
        self.sim.spawn(self.sim.stop_transaction(connector, reason="Remote"))
        return result16.RemoteStopTransaction(status="Accepted")

    @on(Action16.unlock_connector)
    def on_unlock_connector(self, connector_id: int) -> Any:
        self._log("UnlockConnector", {"connector_id": connector_id})
        if not 1 <= connector_id <= self.sim.connectors:
            return result16.UnlockConnector(status="NotSupported")
        self.sim.unlocked.append(connector_id)
        return result16.UnlockConnector(status="Unlocked")

    @on(Action16.reset)
    def on_reset(self, type: str) -> Any:  # noqa: A002 (the OCPP field name)
        self._log("Reset", {"type": type})
        self.sim.resets.append(type)
        return result16.Reset(status="Accepted")

    @on(Action16.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None
    ) -> Any:
        self._log(
            "TriggerMessage",
            {"requested_message": requested_message, "connector_id": connector_id},
        )
        status = self.sim.trigger_answer(requested_message, connector_id)
        self._triggered = (requested_message, connector_id, status)
        return result16.TriggerMessage(status=status)

    @after(Action16.trigger_message)
    def after_trigger_message(self, **_: Any) -> None:
        message, connector, status = self._triggered
        if status == "Accepted":
            self.sim.spawn(self.sim.send_triggered(message, connector))


class _Handler201(ChargePoint201):  # type: ignore[misc]
    """The commands a 2.0.1 charging station answers."""

    def __init__(
        self, sim: SimulatedChargePoint, connection: _ClientConnection
    ) -> None:
        super().__init__(sim.id, connection, response_timeout=sim.response_timeout)
        self.sim = sim
        self._triggered: tuple[str, int | None, str] = ("", None, "")

    def _log(self, action: str, payload: dict[str, Any]) -> None:
        self.sim.received.append((action, payload))

    @on(Action201.set_variables)
    def on_set_variables(
        self, set_variable_data: list[dict[str, Any]], **_: Any
    ) -> Any:
        self._log("SetVariables", {"set_variable_data": set_variable_data})
        results = []
        for item in set_variable_data:
            name = f"{item['component']['name']}.{item['variable']['name']}"
            self.sim.configuration[name] = item["attribute_value"]
            results.append(
                {
                    "attribute_status": "Accepted",
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return result201.SetVariables(set_variable_result=results)

    @on(Action201.get_variables)
    def on_get_variables(
        self, get_variable_data: list[dict[str, Any]], **_: Any
    ) -> Any:
        self._log("GetVariables", {"get_variable_data": get_variable_data})
        known = {
            "SmartChargingCtrlr.RateUnit": ",".join(self.sim.rate_units),
            "SmartChargingCtrlr.ProfileStackLevel": str(self.sim.max_stack_level),
            **self.sim.configuration,
        }
        results = []
        for item in get_variable_data:
            name = f"{item['component']['name']}.{item['variable']['name']}"
            result: dict[str, Any] = {
                "attribute_status": "Accepted" if name in known else "UnknownVariable",
                "component": item["component"],
                "variable": item["variable"],
            }
            if name in known:
                result["attribute_value"] = known[name]
            results.append(result)
        return result201.GetVariables(get_variable_result=results)

    @on(Action201.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        self._log("GetLocalListVersion", {})
        if not self.sim.local_list.supported:
            raise OcppNotSupportedError(description="no local authorization list")
        return result201.GetLocalListVersion(version_number=self.sim.local_list.version)

    @on(Action201.send_local_list)
    def on_send_local_list(
        self,
        version_number: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        items = local_authorization_list or []
        self._log(
            "SendLocalList",
            {
                "version_number": version_number,
                "update_type": update_type,
                "items": items,
            },
        )
        if not self.sim.local_list.supported:
            raise OcppNotSupportedError(description="no local authorization list")
        status = self.sim.local_list.update(
            version_number,
            update_type,
            [
                (
                    i["id_token"]["id_token"],
                    (i.get("id_token_info") or {}).get("status"),
                )
                for i in items
            ],
        )
        return result201.SendLocalList(status=status)

    @on(Action201.set_charging_profile)
    def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> Any:
        self._log(
            "SetChargingProfile",
            {"evse_id": evse_id, "charging_profile": charging_profile},
        )
        accepted = self.sim.store_profile(evse_id, charging_profile)
        return result201.SetChargingProfile(
            status="Accepted" if accepted else "Rejected"
        )

    @on(Action201.clear_charging_profile)
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        self._log("ClearChargingProfile", kwargs)
        criteria = kwargs.get("charging_profile_criteria") or {}
        cleared = self.sim.clear_profiles(
            profile_id=kwargs.get("charging_profile_id"),
            connector=criteria.get("evse_id"),
            purpose=criteria.get("charging_profile_purpose"),
            stack_level=criteria.get("stack_level"),
        )
        return result201.ClearChargingProfile(
            status="Accepted" if cleared else "Unknown"
        )

    @on(Action201.get_composite_schedule)
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, **kwargs: Any
    ) -> Any:
        self._log(
            "GetCompositeSchedule", {"duration": duration, "evse_id": evse_id, **kwargs}
        )
        if not self.sim.composite_schedule or not 0 <= evse_id <= self.sim.connectors:
            return result201.GetCompositeSchedule(status="Rejected")
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": _ocpp_time(self.sim.clock()),
                "charging_rate_unit": "A",
                "charging_schedule_period": self.sim.composite(evse_id, duration),
            },
        )

    @on(Action201.request_start_transaction)
    def on_request_start_transaction(
        self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any
    ) -> Any:
        self._log(
            "RequestStartTransaction",
            {"id_token": id_token, "remote_start_id": remote_start_id, **kwargs},
        )
        connector = kwargs.get("evse_id") or 1
        if (
            connector in self.sim.transactions
            or not 1 <= connector <= self.sim.connectors
        ):
            return result201.RequestStartTransaction(status="Rejected")
        self.sim.spawn(
            self.sim.handle_remote_start(
                connector, id_token["id_token"], remote_start_id
            )
        )
        return result201.RequestStartTransaction(status="Accepted")

    @on(Action201.request_stop_transaction)
    def on_request_stop_transaction(self, transaction_id: str, **_: Any) -> Any:
        self._log("RequestStopTransaction", {"transaction_id": transaction_id})
        connector = self.sim.connector_of(transaction_id)
        if connector is None:
            return result201.RequestStopTransaction(status="Rejected")
        self.sim.spawn(self.sim.stop_transaction(connector, reason="Remote"))
        return result201.RequestStopTransaction(status="Accepted")

    @on(Action201.unlock_connector)
    def on_unlock_connector(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        self._log("UnlockConnector", {"evse_id": evse_id, "connector_id": connector_id})
        if not 1 <= evse_id <= self.sim.connectors:
            return result201.UnlockConnector(status="UnknownConnector")
        self.sim.unlocked.append(evse_id)
        return result201.UnlockConnector(status="Unlocked")

    @on(Action201.reset)
    def on_reset(self, type: str, **_: Any) -> Any:  # noqa: A002 (the OCPP field name)
        self._log("Reset", {"type": type})
        self.sim.resets.append(type)
        return result201.Reset(status="Accepted")

    @on(Action201.trigger_message)
    def on_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        self._log(
            "TriggerMessage", {"requested_message": requested_message, "evse": evse}
        )
        evse_id = None if evse is None else evse.get("id")
        if (
            requested_message == "StatusNotification"
            and evse is not None
            and evse.get("connector_id") is None
        ):
            evse_id = None  # no connector: refused like no EVSE (F06.FR.12)
        status = self.sim.trigger_answer(requested_message, evse_id)
        self._triggered = (requested_message, evse_id, status)
        return result201.TriggerMessage(status=status)

    @after(Action201.trigger_message)
    def after_trigger_message(self, **_: Any) -> None:
        message, evse_id, status = self._triggered
        if status == "Accepted":
            self.sim.spawn(self.sim.send_triggered(message, evse_id))

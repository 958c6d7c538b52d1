"""OCPP chargers as the controller's port source: state in, limits out.

Bridges the embedded central system (:mod:`.csms`) and the controller: it decides
who may connect, turns each configured charger's connectors into the allocator's
ports, and sends the controller's currents as charging profiles. No Home
Assistant imports: what it needs from Home Assistant is injected.

Safety rules kept here:

* A charger counts as **online** only once it booted (or was resumed, below), was
  accepted, and holds our failsafe profile; until then (and whenever it is
  disconnected) the allocator counts it at its failsafe current.
* A charger that reconnects without rebooting (a network blip, Home Assistant
  restarting) sends no BootNotification. After a grace period
  (``StationConfig.resume_grace_s``) without one, it is *resumed*: asked to report
  its connectors' status and transactions (TriggerMessage), then given its
  failsafe profile like a booted one. Its state is asked for first, so that a
  vehicle charging there is known before the charger is commanded (an unknown
  connector would be given nothing). A charger that does not answer such requests
  is resumed all the same, and learns its state from its next messages. Before
  that its metering is configured as after a boot (we may never have configured
  it), so that the meter values it reports on request, and then every
  ``meter_interval_s``, carry each phase's current: until a connector's current
  is reported, the meter on its group counts that vehicle as non-EV load.
* Every cycle reads it once (:meth:`OcppSource.readings`: the ports, how each
  takes a limit, what each holds); what is sent, and when, is the command
  writer's (``core.commands``). The limits sent and what the chargers made of
  them (confirmed, lapsed, disobeyed) are :class:`~.ocpp_limits.SentLimits`.
  Limits are whole A, or W for a charger that takes only W; refreshed at half
  the watchdog, before their ``validTo`` lapses, so a charger that loses Home
  Assistant falls back to the failsafe by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
import hmac
import logging
import time

from .core.commands import Commands, PortSteps
from .core.model import CONNECTIONS
from .core.ports import PortId, PortReadings, charger_of
from .csms import Admission, Station, StationConfig, TransactionMessage
from .csms.logs import RateLimitedLog
from .ocpp_chargers import ChargerConfig
from .ocpp_limits import SentLimits
from .ocpp_ports import ocpp_readings

__all__ = ["ChargerConfig", "OcppSource"]

_LOGGER = logging.getLogger(__name__)


class OcppSource:
    """The port source for the chargers of one site."""

    def __init__(
        self,
        chargers: Iterable[ChargerConfig],
        *,
        config: StationConfig,
        site_failsafe_a: float,
        on_change: Callable[[], None],
        on_unknown: Callable[[str], bool],
        on_boot: Callable[[Station], None] = lambda _station: None,
        on_disobeys: Callable[[str, bool], None] = lambda _cp_id, _disobeys: None,
        clock: Callable[[], float] = time.time,
        voltage_v: float = 230.0,
        on_transaction: Callable[[TransactionMessage], None] = lambda _message: None,
    ) -> None:
        """``on_unknown(id)`` is asked about a charger nobody configured: True
        holds it as pending (announced to the user), False rejects it.
        ``on_disobeys(id, True)`` tells that a charger applies more than our
        limit (someone else drives it); ``(id, False)`` that it follows it again
        (or was removed). ``voltage_v``: line to neutral, to send W to a
        charger that takes only W. ``on_transaction`` is told the transaction
        messages of the site's chargers (see :meth:`transaction`)."""
        self._chargers: dict[str, ChargerConfig] = {}
        self.config = config
        self.site_failsafe_a = site_failsafe_a
        self._on_change = on_change
        self._on_unknown = on_unknown
        self._on_boot = on_boot
        self._on_disobeys = on_disobeys
        self._on_transaction = on_transaction
        self._log = RateLimitedLog(_LOGGER)
        """Refusals, at most once a minute per charger (a charger configured
        with an old password retries every few seconds, for days)."""
        self._clock = clock
        self.voltage_v = voltage_v
        self.stations: dict[str, Station] = {}
        self._ready: set[str] = set()
        """Connected chargers that hold our failsafe profile."""
        self.limits = SentLimits(
            self, config, on_change=on_change, on_disobeys=on_disobeys, clock=clock
        )
        """What we sent each connector, and what its charger made of it."""
        self._arrived: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumes: dict[Station, asyncio.Task[None]] = {}
        """Connections waiting to be resumed (see :meth:`_resume`)."""
        self.update_chargers(chargers)

    # -- configuration -----------------------------------------------------

    @property
    def held_until_unknown(self) -> float:
        """Until then, chargers may hold limits a previous run sent (see
        :meth:`SentLimits.held_a`): set at start when that run did not end
        cleanly."""
        return self.limits.held_until_unknown

    @held_until_unknown.setter
    def held_until_unknown(self, until: float) -> None:
        self.limits.held_until_unknown = until

    @property
    def chargers(self) -> Mapping[str, ChargerConfig]:
        """Configured chargers by charge point id."""
        return self._chargers

    def update_chargers(self, chargers: Iterable[ChargerConfig]) -> None:
        """Apply a new set of chargers; connected ones that changed are re-prepared."""
        new = {c.charge_point_id: c for c in chargers}
        old, self._chargers = self._chargers, new
        for cp_id, station in list(self.stations.items()):
            if cp_id not in new:
                # Removed: drop it; the connection is closed so it reconnects as
                # an unknown charger (and falls back to its failsafe meanwhile).
                self._ready.discard(cp_id)
                self._spawn(station.disconnect())
            elif station.admission is not Admission.ACCEPTED or (
                cp_id in old and old[cp_id].password != new[cp_id].password
            ):
                # Held as pending (or refused) until now, or its password
                # changed: have it reconnect, so it is admitted afresh (it must
                # give its new password) and boots into our control.
                self._ready.discard(cp_id)
                self._spawn(station.disconnect())
            elif old.get(cp_id) != new[cp_id] and station.commandable:
                self._ready.discard(cp_id)
                self._spawn(self._prepare(station))
        for pid in [p for p in self._arrived if charger_of(p) not in new]:
            del self._arrived[pid]
        self.limits.forget(new)

    def failsafe_of(self, charger: ChargerConfig) -> float:
        """The current the charger falls back to, and is counted at offline."""
        if charger.failsafe_a is None:
            return self.site_failsafe_a
        return charger.failsafe_a

    # -- who may connect -----------------------------------------------------

    def authorize(self, charge_point_id: str, password: str | None) -> Admission:
        """Admission of a connecting charger (HTTP Basic password or None)."""
        charger = self._chargers.get(charge_point_id)
        if charger is None:
            return (
                Admission.PENDING
                if self._on_unknown(charge_point_id)
                else Admission.REJECTED
            )
        if charger.password:
            given = (password or "").encode()
            if not hmac.compare_digest(given, charger.password.encode()):
                self._log.report(
                    ("password", charge_point_id),
                    "Charger %s was refused: wrong or missing password",
                    charge_point_id,
                )
                return Admission.REJECTED
        return Admission.ACCEPTED

    def port_name(self, port_id: str) -> str:
        """A port as the user knows it: its charger's name (and connector)."""
        charger = self._chargers.get(charger_of(port_id))
        if charger is None:
            return port_id
        if charger.connectors == 1:
            return charger.name
        return f"{charger.name} (connector {PortId.parse(port_id).connector})"

    def has_password(self, charge_point_id: str) -> bool:
        """Whether a connection for this charger had to give a password."""
        charger = self._chargers.get(charge_point_id)
        return charger is not None and bool(charger.password)

    # -- the central system's listener ---------------------------------------

    def on_connected(self, station: Station) -> None:
        """A charger connected (it is not ready before its boot, or its resume)."""
        self.stations[station.id] = station
        self._ready.discard(station.id)
        if station.admission is Admission.ACCEPTED and station.id in self._chargers:
            task = self._spawn(self._resume(station))
            self._resumes[station] = task
            task.add_done_callback(lambda _task: self._resumes.pop(station, None))
        self._on_change()

    def _resumable(self, station: Station) -> bool:
        """Still this charger's connection, accepted, configured, and not booted
        (a BootNotification leaves it to :meth:`on_boot`)."""
        return (
            self.stations.get(station.id) is station
            and station.commandable
            and not station.booted
            and station.id in self._chargers
        )

    async def _resume(self, station: Station) -> None:
        """Take a charger that connected without booting under control."""
        await asyncio.sleep(self.config.resume_grace_s)
        if not self._resumable(station):
            return
        _LOGGER.info(
            "Charger %s reconnected without booting: asking for its state",
            station.id,
        )
        charger = self._chargers[station.id]
        # As after a boot: the sample interval and the measurands (currents per
        # phase), before the triggered meter values that should carry them.
        await station.configure()
        if not self._resumable(station):
            return
        if not await station.trigger_status(charger.connectors):
            _LOGGER.info(
                "Charger %s did not report its state on request: it is learned "
                "from its next messages",
                station.id,
            )
        if self._resumable(station):
            await self._prepare(station)

    def on_disconnected(self, station: Station) -> None:
        """A charger's connection closed: it falls back to its failsafe."""
        if (resume := self._resumes.pop(station, None)) is not None:
            resume.cancel()
        if self.stations.get(station.id) is station:
            del self.stations[station.id]
            self._ready.discard(station.id)
            _LOGGER.info("Charger %s went offline", station.id)
        self.limits.disconnected(station)
        self._on_change()

    def on_boot(self, station: Station) -> None:
        """An accepted charger booted: install its failsafe, then it is ready."""
        self.stations[station.id] = station
        self._on_boot(station)
        if station.admission is Admission.ACCEPTED and station.id in self._chargers:
            self._ready.discard(station.id)
            self._spawn(self._prepare(station))
        self._on_change()

    def on_status(self, station: Station, connector_id: int) -> None:
        """A connector's status or transaction changed."""
        charger = self._chargers.get(station.id)
        if charger is None or not 1 <= connector_id <= charger.connectors:
            # Only configured connectors are ports: what a stranger (or a
            # connector we do not know) tells is not kept, so ids chosen by
            # anyone on the network cannot grow memory.
            self._on_change()
            return
        pid = charger.port_id(connector_id)
        state = station.connectors.get(connector_id)
        if state is not None and state.vehicle_connected:
            self._arrived.setdefault(pid, self._clock())
        else:
            self._arrived.pop(pid, None)
        self._on_change()

    def transaction(self, message: TransactionMessage) -> None:
        """A transaction message (the central system's ``on_transaction``):
        those of the site's chargers go on, for the session ledger; a
        stranger's are not kept."""
        if message.station in self._chargers:
            self._on_transaction(message)

    def on_meter(self, station: Station, connector_id: int) -> None:
        """New measurements on a connector."""
        charger = self._chargers.get(station.id)
        if charger is not None:
            self.limits.metered(charger.port_id(connector_id))
        self._on_change()

    async def _prepare(self, station: Station) -> None:
        charger = self._chargers.get(station.id)
        if charger is None:
            return
        if await self._set_failsafe(station, charger):
            self._ready.add(station.id)
            _LOGGER.info("Charger %s is online and under control", station.id)
        else:
            _LOGGER.warning(
                "Charger %s refused the failsafe profile; it stays counted as "
                "offline at its failsafe current",
                station.id,
            )
        self._on_change()

    async def _set_failsafe(self, station: Station, charger: ChargerConfig) -> bool:
        """Install the charger's failsafe, in the unit it takes (after a boot,
        the station sends it once the charger said which)."""
        phases = len(CONNECTIONS[charger.connection].legs)
        return await station.set_failsafe(
            self.failsafe_of(charger),
            phases,
            voltage_v=self.voltage_v,
            unit=charger.limit_unit,
        )

    def _spawn(self, coro: object) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def async_close(self, timeout_s: float = 5.0) -> float | None:
        """Drop every charger under control to its failsafe (our live limits are
        cleared, the failsafe profile stays), then cancel background work.

        Returns until when a charger may still hold a live limit of ours (one
        that was offline, or did not confirm in time), or None if none may.
        """
        now = self._clock()
        stations = [s for s in self.stations.values() if self.online(s.id)]
        cleared = {s.id for s in stations}
        self._ready.clear()
        if stations:
            try:
                async with asyncio.timeout(timeout_s):
                    results = await asyncio.gather(
                        *(s.clear_limits(keep_failsafe=True) for s in stations),
                        return_exceptions=True,
                    )
                cleared = {
                    s.id
                    for s, r in zip(stations, results, strict=True)
                    if not isinstance(r, BaseException)
                }
            except TimeoutError:
                cleared = set()
                _LOGGER.warning("Chargers did not confirm their failsafe in time")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.limits.held_after(cleared, now)

    # -- the controller's port source ----------------------------------------

    def online(self, charge_point_id: str) -> bool:
        """Connected, accepted and holding our failsafe profile."""
        station = self.stations.get(charge_point_id)
        return (
            station is not None
            and station.commandable
            and charge_point_id in self._ready
        )

    def readings(self, now: float | None = None) -> PortReadings:
        """Every connector of every configured charger as it is at ``now`` (our
        clock if not given): see :func:`.ocpp_ports.ocpp_readings`. Reading
        changes nothing."""
        return ocpp_readings(self, self._clock() if now is None else now)

    def arrived_at(self, port_id: str) -> float:
        """When the vehicle at a port plugged in, as far as we know (0: not
        known)."""
        return self._arrived.get(port_id, 0.0)

    def port_ids(self) -> list[str]:
        """The id of every connector of every configured charger."""
        return [
            charger.port_id(connector)
            for charger in self._chargers.values()
            for connector in range(1, charger.connectors + 1)
        ]

    def steps_of(self, charger: ChargerConfig, station: Station | None) -> PortSteps:
        """How a charger's ports take a limit (see :meth:`ChargerConfig.steps`),
        refreshed at half the watchdog (a limit lapses after the watchdog)."""
        return charger.steps(
            None if station is None else station.smart_charging.unit,
            voltage_v=self.voltage_v,
            refresh_s=self.config.watchdog_s / 2.0,
            lapse_s=self.config.watchdog_s,
            failsafe_a=self.failsafe_of(charger),
        )

    async def async_apply(self, commands: Commands) -> None:
        """Send the limits the command writer decided (see
        :meth:`SentLimits.async_apply`)."""
        await self.limits.async_apply(commands)

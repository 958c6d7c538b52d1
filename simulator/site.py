"""A whole simulated site over the real protocols on 127.0.0.1: OCPP charge points
(1.6J and 2.0.1) whose vehicles come and go on a schedule, and the site's Modbus TCP
meter.

    config = load_config("simulator/scenarios/condo.yaml")
    async with SiteSimulator(config, "ws://127.0.0.1:9000", meter_port=5020) as site:
        ...
        site.status()  # PV, household load, meter, every port: dict (also GET /status)

or from a shell (runs until Ctrl-C, logs one line a minute):

    python -m simulator.site --config simulator/scenarios/condo.yaml \\
        --ocpp ws://127.0.0.1:9000 --meter-port 5020 --speedup 60

**Time.** OCPP runs in real time (timestamps, charging profiles and their
``validTo``, MeterValues every few real seconds); the scenario — the time of day,
arrivals and departures, PV, household load, vehicles and batteries — runs
``speedup`` times faster. Each tick (``tick_s`` real seconds) advances the scenario
by ``tick_s × speedup`` with the limit each charger holds at that real instant
(:meth:`SimulatedChargePoint.effective_limit`).

**Chargers.** Each runs in its own task: connect (and reconnect, with back-off),
BootNotification until accepted, a StatusNotification per connector, then it turns
the site's events into OCPP — arrival: plug-in (Preparing / Occupied) and a
transaction; departure: stop and unplug; in 1.6, Charging / SuspendedEV /
SuspendedEVSE as the vehicle charges or pauses — and sends MeterValues (currents
per phase, power, energy register, SoC if the car reports it) at the interval the
central system configured, or the scenario's ``meter_interval_s``.

**Other ports** (:mod:`.port_kinds`): Modbus TCP chargers (each a simulated
charger on its own loopback port, from ``charger_port`` on), smart outlets and
chargers "already in Home Assistant" (both over HTTP on the status port:
``/outlets/<id>``, ``/ha_chargers/<id>``). Their vehicles are the scenario's too.

**Meter.** After every tick the meter (a :class:`SimulatedModbusMeter`) serves the
per-leg currents (magnitudes), signed powers and energy counters of :mod:`.site_model`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
import contextlib
from dataclasses import replace
import itertools
import logging
import math
from pathlib import Path
import signal
import time
from typing import Any, Self

import aiohttp
from aiohttp import web
from ocpp.exceptions import OCPPError

from .chargepoint import SimulatedChargePoint
from .modbus_meter import SimulatedModbusMeter
from .port_kinds import HaChargerPort, ModbusPort, OutletPort, PortKind
from .site_config import ChargerSpec, SiteConfig, format_time, load_config, parse_time
from .site_model import PortState, SiteEvent, SiteModel

_LOGGER = logging.getLogger("simulator.site")

DEFAULT_CONFIG = Path(__file__).parent / "scenarios" / "condo.yaml"
DEFAULT_METER_INTERVAL_S = 10.0
HEARTBEAT_S = 300.0
RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Back-off between connection attempts."""
BOOT_RETRY_S = 10.0
_OCPP_ERRORS = (ConnectionError, TimeoutError, OCPPError)
_CONNECT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
_STATUS_16 = {
    "charging": "Charging",
    "suspended_ev": "SuspendedEV",
    "suspended_evse": "SuspendedEVSE",
}
_INTERVAL_KEYS = ("MeterValueSampleInterval", "SampledDataCtrlr.TxUpdatedInterval")


class _Charger:
    """One simulated charge point and the task that drives it."""

    def __init__(
        self,
        spec: ChargerSpec,
        url: str,
        meter_interval_s: float | None,
        response_timeout: float,
    ) -> None:
        self.spec = spec
        self.cp = SimulatedChargePoint(
            spec.id,
            url,
            version=spec.ocpp,  # type: ignore[arg-type]
            password=spec.password,
            connectors=spec.connectors,
            max_current_a=spec.max_current_a,
            vendor=spec.vendor,
            model=spec.model,
            response_timeout=response_timeout,
        )
        self.meter_interval_s = meter_interval_s
        self.ready = False
        """Connected and booted (Accepted)."""
        self.status: dict[int, str] = {}
        """The 1.6 charging status each connector should show."""
        self._sent_status: dict[int, str] = {}
        self._events: deque[SiteEvent] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ports: dict[int, PortState] = {}

    # --- driving ------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"charger {self.spec.id}"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.cp.close()
        self.ready = False

    def post(self, event: SiteEvent) -> None:
        """An arrival or departure to tell the central system about."""
        self._events.append(event)
        self._wake.set()

    def wake(self) -> None:
        """Something to send (a status change)."""
        self._wake.set()

    def interval_s(self) -> float:
        """Seconds between two MeterValues."""
        if self.meter_interval_s is not None:
            return self.meter_interval_s
        for key in _INTERVAL_KEYS:
            with contextlib.suppress(KeyError, ValueError):
                value = float(self.cp.configuration[key])
                if value > 0:
                    return max(1.0, value)
        return DEFAULT_METER_INTERVAL_S

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self.cp.connect()
            except _CONNECT_ERRORS as err:
                delay = RETRY_S[min(failures, len(RETRY_S) - 1)]
                if failures == 0 or delay == RETRY_S[-1]:
                    _LOGGER.warning(
                        "%s: cannot connect (%s), retrying in %.0f s",
                        self.spec.id,
                        err,
                        delay,
                    )
                failures += 1
                await asyncio.sleep(delay)
                continue
            try:
                await self._session()
                failures = 0
            except _OCPP_ERRORS as err:
                _LOGGER.warning("%s: connection lost (%r)", self.spec.id, err)
            except Exception:
                _LOGGER.exception("%s: failed, connecting again", self.spec.id)
            finally:
                self.ready = False
                await self.cp.close()
            await asyncio.sleep(RETRY_S[0])

    async def _session(self) -> None:
        """One websocket connection: boot, announce, then events and MeterValues."""
        while (status := await self._ocpp(self.cp.boot())) != "Accepted":
            _LOGGER.info("%s: boot %s, booting again soon", self.spec.id, status)
            await asyncio.sleep(BOOT_RETRY_S)
        _LOGGER.info("%s: booted (OCPP %s)", self.spec.id, self.spec.ocpp)
        self.ready = True
        self._sent_status.clear()
        for connector in range(1, self.spec.connectors + 1):
            status = self._connector_status(connector)
            await self._ocpp(self.cp.status(connector, status))
            if connector in self.cp.transactions:
                self._sent_status[connector] = status
        loop = asyncio.get_running_loop()
        next_meter = loop.time()
        next_heartbeat = loop.time() + HEARTBEAT_S
        while self.cp.connected:
            while self._events:
                event = self._events[0]
                try:
                    await self._handle(event)
                except OCPPError as err:  # refused: nothing to retry
                    _LOGGER.warning("%s: %s refused: %r", self.spec.id, event.kind, err)
                self._events.popleft()
            await self._send_statuses()
            now = loop.time()
            if now >= next_meter:
                await self._send_meter_values()
                next_meter = now + self.interval_s()
            if now >= next_heartbeat:
                await self._ocpp(self.cp.heartbeat())
                next_heartbeat = now + HEARTBEAT_S
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, min(next_meter, 1.0 + now) - now)):
                    await self._wake.wait()
        raise ConnectionResetError("websocket closed")

    async def _ocpp[T](self, message: Coroutine[Any, Any, T]) -> T:
        """Send a message; ConnectionResetError at once if the websocket closes
        meanwhile (instead of waiting for the response timeout)."""
        sending = asyncio.ensure_future(message)
        closed = asyncio.ensure_future(self.cp.wait_closed())
        try:
            await asyncio.wait({sending, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not sending.done():
                sending.cancel()
            await asyncio.gather(closed, sending, return_exceptions=True)
        if sending.cancelled():
            raise ConnectionResetError("websocket closed")
        return sending.result()

    def _connector_status(self, connector: int) -> str:
        """What a connector shows now (after a boot)."""
        cp = self.cp
        if connector in cp.transactions:
            if cp.version == "2.0.1":
                return "Occupied"
            return self.status.get(connector, "Charging")
        if cp.plugged.get(connector):
            return "Preparing" if cp.version == "1.6" else "Occupied"
        return "Available"

    async def _handle(self, event: SiteEvent) -> None:
        cp, connector = self.cp, event.connector
        if event.kind == "arrive":
            _LOGGER.debug("%s/%s: %s arrives", cp.id, connector, event.vehicle)
            if not cp.plugged.get(connector):
                await self._ocpp(cp.plug_in(connector))
            if connector not in cp.transactions:
                await self._ocpp(cp.start_transaction(connector, event.id_tag))
                self._sent_status[connector] = "Charging"
        else:
            _LOGGER.debug("%s/%s: %s leaves", cp.id, connector, event.vehicle)
            if connector in cp.transactions:
                await self._ocpp(cp.stop_transaction(connector))
            if cp.plugged.get(connector):
                await self._ocpp(cp.unplug(connector))
            self._sent_status.pop(connector, None)
            self.status.pop(connector, None)

    async def _send_statuses(self) -> None:
        if self.cp.version != "1.6":
            return  # 2.0.1: the connector stays Occupied
        for connector, status in list(self.status.items()):
            if (
                connector in self.cp.transactions
                and self._sent_status.get(connector) != status
            ):
                await self._ocpp(self.cp.status(connector, status))
                self._sent_status[connector] = status

    async def _send_meter_values(self) -> None:
        for connector in range(1, self.spec.connectors + 1):
            if connector not in self.cp.transactions:
                continue
            port = self.ports[connector]
            vehicle = port.vehicle
            soc = None
            if vehicle is not None and vehicle.spec.reports_soc:
                soc = round(vehicle.soc_pct, 1)
            await self._ocpp(
                self.cp.send_meter_values(
                    connector,
                    currents=tuple(round(a, 2) for a in port.currents_a),
                    power_w=round(port.power_w, 1),
                    energy_wh=round(port.register_wh, 1),
                    soc=soc,
                )
            )


class SiteSimulator:
    """Runs a scenario's chargers against a central system, and its meter."""

    def __init__(
        self,
        config: SiteConfig,
        ocpp_url: str,
        *,
        meter: SimulatedModbusMeter | None = None,
        meter_port: int | None = None,
        status_port: int | None = None,
        charger_port: int | None = None,
        log_interval_s: float = 60.0,
        response_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``meter``: serve through this (started) meter instead of one of our own,
        which listens on ``meter_port`` (default: the scenario's). ``status_port``:
        also serve :meth:`status` as JSON on ``http://127.0.0.1:<port>/status``
        (0: any free port, see :attr:`status_port`); the outlets and chargers
        already in Home Assistant are reached there too. ``charger_port``: the
        first Modbus charger listens there, the next on the ports after it
        (None: any free ports)."""
        self.config = config
        self.ocpp_url = ocpp_url
        self.model = SiteModel(config)
        self.log_interval_s = log_interval_s
        self._clock = clock
        self._own_meter = meter is None and config.meter is not None
        if meter is None and config.meter is not None:
            wanted = config.meter
            meter = SimulatedModbusMeter(
                wanted.profile,
                host=wanted.host,
                port=wanted.port if meter_port is None else meter_port,
                unit=wanted.unit,
                voltage_v=self.model.voltage_v,
            )
        self.meter = meter
        self.chargers: dict[str, _Charger] = {}
        self.others: dict[str, PortKind] = {}
        """The ports that are not OCPP charge points, by charger id."""
        modbus = itertools.count()
        for spec in config.chargers:
            if spec.kind != "ocpp":
                self.others[spec.id] = self._other(spec, charger_port, next(modbus))
                continue
            charger = _Charger(
                spec, ocpp_url, config.meter_interval_s, response_timeout
            )
            for connector in range(1, spec.connectors + 1):
                charger.ports[connector] = self.model.ports[f"{spec.id}/{connector}"]
            self.chargers[spec.id] = charger
        self._status_port = status_port
        self._status_runner: web.AppRunner | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._last_tick = 0.0
        self._next_log = 0.0

    def _other(self, spec: ChargerSpec, base: int | None, index: int) -> PortKind:
        port = self.model.ports[f"{spec.id}/1"]
        if spec.kind == "modbus":
            return ModbusPort(spec, port, 0 if base is None else base + index)
        if spec.kind == "outlet":
            return OutletPort(spec, port)
        return HaChargerPort(spec, port, clock=self._clock)

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the meter, the chargers and the clock."""
        if self._tick_task is not None:
            return
        if self.meter is not None and self._own_meter:
            await self.meter.start()
        self._update_meter()
        for other in self.others.values():
            await other.start()
        if self._status_port is not None:
            await self._start_status_server(self._status_port)
        self._dispatch(self.model.take_events())
        for charger in self.chargers.values():
            charger.start()
        self._last_tick = self._clock()
        self._next_log = self._last_tick
        self._tick_task = asyncio.get_running_loop().create_task(
            self._ticks(), name="site simulator"
        )
        _LOGGER.info(
            "%s: %d chargers → %s, meter %s, scenario %s ×%g",
            self.config.name,
            len(self.chargers),
            self.ocpp_url,
            f"{self.meter.host}:{self.meter.port}" if self.meter else "none",
            format_time(self.model.time_s),
            self.config.speedup,
        )

    async def stop(self) -> None:
        """Stop everything (chargers close their websockets)."""
        task, self._tick_task = self._tick_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in self.chargers.values()))
        await asyncio.gather(*(o.stop() for o in self.others.values()))
        if self._status_runner is not None:
            await self._status_runner.cleanup()
            self._status_runner = None
        if self.meter is not None and self._own_meter:
            await self.meter.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def status_port(self) -> int | None:
        """The port of the JSON status endpoint, once started."""
        return self._status_port

    # --- the clock --------------------------------------------------------------------

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_s)
            now = self._clock()
            try:
                self.step((now - self._last_tick) * self.config.speedup)
            except Exception:
                _LOGGER.exception("simulation step failed")
            self._last_tick = now
            if self.log_interval_s > 0 and now >= self._next_log:
                self._next_log = now + self.log_interval_s
                _LOGGER.info("%s", self.summary())

    def step(self, dt_s: float) -> None:
        """Advance the scenario by ``dt_s`` seconds (the clock does this by itself)."""
        limits, transactions = self._held()
        self.model.advance(dt_s, limits, transactions)
        for other in self.others.values():
            other.measured()
        self._dispatch(self.model.take_events())
        for charger in self.chargers.values():
            changed = False
            for connector, port in charger.ports.items():
                charger.cp.energy_wh[connector] = port.register_wh
                if not port.transaction:
                    charger.status.pop(connector, None)
                elif port.vehicle is not None:
                    status = _STATUS_16[port.vehicle.state]
                    if charger.status.get(connector) != status:
                        charger.status[connector] = status
                        changed = True
            if changed:
                charger.wake()
        self._update_meter()

    def _held(self) -> tuple[dict[str, float], dict[str, bool]]:
        """The limit every port holds now, and whether current flows on it."""
        limits: dict[str, float] = {}
        transactions: dict[str, bool] = {}
        for charger in self.chargers.values():
            cp = charger.cp
            for connector in range(1, charger.spec.connectors + 1):
                port_id = f"{charger.spec.id}/{connector}"
                limits[port_id] = cp.effective_limit(connector)
                transactions[port_id] = connector in cp.transactions
        for other in self.others.values():
            limits[other.port.id] = other.limit_a()
            transactions[other.port.id] = other.transaction()
        return limits, transactions

    def _dispatch(self, events: list[SiteEvent]) -> None:
        for event in events:  # the other kinds learn of vehicles from the model
            if event.charger in self.chargers:
                self.chargers[event.charger].post(event)

    def _update_meter(self) -> None:
        if self.meter is None:
            return
        model = self.model
        net = model.legs_now.net_a
        powers = model.meter_powers_w
        phases = self.meter.profile.phases
        self.meter.set(
            currents=[abs(net[i]) if i < len(net) else 0.0 for i in range(phases)],
            powers=[powers[i] if i < len(powers) else 0.0 for i in range(phases)],
            power_w=sum(powers),
            import_kwh=model.import_kwh,
            export_kwh=model.export_kwh,
        )

    # --- what it shows ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Everything the demo shows, JSON-ready (A, W, kWh, %)."""
        model = self.model
        legs = model.legs_now
        ports: dict[str, Any] = {}
        for charger in self.chargers.values():
            for connector, port in charger.ports.items():
                ports[port.id] = {
                    "charger": charger.spec.id,
                    "connector": connector,
                    "kind": "ocpp",
                    "ocpp": charger.spec.ocpp,
                    "online": charger.ready and charger.cp.connected,
                    "limit_reversals": _reversals(
                        [a for _, c, a in charger.cp.limit_log if c == connector]
                    ),
                    **_port_figures(port),
                }
        for other in self.others.values():
            ports[other.port.id] = {
                "charger": other.spec.id,
                "connector": 1,
                "kind": other.kind,
                "online": True,
                "limit_reversals": _reversals(other.limit_log),
                **_port_figures(other.port),
                **other.status(),
            }

        def rounded(values: Sequence[float]) -> list[float]:
            return [round(v, 2) for v in values]

        meter = self.meter
        return {
            "name": self.config.name,
            "time": format_time(model.time_s),
            "day": int(model.time_s // 86400),
            "scenario_s": round(model.time_s, 1),
            "speedup": self.config.speedup,
            "pv_w": round(model.pv_w, 1),
            "household_w": round(model.base_w, 1),
            "ev_w": round(sum(p.power_w for p in model.ports.values()), 1),
            "grid_w": round(sum(model.meter_powers_w), 1),
            "legs": {
                "base_a": rounded(legs.base_a),
                "pv_a": rounded(legs.pv_a),
                "ev_a": rounded(legs.ev_a),
                "net_a": rounded(legs.net_a),
            },
            "meter": None
            if meter is None
            else {
                "host": meter.host,
                "port": meter.port,
                "profile": meter.profile.key,
                "currents_a": rounded(meter.values.currents_a),
                "power_w": round(meter.values.power_w, 1),
                "import_kwh": round(meter.values.import_kwh, 3),
                "export_kwh": round(meter.values.export_kwh, 3),
            },
            "ports": ports,
        }

    def summary(self) -> str:
        """One line: the scenario time, then per port ``<port> <limit it holds>
        <current drawn> <SoC>`` (``-`` when no vehicle; ``!`` after the port: the
        charger is offline), then the site's legs, PV and household load."""
        model = self.model
        parts = [f"{format_time(model.time_s)}"]
        shown = [(c.ready, p) for c in self.chargers.values() for p in c.ports.values()]
        shown += [(True, o.port) for o in self.others.values()]
        for ready, port in shown:
            mark = "" if ready else "!"
            if port.vehicle is None:
                parts.append(f"{port.id}{mark} {port.limit_a:.0f}A -")
                continue
            draw = max(port.currents_a, default=0.0)
            parts.append(
                f"{port.id}{mark} {port.limit_a:.0f}A {draw:.1f}A"
                f" {port.vehicle.soc_pct:.0f}%"
            )
        net = " ".join(f"{a:.1f}" for a in model.legs_now.net_a)
        parts.append(
            f"site {net} A, PV {model.pv_w / 1000:.1f} kW,"
            f" house {model.base_w / 1000:.1f} kW"
        )
        return " | ".join(parts)

    # --- the status endpoint ------------------------------------------------------------

    async def _start_status_server(self, port: int) -> None:
        async def handle(_request: web.Request) -> web.Response:
            return web.json_response(self.status())

        app = web.Application()
        app.router.add_get("/status", handle)
        app.router.add_get("/outlets/{id}", self._outlet)
        app.router.add_post("/outlets/{id}", self._outlet)
        app.router.add_get("/ha_chargers/{id}", self._ha_charger)
        app.router.add_post("/ha_chargers/{id}", self._ha_charger)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._status_runner = runner
        self._status_port = int(runner.addresses[0][1])

    def _other_of[T](self, request: web.Request, kind: type[T]) -> T:
        other = self.others.get(request.match_info["id"])
        if not isinstance(other, kind):
            raise web.HTTPNotFound(text=f"no such {kind.kind}")  # type: ignore[attr-defined]
        return other

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="a JSON object")
        return body

    async def _outlet(self, request: web.Request) -> web.Response:
        """``GET``: ``{"on": …, "power_w": …}``; ``POST {"on": true}`` switches it."""
        outlet = self._other_of(request, OutletPort)
        if request.method == "POST":
            on = (await self._body(request)).get("on")
            if not isinstance(on, bool):
                raise web.HTTPBadRequest(text='{"on": true} or {"on": false}')
            outlet.switch(on)
        return web.json_response(
            {"on": outlet.on, "power_w": round(outlet.port.power_w, 1)}
        )

    async def _ha_charger(self, request: web.Request) -> web.Response:
        """``GET``: the limit asked and applied; ``POST {"limit_a": 10}`` asks one."""
        charger = self._other_of(request, HaChargerPort)
        if request.method == "POST":
            amps = (await self._body(request)).get("limit_a")
            if isinstance(amps, bool) or not isinstance(amps, int | float):
                raise web.HTTPBadRequest(text='{"limit_a": <amperes>}')
            if not math.isfinite(amps):
                raise web.HTTPBadRequest(text="a finite limit")
            charger.request(amps)
        return web.json_response(charger.status())


# --- command line ---------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.site",
        description="Simulate a site's chargers (OCPP) and meter (Modbus TCP).",
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="scenario file")
    parser.add_argument(
        "--ocpp",
        default="ws://127.0.0.1:9000",
        help="central system URL (chargers connect to <url>/<id>)",
    )
    parser.add_argument("--meter-port", type=int, help="Modbus TCP port of the meter")
    parser.add_argument(
        "--speedup", type=float, help="scenario seconds per real second"
    )
    parser.add_argument("--start", help="scenario time of day to start at (HH:MM)")
    parser.add_argument(
        "--status-port", type=int, help="serve GET /status (JSON) on 127.0.0.1"
    )
    parser.add_argument(
        "--charger-port",
        type=int,
        help="the first Modbus charger's port on 127.0.0.1 (the next: +1 …)",
    )
    parser.add_argument(
        "--log-interval", type=float, default=60.0, help="real seconds between logs"
    )
    parser.add_argument(
        "--duration", type=float, help="stop after this many real seconds"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def config_from_args(args: argparse.Namespace) -> SiteConfig:
    """The scenario file with the command line's overrides."""
    config = load_config(args.config)
    if args.speedup is not None:
        if args.speedup <= 0:
            raise SystemExit("--speedup must be positive")
        config = replace(config, speedup=args.speedup)
    if args.start is not None:
        config = replace(config, start_s=parse_time(args.start, "--start"))
    return config


async def run(args: argparse.Namespace) -> None:
    """Run the simulator until a signal, or ``--duration``."""
    config = config_from_args(args)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, done.set)
    simulator = SiteSimulator(
        config,
        args.ocpp,
        meter_port=args.meter_port,
        status_port=args.status_port,
        charger_port=args.charger_port,
        log_interval_s=args.log_interval,
    )
    try:
        async with simulator:
            if simulator.status_port is not None:
                _LOGGER.info(
                    "status: http://127.0.0.1:%s/status", simulator.status_port
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.duration):
                    await done.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    _LOGGER.info("stopped at %s", format_time(simulator.model.time_s))


def main(argv: Sequence[str] | None = None) -> int:
    """The command line."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # the ocpp library logs every frame at INFO
        logging.getLogger("ocpp").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


def _port_figures(port: PortState) -> dict[str, Any]:
    """What every port shows: its limit, transaction, vehicle and figures."""
    vehicle = port.vehicle
    return {
        "limit_a": round(port.limit_a, 2),
        "transaction": port.transaction,
        "vehicle": None if vehicle is None else vehicle.spec.name,
        "state": None if vehicle is None else vehicle.state,
        "currents_a": [round(a, 2) for a in port.currents_a],
        "power_w": round(port.power_w, 1),
        "soc_pct": None if vehicle is None else round(vehicle.soc_pct, 1),
        "session_kwh": None if vehicle is None else round(vehicle.energy_wh / 1000, 3),
        "leaves": None if vehicle is None else format_time(port.leave_s),
        "energy_kwh": round(port.register_wh / 1000, 3),
    }


def _reversals(limits: Sequence[float]) -> int:
    """How often a sequence of limits turned: went down after going up, or up
    after going down. A limit that hunts turns at every change; one that only
    ramps, or steps down for a new car and back up when it leaves, hardly does."""
    turns, last = 0, 0.0
    for before, after in itertools.pairwise(limits):
        if after == before:
            continue
        sign = 1.0 if after > before else -1.0
        if last and sign != last:
            turns += 1
        last = sign
    return turns


if __name__ == "__main__":
    raise SystemExit(main())

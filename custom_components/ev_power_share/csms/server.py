"""The central system: an aiohttp websocket server that OCPP stations connect to.

``ws[s]://host:port/<charge point id>``, subprotocol ``ocpp1.6`` or ``ocpp2.0.1``,
optional HTTP Basic auth (OCPP security profile 1) and TLS (profile 2). Each
connection becomes a :class:`~.station.Station`; one station's trouble (garbage
frames, a crash in a handler, a dead socket) never reaches another.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Mapping
import itertools
import logging
import ssl
import time
from types import MappingProxyType
from typing import Any

from aiohttp import WSMsgType, web

from .station import Admission, Station, StationConfig, StationListener
from .v16 import V16Station
from .v201 import V201Station

_LOGGER = logging.getLogger(__name__)
_WIRE_LOGGER = logging.getLogger(f"{__package__}.wire")

SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0.1")
MAX_ID_LENGTH = 48
CLOSE_TIMEOUT_S = 5.0


class _WireLogger(logging.LoggerAdapter[logging.Logger]):
    """The ``ocpp`` library logs every frame at INFO: make that DEBUG."""

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


class WebSocketConnection:
    """Gives the ``ocpp`` library the ``send``/``recv`` it expects, over aiohttp."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send(self, message: str) -> None:
        """Send one text frame (ConnectionError if the socket is closing)."""
        if self._ws.closed:
            raise ConnectionResetError("websocket closed")
        await self._ws.send_str(message)

    async def recv(self) -> str:
        """The next text frame; ConnectionError once the socket closes."""
        while True:
            msg = await self._ws.receive()
            if msg.type is WSMsgType.TEXT:
                return str(msg.data)
            if msg.type in (
                WSMsgType.CLOSE,
                WSMsgType.CLOSING,
                WSMsgType.CLOSED,
                WSMsgType.ERROR,
            ):
                raise ConnectionResetError("websocket closed")

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close the websocket."""
        await self._ws.close(code=code, message=message)


def choose_subprotocol(header: str | None) -> str | None:
    """The first protocol the client offers that we speak."""
    for offered in (header or "").split(","):
        if (name := offered.strip()) in SUBPROTOCOLS:
            return name
    return None


def station_id_of(path: str) -> str | None:
    """The charge point id in a websocket path: its last segment.

    Chargers are told ``ws://host:port/<id>``; some append their id to whatever
    URL they were given (``/ocpp/<id>``) or add a slash: all mean ``<id>``.
    """
    station_id = path.rstrip("/").rpartition("/")[2]
    if not station_id or len(station_id) > MAX_ID_LENGTH:
        return None
    return station_id


def basic_auth_password(header: str | None, station_id: str) -> str | None:
    """The password of an HTTP Basic header whose user is the station id."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or user != station_id:
        return None
    return password


class CentralSystem:
    """The OCPP server: accepts stations, keeps them in :attr:`stations`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 9000,
        authorize: Callable[[str, str | None], Admission],
        listener: StationListener,
        ssl_context: ssl.SSLContext | None = None,
        max_frame_bytes: int = 65536,
        config: StationConfig = StationConfig(),  # noqa: B008 (frozen, shared safely)
    ) -> None:
        self.host = host
        self._requested_port = port
        self._authorize = authorize
        self._listener = listener
        self._ssl_context = ssl_context
        self._max_frame_bytes = max_frame_bytes
        self.config = config
        self._stations: dict[str, Station] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._transaction_ids = itertools.count(int(time.time()) % 1_000_000_000)
        self._wire_logger = _WireLogger(_WIRE_LOGGER, {})

    @property
    def stations(self) -> Mapping[str, Station]:
        """Connected stations by id (read-only view)."""
        return MappingProxyType(self._stations)

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port=0``)."""
        if self._port is None:
            raise RuntimeError("central system not started")
        return self._port

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._runner is not None

    async def start(self) -> None:
        """Bind and serve; OSError if the address is taken."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(
            runner, self.host, self._requested_port, ssl_context=self._ssl_context
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        self._port = int(addresses[0][1]) if addresses else self._requested_port
        _LOGGER.info("OCPP central system listening on %s:%s", self.host, self._port)

    async def stop(self) -> None:
        """Close every websocket cleanly, stop listening, and wait for it all."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        sockets = list(self._sockets)
        if sockets:
            await asyncio.gather(
                *(ws.close(code=1001, message=b"server shutdown") for ws in sockets),
                return_exceptions=True,
            )
        await runner.cleanup()
        _LOGGER.info("OCPP central system stopped")

    def _new_station(
        self,
        version: str,
        station_id: str,
        ws: web.WebSocketResponse,
        admission: Admission,
    ) -> Station:
        connection = WebSocketConnection(ws)
        if version == "ocpp1.6":
            return V16Station(
                station_id,
                connection,
                admission=admission,
                listener=self._listener,
                config=self.config,
                next_transaction_id=lambda: next(self._transaction_ids),
                logger=self._wire_logger,
            )
        return V201Station(
            station_id,
            connection,
            admission=admission,
            listener=self._listener,
            config=self.config,
            logger=self._wire_logger,
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        station_id = station_id_of(request.match_info["path"])
        if station_id is None:
            raise web.HTTPNotFound
        protocol = choose_subprotocol(request.headers.get("Sec-WebSocket-Protocol"))
        if protocol is None:
            _LOGGER.warning(
                "%s: refused, no supported OCPP subprotocol offered", station_id
            )
            raise web.HTTPBadRequest(text="Supported subprotocols: ocpp1.6, ocpp2.0.1")
        password = basic_auth_password(request.headers.get("Authorization"), station_id)
        try:
            admission = Admission(self._authorize(station_id, password))
        except Exception:
            _LOGGER.exception("%s: authorize failed", station_id)
            raise web.HTTPInternalServerError from None
        if admission is Admission.REJECTED:
            _LOGGER.warning("%s: refused (unknown id or wrong credentials)", station_id)
            raise web.HTTPUnauthorized(
                headers={"WWW-Authenticate": 'Basic realm="OCPP"'}
            )

        ws = web.WebSocketResponse(
            protocols=(protocol,),
            max_msg_size=self._max_frame_bytes,
            timeout=CLOSE_TIMEOUT_S,
        )
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="Not a websocket request")
        await ws.prepare(request)
        self._sockets.add(ws)
        station = self._new_station(protocol, station_id, ws, admission)
        previous = self._stations.get(station_id)
        self._stations[station_id] = station
        try:
            if previous is not None:
                _LOGGER.info("%s: new connection replaces the old one", station_id)
                await previous.disconnect()
            _LOGGER.info("%s: connected (%s, %s)", station_id, protocol, admission)
            station._notify("on_connected")
            await self._serve(station, ws)
        finally:
            self._sockets.discard(ws)
            if self._stations.get(station_id) is station:
                del self._stations[station_id]
            if not ws.closed:
                await ws.close()
            await station.connection_lost()
            _LOGGER.info("%s: disconnected", station_id)
        return ws

    async def _serve(self, station: Station, ws: web.WebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await station.handle_text(msg.data)
            elif msg.type is WSMsgType.BINARY:
                _LOGGER.warning("%s: binary frame ignored (OCPP-J is text)", station.id)
            elif msg.type is WSMsgType.ERROR:
                _LOGGER.warning("%s: websocket error: %s", station.id, ws.exception())
                break

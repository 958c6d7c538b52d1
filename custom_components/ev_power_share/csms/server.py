"""The central system: an aiohttp websocket server that OCPP stations connect to.

``ws[s]://host:port/<charge point id>``, subprotocol ``ocpp1.6`` or ``ocpp2.0.1``,
optional HTTP Basic auth (OCPP security profile 1) and TLS (profile 2). Each
connection becomes a :class:`~.station.Station`; one station's trouble (garbage
frames, a crash in a handler, a dead socket) never reaches another.

What a stranger (or a broken charger) can take is bounded (:class:`ConnectionLimits`):

* every TCP connection counts against ``max_connections``; beyond it a new one
  is closed at once;
* a connection that is not an accepted charger yet (it has not completed its
  websocket handshake, or it was refused) is *unproven*: at most
  ``max_unproven_per_address`` per remote address and ``max_unproven`` in all;
  when a new one comes over either bound, the oldest unproven one is closed, so
  a flood never locks out a charger that completes its handshake promptly;
* an unproven connection is closed ``handshake_timeout_s`` after it was opened
  (TLS included), an accepted websocket that sends nothing within
  ``first_message_timeout_s``, and one that does not answer pings
  (``heartbeat_s``) soon after;
* unknown charge point ids held as pending: at most ``max_pending`` at once;
* a second connection for a charger that is online must authenticate (the
  charger has a password); without one it is refused while the first lives
  (a charger that reconnects closes its old socket first; a dead socket is
  found by the pings).

Refusals and timeouts are logged through a :class:`~.logs.RateLimitedLog`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import itertools
import logging
import ssl
import time
from types import MappingProxyType
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.web_protocol import RequestHandler

from .config import Admission, StationConfig, StationListener
from .logs import RateLimitedLog
from .station import Station
from .v16 import V16Station
from .v201 import V201Station

_LOGGER = logging.getLogger(__name__)

SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0.1")
MAX_ID_LENGTH = 48
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How much of the central system connections may take (see the module)."""

    max_connections: int = 512
    """All TCP connections at once (well under a typical file limit of 1024)."""
    max_unproven: int = 128
    """Connections that are not an accepted charger's websocket, in all."""
    max_unproven_per_address: int = 16
    """Likewise, from one remote address."""
    max_pending: int = 16
    """Websockets of unknown charge point ids, held pending."""
    handshake_timeout_s: float = 10.0
    """From TCP accept to an accepted websocket (TLS and HTTP upgrade)."""
    first_message_timeout_s: float = 20.0
    """From the websocket upgrade to the station's first frame (a charger that
    resumes without booting answers our first request, sent after
    :attr:`StationConfig.resume_grace_s`)."""
    heartbeat_s: float = 30.0
    """A websocket silent this long is pinged; one that does not answer within
    half of it is disconnected (a dead socket, or a charger that hung)."""
    takeover_grace_s: float = 2.0
    """How long a second connection for an online charger waits for the first to
    close before it is refused (unless it authenticated)."""


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


@dataclass(slots=True)
class _Connection:
    address: str
    transport: asyncio.BaseTransport
    timer: asyncio.TimerHandle | None
    proven: bool = False


class _Guard:
    """Counts the TCP connections of the central system and enforces the
    :class:`ConnectionLimits` on them (see the module)."""

    def __init__(self, limits: ConnectionLimits, log: RateLimitedLog) -> None:
        self.limits = limits
        self._log = log
        self._all: dict[RequestHandler, _Connection] = {}
        self._unproven: OrderedDict[RequestHandler, _Connection] = OrderedDict()
        """Oldest first."""
        self.refused = 0
        """Connections closed by a bound or a timeout."""

    @property
    def connections(self) -> int:
        """Open TCP connections."""
        return len(self._all)

    @property
    def unproven(self) -> int:
        """Open connections that are not an accepted charger's websocket."""
        return len(self._unproven)

    def opened(self, handler: RequestHandler, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        limits = self.limits
        if len(self._all) >= limits.max_connections:
            self._close(transport, address, "too many connections")
            return
        same = [h for h, c in self._unproven.items() if c.address == address]
        if len(same) >= limits.max_unproven_per_address:
            self._evict(same[0], f"more than {len(same)} unproven from {address}")
        if len(self._unproven) >= limits.max_unproven:
            self._evict(next(iter(self._unproven)), "too many unproven connections")
        timer = asyncio.get_running_loop().call_later(
            limits.handshake_timeout_s, self._timed_out, handler
        )
        connection = _Connection(address, transport, timer)
        self._all[handler] = connection
        self._unproven[handler] = connection

    def closed(self, handler: RequestHandler) -> None:
        connection = self._all.pop(handler, None)
        self._unproven.pop(handler, None)
        if connection is not None and connection.timer is not None:
            connection.timer.cancel()

    def prove(self, handler: RequestHandler) -> None:
        """The connection is an accepted (or pending) charger's websocket now."""
        connection = self._unproven.pop(handler, None)
        if connection is not None:
            connection.proven = True
            if connection.timer is not None:
                connection.timer.cancel()
                connection.timer = None

    def _timed_out(self, handler: RequestHandler) -> None:
        connection = self._unproven.get(handler)
        if connection is not None:
            connection.timer = None
            self._evict(handler, "no websocket handshake in time")

    def _evict(self, handler: RequestHandler, why: str) -> None:
        connection = self._unproven.pop(handler)
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None
        self._close(connection.transport, connection.address, why)

    def _close(self, transport: asyncio.BaseTransport, address: str, why: str) -> None:
        self.refused += 1
        self._log.report(
            ("connection", why), "OCPP connection from %s closed: %s", address, why
        )
        transport.close()


class _Server(web.Server):
    """aiohttp's low-level server, telling the guard of each TCP connection."""

    def __init__(self, handler: Any, guard: _Guard, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.guard = guard

    def connection_made(
        self, handler: RequestHandler, transport: asyncio.Transport
    ) -> None:
        super().connection_made(handler, transport)
        self.guard.opened(handler, transport)

    def connection_lost(
        self, handler: RequestHandler, exc: BaseException | None = None
    ) -> None:
        super().connection_lost(handler, exc)
        self.guard.closed(handler)


def _refusal(status: int, text: str = "", **headers: str) -> web.Response:
    """An HTTP error that closes its connection (no keep-alive for refusals)."""
    response = web.Response(status=status, text=text, headers=headers or None)
    response.force_close()
    return response


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
        limits: ConnectionLimits = ConnectionLimits(),
        has_password: Callable[[str], bool] = lambda _station_id: False,
    ) -> None:
        """``authorize(id, password)`` admits a connection; ``has_password(id)``
        says whether an accepted id was checked against a password (then a
        second connection for it may replace an online one)."""
        self.host = host
        self._requested_port = port
        self._authorize = authorize
        self._has_password = has_password
        self._listener = listener
        self._ssl_context = ssl_context
        self._max_frame_bytes = max_frame_bytes
        self.config = config
        self.limits = limits
        self.log = RateLimitedLog(_LOGGER)
        """Where stations' and connections' problems are logged, rate limited."""
        self._guard = _Guard(limits, self.log)
        self._stations: dict[str, Station] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._server: _Server | None = None
        self._listening: asyncio.Server | None = None
        self._port: int | None = None
        self._transaction_ids = itertools.count(int(time.time()) % 1_000_000_000)

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
        return self._listening is not None

    @property
    def connections(self) -> int:
        """Open TCP connections (chargers and any others)."""
        return self._guard.connections

    @property
    def refused_connections(self) -> int:
        """Connections closed so far by a limit or a timeout."""
        return self._guard.refused

    async def start(self) -> None:
        """Bind and serve; OSError if the address is taken."""
        if self._listening is not None:
            return
        server = _Server(self._handle, self._guard, access_log=None)
        self._listening = await asyncio.get_running_loop().create_server(
            server,
            self.host,
            self._requested_port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=(
                self.limits.handshake_timeout_s if self._ssl_context else None
            ),
        )
        self._server = server
        sockets = self._listening.sockets
        self._port = (
            int(sockets[0].getsockname()[1]) if sockets else self._requested_port
        )
        _LOGGER.info("OCPP central system listening on %s:%s", self.host, self._port)

    async def stop(self) -> None:
        """Close every websocket cleanly, stop listening, and wait for it all."""
        listening, self._listening = self._listening, None
        server, self._server = self._server, None
        if listening is None or server is None:
            return
        listening.close()
        sockets = list(self._sockets)
        if sockets:
            await asyncio.gather(
                *(ws.close(code=1001, message=b"server shutdown") for ws in sockets),
                return_exceptions=True,
            )
        server.pre_shutdown()
        await server.shutdown(1.0)
        await listening.wait_closed()
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
                log=self.log,
            )
        return V201Station(
            station_id,
            connection,
            admission=admission,
            listener=self._listener,
            config=self.config,
            log=self.log,
        )

    def _refuse(
        self, station_id: str, why: str, status: int, text: str = "", **headers: str
    ) -> web.Response:
        self.log.report(
            ("refused", station_id, why), "%s: refused, %s", station_id, why
        )
        return _refusal(status, text, **headers)

    async def _gone(self, station: Station, within_s: float) -> bool:
        """Whether ``station``'s connection closes within ``within_s``."""
        try:
            async with asyncio.timeout(within_s):
                await station.gone.wait()
        except TimeoutError:
            return False
        return True

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method != "GET":
            return _refusal(405)
        station_id = station_id_of(request.path)
        if station_id is None:
            return _refusal(404)
        protocol = choose_subprotocol(request.headers.get("Sec-WebSocket-Protocol"))
        if protocol is None:
            return self._refuse(
                station_id,
                "no supported OCPP subprotocol offered",
                400,
                "Supported subprotocols: ocpp1.6, ocpp2.0.1",
            )
        password = basic_auth_password(request.headers.get("Authorization"), station_id)
        try:
            admission = Admission(self._authorize(station_id, password))
        except Exception:
            _LOGGER.exception("%s: authorize failed", station_id)
            return _refusal(500)
        if admission is Admission.REJECTED:
            return self._refuse(
                station_id,
                "unknown id or wrong credentials",
                401,
                WWW_Authenticate='Basic realm="OCPP"',
            )
        previous = self._stations.get(station_id)
        if admission is Admission.PENDING and previous is None:
            pending = sum(
                1 for s in self._stations.values() if s.admission is Admission.PENDING
            )
            if pending >= self.limits.max_pending:
                return self._refuse(
                    station_id,
                    f"{pending} unknown chargers wait already",
                    503,
                    Retry_After="60",
                )
        if (
            previous is not None
            and previous.online
            and not (admission is Admission.ACCEPTED and self._has_password(station_id))
            and not await self._gone(previous, self.limits.takeover_grace_s)
        ):
            return self._refuse(
                station_id,
                "it is connected already (a charger without a password cannot "
                "replace its own connection)",
                409,
            )

        ws = web.WebSocketResponse(
            protocols=(protocol,),
            max_msg_size=self._max_frame_bytes,
            timeout=CLOSE_TIMEOUT_S,
            autoping=False,  # pings are answered and sent by _serve
        )
        if not ws.can_prepare(request).ok:
            return _refusal(400, "Not a websocket request")
        await ws.prepare(request)
        if request.protocol is not None:
            self._guard.prove(request.protocol)
        self._sockets.add(ws)
        station = self._new_station(protocol, station_id, ws, admission)
        previous = self._stations.get(station_id)
        self._stations[station_id] = station
        try:
            if previous is not None:
                _LOGGER.info("%s: new connection replaces the old one", station_id)
                await previous.disconnect()
            _LOGGER.info("%s: connected (%s, %s)", station_id, protocol, admission)
            station.notify("on_connected")
            await self._serve(station, ws)
        finally:
            self._sockets.discard(ws)
            if self._stations.get(station_id) is station:
                del self._stations[station_id]
            if not ws.closed:
                await ws.close()
            await station.connection_lost()
            self.log.flush(
                (station.id, "frame"),
                "%s: %s more malformed frames before it disconnected",
                station.id,
            )
            _LOGGER.info("%s: disconnected", station_id)
        return ws

    async def _serve(self, station: Station, ws: web.WebSocketResponse) -> None:
        """Route the station's frames until it goes; close it if it says nothing
        at first, or stops answering pings (we ping it after ``heartbeat_s``
        without a frame from it, and give it half that for the pong)."""
        limits = self.limits
        wait = limits.first_message_timeout_s
        spoke = pinged = False
        while True:
            try:
                msg = await ws.receive(timeout=wait)
            except TimeoutError:
                if spoke and not pinged:
                    await ws.ping()
                    pinged, wait = True, limits.heartbeat_s / 2.0
                    continue
                why = "no answer to a ping" if spoke else "no message after connecting"
                self.log.report(
                    (station.id, "silent"), "%s: closed, %s", station.id, why
                )
                await ws.close(code=1008, message=why.encode())
                return
            spoke, pinged, wait = True, False, limits.heartbeat_s
            if msg.type is WSMsgType.TEXT:
                await station.handle_text(msg.data)
            elif msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.PONG:
                pass
            elif msg.type is WSMsgType.BINARY:
                station.count_malformed("binary frame (OCPP-J is text)", "")
            elif msg.type is WSMsgType.ERROR:
                self.log.report(
                    (station.id, "ws"),
                    "%s: websocket error: %s",
                    station.id,
                    ws.exception(),
                )
                return
            else:  # CLOSE, CLOSING, CLOSED
                return

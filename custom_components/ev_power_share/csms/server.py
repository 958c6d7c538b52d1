"""The central system: an aiohttp websocket server that OCPP stations connect to.

``ws[s]://host:port/<charge point id>``, subprotocol ``ocpp1.6`` or ``ocpp2.0.1``,
optional HTTP Basic auth (OCPP security profile 1) and TLS (profile 2). Each
connection becomes a :class:`~.station.Station`; one station's trouble (garbage
frames, a crash in a handler, a dead socket) never reaches another.

What a stranger (or a broken charger) can take is bounded
(:class:`~.guard.ConnectionLimits`): TCP connections, unproven ones and their
timeouts by the :class:`~.guard.Guard`; here, at the handshake:

* unknown charge point ids held as pending: at most ``max_pending`` at once;
* a second connection for a charger that is online must authenticate (the
  charger has a password); without one it is refused while the first lives
  (a charger that reconnects closes its old socket first; a dead socket is
  found by the pings).

Refusals and timeouts are logged through a :class:`~.logs.RateLimitedLog`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import itertools
import logging
import ssl
import time
from types import MappingProxyType

from aiohttp import WSMsgType, web

from .config import Admission, StationConfig, StationListener
from .guard import ConnectionLimits, Guard, GuardedServer
from .handshake import (
    basic_auth_password,
    choose_subprotocol,
    refusal,
    station_id_of,
)
from .id_tokens import IdTokens
from .logs import RateLimitedLog
from .station import Station
from .tx_messages import TransactionMessage
from .v16 import V16Station
from .v201 import V201Station

_LOGGER = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0


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


@dataclass(frozen=True, slots=True)
class _Admitted:
    """A websocket request that may become a station's connection."""

    station_id: str
    protocol: str
    admission: Admission


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
        limits: ConnectionLimits = ConnectionLimits(),  # noqa: B008 (frozen)
        has_password: Callable[[str], bool] = lambda _station_id: False,
        tokens: IdTokens | None = None,
        on_transaction: Callable[[TransactionMessage], None] | None = None,
    ) -> None:
        """``authorize(id, password)`` admits a connection; ``has_password(id)``
        says whether an accepted id was checked against a password (then a
        second connection for it may replace an online one). ``tokens`` answers
        the id tokens stations present and gives their local lists (None:
        every token is accepted); ``on_transaction`` is told every
        transaction message (see :mod:`.tx_messages`)."""
        self.host = host
        self._requested_port = port
        self._authorize = authorize
        self._has_password = has_password
        self._tokens = tokens
        self._on_transaction = on_transaction
        self._listener = listener
        self._ssl_context = ssl_context
        self._max_frame_bytes = max_frame_bytes
        self.config = config
        self.limits = limits
        self.log = RateLimitedLog(_LOGGER)
        """Where stations' and connections' problems are logged, rate limited."""
        self._guard = Guard(limits, self.log)
        self._stations: dict[str, Station] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._server: GuardedServer | None = None
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

    def refresh_local_lists(self) -> None:
        """The users changed: give every connected station its new local list
        (in the background; each station only if its list changed)."""
        for station in self._stations.values():
            if station.commandable:
                station.spawn(station.sync_local_list())

    async def start(self) -> None:
        """Bind and serve; OSError if the address is taken."""
        if self._listening is not None:
            return
        server = GuardedServer(self._handle, self._guard, access_log=None)
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
                tokens=self._tokens,
                on_transaction=self._on_transaction,
            )
        return V201Station(
            station_id,
            connection,
            admission=admission,
            listener=self._listener,
            config=self.config,
            log=self.log,
            tokens=self._tokens,
            on_transaction=self._on_transaction,
        )

    def _refuse(
        self, station_id: str, why: str, status: int, text: str = "", **headers: str
    ) -> web.Response:
        self.log.report(
            ("refused", station_id, why), "%s: refused, %s", station_id, why
        )
        return refusal(status, text, **headers)

    async def _gone(self, station: Station, within_s: float) -> bool:
        """Whether ``station``'s connection closes within ``within_s``."""
        try:
            async with asyncio.timeout(within_s):
                await station.gone.wait()
        except TimeoutError:
            return False
        return True

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        admitted = self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        refused = await self._no_room(admitted)
        if refused is not None:
            return refused
        ws = web.WebSocketResponse(
            protocols=(admitted.protocol,),
            max_msg_size=self._max_frame_bytes,
            timeout=CLOSE_TIMEOUT_S,
            autoping=False,  # pings are answered and sent by _serve
        )
        if not ws.can_prepare(request).ok:
            return refusal(400, "Not a websocket request")
        await ws.prepare(request)
        if request.protocol is not None:
            self._guard.prove(request.protocol)
        await self._connected(admitted, ws)
        return ws

    def _admit(self, request: web.BaseRequest) -> _Admitted | web.Response:
        """Who a websocket request is, if it is admitted; else its refusal."""
        if request.method != "GET":
            return refusal(405)
        station_id = station_id_of(request.path)
        if station_id is None:
            return refusal(404)
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
            return refusal(500)
        if admission is Admission.REJECTED:
            return self._refuse(
                station_id,
                "unknown id or wrong credentials",
                401,
                WWW_Authenticate='Basic realm="OCPP"',
            )
        return _Admitted(station_id, protocol, admission)

    async def _no_room(self, admitted: _Admitted) -> web.Response | None:
        """The refusal of an admitted connection there is no room for: an unknown
        id when too many wait already, or a second connection of an online
        charger that may not replace the first (and the first stays)."""
        station_id, admission = admitted.station_id, admitted.admission
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
        return None

    async def _connected(self, admitted: _Admitted, ws: web.WebSocketResponse) -> None:
        """Serve an accepted websocket as the admitted station until it goes
        (replacing the station's previous connection)."""
        station_id = admitted.station_id
        self._sockets.add(ws)
        station = self._new_station(
            admitted.protocol, station_id, ws, admitted.admission
        )
        previous = self._stations.get(station_id)
        self._stations[station_id] = station
        try:
            if previous is not None:
                _LOGGER.info("%s: new connection replaces the old one", station_id)
                await previous.disconnect()
            _LOGGER.info(
                "%s: connected (%s, %s)",
                station_id,
                admitted.protocol,
                admitted.admission,
            )
            station.notify("on_connected")
            await self._serve(station, ws)
        finally:
            await self._disconnected(station, ws)

    async def _disconnected(self, station: Station, ws: web.WebSocketResponse) -> None:
        """A station's websocket is done: forget it, close it, end its work."""
        self._sockets.discard(ws)
        if self._stations.get(station.id) is station:
            del self._stations[station.id]
        if not ws.closed:
            await ws.close()
        await station.connection_lost()
        self.log.flush(
            (station.id, "frame"),
            "%s: %s more malformed frames before it disconnected",
            station.id,
        )
        _LOGGER.info("%s: disconnected", station.id)

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

"""How much of the central system connections may take, and the guard of its
TCP connections.

What a stranger (or a broken charger) can take is bounded (:class:`ConnectionLimits`;
the :class:`Guard` enforces the first three, the central system the last two at
the websocket handshake):

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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .logs import RateLimitedLog


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


@dataclass(slots=True)
class _Connection:
    address: str
    transport: asyncio.BaseTransport
    timer: asyncio.TimerHandle | None
    proven: bool = False


class Guard:
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


class GuardedServer(web.Server):
    """aiohttp's low-level server, telling the guard of each TCP connection."""

    def __init__(self, handler: Any, guard: Guard, **kwargs: Any) -> None:
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

"""What an HTTP request must bring to become a station's websocket.

``ws[s]://host:port/<charge point id>``, subprotocol ``ocpp1.6`` or ``ocpp2.0.1``,
optional HTTP Basic auth (OCPP security profile 1) whose user is the charge point
id.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0.1")
MAX_ID_LENGTH = 48


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


def refusal(status: int, text: str = "", **headers: str) -> web.Response:
    """An HTTP error that closes its connection (no keep-alive for refusals)."""
    response = web.Response(status=status, text=text, headers=headers or None)
    response.force_close()
    return response

"""Typed shims around the untyped ``ocpp`` library, and OCPP-J framing helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
import json
from typing import Any, cast

from ocpp.exceptions import OCPPError
from ocpp.messages import CallError, MessageType, unpack
from ocpp.routing import on as _on


def on[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """The library's ``@on`` route decorator, typed for mypy."""
    return cast("Callable[[F], F]", _on(action))


def ocpp_time(moment: datetime) -> str:
    """An OCPP date-time: UTC, milliseconds, ``Z`` suffix."""
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def parse_time(text: object) -> datetime | None:
    """Parse an OCPP date-time; ``None`` if absent or unreadable (naive means UTC)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def frame_error(text: str) -> str | None:
    """The CALLERROR to answer an unparseable frame with, or ``None`` if it is fine.

    The library only logs frames it cannot unpack; OCPP-J wants a CALLERROR (with
    message id ``"-1"`` when the id cannot be read). Broken CALLRESULT/CALLERROR
    frames are not answered (an error about a response would go nowhere).
    """
    try:
        unpack(text)
    except OCPPError as error:
        unique_id = "-1"
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        if isinstance(raw, list) and raw:
            if raw[0] in (MessageType.CallResult, MessageType.CallError):
                return None
            if len(raw) > 1 and isinstance(raw[1], str) and len(raw[1]) <= 36:
                unique_id = raw[1]
        cause = (
            str(error.details.get("cause", ""))
            if isinstance(error.details, dict)
            else ""
        )
        return str(
            CallError(
                unique_id, error.code, error.description, {"cause": cause}
            ).to_json()
        )
    return None

"""Typed shims around the untyped ``ocpp`` library, and OCPP-J framing rules.

The library routes frames and validates payloads against the OCPP JSON schemas;
what it leaves open is screened here, before a frame reaches it
(:func:`screen_frame`): frames it cannot unpack (it would only log them), nesting
deep enough to overflow a recursive parser, calls of actions we do not handle,
and answers to calls we never made (it would queue them without bound). Every
malformed CALL gets a CALLERROR with the code its OCPP version defines
(:func:`call_error`): 1.6 and 2.0.1 spell some codes differently, and the library
swaps NotImplemented and NotSupported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
import json
from typing import Any, Literal, cast

from ocpp.exceptions import OCPPError
from ocpp.messages import CallError, MessageType
from ocpp.routing import on as _on
from ocpp.v16.enums import Action as Action16
from ocpp.v201.enums import Action as Action201

Version = Literal["1.6", "2.0.1"]
MAX_UNIQUE_ID = 36
"""OCPP-J: a message id is at most 36 characters."""
MAX_DEPTH = 32
"""Deepest nesting of a frame we parse further (the deepest OCPP messages nest
about 8 levels; a frame nested thousands deep would overflow a recursive
parser)."""


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


class Fault(StrEnum):
    """What is wrong with a frame, whatever the version calls it."""

    FORMAT = "format"
    """Not JSON, not an OCPP-J array, a payload that is not an object, too deep."""
    PROTOCOL = "protocol"
    """Elements missing (or required fields, as the library reports it)."""
    MESSAGE_ID = "message_id"
    """The message id cannot be read."""
    MESSAGE_TYPE = "message_type"
    """An unknown message type number."""
    NOT_IMPLEMENTED = "not_implemented"
    """An action this OCPP version does not define."""
    NOT_SUPPORTED = "not_supported"
    """An action of this version that we do not handle."""
    TYPE = "type"
    PROPERTY = "property"
    OCCURRENCE = "occurrence"
    SECURITY = "security"
    INTERNAL = "internal"
    GENERIC = "generic"


_CODES: dict[Fault, tuple[str, str]] = {
    # fault: (OCPP 1.6 code, OCPP 2.0.1 code)
    Fault.FORMAT: ("FormationViolation", "FormatViolation"),
    Fault.PROTOCOL: ("ProtocolError", "ProtocolError"),
    Fault.MESSAGE_ID: ("FormationViolation", "RpcFrameworkError"),
    Fault.MESSAGE_TYPE: ("PropertyConstraintViolation", "MessageTypeNotSupported"),
    Fault.NOT_IMPLEMENTED: ("NotImplemented", "NotImplemented"),
    Fault.NOT_SUPPORTED: ("NotSupported", "NotSupported"),
    Fault.TYPE: ("TypeConstraintViolation", "TypeConstraintViolation"),
    Fault.PROPERTY: ("PropertyConstraintViolation", "PropertyConstraintViolation"),
    Fault.OCCURRENCE: (
        "OccurenceConstraintViolation",  # sic: OCPP 1.6's spelling
        "OccurrenceConstraintViolation",
    ),
    Fault.SECURITY: ("SecurityError", "SecurityError"),
    Fault.INTERNAL: ("InternalError", "InternalError"),
    Fault.GENERIC: ("GenericError", "GenericError"),
}
_DESCRIPTIONS: dict[Fault, str] = {
    Fault.FORMAT: "Payload for Action is syntactically incorrect",
    Fault.PROTOCOL: "Payload for Action is incomplete",
    Fault.MESSAGE_ID: "Content of the call is not a valid RPC request",
    Fault.MESSAGE_TYPE: "Message type number not supported",
    Fault.NOT_IMPLEMENTED: "Requested Action is not known by receiver",
    Fault.NOT_SUPPORTED: "Requested Action is recognized but not supported",
    Fault.TYPE: "A field has the wrong data type",
    Fault.PROPERTY: "A field contains an invalid value",
    Fault.OCCURRENCE: "A field violates occurrence constraints",
    Fault.SECURITY: "Security error",
    Fault.INTERNAL: "An internal error occurred",
    Fault.GENERIC: "Generic error",
}
_FAULT_OF_CODE: dict[str, Fault] = {
    code: fault for fault, codes in _CODES.items() for code in codes
} | {
    # The library's own spellings and its swapped pair.
    "FormatViolation": Fault.FORMAT,
    "FormationViolation": Fault.FORMAT,
    "OccurrenceConstraintViolation": Fault.OCCURRENCE,
    "OccurenceConstraintViolation": Fault.OCCURRENCE,
    "NotImplemented": Fault.NOT_SUPPORTED,
    "NotSupported": Fault.NOT_IMPLEMENTED,
}
_ACTIONS: dict[Version, frozenset[str]] = {
    "1.6": frozenset(a.value for a in Action16),
    "2.0.1": frozenset(a.value for a in Action201),
}


def fault_of(error: BaseException) -> Fault:
    """The fault an exception raised while handling a call stands for."""
    if isinstance(error, OCPPError):
        return _FAULT_OF_CODE.get(str(getattr(error, "code", "")), Fault.GENERIC)
    if isinstance(error, RecursionError):
        return Fault.FORMAT
    return Fault.INTERNAL


def call_error(version: Version, unique_id: str, fault: Fault, cause: str = "") -> str:
    """A CALLERROR frame, with the code ``version`` defines for ``fault``."""
    code = _CODES[fault][0 if version == "1.6" else 1]
    details = {"cause": cause[:200]} if cause else {}
    return str(CallError(unique_id, code, _DESCRIPTIONS[fault], details).to_json())


@dataclass(frozen=True, slots=True)
class Screened:
    """What to do with one text frame."""

    route: bool
    """Hand it to the library (a well-formed call we handle, or the answer to a
    call of ours)."""
    reply: str | None = None
    """A CALLERROR to send instead."""
    problem: str | None = None
    """What was wrong with it, for the log (None: nothing)."""


def _too_deep(value: object, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iteratively: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Collection[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _readable_id(frame: list[Any]) -> str | None:
    if len(frame) > 1 and isinstance(frame[1], str) and len(frame[1]) <= MAX_UNIQUE_ID:
        return frame[1]
    return None


def screen_frame(
    text: str,
    version: Version,
    handled: Collection[str],
    awaited: Collection[str] = (),
) -> Screened:
    """Decide what to do with a text frame from a station.

    ``handled``: the actions we have handlers for; ``awaited``: the message ids of
    our calls still waiting for their answer. A broken answer to one of those
    gets a CALLERROR (once: the id is then no longer awaited by the caller's
    bookkeeping); any other answer that is broken, or that answers nothing we
    asked, is dropped, so that two parties can never volley errors back and
    forth, and stray answers cannot pile up.
    """
    frame = _decode(text)
    if isinstance(frame, str):
        return _refused(version, None, Fault.FORMAT, frame)
    kind = frame[0]
    unique_id = _readable_id(frame)
    answer = kind in (MessageType.CallResult, MessageType.CallError)
    if _too_deep(frame, MAX_DEPTH):
        if answer:
            return Screened(False, problem="answer nested too deeply dropped")
        return _refused(version, unique_id, Fault.FORMAT, "nested too deeply")
    if kind == MessageType.Call:
        return _screen_call(frame, unique_id, version, handled)
    if answer:
        return _screen_answer(frame, unique_id, version, awaited)
    return _refused(
        version, unique_id, Fault.MESSAGE_TYPE, f"unknown message type {kind!r}"
    )


def _decode(text: str) -> list[Any] | str:
    """The OCPP-J array a frame holds, or what is wrong with it."""
    try:
        frame = json.loads(text)
    except ValueError:
        return "not JSON"
    except RecursionError:
        return "nested too deeply"
    if not isinstance(frame, list) or not frame:
        return "not an OCPP-J array"
    return frame


def _refused(
    version: Version, unique_id: str | None, fault: Fault, problem: str
) -> Screened:
    """A frame answered with a CALLERROR (id "-1" where its own is unreadable)."""
    reply_id = "-1" if unique_id is None else unique_id
    return Screened(False, call_error(version, reply_id, fault, problem), problem)


def _screen_call(
    frame: list[Any],
    unique_id: str | None,
    version: Version,
    handled: Collection[str],
) -> Screened:
    """A CALL is routed if it is well-formed and names an action we handle."""
    if unique_id is None:
        return _refused(
            version, None, Fault.MESSAGE_ID, "message id missing or unreadable"
        )
    if len(frame) != 4:
        return _refused(version, unique_id, Fault.PROTOCOL, "a call has 4 elements")
    action, payload = frame[2], frame[3]
    if not isinstance(action, str):
        return _refused(version, unique_id, Fault.FORMAT, "action is not a string")
    if not isinstance(payload, dict):
        return _refused(version, unique_id, Fault.FORMAT, "payload is not an object")
    if action not in _ACTIONS[version]:
        return _refused(
            version, unique_id, Fault.NOT_IMPLEMENTED, f"unknown action {action}"
        )
    if action not in handled:
        return _refused(
            version, unique_id, Fault.NOT_SUPPORTED, f"{action} not handled"
        )
    return Screened(True)


def _screen_answer(
    frame: list[Any],
    unique_id: str | None,
    version: Version,
    awaited: Collection[str],
) -> Screened:
    """A CALLRESULT or CALLERROR is routed if it is well-formed and answers a
    call of ours; a malformed CALLRESULT to one gets a CALLERROR; the rest is
    dropped."""
    result = frame[0] == MessageType.CallResult
    name = "CALLRESULT" if result else "CALLERROR"
    awaited_id = unique_id is not None and unique_id in awaited
    well_formed = _well_formed_answer(frame, result=result)
    if well_formed and awaited_id:
        return Screened(True)
    if not well_formed and awaited_id and result:
        return _refused(version, unique_id, Fault.PROTOCOL, f"malformed {name}")
    if not well_formed:
        return Screened(False, problem=f"malformed {name} dropped")
    return Screened(False, problem=f"{name} to no call of ours dropped")


def _well_formed_answer(frame: list[Any], *, result: bool) -> bool:
    """``[3, id, payload]`` for a CALLRESULT, ``[4, id, code, description,
    details]`` for a CALLERROR."""
    if result:
        return len(frame) == 3 and isinstance(frame[2], dict)
    return (
        len(frame) == 5
        and isinstance(frame[2], str)
        and isinstance(frame[3], str)
        and isinstance(frame[4], dict)
    )

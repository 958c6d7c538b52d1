"""A station's transaction messages, as the session ledger books them.

One :class:`TransactionMessage` per StartTransaction, MeterValues of a
transaction and StopTransaction (1.6), or TransactionEvent (2.0.1), with the
station's own timestamps: a message queued while the central system was down
arrives late but tells when it happened. Times are UTC timestamps (s); energy is
the connector's register (Wh).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import time
from typing import Any

from ._ocpp import parse_time
from .meter import parse_meter_values

LATE_S = 60.0
"""A 1.6 message (which has no offline flag) whose timestamp is older than
this when it arrives is taken as queued while the station was offline."""


class TxKind(StrEnum):
    """Which part of a transaction a message tells."""

    STARTED = "started"
    UPDATED = "updated"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class TxSample:
    """One meter value of a transaction, at the station's timestamp."""

    at: float
    wh: float | None = None
    """The energy register (Wh), if it was in the sample."""
    w: float | None = None
    """The power (W), if it was in the sample."""


@dataclass(frozen=True, slots=True)
class TransactionMessage:
    """What a station said about one of its transactions."""

    kind: TxKind
    station: str
    connector: int
    """The connector (EVSE); 0 if the station did not say and it is not known."""
    transaction_id: str
    at: float
    """When it happened, by the station's clock (when it arrived, if the
    station's timestamp is missing or unreadable)."""
    received_at: float
    offline: bool = False
    """It happened while the station could not reach us (2.0.1's ``offline``
    flag; 1.6: its timestamp is :data:`LATE_S` older than its arrival)."""
    id_token: str | None = None
    """The id token it names, as the station sent it."""
    user_id: str | None = None
    """The user that token belongs to, if known."""
    status: str | None = None
    """How we answered its id token (None: it named none)."""
    meter_wh: float | None = None
    """Started: the meter at the start; ended: the meter at the stop."""
    samples: tuple[TxSample, ...] = ()
    reason: str | None = None
    """Ended: why (1.6 ``reason``, 2.0.1 ``stoppedReason``), if given."""


def message(
    kind: TxKind,
    station: str,
    connector: int,
    transaction_id: str,
    station_time: object,
    *,
    offline: object = None,
    **fields: Any,
) -> TransactionMessage:
    """A message that arrives now: at the station's time (an OCPP date-time,
    or a timestamp; now if unreadable), offline as flagged (2.0.1), else if it
    is late."""
    now = time.time()
    if isinstance(station_time, float):
        at = station_time
    else:
        at = timestamp(parse_time(station_time), now)
    late = offline if isinstance(offline, bool) else now - at > LATE_S
    return TransactionMessage(
        kind, station, connector, transaction_id, at, now, late, **fields
    )


def timestamp(moment: datetime | None, fallback: float) -> float:
    """A station's time as a UTC timestamp, or ``fallback`` without one."""
    return fallback if moment is None else moment.timestamp()


def samples_of(meter_value: object) -> tuple[TxSample, ...]:
    """The usable samples of a message's ``meterValue`` list, each at its own
    timestamp (now, if it has none that can be read; unreadable values are
    left out: the station counts them)."""
    if not isinstance(meter_value, list):
        return ()
    return tuple(_samples(meter_value, time.time()))


def _samples(entries: Iterable[object], received_at: float) -> Iterable[TxSample]:
    for entry in entries:
        reading = parse_meter_values([entry])
        if reading.energy_wh is None and reading.power_w is None:
            continue
        yield TxSample(
            timestamp(reading.timestamp, received_at),
            reading.energy_wh,
            reading.power_w,
        )


def register_of(samples: tuple[TxSample, ...], *, last: bool) -> float | None:
    """The energy register of the first (or last) sample that has one."""
    ordered = reversed(samples) if last else iter(samples)
    return next((s.wh for s in ordered if s.wh is not None), None)

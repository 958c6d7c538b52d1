"""What the central system is given for its stations: whom it admits, the
settings they share, and the listener they tell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NotRequired, Protocol, TypedDict

from .id_tokens import IdTokens
from .logs import RateLimitedLog
from .tx_messages import TransactionMessage

if TYPE_CHECKING:
    from .station import Station


class Admission(StrEnum):
    """What the central system does with a charge point id (and its password)."""

    ACCEPTED = "accepted"
    PENDING = "pending"
    """Socket accepted, BootNotification answered Pending, nothing ever sent to it."""
    REJECTED = "rejected"
    """HTTP 401 at the websocket handshake."""


@dataclass(frozen=True, slots=True)
class StationConfig:
    """Settings shared by every station of a central system."""

    meter_interval_s: int = 10
    """MeterValueSampleInterval we configure after an accepted boot."""
    watchdog_s: float = 120.0
    """``validTo`` horizon of the live profile: it lapses this long after a refresh."""
    response_timeout_s: float = 10.0
    """How long we wait for the answer to one of our calls."""
    heartbeat_s: int = 300
    """Heartbeat interval given in an accepted BootNotification response."""
    pending_retry_s: int = 60
    """Interval given in a Pending BootNotification response (when to boot again)."""
    resume_grace_s: float = 5.0
    """How long a charger that connected may take to send its BootNotification
    before it is taken as resuming: reconnected (after a network blip, or our
    restart) without rebooting, so it will not boot at all."""


class StationListener(Protocol):
    """Callbacks from the central system; synchronous, called in the event loop."""

    def on_connected(self, station: Station) -> None:
        """A websocket was accepted (before any message)."""

    def on_disconnected(self, station: Station) -> None:
        """The websocket closed (``station.online`` is False)."""

    def on_boot(self, station: Station) -> None:
        """BootNotification arrived; ``station.info`` is filled."""

    def on_status(self, station: Station, connector_id: int) -> None:
        """A status or transaction change on a connector."""

    def on_meter(self, station: Station, connector_id: int) -> None:
        """New measurements on a connector."""


class StationOptions(TypedDict):
    """What every station is built with, whatever its version."""

    admission: Admission
    listener: StationListener
    config: StationConfig
    log: NotRequired[RateLimitedLog | None]
    """Where its problems are written, rate limited (the central system shares
    one between its stations)."""
    tokens: NotRequired[IdTokens | None]
    """Who may charge (None: anyone; no local list is sent)."""
    on_transaction: NotRequired[Callable[[TransactionMessage], None] | None]
    """Told each transaction message (for the session ledger)."""

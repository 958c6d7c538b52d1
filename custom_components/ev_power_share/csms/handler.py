"""What both versions' ``ocpp`` library ChargePoints share: how they are built
on a station's websocket, how the library's log and failures reach the station's
rate-limited log, and the messages we only acknowledge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ._ocpp import ocpp_time
from .logs import clip

if TYPE_CHECKING:
    from .link import Link
    from .station import Station

_WIRE_LOGGER = logging.getLogger(f"{__package__}.wire")


class Connection(Protocol):
    """What a station needs from its websocket (see :mod:`.server`)."""

    async def send(self, message: str) -> None:
        """Send one text frame."""

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close the websocket."""


def ocpp_now() -> str:
    """Now, as an OCPP date-time."""
    return ocpp_time(datetime.now(UTC))


class LibraryLog(logging.LoggerAdapter[logging.Logger]):
    """What the ``ocpp`` library logs about one station.

    It logs every frame at INFO: that is DEBUG here. Its warnings and errors are
    about the station's frames (an answer to nothing, a CALLERROR, a handler's
    failure on odd data): they go through the station's rate limit, without
    tracebacks (those go to DEBUG).
    """

    def __init__(self, station: Link) -> None:
        super().__init__(_WIRE_LOGGER, {})
        self._station = station

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level < logging.WARNING:
            if self.logger.isEnabledFor(logging.DEBUG):
                self.logger.debug(msg, *args)
            return
        station = self._station
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = str(msg)
        station.log.log(
            (station.id, "library"),
            logging.WARNING,
            "%s: %s",
            station.id,
            clip(text),
            exc_info=kwargs.get("exc_info"),
        )


def _acknowledge(answer: Callable[[], Any]) -> Callable[..., Any]:
    """A handler that answers any payload with ``answer()``."""

    def handler(**_: Any) -> Any:
        return answer()

    return handler


class StationHandler:
    """Mixin for the library's ChargePoint subclasses: routes a station's calls
    (schema-validated by the library) to the station.

    A call that fails schema validation (or breaks a handler) is answered with its
    version's CALLERROR and logged through the station's rate limit (the library
    would log a traceback for each, and uses 2.0.1's codes for 1.6).
    """

    acknowledged: ClassVar[tuple[Callable[[], Any], ...]] = ()
    """The (empty) answers of the messages we only acknowledge; each is named
    after its action."""
    station: Station
    route_map: dict[str, dict[str, Any]]

    def __init__(self, station: Station, connection: Connection) -> None:
        super().__init__(  # type: ignore[call-arg]
            station.id,
            connection,
            response_timeout=station.config.response_timeout_s,
            logger=station.wire_logger,
        )
        self.station = station
        for answer in self.acknowledged:
            self.route_map[answer.__name__] = {
                "_on_action": _acknowledge(answer),
                "_skip_schema_validation": False,
            }

    def boot_interval(self, accepted: bool) -> int:
        """The interval a BootNotification answer gives: until the next heartbeat,
        or (pending) until the station is to boot again."""
        config = self.station.config
        return config.heartbeat_s if accepted else config.pending_retry_s

    async def _handle_call(self, msg: Any) -> Any:
        try:
            return await super()._handle_call(msg)  # type: ignore[misc]
        except ConnectionError:
            raise
        except Exception as error:  # noqa: BLE001 - answered, never raised
            await self.station.answer_call_error(msg.unique_id, error)
            return None

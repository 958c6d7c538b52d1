"""The plumbing of one station's connection: its frames in, our calls out.

A :class:`Link` screens each frame before the ``ocpp`` library routes it, answers
what is malformed, sends our calls so that they fail soft (``None``, logged rate
limited) instead of raising, runs background work, and shuts down cleanly. What the
station is and what we tell it is :class:`~.station.Station`, built on it.
"""

from __future__ import annotations

from abc import ABC
import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
import logging
from typing import Any
import uuid

from ._ocpp import Version, call_error, fault_of, screen_frame
from .config import Admission
from .handler import Connection, LibraryLog
from .logs import RateLimitedLog, clip

_LOGGER = logging.getLogger(__name__)


class Link(ABC):
    """One websocket connection of a station, speaking OCPP-J."""

    version: Version
    _cp: Any
    """The ``ocpp`` library ChargePoint that routes this station's messages (its
    version's, set by the subclass)."""

    def __init__(
        self,
        station_id: str,
        connection: Connection,
        *,
        admission: Admission,
        log: RateLimitedLog | None,
    ) -> None:
        self.id = station_id
        self.admission = admission
        self.online = True
        self.last_seen: datetime = datetime.now(UTC)
        self._connection = connection
        self.log = log or RateLimitedLog(_LOGGER)
        self.wire_logger = LibraryLog(self)
        self.malformed_frames = 0
        """Frames that were not well-formed OCPP-J (answered, or dropped)."""
        self.gone = asyncio.Event()
        """Set once the connection is gone (:meth:`connection_lost`)."""
        self._awaited: set[str] = set()
        """Message ids of our calls that wait for their answer."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._calls: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.id!r} {self.admission} online={self.online}>"
        )

    @property
    def commandable(self) -> bool:
        """True if we may send commands (online, and not pending or rejected)."""
        return self.online and self.admission is Admission.ACCEPTED

    # --- incoming -------------------------------------------------------------

    async def handle_text(self, text: str) -> None:
        """Route one text frame; never raises (a bad frame only gets a CALLERROR,
        or is dropped if it is an answer; either is counted and logged, rate
        limited)."""
        self.last_seen = datetime.now(UTC)
        try:
            screened = screen_frame(
                text, self.version, self._cp.route_map, self._awaited
            )
            if screened.problem is not None:
                self.count_malformed(screened.problem, text)
            if screened.reply is not None:
                await self._connection.send(screened.reply)
            if screened.route:
                await self._cp.route_message(text)
        except ConnectionError:
            _LOGGER.debug("%s: connection closed while answering", self.id)
        except Exception as error:  # one frame never stops the station
            self.log.log(
                (self.id, "internal"),
                logging.ERROR,
                "%s: error while handling a frame: %r",
                self.id,
                error,
                exc_info=error,
                traceback=True,
            )

    def count_malformed(self, problem: str, text: str) -> None:
        self.malformed_frames += 1
        self.log.report(
            (self.id, "frame"),
            "%s: malformed frame (%s): %s",
            self.id,
            problem,
            clip(text, 120),
        )

    async def answer_call_error(self, unique_id: str, error: BaseException) -> None:
        """Answer a call that failed validation or handling with a CALLERROR
        (with this version's code for what went wrong)."""
        self.count_malformed(f"call {unique_id} refused: {clip(error, 160)}", "")
        await self._connection.send(
            call_error(self.version, unique_id, fault_of(error), clip(error, 160))
        )

    # --- outgoing -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine in the background; cancelled when the station goes."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOGGER.error("%s: background task failed: %r", self.id, error)

    async def call(self, payload: Any) -> Any | None:
        """Send a call; the response dataclass, or ``None`` on error/timeout/close."""
        if not self.commandable:
            return None
        unique_id = str(uuid.uuid4())
        task = asyncio.get_running_loop().create_task(
            self._cp.call(payload, suppress=False, unique_id=unique_id)
        )
        self._calls.add(task)
        self._awaited.add(unique_id)
        action = type(payload).__name__
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            _LOGGER.debug("%s: %s abandoned, station disconnected", self.id, action)
        except TimeoutError:
            self.log.report(
                (self.id, "timeout"), "%s: no answer to %s", self.id, action
            )
        except ConnectionError:
            _LOGGER.debug("%s: %s not sent, connection closed", self.id, action)
        except Exception as error:  # noqa: BLE001 - a CALLERROR, or an answer that
            # fails its schema or names an unknown error code: no answer at all.
            self.log.report(
                (self.id, "answer"),
                "%s: %s answered with %s",
                self.id,
                action,
                clip(getattr(error, "code", None) or repr(error), 160),
            )
        finally:
            self._calls.discard(task)
            self._awaited.discard(unique_id)
        return None

    async def succeeds(self, payload: Any, *statuses: str) -> bool:
        """Send a call; True if its answer's status is one of ``statuses``
        (``"Accepted"`` if none is given)."""
        result = await self.call(payload)
        return result is not None and result.status in (statuses or ("Accepted",))

    async def disconnect(self) -> None:
        """Close this station's websocket (it will usually reconnect)."""
        await self._connection.close(code=1000, message=b"closed by central system")

    async def connection_lost(self) -> None:
        """The websocket is gone: cancel our work."""
        self.online = False
        self.gone.set()
        pending = [*self._tasks, *self._calls]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

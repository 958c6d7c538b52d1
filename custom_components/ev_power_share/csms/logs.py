"""Logs that one faulty device cannot flood.

A charger that sends a malformed frame every millisecond, or a script that knocks
on the central system's port all day, must not write megabytes a second into
Home Assistant's log. :class:`RateLimitedLog` writes the first line of a kind at
once, then at most one line per ``interval_s`` for that kind, saying how many
were held back; without tracebacks (a device's garbage is not our bug: the
traceback, if any, goes to DEBUG).

Kinds are keys such as ``("cp-7", "frame")``; the number of kinds kept is
bounded, so ids chosen by a stranger cannot grow memory either.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
import logging
import time
from typing import Any

DEFAULT_INTERVAL_S = 60.0
MAX_KINDS = 1024
"""Kinds remembered at most; the oldest is forgotten (and may log again)."""
MAX_TEXT = 300
"""Characters of a device's text quoted at most in a line."""


def clip(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` as a string of at most ``limit`` characters (device data is
    quoted, never dumped)."""
    value = str(text)
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value)} characters)"


@dataclass(slots=True)
class _Kind:
    logged_at: float
    held: int = 0
    """Lines held back since the last one written."""


class RateLimitedLog:
    """Writes to ``logger`` at most once per ``interval_s`` per kind."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = DEFAULT_INTERVAL_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._kinds: OrderedDict[Hashable, _Kind] = OrderedDict()
        self.total = 0
        """Every line asked for, written or held back."""

    def log(
        self,
        kind: Hashable,
        level: int,
        msg: str,
        *args: object,
        exc_info: Any = None,
        traceback: bool = False,
    ) -> bool:
        """Log ``msg % args`` at ``level`` unless ``kind`` logged less than
        ``interval_s`` ago (then it is counted). True if it was written.

        ``exc_info`` goes with the line if ``traceback`` (for our own faults,
        worth a traceback once per interval), else to DEBUG only.
        """
        self.total += 1
        now = self._clock()
        state = self._kinds.get(kind)
        if state is not None and now - state.logged_at < self.interval_s:
            state.held += 1
            return False
        held = 0 if state is None else state.held
        self._kinds[kind] = _Kind(now)
        self._kinds.move_to_end(kind)
        while len(self._kinds) > MAX_KINDS:
            self._kinds.popitem(last=False)
        if not self.logger.isEnabledFor(level):
            return False
        if held:
            # The count is an argument, not part of the template: a log viewer
            # that groups lines by their message sees one kind, not one per count.
            msg = f"{msg} (and %d more like it in the last %.0f s)"
            args = (*args, held, self.interval_s)
        if traceback:
            self.logger.log(level, msg, *args, exc_info=exc_info)
            return True
        self.logger.log(level, msg, *args)
        if exc_info and self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("Details of the line above", exc_info=exc_info)
        return True

    def report(self, kind: Hashable, msg: str, *args: object) -> bool:
        """:meth:`log` at WARNING."""
        return self.log(kind, logging.WARNING, msg, *args)

    def flush(self, kind: Hashable, msg: str, *args: object) -> None:
        """Forget ``kind``; if lines were held back, say how many (``msg`` gets
        the count as its last argument): e.g. when a charger disconnects."""
        state = self._kinds.pop(kind, None)
        if state is not None and state.held:
            self.logger.warning(msg, *args, state.held)

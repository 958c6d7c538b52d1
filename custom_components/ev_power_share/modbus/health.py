"""How the link to one meter is doing: the back-off after failures, refused readings.

:class:`~.client.ModbusMeter` tells a :class:`LinkHealth` what each attempt came to
and asks it whether the meter may be tried yet; the connection itself stays the
meter's business.

**Link failures back off.** After no connection, no (matching) answer or a Modbus
exception the meter is left alone for a back-off delay (doubling from the initial
delay up to the longest, reset by the next answer); the first failure is logged at
WARNING, the rest at DEBUG until the meter answers again (INFO).

**Implausible readings do not.** The meter answered, so the link is fine and any
back-off ends; the reading is counted and logged without flooding: the first at
WARNING with its reason, then at most once every :data:`IMPLAUSIBLE_LOG_INTERVAL_S`
with the count since the last line, and at DEBUG in between.

Every line goes to the logger the meter gives, so one logger setting covers a meter.
"""

from __future__ import annotations

from collections.abc import Callable
import logging

from .reading import MeterErrorReason, MeterUnavailableError

IMPLAUSIBLE_LOG_INTERVAL_S = 60.0
"""At most one log line about implausible readings per this many seconds."""


class LinkHealth:
    """The failures, back-off and refused readings of one meter, and their log lines."""

    def __init__(
        self,
        label: str,
        logger: logging.Logger,
        *,
        initial: float,
        maximum: float,
        monotonic: Callable[[], float],
    ) -> None:
        self._label = label
        self._logger = logger
        self._initial = initial
        self._maximum = maximum
        self._monotonic = monotonic
        self.failures = 0
        """Consecutive failed attempts (0 after an answer)."""
        self.backoff = 0.0
        """Seconds the meter is left alone after the last failure (0 when healthy)."""
        self.last_error: MeterUnavailableError | None = None
        """Why the last read failed, until a read succeeds."""
        self.implausible = 0
        """Readings refused as implausible since the meter was created."""
        self._next_attempt = 0.0
        self._reported_down = False
        self._implausible_unlogged = 0
        self._implausible_logged_at: float | None = None

    @property
    def retry_in(self) -> float:
        """Seconds until the next attempt is allowed (0: now)."""
        if not self.failures:
            return 0.0
        return max(0.0, self._next_attempt - self._monotonic())

    def waiting(self) -> MeterUnavailableError | None:
        """What to raise at once, without a try, while the back-off lasts; else None."""
        wait = self.retry_in
        if wait > 0 and self.last_error is not None:
            return MeterUnavailableError(
                self.last_error.reason,
                f"{self.last_error} (next attempt in {wait:.1f} s)",
                retry_in=wait,
            )
        return None

    def failed(self, reason: MeterErrorReason, message: str) -> MeterUnavailableError:
        """Record a failed attempt and schedule the next one; the error to raise."""
        if self.failures:
            self.backoff = min(self.backoff * 2, self._maximum)
        else:
            self.backoff = self._initial
        self.failures += 1
        self._next_attempt = self._monotonic() + self.backoff
        error = MeterUnavailableError(reason, message, retry_in=self.backoff)
        self.last_error = error
        if not self._reported_down:
            self._reported_down = True
            self._logger.warning("%s; retrying with back-off", message)
        else:
            self._logger.debug("%s; next attempt in %.0f s", message, self.backoff)
        return error

    def refused(self, problem: str) -> MeterUnavailableError:
        """Record an implausible reading: counted, logged rate-limited, no back-off."""
        self._answered()
        self.implausible += 1
        self._implausible_unlogged += 1
        error = MeterUnavailableError(
            MeterErrorReason.IMPLAUSIBLE,
            f"{self._label}: implausible reading: {problem}",
        )
        self.last_error = error
        now = self._monotonic()
        last = self._implausible_logged_at
        if last is not None and now - last < IMPLAUSIBLE_LOG_INTERVAL_S:
            self._logger.debug("%s", error)
            return error
        if last is None or self._implausible_unlogged == 1:
            self._logger.warning("%s; refused (is the meter model right?)", error)
        else:
            self._logger.warning(
                "%s: %d implausible readings refused in the last %.0f s, latest: %s",
                self._label,
                self._implausible_unlogged,
                now - last,
                problem,
            )
        self._implausible_logged_at = now
        self._implausible_unlogged = 0
        return error

    def succeeded(self) -> None:
        """A reading was taken: the link is fine and nothing is left to tell."""
        self._answered()
        self.last_error = None

    def reset(self) -> None:
        """Forget past failures (the connection was closed on purpose)."""
        self._end_backoff()
        self.last_error = None

    def _answered(self) -> None:
        """The meter answered every request: the link is fine, any back-off ends."""
        if self._reported_down:
            self._reported_down = False
            self._logger.info("%s answers again", self._label)
        self._end_backoff()

    def _end_backoff(self) -> None:
        self.failures = 0
        self.backoff = 0.0
        self._next_attempt = 0.0

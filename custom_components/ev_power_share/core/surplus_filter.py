"""The solar controller's view of the surplus: an exponential moving average
(time constant ``tau_s``) and its running minimum over a window (the
*sustained* surplus), see :mod:`.solar`. No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import math

_EPS = 1e-6


@dataclass(slots=True)
class SurplusFilter:
    """Moving average of the surplus and its running minimum over a window."""

    tau_s: float
    window_s: float
    value: float | None = None
    at_s: float | None = None
    mins: deque[tuple[float, float]] = field(default_factory=deque)

    def update(self, now_s: float, sample: float) -> tuple[float, float]:
        """Take ``sample`` at ``now_s``: the moving average, and its lowest
        value over the last ``window_s``."""
        if self.value is None or self.at_s is None:
            self.value = sample
        else:
            dt = max(0.0, now_s - self.at_s)
            alpha = 1.0 if self.tau_s <= 0 else 1.0 - math.exp(-dt / self.tau_s)
            self.value += alpha * (sample - self.value)
        self.at_s = now_s
        mins = self.mins
        while mins and mins[-1][1] >= self.value:
            mins.pop()
        mins.append((now_s, self.value))
        while mins[0][0] < now_s - self.window_s - _EPS:
            mins.popleft()
        # The window's minimum includes the value in force at its start.
        return self.value, mins[0][1]

"""What a meter read gives: :class:`MeterReading`, or a :class:`MeterError` and why.

:class:`ReadingDecoder` turns the words of a profile's read requests into a reading;
:class:`~.client.ModbusMeter` hands it on only once it passed
:func:`plausibility_problem`: voltages of a mains supply, currents, powers and energy
counters a meter can measure, every number finite. The bounds are wide on purpose:
they catch a decoding error (a wrong profile, a word order the other way round), not
an unusual but real site.

:class:`MeterErrorReason` says why there is no reading, in words that fit a
configuration form's error key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import math

from .profiles import MeterProfile, ReadBlock, Register

VOLTAGE_RANGE_V = (80.0, 300.0)
"""Line-to-neutral voltages a mains meter may plausibly show."""
ABSENT_PHASE_V = 5.0
"""Below this a phase counts as not wired (a three-phase meter on fewer phases)."""
MAX_CURRENT_A = 10_000.0
"""Beyond this a current is a decoding error, not a measurement."""
MAX_PHASE_POWER_W = MAX_CURRENT_A * VOLTAGE_RANGE_V[1]
"""3 MW: the most one phase can carry within the current and voltage bounds."""
MAX_POWER_W = 10e6
"""10 MW: beyond this a total power is a decoding error (three phases carry 9 MW)."""
MAX_ENERGY_KWH = 1e10
"""Beyond this an energy counter is a decoding error (10 MW for 100 years: 8.8e9)."""


class MeterErrorReason(StrEnum):
    """Why a meter could not be read; the values suit a config flow's error keys."""

    CANNOT_CONNECT = "cannot_connect"
    """No TCP connection (nothing listening, host unreachable, refused)."""
    NO_RESPONSE = "no_response"
    """Connected, but no answer in time (wrong unit id, device off behind a gateway)."""
    DEVICE_ERROR = "device_error"
    """The device answered with a Modbus exception (e.g. a register it lacks)."""
    IMPLAUSIBLE = "implausible"
    """It answered, but the figures cannot be a mains meter's (wrong model?)."""


class MeterError(Exception):
    """A meter that could not be read, and why (:attr:`reason`)."""

    def __init__(self, reason: MeterErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class MeterUnavailableError(MeterError):
    """:meth:`~.client.ModbusMeter.read` has no reading to give now."""

    def __init__(
        self, reason: MeterErrorReason, message: str, *, retry_in: float = 0.0
    ) -> None:
        super().__init__(reason, message)
        self.retry_in = retry_in
        """Seconds until the meter will be tried again (0: at the next read)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """One complete read of a meter, in SI-ish units, power import positive."""

    timestamp: datetime
    """When the read completed (from the meter's injectable clock)."""
    voltages_v: tuple[float, ...]
    """Line-to-neutral voltage per phase (L1, L2, L3)."""
    currents_a: tuple[float, ...]
    """Current per phase as the meter reports it (use its magnitude for limits)."""
    powers_w: tuple[float, ...]
    """Active power per phase, import positive; empty if the meter has none."""
    power_w: float
    """Total active power, import positive (the meter's total, else the phases' sum)."""
    import_kwh: float | None = None
    """Imported energy counter, if the meter has one."""
    export_kwh: float | None = None
    """Exported energy counter, if the meter has one."""

    @property
    def phases(self) -> int:
        """Number of phases the meter measures."""
        return len(self.currents_a)


class ReadingDecoder:
    """Decodes the answers to a profile's read plan into a :class:`MeterReading`."""

    def __init__(self, profile: MeterProfile) -> None:
        self.profile = profile
        self.plan: tuple[ReadBlock, ...] = profile.read_plan()
        """The requests whose answers :meth:`decode` takes, in this order."""
        self._where = self._index(self.plan, profile.registers())

    @staticmethod
    def _index(
        plan: Sequence[ReadBlock], registers: Sequence[Register]
    ) -> dict[Register, int]:
        """Which block of the plan holds each register (found once, not per read)."""
        where: dict[Register, int] = {}
        for register in registers:
            where[register] = next(
                i for i, block in enumerate(plan) if block.covers(register)
            )
        return where

    def decode(
        self, words: Sequence[Sequence[int]], timestamp: datetime
    ) -> MeterReading:
        """The reading in ``words`` (one list per block of :attr:`plan`), unscreened."""

        def value(register: Register) -> float:
            index = self._where[register]
            return register.decode(self.plan[index].words_of(register, words[index]))

        def optional(register: Register | None) -> float | None:
            return None if register is None else value(register)

        profile = self.profile
        powers = tuple(value(r) for r in profile.powers)
        total = profile.total_power
        return MeterReading(
            timestamp=timestamp,
            voltages_v=tuple(value(r) for r in profile.voltages),
            currents_a=tuple(value(r) for r in profile.currents),
            powers_w=powers,
            power_w=value(total) if total is not None else _total(powers),
            import_kwh=optional(profile.import_energy),
            export_kwh=optional(profile.export_energy),
        )


def _total(powers: Sequence[float]) -> float:
    """The phases' sum; NaN (implausible) where ``fsum`` would raise (inf - inf)."""
    try:
        return math.fsum(powers)
    except (OverflowError, ValueError):
        return math.nan


def plausibility_problem(
    reading: MeterReading, voltage_range: tuple[float, float] = VOLTAGE_RANGE_V
) -> str | None:
    """Why ``reading`` cannot come from a mains meter, or None if it can.

    Every phase must be within ``voltage_range`` or below :data:`ABSENT_PHASE_V` (not
    wired), and at least one within the range; in magnitude, currents must be at most
    :data:`MAX_CURRENT_A`, phase powers :data:`MAX_PHASE_POWER_W` and the total power
    :data:`MAX_POWER_W`; energy counters must be within 0..:data:`MAX_ENERGY_KWH`.
    NaN and infinities fail every one of these (the comparisons are written so).
    The first problem found, in that order, is the one told.
    """
    return (
        _voltage_problem(reading.voltages_v, voltage_range)
        or _phase_problem("current", reading.currents_a, MAX_CURRENT_A, "A")
        or _phase_problem("power", reading.powers_w, MAX_PHASE_POWER_W, "W")
        or _total_power_problem(reading.power_w)
        or _counter_problem("import", reading.import_kwh)
        or _counter_problem("export", reading.export_kwh)
    )


def _voltage_problem(
    voltages: Sequence[float], voltage_range: tuple[float, float]
) -> str | None:
    """A phase outside the range and not absent, or no phase within it."""
    low, high = voltage_range
    for phase, volts in enumerate(voltages, start=1):
        if not (low <= volts <= high or abs(volts) < ABSENT_PHASE_V):
            return f"L{phase} voltage {volts:.6g} V is outside {low:g}..{high:g} V"
    if not any(low <= volts <= high for volts in voltages):
        return f"no phase has a voltage within {low:g}..{high:g} V"
    return None


def _phase_problem(
    quantity: str, values: Sequence[float], limit: float, unit: str
) -> str | None:
    """The first phase whose value is beyond ``limit`` in magnitude (or NaN)."""
    for phase, value in enumerate(values, start=1):
        if not abs(value) <= limit:
            return f"L{phase} {quantity} {value:.6g} {unit} is not a measurement"
    return None


def _total_power_problem(watts: float) -> str | None:
    if not abs(watts) <= MAX_POWER_W:
        return f"total power {watts:.6g} W is not a measurement"
    return None


def _counter_problem(name: str, kwh: float | None) -> str | None:
    """A counter below zero or beyond any meter's lifetime (NaN included); None if absent."""
    if kwh is None:
        return None
    if kwh < 0:
        return f"{name} energy {kwh:.6g} kWh is negative"
    if not kwh <= MAX_ENERGY_KWH:
        return f"{name} energy {kwh:.6g} kWh is not a counter"
    return None

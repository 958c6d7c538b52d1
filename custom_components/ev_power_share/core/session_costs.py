"""What one session cost, per tariff interval, from its meter samples. No Home
Assistant imports.

**The energy curve.** A session's energy register is known at its start
(``meter_start_wh``), at every sample and at its stop (``meter_stop_wh``; an
open session: its last sample). Between two of them the register is taken to
rise linearly. Samples outside the session's time are ignored; a register that
goes down is taken as flat, and every value is held within
``[meter start, meter stop]``, so the curve never decreases and ends where the
session's energy says it does.

**Intervals.** The session is cut at every moment its plan's price may change
(a time-of-use window's edge on the wall clock, midnight, a daylight-saving
change; a price slot's start and end) and the register read on the curve at
each cut, to the milli-watt-hour. Neighbouring intervals at the same price are
merged. Each interval's energy is the difference of the register at its ends,
so the intervals' energies add up *exactly* to meter stop − meter start (in
decimal arithmetic, the register taken by its shortest representation).

**Wall clock.** A time-of-use window is local time in the site's zone. Its
edges are mapped to instants for every day the session touches, both
readings of an ambiguous time (the hour repeated in autumn) and the instant
of every change of the zone's offset, and the price of each interval is read
at its midpoint: so an edge that the spring change skips takes effect at the
change, and one that the autumn change repeats takes effect twice.

**Idle time** (the per-hour plan's idle fee): a stretch between two curve
points is idle when the average power over it is at most ``idle_below_w``
(a flat register is idle). The idle fee runs from the end of the last stretch
in which the car drew (the start, if it never drew) plus the grace time, until
the stop.

**Rounding.** Each line's amount is its quantity × rate, rounded to the cent
half up (:func:`cents`); a session costs the sum of its lines' amounts.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
import itertools
from typing import Any

from .planner import PriceSlot
from .sessions import ClosedBy, SessionRecord
from .tariff_plans import (
    EnergyRule,
    PerHour,
    PerKwh,
    PriceSensor,
    TariffPlan,
    TimeOfUse,
    to_decimal,
)

CENT = Decimal("0.01")
MILLI_WH = Decimal("0.001")
IDLE_BELOW_W = 100.0
"""Average power (W) at or below which a car is taken as not drawing."""
_ZERO = Decimal(0)
_WH_PER_KWH = Decimal(1000)
_S_PER_H = Decimal(3600)
_OFFSET_STEP_S = 3 * 3600

type _RateAt = Callable[[float], Decimal]


def cents(value: Decimal) -> Decimal:
    """The one rounding rule of billing: to the cent, half up (0.005 → 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _d(value: float) -> Decimal:
    """A float by its shortest representation (``0.1`` → ``Decimal("0.1")``)."""
    return Decimal(repr(value))


class LineKind(StrEnum):
    """What a statement line charges for."""

    ENERGY = "energy"
    """kWh at a price per kWh."""
    TIME = "time"
    """Hours plugged in (per-hour plans)."""
    IDLE = "idle"
    """Hours plugged in without drawing, after the grace time."""


@dataclass(frozen=True, slots=True)
class CostLine:
    """One line of a session's cost: an interval, its energy, what it is
    billed by (``quantity`` in ``unit``, at ``rate`` per unit) and its amount
    (rounded to the cent)."""

    kind: LineKind
    start: float
    end: float
    energy_wh: Decimal
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SessionCost:
    """A session priced by one plan."""

    session: SessionRecord
    plan_id: str
    currency: str
    lines: tuple[CostLine, ...]

    @property
    def energy_wh(self) -> Decimal:
        """The session's energy: the sum of its lines' energies."""
        return sum((line.energy_wh for line in self.lines), _ZERO)

    @property
    def amount(self) -> Decimal:
        """What the session costs (net of VAT): the sum of its lines."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def closed_by_meter(self) -> bool:
        """Closed at its last meter reading, not by a stop (flagged)."""
        return self.session.closed_by is ClosedBy.METER


@dataclass(frozen=True, slots=True)
class EnergyCurve:
    """The energy register over a session: increasing times (the same one
    twice only for a session of no length: its start and its stop) and never
    decreasing values (Wh, decimal)."""

    times: tuple[float, ...]
    values: tuple[Decimal, ...]

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def stop(self) -> float:
        return self.times[-1]

    def at(self, moment: float) -> Decimal:
        """The register at ``moment`` (inside the session), linearly between
        the points, to the milli-watt-hour, within its neighbours."""
        i = bisect.bisect_right(self.times, moment)
        if i == 0:
            return self.values[0]
        if i == len(self.times) or self.times[i - 1] == moment:
            return self.values[i - 1]
        t0, t1 = self.times[i - 1], self.times[i]
        v0, v1 = self.values[i - 1], self.values[i]
        with localcontext() as ctx:
            ctx.prec = 40
            value = v0 + (v1 - v0) * _d(moment - t0) / _d(t1 - t0)
        return min(max(value.quantize(MILLI_WH), v0), v1)


def _stop_point(session: SessionRecord) -> tuple[float, float]:
    """The session's last moment and register: its stop, else its last
    sample, else its start."""
    if session.stopped_at is not None:
        wh = session.meter_stop_wh
        last_wh = session.samples[-1].wh if session.samples else session.meter_start_wh
        return session.stopped_at, last_wh if wh is None else wh
    if session.samples:
        return session.samples[-1].at, session.samples[-1].wh
    return session.started_at, session.meter_start_wh


def energy_curve(session: SessionRecord) -> EnergyCurve:
    """The session's register over its time (see the module's docstring)."""
    start, first = session.started_at, _d(session.meter_start_wh)
    stop, stop_wh = _stop_point(session)
    stop = max(stop, start)
    last = max(first, _d(stop_wh))
    times, values = [start], [first]
    for sample in sorted(session.samples, key=lambda s: (s.at, s.wh)):
        if not start < sample.at < stop:
            continue
        value = min(max(_d(sample.wh), values[-1]), last)
        if sample.at == times[-1]:
            values[-1] = value
        else:
            times.append(sample.at)
            values.append(value)
    times.append(stop)
    values.append(last)
    return EnergyCurve(tuple(times), tuple(values))


def price_session(
    session: SessionRecord,
    plan: TariffPlan,
    tz: tzinfo,
    prices: Sequence[PriceSlot] = (),
    *,
    idle_below_w: float = IDLE_BELOW_W,
) -> SessionCost:
    """The session's cost lines under ``plan``; ``tz`` is the site's time
    zone (time of use), ``prices`` the price sensor's slots (price sensor
    plans; any order, non-overlapping)."""
    curve = energy_curve(session)
    if isinstance(plan.rule, PerHour):
        lines = _per_hour_lines(curve, plan.rule, idle_below_w)
    else:
        lines = _energy_lines(curve, _rate_spans(plan.rule, curve, tz, prices))
    return SessionCost(session, plan.id, plan.currency, tuple(lines))


@dataclass(frozen=True, slots=True)
class RateSpan:
    """``[start, end)`` at ``rate`` per kWh."""

    start: float
    end: float
    rate: Decimal


def _rate_spans(
    rule: EnergyRule, curve: EnergyCurve, tz: tzinfo, prices: Sequence[PriceSlot]
) -> list[RateSpan]:
    start, stop = curve.start, curve.stop
    match rule:
        case PerKwh():
            return [RateSpan(start, stop, rule.price)]
        case TimeOfUse():
            return time_of_use_spans(rule, start, stop, tz)
        case PriceSensor():
            return price_sensor_spans(rule, start, stop, prices)


def _energy_lines(curve: EnergyCurve, spans: Sequence[RateSpan]) -> list[CostLine]:
    """A line per span; the register at the cuts between them read on the
    curve, at the session's start and stop its own values."""
    marks = [curve.values[0], *(curve.at(s.end) for s in spans[:-1]), curve.values[-1]]
    lines = []
    for span, (before, after) in zip(spans, itertools.pairwise(marks), strict=True):
        energy = after - before
        kwh = energy / _WH_PER_KWH
        lines.append(
            CostLine(
                LineKind.ENERGY,
                span.start,
                span.end,
                energy,
                kwh,
                "kWh",
                span.rate,
                cents(kwh * span.rate),
            )
        )
    return lines


def _merged(
    cuts: Iterable[float], start: float, stop: float, rate_at: _RateAt
) -> list[RateSpan]:
    """``[start, stop]`` cut at ``cuts`` (those inside it), each piece priced at
    its midpoint, neighbours at the same price merged."""
    points = [start, *sorted({c for c in cuts if start < c < stop}), stop]
    spans: list[RateSpan] = []
    for a, b in itertools.pairwise(points):
        rate = rate_at((a + b) / 2)
        if spans and spans[-1].rate == rate:
            spans[-1] = RateSpan(spans[-1].start, b, rate)
        else:
            spans.append(RateSpan(a, b, rate))
    return spans or [RateSpan(start, stop, rate_at(start))]


def time_of_use_spans(
    rule: TimeOfUse, start: float, stop: float, tz: tzinfo
) -> list[RateSpan]:
    """``[start, stop]`` cut where the plan's price changes on the wall clock."""

    def rate_at(moment: float) -> Decimal:
        return rule.price_at(datetime.fromtimestamp(moment, tz))

    return _merged(
        [*_wall_clock_cuts(rule, start, stop, tz), *offset_changes(start, stop, tz)],
        start,
        stop,
        rate_at,
    )


def _wall_clock_cuts(
    rule: TimeOfUse, start: float, stop: float, tz: tzinfo
) -> list[float]:
    """Every instant in ``(start, stop)`` whose wall clock shows an edge of the
    plan (both readings of an ambiguous time)."""
    day = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(stop, tz).date() + timedelta(days=1)
    cuts = []
    while day <= last:
        for edge in rule.edges():
            local = datetime.combine(day, edge, tzinfo=tz)
            cuts += [local.timestamp(), local.replace(fold=1).timestamp()]
        day += timedelta(days=1)
    return [c for c in cuts if start < c < stop]


def offset_changes(start: float, stop: float, tz: tzinfo) -> list[float]:
    """The instants in ``(start, stop)`` at which the zone's UTC offset changes
    (to the second)."""
    changes = []
    moment = start
    while moment < stop:
        step_end = min(moment + _OFFSET_STEP_S, stop)
        if _offset(moment, tz) != _offset(step_end, tz):
            changes.append(_first_with(_offset(step_end, tz), moment, step_end, tz))
        moment = step_end
    return changes


def _offset(moment: float, tz: tzinfo) -> timedelta | None:
    return datetime.fromtimestamp(moment, tz).utcoffset()


def _first_with(offset: timedelta | None, low: float, high: float, tz: tzinfo) -> float:
    """The first moment in ``(low, high]`` with ``offset`` (bisection to the
    second; ``low`` has another offset, ``high`` this one)."""
    while high - low > 1:
        middle = (low + high) / 2
        if _offset(middle, tz) == offset:
            high = middle
        else:
            low = middle
    return float(round(high))


def price_sensor_spans(
    rule: PriceSensor, start: float, stop: float, prices: Sequence[PriceSlot]
) -> list[RateSpan]:
    """``[start, stop]`` cut at the price slots' starts and ends."""
    slots = _clean_slots(prices)
    starts = [s.start_s for s in slots]

    def rate_at(moment: float) -> Decimal:
        i = bisect.bisect_right(starts, moment) - 1
        price = rule.fallback_price
        if i >= 0 and moment < slots[i].end_s:
            price = to_decimal(slots[i].price) or _ZERO
        return max(price + rule.margin, _ZERO)

    cuts = [t for s in slots for t in (s.start_s, s.end_s)]
    return _merged(cuts, start, stop, rate_at)


def _clean_slots(prices: Sequence[PriceSlot]) -> list[PriceSlot]:
    """The slots with a finite price and a positive length, sorted; a slot
    starting inside the one before it is dropped."""
    usable = sorted(
        (s for s in prices if s.end_s > s.start_s and to_decimal(s.price) is not None),
        key=lambda s: s.start_s,
    )
    slots: list[PriceSlot] = []
    for slot in usable:
        if not slots or slot.start_s >= slots[-1].end_s:
            slots.append(slot)
    return slots


def _hours(seconds: float) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return _d(seconds) / _S_PER_H


def idle_from(curve: EnergyCurve, idle_below_w: float = IDLE_BELOW_W) -> float:
    """When the car stopped drawing for good: the end of the last stretch of
    the curve in which it drew more than ``idle_below_w`` on average (the
    session's start if it never did)."""
    limit = _d(idle_below_w)
    points = list(zip(curve.times, curve.values, strict=True))
    for (t0, v0), (t1, v1) in reversed(list(itertools.pairwise(points))):
        if (v1 - v0) * _S_PER_H > limit * _d(t1 - t0):
            return t1
    return curve.start


def _per_hour_lines(
    curve: EnergyCurve, rule: PerHour, idle_below_w: float
) -> list[CostLine]:
    start, stop = curve.start, curve.stop
    plugged = _hours(stop - start)
    energy = curve.values[-1] - curve.values[0]
    lines = [
        CostLine(
            LineKind.TIME,
            start,
            stop,
            energy,
            plugged,
            "h",
            rule.price_per_hour,
            cents(plugged * rule.price_per_hour),
        )
    ]
    fee_from = idle_from(curve, idle_below_w) + rule.grace_minutes * 60
    if rule.idle_fee_per_hour > 0 and fee_from < stop:
        idle = _hours(stop - fee_from)
        lines.append(
            CostLine(
                LineKind.IDLE,
                fee_from,
                stop,
                _ZERO,
                idle,
                "h",
                rule.idle_fee_per_hour,
                cents(idle * rule.idle_fee_per_hour),
            )
        )
    return lines


def line_to_dict(line: CostLine) -> dict[str, str | float]:
    """A cost line as JSON can hold it (decimals as strings, exactly), for a
    ledger that keeps what each session cost."""
    return {
        "kind": str(line.kind),
        "start": line.start,
        "end": line.end,
        "energy_wh": str(line.energy_wh),
        "quantity": str(line.quantity),
        "unit": line.unit,
        "rate": str(line.rate),
        "amount": str(line.amount),
    }


def line_from_dict(data: Mapping[str, Any]) -> CostLine:
    """The cost line :func:`line_to_dict` wrote; ValueError naming the field
    if it is not one."""
    try:
        kind = LineKind(str(data.get("kind")))
    except ValueError:
        raise ValueError("kind: must be energy, time or idle") from None
    return CostLine(
        kind,
        _moment(data, "start"),
        _moment(data, "end"),
        _decimal(data, "energy_wh"),
        _decimal(data, "quantity"),
        str(data.get("unit", "")),
        _decimal(data, "rate"),
        _decimal(data, "amount"),
    )


def _moment(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    number = to_decimal(value) if isinstance(value, int | float) else None
    if number is None:
        raise ValueError(f"{key}: must be a number")
    return float(number)  # exactly the float written (its shortest repr)


def _decimal(data: Mapping[str, Any], key: str) -> Decimal:
    value = to_decimal(data.get(key))
    if value is None:
        raise ValueError(f"{key}: must be a number")
    return value

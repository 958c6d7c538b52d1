"""Scheduled charging: the cheapest slots that deliver the energy by departure.

Given what a vehicle needs (kWh, or a state of charge target and its battery),
when it leaves, the most its port can deliver (maximum current × watts per
ampere), a price forecast (``(start_s, end_s, price per kWh)``, hourly or
15-minute) and optionally a forecast of the solar surplus it could use, the
planner chooses how much energy to charge in each slot.

**Slots** are the pieces of ``[now, departure)`` cut at every boundary of both
forecasts. A slot with expected surplus ``s`` offers two pieces: up to
``min(s, P) × duration`` at ``solar_price`` (default 0: or the feed-in tariff
it would otherwise earn) and the rest up to ``P × duration`` at the grid price.
Time not covered by the price forecast has no price: it is used only when the
priced time cannot deliver the need, earliest first, and costs nothing in
``cost`` (see ``unpriced_kwh``).

**Choice**: the pieces are filled cheapest first, ties broken by the earlier
slot (and within a slot, sun before grid). Charging energy ``e_k`` in slot
``k`` at price ``c_k`` with ``0 ≤ e_k ≤ cap_k`` and ``Σ e_k = need`` is a
linear program whose optimum is this greedy filling, so no plan with the same
slots is cheaper. If even every slot at full power falls short, the plan is
*at risk*: it charges at full power from now on (and after departure too, while
the vehicle stays), and reports the shortfall.

**From plan to current**: :meth:`ChargePlan.current_cap_at` gives the cap for
``Vehicle.max_a``. In a slot planned at an average power of at least the
minimum (``min_a``), that average; below it, the minimum current from the
slot's start until the slot's energy is delivered (vehicles cannot charge
below the minimum). Replan every cycle (it takes microseconds) with the energy
still needed: whatever the allocator could not give, or what rounding to whole
amps lost, moves to the next cheapest slot.

Deterministic, no Home Assistant imports, no I/O. Units: W, kWh, s.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
import itertools
import math

_EPS = 1e-9
_J_PER_KWH = 3.6e6


class PlanError(ValueError):
    """A forecast or request that cannot be planned; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """The price of grid energy during ``[start_s, end_s)``, per kWh."""

    start_s: float
    end_s: float
    price: float


@dataclass(frozen=True, slots=True)
class SolarSlot:
    """The solar surplus expected for this vehicle during ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    power_w: float


def energy_for_soc(
    soc_pct: float, target_pct: float, capacity_kwh: float, efficiency: float = 0.9
) -> float:
    """Energy to deliver at the charger to go from ``soc_pct`` to ``target_pct``.

    ``efficiency`` is the share of the charger's energy that reaches the battery
    (0.85–0.95 for AC charging).
    """
    if not (math.isfinite(capacity_kwh) and capacity_kwh >= 0):
        raise PlanError("capacity_kwh", "must be a number >= 0")
    if not (math.isfinite(efficiency) and 0 < efficiency <= 1):
        raise PlanError("efficiency", "must be in (0, 1]")
    for name, value in (("soc_pct", soc_pct), ("target_pct", target_pct)):
        if not (math.isfinite(value) and 0 <= value <= 100):
            raise PlanError(name, "must be between 0 and 100")
    return max(0.0, target_pct - soc_pct) / 100.0 * capacity_kwh / efficiency


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """What a vehicle needs and what its port can do."""

    energy_kwh: float
    """Energy to deliver at the charger."""
    departure_s: float
    max_a: float
    """The most the port and vehicle take (A per phase)."""
    watts_per_amp: float
    """Power per ampere of the vehicle on this port (phases × V, or V line-line)."""
    min_a: float = 6.0
    """The least current the vehicle can be given while it charges."""

    @property
    def max_power_w(self) -> float:
        """Power at the maximum current."""
        return self.max_a * self.watts_per_amp

    def validate(self) -> None:
        """Raise :class:`PlanError` naming what is wrong."""
        for name, value in (
            ("energy_kwh", self.energy_kwh),
            ("max_a", self.max_a),
            ("min_a", self.min_a),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise PlanError(name, "must be a number >= 0")
        if not (math.isfinite(self.watts_per_amp) and self.watts_per_amp > 0):
            raise PlanError("watts_per_amp", "must be a positive number")
        if not math.isfinite(self.departure_s):
            raise PlanError("departure_s", "must be a number")


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """One slot of a plan."""

    start_s: float
    end_s: float
    price: float | None
    """Grid price per kWh; None: beyond the price forecast."""
    solar_w: float
    """Expected surplus this vehicle could use (at most its maximum power)."""
    energy_kwh: float
    """Energy planned in the slot."""
    solar_kwh: float
    """Of which expected from the sun."""

    @property
    def duration_s(self) -> float:
        """Length of the slot."""
        return self.end_s - self.start_s

    @property
    def power_w(self) -> float:
        """Average power planned in the slot."""
        return self.energy_kwh * _J_PER_KWH / self.duration_s


@dataclass(frozen=True, slots=True)
class ChargePlan:
    """The outcome of :func:`plan_charging`."""

    request: ChargeRequest
    now_s: float
    slots: tuple[PlannedSlot, ...]
    """Every slot from now to departure, in time order (planned energy may be 0)."""
    energy_kwh: float
    """Energy planned in total."""
    cost: float
    """Cost of the planned energy at the forecast prices (the sun's part at
    ``solar_price``; unpriced time counts 0)."""
    at_risk: bool
    """True when the need cannot be delivered by departure: charging as fast as
    allowed from now on."""
    shortfall_kwh: float
    """Energy missing at departure even at full power (0 when not at risk)."""

    @property
    def unpriced_kwh(self) -> float:
        """Grid energy planned beyond the price forecast (its cost is unknown)."""
        return sum(s.energy_kwh - s.solar_kwh for s in self.slots if s.price is None)

    def _slot_at(self, t: float) -> PlannedSlot | None:
        starts = [s.start_s for s in self.slots]
        k = bisect.bisect_right(starts, t) - 1
        if k < 0 or t >= self.slots[k].end_s:
            return None
        return self.slots[k]

    def power_at(self, t: float) -> float:
        """Average power planned for the slot holding ``t`` (W)."""
        if self.at_risk and t >= self.now_s:
            return self.request.max_power_w
        slot = self._slot_at(t)
        return 0.0 if slot is None else slot.power_w

    def current_cap_at(self, t: float) -> float:
        """Cap on the vehicle's current at ``t`` (A): 0, or at least ``min_a``.

        At risk: the maximum current from now on. In a slot planned at an
        average power of at least the minimum: that average. Below it: the
        minimum current from the slot's start until the slot's energy is in.
        """
        req = self.request
        if self.at_risk and t >= self.now_s:
            return req.max_a
        slot = self._slot_at(t)
        if slot is None or slot.energy_kwh <= _EPS:
            return 0.0
        amps = slot.power_w / req.watts_per_amp
        if amps >= req.min_a - _EPS or req.min_a <= 0:
            return min(req.max_a, amps)
        minimum_w = req.min_a * req.watts_per_amp
        until = slot.start_s + slot.energy_kwh * _J_PER_KWH / minimum_w
        return min(req.min_a, req.max_a) if t < until else 0.0


def _sorted_slots(
    slots: Iterable[tuple[float, float, float]], name: str
) -> list[tuple[float, float, float]]:
    """Validated, in time order, not overlapping."""
    out = []
    for i, raw in enumerate(slots):
        start, end, value = (float(x) for x in raw)
        if not all(math.isfinite(x) for x in (start, end, value)):
            raise PlanError(f"{name}[{i}]", "must be finite numbers")
        if end <= start:
            raise PlanError(f"{name}[{i}]", "must end after it starts")
        out.append((start, end, value))
    out.sort()
    for (_, end, _), (start, _, _) in itertools.pairwise(out):
        if start < end - _EPS:
            raise PlanError(name, "slots overlap")
    return out


def _covering(
    slots: list[tuple[float, float, float]], starts: list[float], t: float
) -> float | None:
    k = bisect.bisect_right(starts, t) - 1
    if k >= 0 and t < slots[k][1]:
        return slots[k][2]
    return None


def plan_charging(
    request: ChargeRequest,
    now_s: float,
    prices: Iterable[tuple[float, float, float] | PriceSlot],
    solar: Iterable[tuple[float, float, float] | SolarSlot] = (),
    solar_price: float = 0.0,
) -> ChargePlan:
    """The cheapest plan that delivers ``request.energy_kwh`` by departure.

    ``prices`` and ``solar`` are ``(start_s, end_s, value)`` tuples (or
    :class:`PriceSlot` / :class:`SolarSlot`); they need not cover the whole
    horizon. Raises :class:`PlanError` for invalid input.
    """
    request.validate()
    if not math.isfinite(now_s):
        raise PlanError("now_s", "must be a number")
    if not math.isfinite(solar_price):
        raise PlanError("solar_price", "must be a number")
    price_list = _sorted_slots(
        (
            (p.start_s, p.end_s, p.price) if isinstance(p, PriceSlot) else p
            for p in prices
        ),
        "prices",
    )
    solar_list = _sorted_slots(
        (
            (s.start_s, s.end_s, s.power_w) if isinstance(s, SolarSlot) else s
            for s in solar
        ),
        "solar",
    )
    spans = _spans(now_s, request, price_list, solar_list)
    pieces = _pieces(spans, request.max_power_w, solar_price)
    need = request.energy_kwh
    capacity = sum(piece[2] for piece in pieces)
    at_risk = need > capacity + _EPS * max(1.0, need)
    energy, from_sun, cost = _fill(pieces, len(spans), need, at_risk)
    slots = tuple(
        PlannedSlot(start, stop, price, sun, energy[k], from_sun[k])
        for k, (start, stop, price, sun) in enumerate(spans)
    )
    total = sum(energy)
    return ChargePlan(
        request=request,
        now_s=now_s,
        slots=slots,
        energy_kwh=total,
        cost=cost,
        at_risk=at_risk,
        shortfall_kwh=max(0.0, need - total) if at_risk else 0.0,
    )


_Span = tuple[float, float, float | None, float]
"""A slot: start, end, grid price (None: unpriced) and the usable surplus (W)."""
_Piece = tuple[tuple[float, float, int], int, float, float]
"""Energy on offer: its order (price, start, 0 sun / 1 grid), slot, kWh, price."""


def _spans(
    now_s: float,
    request: ChargeRequest,
    price_list: list[tuple[float, float, float]],
    solar_list: list[tuple[float, float, float]],
) -> list[_Span]:
    """The slots of ``[now_s, departure)``, cut at every forecast boundary."""
    p_max = request.max_power_w
    end = request.departure_s
    cuts = {now_s, end}
    for start, stop, _ in (*price_list, *solar_list):
        cuts.update(t for t in (start, stop) if now_s < t < end)
    times = sorted(t for t in cuts if now_s <= t <= end)
    price_starts = [s for s, _, _ in price_list]
    solar_starts = [s for s, _, _ in solar_list]
    spans: list[_Span] = []
    for start, stop in itertools.pairwise(times):
        if stop - start <= _EPS:
            continue
        price = _covering(price_list, price_starts, start)
        sun = _covering(solar_list, solar_starts, start) or 0.0
        spans.append((start, stop, price, min(p_max, max(0.0, sun))))
    return spans


def _pieces(spans: list[_Span], p_max: float, solar_price: float) -> list[_Piece]:
    """Each slot's sun and grid energy, cheapest first (then earliest, sun
    before grid); unpriced grid energy last."""
    pieces: list[_Piece] = []
    for k, (start, stop, price, sun) in enumerate(spans):
        hours = (stop - start) / 3600.0
        rank = math.inf if price is None else price
        if sun > 0:
            pieces.append(
                ((min(solar_price, rank), start, 0), k, sun * hours / 1000, solar_price)
            )
        grid_kwh = (p_max - sun) * hours / 1000
        if grid_kwh > 0:
            pieces.append(
                ((rank, start, 1), k, grid_kwh, 0.0 if price is None else price)
            )
    pieces.sort(key=lambda piece: piece[0])
    return pieces


def _fill(
    pieces: list[_Piece], n_slots: int, need: float, at_risk: bool
) -> tuple[list[float], list[float], float]:
    """Energy per slot, of which from the sun, and the cost: ``need`` from the
    cheapest pieces on; every piece when at risk."""
    energy = [0.0] * n_slots
    from_sun = [0.0] * n_slots
    cost = 0.0
    left = need
    for (_, _, kind), k, kwh, price in pieces:
        if left <= 0 and not at_risk:
            break
        take = kwh if at_risk else min(kwh, left)
        left -= take
        energy[k] += take
        if kind == 0:
            from_sun[k] += take
        cost += take * price
    return energy, from_sun, cost

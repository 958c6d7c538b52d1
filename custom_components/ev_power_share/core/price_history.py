"""A price sensor's prices over time, as the ledger keeps them, and the price
slots a session is billed with. No Home Assistant imports.

The ledger keeps each change of a sensor's price: from ``at`` on, ``price``
(per kWh, exactly as the sensor showed it), or none while the sensor had no
usable price (unavailable, unknown, not a number). A price holds until the
next change; the latest holds from its change on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
import math

from .planner import PriceSlot
from .tariff_plans import to_decimal


@dataclass(frozen=True, slots=True)
class PricePoint:
    """From ``at`` on, ``price`` (None: the sensor had none)."""

    at: float
    price: Decimal | None

    @classmethod
    def of(cls, at: float, price: str | None) -> PricePoint:
        """A stored change (a price that cannot be read is none)."""
        return cls(float(at), None if price is None else to_decimal(price))


def price_text(state: object) -> str | None:
    """A sensor's state as a stored price: a finite number as it was shown
    (``"0.2534"``), or None (``unavailable``, ``unknown``, text, NaN)."""
    value = to_decimal(state) if isinstance(state, str) else None
    return None if value is None else str(value)


def price_slots(points: Sequence[PricePoint]) -> list[PriceSlot]:
    """The slots of known prices: each change until the next (the last one
    without end); a stretch without a price has no slot (the plan's fallback
    price applies)."""
    ordered = sorted(points, key=lambda p: p.at)
    ends = [p.at for p in ordered[1:]] + [math.inf] if ordered else []
    return [
        PriceSlot(point.at, end, float(point.price))
        for point, end in zip(ordered, ends, strict=True)
        if point.price is not None and end > point.at
    ]

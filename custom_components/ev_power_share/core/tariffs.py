"""Price forecasts from the attributes of a price sensor. No Home Assistant imports.

Dynamic-price integrations publish the coming hours' prices as a list in one of
their sensor's attributes, each with its own names. :func:`price_forecast`
reads the common shapes, so that any of them can feed the planner:

=====================  ==============================  ===========================
integration            attribute(s)                    item
=====================  ==============================  ===========================
Nord Pool (HACS)       ``raw_today``, ``raw_tomorrow``  ``start``, ``end``, ``value``
Energi Data Service    ``raw_today``, ``raw_tomorrow``  ``hour``, ``price``
ENTSO-e (HACS)         ``prices``                       ``time``, ``price``
Octopus Energy         ``rates``                        ``start``, ``end``, ``value_inc_vat``
Amber Electric         ``forecasts``                    ``start_time``, ``end_time``, ``per_kwh``
others                 ``forecast``, ``prices_today``…  the same names
=====================  ==============================  ===========================

Times may be ``datetime`` objects or ISO 8601 strings (with an offset; naive
ones are read in ``default_tz``). An item without an end lasts until the next
item's start (the last one as long as the one before it, or an hour).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
import math
from typing import Any

from .planner import PriceSlot

LIST_ATTRIBUTES = (
    "raw_today",
    "raw_tomorrow",
    "prices_today",
    "prices_tomorrow",
    "prices",
    "rates",
    "forecasts",
    "forecast",
    "data",
)
START_KEYS = ("start", "start_time", "startsAt", "hour", "time", "from", "valid_from")
END_KEYS = ("end", "end_time", "endsAt", "to", "valid_to")
VALUE_KEYS = (
    "value",
    "price",
    "total",
    "per_kwh",
    "value_inc_vat",
    "price_per_kwh",
    "electricity_price",
)


def _when(value: Any, default_tz: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=default_tz)


def _first(item: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        if key in item and item[key] is not None:
            return item[key]
    return None


def price_forecast(
    attributes: Mapping[str, Any], default_tz: tzinfo
) -> list[PriceSlot]:
    """The price slots a price sensor's attributes describe, sorted, without
    overlaps (a later duplicate of a start is dropped); empty if none found."""
    items: list[Mapping[str, Any]] = []
    for name in LIST_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, list):
            items += [i for i in value if isinstance(i, Mapping)]
    parsed = [p for item in items if (p := _parsed(item, default_tz)) is not None]
    parsed.sort(key=lambda p: p[0])
    return _slots(parsed)


def _parsed(
    item: Mapping[str, Any], default_tz: tzinfo
) -> tuple[datetime, datetime | None, float] | None:
    """An item's start, end (if it has one) and price; None if it has no
    usable start or price."""
    start = _when(_first(item, START_KEYS), default_tz)
    raw = _first(item, VALUE_KEYS)
    try:
        price = float(raw)
    except (TypeError, ValueError):
        return None
    if start is None or not math.isfinite(price):
        return None
    return start, _when(_first(item, END_KEYS), default_tz), price


def _slots(parsed: list[tuple[datetime, datetime | None, float]]) -> list[PriceSlot]:
    """Slots of the parsed items (sorted by start): an item without an end
    lasts until the next one's start (the last one as long as the one before
    it, or an hour); an item starting inside the previous slot is dropped."""
    slots: list[PriceSlot] = []
    for i, (start, given_end, price) in enumerate(parsed):
        if slots and start.timestamp() < slots[-1].end_s:
            continue  # the same hour twice (today's list and a forecast)
        if given_end is not None:
            end = given_end
        elif i + 1 < len(parsed):
            end = parsed[i + 1][0]
        elif slots:
            end = start + timedelta(seconds=slots[-1].end_s - slots[-1].start_s)
        else:
            end = start + timedelta(hours=1)
        if end <= start:
            continue
        slots.append(PriceSlot(start.timestamp(), end.timestamp(), price))
    return slots

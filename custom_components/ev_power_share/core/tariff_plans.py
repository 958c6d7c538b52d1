"""Tariff plans as data: what a user's charging costs. No Home Assistant imports.

A plan has a name, a currency, a VAT rate, a fixed monthly fee and one rule
for the sessions themselves:

- **per kWh**: one price per kWh;
- **per hour** (visitors): a price per hour plugged in, and an idle fee per
  hour for the time the car stays plugged in after it stopped drawing, beyond
  a grace time;
- **time of use**: weekly windows (weekdays, local start and end) each with a
  price per kWh, and a default price for the rest of the week, in the site's
  time zone (see :mod:`.session_costs` for how a wall clock maps to instants);
- **price sensor**: the price a Home Assistant sensor publishes for each slot,
  plus a margin, and a fallback price for time no slot covers.

Every price is net of VAT (VAT is added once, on a statement's net total).
Money is :class:`decimal.Decimal`, never a float. :func:`plan_from_dict`
reads a plan from the flat mapping a flow or a store holds and refuses
anything it cannot use with a :class:`TariffPlanError` that names the field;
:meth:`TariffPlan.to_dict` writes it back (amounts as strings, exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
import re
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PRICE = Decimal(1000)
"""The most a kWh, an hour or an idle hour may cost (any currency)."""
MAX_MONTHLY_FEE = Decimal(100000)
MAX_MARGIN = Decimal(100)
MAX_GRACE_MINUTES = 24 * 60
MAX_WINDOWS = 50
MAX_NAME = 100
_CURRENCY = re.compile(r"[A-Z]{3}")
_ENTITY_ID = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


class TariffPlanError(ValueError):
    """A plan that cannot be used; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Rule(StrEnum):
    """How a plan prices a session."""

    PER_KWH = "per_kwh"
    PER_HOUR = "per_hour"
    TIME_OF_USE = "time_of_use"
    PRICE_SENSOR = "price_sensor"


@dataclass(frozen=True, slots=True)
class PerKwh:
    """One price per kWh."""

    price: Decimal


@dataclass(frozen=True, slots=True)
class PerHour:
    """A price per hour plugged in, and an idle fee per hour once the car has
    stopped drawing for good, after ``grace_minutes``."""

    price_per_hour: Decimal
    idle_fee_per_hour: Decimal = Decimal(0)
    grace_minutes: int = 0


@dataclass(frozen=True, slots=True)
class TouWindow:
    """A weekly window of a time-of-use plan, in local wall-clock time.

    ``days`` are weekdays (0 = Monday). A window whose ``end`` is not after
    its ``start`` runs past midnight into the next day (``22:00``–``06:00``
    on Friday covers Friday 22:00 to Saturday 06:00; ``00:00``–``00:00`` is
    the whole day)."""

    days: frozenset[int]
    start: time
    end: time
    price: Decimal

    def covers(self, weekday: int, at: time) -> bool:
        """Whether the local moment (``weekday``, ``at``) lies in the window."""
        if self.start < self.end:
            return weekday in self.days and self.start <= at < self.end
        today = weekday in self.days and at >= self.start
        return today or ((weekday - 1) % 7 in self.days and at < self.end)


@dataclass(frozen=True, slots=True)
class TimeOfUse:
    """Weekly windows with a price each; the first window that covers a moment
    gives its price, ``default_price`` the rest of the week."""

    windows: tuple[TouWindow, ...]
    default_price: Decimal

    def price_at(self, local: datetime) -> Decimal:
        """The price per kWh at a local (aware) moment."""
        weekday, at = local.weekday(), local.time()
        for window in self.windows:
            if window.covers(weekday, at):
                return window.price
        return self.default_price

    def edges(self) -> frozenset[time]:
        """The wall-clock times at which the price may change (midnight too:
        the weekday changes)."""
        return frozenset(
            {time(0), *(w.start for w in self.windows), *(w.end for w in self.windows)}
        )


@dataclass(frozen=True, slots=True)
class PriceSensor:
    """A price sensor's price per kWh plus ``margin``; ``fallback_price``
    stands in for the sensor's price where no slot covers a moment (the
    margin is added to it too). A sum below zero is charged as zero."""

    entity_id: str
    margin: Decimal = Decimal(0)
    fallback_price: Decimal = Decimal(0)


type EnergyRule = PerKwh | TimeOfUse | PriceSensor
type PlanRule = PerKwh | PerHour | TimeOfUse | PriceSensor


@dataclass(frozen=True, slots=True)
class TariffPlan:
    """A tariff plan: its session rule, monthly fee and VAT."""

    id: str
    name: str
    currency: str
    vat_percent: Decimal
    monthly_fee: Decimal
    rule: PlanRule

    @property
    def kind(self) -> Rule:
        """Which rule the plan uses."""
        return _KINDS[type(self.rule)]

    def to_dict(self) -> dict[str, Any]:
        """The plan as the flat mapping :func:`plan_from_dict` reads."""
        return {
            "id": self.id,
            "name": self.name,
            "currency": self.currency,
            "vat_percent": str(self.vat_percent),
            "monthly_fee": str(self.monthly_fee),
            "rule": str(self.kind),
            **_rule_dict(self.rule),
        }


_KINDS: dict[type, Rule] = {
    PerKwh: Rule.PER_KWH,
    PerHour: Rule.PER_HOUR,
    TimeOfUse: Rule.TIME_OF_USE,
    PriceSensor: Rule.PRICE_SENSOR,
}


def _rule_dict(rule: PlanRule) -> dict[str, Any]:
    match rule:
        case PerKwh():
            return {"price": str(rule.price)}
        case PerHour():
            return {
                "price_per_hour": str(rule.price_per_hour),
                "idle_fee_per_hour": str(rule.idle_fee_per_hour),
                "grace_minutes": rule.grace_minutes,
            }
        case TimeOfUse():
            return {
                "default_price": str(rule.default_price),
                "windows": [_window_dict(w) for w in rule.windows],
            }
        case PriceSensor():
            return {
                "entity_id": rule.entity_id,
                "margin": str(rule.margin),
                "fallback_price": str(rule.fallback_price),
            }


def _window_dict(window: TouWindow) -> dict[str, Any]:
    return {
        "days": [WEEKDAYS[d] for d in sorted(window.days)],
        "start": window.start.strftime("%H:%M"),
        "end": window.end.strftime("%H:%M"),
        "price": str(window.price),
    }


def plan_from_dict(
    data: Mapping[str, Any], *, plan_id: str | None = None
) -> TariffPlan:
    """The plan a mapping describes (``plan_id`` overrides its ``id``: a
    subentry's id, or a placeholder while a flow checks a form).

    Raises :class:`TariffPlanError` naming the first field that is missing,
    of the wrong type, not finite, negative where it may not be, or absurd."""
    if not isinstance(data, Mapping):
        raise TariffPlanError("plan", "must be a mapping")
    try:
        kind = Rule(str(data.get("rule")))
    except ValueError:
        choices = ", ".join(r.value for r in Rule)
        raise TariffPlanError("rule", f"must be one of {choices}") from None
    return TariffPlan(
        id=plan_id if plan_id is not None else _text(data, "id"),
        name=_text(data, "name"),
        currency=_currency(data),
        vat_percent=amount(data, "vat_percent", high=Decimal(100)),
        monthly_fee=amount(data, "monthly_fee", high=MAX_MONTHLY_FEE, default=0),
        rule=_RULE_READERS[kind](data),
    )


def _per_kwh(data: Mapping[str, Any]) -> PerKwh:
    return PerKwh(amount(data, "price"))


def _per_hour(data: Mapping[str, Any]) -> PerHour:
    grace = amount(data, "grace_minutes", high=Decimal(MAX_GRACE_MINUTES), default=0)
    if grace != grace.to_integral_value():
        raise TariffPlanError("grace_minutes", "must be a whole number of minutes")
    return PerHour(
        amount(data, "price_per_hour"),
        amount(data, "idle_fee_per_hour", default=0),
        int(grace),
    )


def _time_of_use(data: Mapping[str, Any]) -> TimeOfUse:
    raw = data.get("windows", [])
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise TariffPlanError("windows", "must be a list of windows")
    if len(raw) > MAX_WINDOWS:
        raise TariffPlanError("windows", f"at most {MAX_WINDOWS} windows")
    windows = tuple(_window(item, f"windows[{i}]") for i, item in enumerate(raw))
    return TimeOfUse(windows, amount(data, "default_price"))


def _price_sensor(data: Mapping[str, Any]) -> PriceSensor:
    entity_id = _text(data, "entity_id")
    if not _ENTITY_ID.fullmatch(entity_id):
        raise TariffPlanError("entity_id", "must be an entity id (sensor.name)")
    return PriceSensor(
        entity_id,
        amount(data, "margin", low=-MAX_MARGIN, high=MAX_MARGIN, default=0),
        amount(data, "fallback_price"),
    )


_RULE_READERS: dict[Rule, Callable[[Mapping[str, Any]], PlanRule]] = {
    Rule.PER_KWH: _per_kwh,
    Rule.PER_HOUR: _per_hour,
    Rule.TIME_OF_USE: _time_of_use,
    Rule.PRICE_SENSOR: _price_sensor,
}


def _window(item: Any, where: str) -> TouWindow:
    if not isinstance(item, Mapping):
        raise TariffPlanError(where, "must be a mapping")
    return TouWindow(
        _days(item.get("days"), f"{where}.days"),
        clock(item.get("start"), f"{where}.start"),
        clock(item.get("end"), f"{where}.end"),
        amount(item, "price", where=f"{where}.price"),
    )


def _days(raw: Any, where: str) -> frozenset[int]:
    if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
        raise TariffPlanError(where, "must be a non-empty list of weekdays")
    days: set[int] = set()
    for day in raw:
        name = day.strip().lower()[:3] if isinstance(day, str) else None
        if name not in WEEKDAYS:
            raise TariffPlanError(where, f"unknown weekday {day!r} (mon … sun)")
        days.add(WEEKDAYS.index(name))
    return frozenset(days)


def clock(raw: Any, where: str) -> time:
    """A local wall-clock time ``HH:MM`` (``24:00`` is midnight, the end of
    a day)."""
    match = _CLOCK.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise TariffPlanError(where, "must be a time HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if (hours, minutes) == (24, 0):
        return time(0)
    if hours > 23 or minutes > 59:
        raise TariffPlanError(where, "must be a time between 00:00 and 24:00")
    return time(hours, minutes)


def _text(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise TariffPlanError(field, "must be a non-empty text")
    if len(value) > MAX_NAME:
        raise TariffPlanError(field, f"at most {MAX_NAME} characters")
    return value.strip()


def _currency(data: Mapping[str, Any]) -> str:
    value = data.get("currency")
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _CURRENCY.fullmatch(code):
        raise TariffPlanError("currency", "must be a three-letter code (EUR, USD)")
    return code


def amount(
    data: Mapping[str, Any],
    field: str,
    *,
    low: Decimal = Decimal(0),
    high: Decimal = MAX_PRICE,
    default: int | None = None,
    where: str | None = None,
) -> Decimal:
    """A finite decimal number in ``[low, high]`` from a mapping (a string,
    an int or a float; a float is read by its shortest representation, so
    ``0.1`` is ``Decimal("0.1")``, ``21.0`` is ``Decimal(21)``). Missing:
    ``default`` if given."""
    name = where or field
    raw = data.get(field)
    if raw is None and default is not None:
        return Decimal(default)
    value = to_decimal(raw)
    if value is None:
        raise TariffPlanError(name, "must be a number")
    if not low <= value <= high:
        raise TariffPlanError(name, f"must be between {low} and {high}")
    return value


def to_decimal(raw: Any) -> Decimal | None:
    """A finite :class:`Decimal` of an int, float or numeric string; None for
    anything else (a bool, NaN, infinity, text)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a form's 21.0 is 21
    try:
        value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def windows_from_text(text: str) -> list[dict[str, Any]]:
    """Time-of-use windows typed one per line, as :func:`plan_from_dict`
    reads them: ``days start-end price``, days a list of weekdays and ranges
    (``mon-fri``, ``sat,sun``, ``fri-mon``), for example
    ``mon-fri 07:00-23:00 0.32``. Blank lines are skipped."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    return [_window_words(words, f"windows[{i}]") for i, words in enumerate(lines)]


def _window_words(words: list[str], where: str) -> dict[str, Any]:
    if len(words) != 3 or words[1].count("-") != 1:
        raise TariffPlanError(where, "must read: days start-end price")
    start, end = words[1].split("-")
    return {
        "days": _day_names(words[0], where),
        "start": start,
        "end": end,
        "price": words[2],
    }


def _day_names(text: str, where: str) -> list[str]:
    names: list[str] = []
    for item in text.lower().split(","):
        first, _, last = item.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise TariffPlanError(f"{where}.days", f"unknown weekday in {item!r}")
        span = (WEEKDAYS.index(last or first) - WEEKDAYS.index(first)) % 7
        names += [WEEKDAYS[(WEEKDAYS.index(first) + k) % 7] for k in range(span + 1)]
    return names


def windows_text(rule: TimeOfUse) -> str:
    """A time-of-use plan's windows as :func:`windows_from_text` reads them."""
    return "\n".join(
        " ".join(
            (
                ",".join(WEEKDAYS[d] for d in sorted(w.days)),
                f"{w.start:%H:%M}-{w.end:%H:%M}",
                str(w.price),
            )
        )
        for w in rule.windows
    )

"""The sensors of the site's users (a device per user) and the site's totals
this month, from the site's figures (:mod:`.user_figures`), never the ledger.

A user's energy this month (kWh, ``total_increasing``: back to 0 when the
month turns, which the Energy dashboard takes as a new cycle), what they owe
for it (gross: sessions, monthly fee and VAT; ``monetary``, ``total`` with
the month's start as ``last_reset``, in their plan's currency; unknown
without a plan), and their last session (its end). A session counts in the
month in which it started, as on the statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import UnitOfEnergy
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .const import DOMAIN, SITE_GROUP_ID
from .core.site_billing import AccountFigures, MonthFigures
from .core.statement_files import kwh
from .devices import MANUFACTURER, group_device_identifier
from .user_figures import SiteFigures, site_time_zone

type Attributes = dict[str, str | float | int | None]


def user_device_identifier(entry_id: str, subentry_id: str) -> tuple[str, str]:
    """The device registry identifier of a user."""
    return (DOMAIN, f"{entry_id}_{subentry_id}")


def _kwh(wh: Decimal) -> float:
    return float(kwh(wh))


@dataclass(frozen=True, kw_only=True)
class FigureDescription(SensorEntityDescription):
    """A figure of a user (``owner`` their id) or of the site (None)."""

    value_fn: Callable[[SiteFigures, str | None], float | Decimal | datetime | None]
    attributes_fn: Callable[[SiteFigures, str | None], Attributes | None]
    monetary: bool = False


def _account(figures: SiteFigures, owner: str | None) -> AccountFigures | None:
    month = figures.figures
    return None if month is None or owner is None else month.of_user(owner)


def _user_energy(figures: SiteFigures, owner: str | None) -> float | None:
    account = _account(figures, owner)
    return None if account is None else _kwh(account.statement.energy_wh)


def _user_cost(figures: SiteFigures, owner: str | None) -> Decimal | None:
    account = _account(figures, owner)
    if account is None or not account.priced:
        return None
    return account.statement.gross


def _user_cost_attributes(figures: SiteFigures, owner: str | None) -> Attributes:
    account = _account(figures, owner)
    if account is None:
        return {}
    statement = account.statement
    attributes: Attributes = {
        "month": str(statement.month),
        "tariff_plan": None if account.plan is None else account.plan.name,
        "sessions": len(statement.sessions),
    }
    if account.priced:
        attributes |= {
            "energy_amount": str(statement.energy_amount),
            "monthly_fee": str(statement.monthly_fee),
            "net": str(statement.net),
            "vat": str(statement.vat),
        }
    return attributes


def _last_end(figures: SiteFigures, owner: str | None) -> datetime | None:
    cost = figures.last.get(owner or "")
    if cost is None or cost.session.stopped_at is None:
        return None
    return datetime.fromtimestamp(cost.session.stopped_at, UTC)


def _last_attributes(figures: SiteFigures, owner: str | None) -> Attributes:
    cost = figures.last.get(owner or "")
    if cost is None:
        return {}
    session = cost.session
    priced = cost.plan_id in figures.plans.plans
    return {
        "started": datetime.fromtimestamp(session.started_at, UTC).isoformat(),
        "charger": session.charger,
        "connector": session.connector,
        "energy_kwh": _kwh(cost.energy_wh),
        "cost": str(cost.amount) if priced else None,
        "currency": cost.currency if priced else None,
    }


def _site_energy(figures: SiteFigures, _owner: str | None) -> float | None:
    month = figures.figures
    return None if month is None else _kwh(month.energy_wh)


def _site_cost(figures: SiteFigures, _owner: str | None) -> Decimal | None:
    month = figures.figures
    if month is None:
        return None
    currency = site_currency(figures)
    return sum(
        (t.gross for t in month.totals() if t.currency == currency), Decimal("0.00")
    )


def site_currency(figures: SiteFigures) -> str:
    """The currency of the site's total: its default plan's, else the one its
    plans share, else Home Assistant's."""
    plans = figures.plans
    default = plans.plan_for(None)
    if default is not None:
        return default.currency
    currencies = {p.currency for p in plans.plans.values()}
    return currencies.pop() if len(currencies) == 1 else plans.currency


type _Value = Callable[[SiteFigures, str | None], float | Decimal | datetime | None]
type _Attributes = Callable[[SiteFigures, str | None], Attributes | None]


def _energy(translation_key: str, value_fn: _Value) -> FigureDescription:
    """Energy this month: kWh, total increasing (0 again when the month turns)."""
    return FigureDescription(
        key="month_energy",
        translation_key=translation_key,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value_fn=value_fn,
        attributes_fn=_no_attributes,
    )


def _cost(
    translation_key: str, value_fn: _Value, attributes_fn: _Attributes
) -> FigureDescription:
    """Cost this month: monetary, a total since the month's start."""
    return FigureDescription(
        key="month_cost",
        translation_key=translation_key,
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        monetary=True,
        value_fn=value_fn,
        attributes_fn=attributes_fn,
    )


def _no_attributes(_figures: SiteFigures, _owner: str | None) -> Attributes | None:
    return None


USER_SENSORS = (
    _energy("user_month_energy", _user_energy),
    _cost("user_month_cost", _user_cost, _user_cost_attributes),
    FigureDescription(
        key="last_session",
        translation_key="user_last_session",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_end,
        attributes_fn=_last_attributes,
    ),
)
SITE_SENSORS = (
    _energy("site_month_energy", _site_energy),
    _cost("site_month_cost", _site_cost, _no_attributes),
)


class FigureSensor(SensorEntity):
    """A figure of a user or of the site this month."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: FigureDescription

    def __init__(
        self,
        figures: SiteFigures,
        description: FigureDescription,
        device: DeviceInfo,
        owner: str | None,
        entry_id: str,
    ) -> None:
        """A sensor of ``owner`` (a user's subentry id; None: the site)."""
        self._figures = figures
        self._owner = owner
        self.entity_description = description
        self._attr_device_info = device
        self._attr_unique_id = f"{entry_id}_{owner or 'site'}_{description.key}"

    @property
    def native_unit_of_measurement(self) -> str | None:
        """A cost's currency: its plan's as it is now (plans are added and
        changed while the site runs), the same as its value's."""
        if self.entity_description.monetary:
            return self._currency()
        return super().native_unit_of_measurement

    def _currency(self) -> str:
        if self._owner is None:
            return site_currency(self._figures)
        plan = self._figures.plans.plan_for(self._owner)
        return self._figures.plans.currency if plan is None else plan.currency

    async def async_added_to_hass(self) -> None:
        """Follow the site's figures."""
        self.async_on_remove(self._figures.async_listen(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """While the site's figures are known."""
        return self._figures.figures is not None

    @property
    def native_value(self) -> float | Decimal | datetime | None:
        """The figure now."""
        return self.entity_description.value_fn(self._figures, self._owner)

    @property
    def extra_state_attributes(self) -> Attributes | None:
        """What the figure is made of."""
        return self.entity_description.attributes_fn(self._figures, self._owner)

    @property
    def last_reset(self) -> datetime | None:
        """The month's start (a cost is a total of the month)."""
        month: MonthFigures | None = self._figures.figures
        if not self.entity_description.monetary or month is None:
            return None
        start = month.month.bounds(site_time_zone())[0]
        return datetime.fromtimestamp(start, UTC)


def user_sensors(
    figures: SiteFigures, entry_id: str, subentry: ConfigSubentry
) -> list[FigureSensor]:
    """A user's sensors, on the user's device."""
    device = DeviceInfo(
        identifiers={user_device_identifier(entry_id, subentry.subentry_id)},
        name=subentry.title,
        manufacturer=MANUFACTURER,
        model="User",
        entry_type=DeviceEntryType.SERVICE,
    )
    return [
        FigureSensor(figures, d, device, subentry.subentry_id, entry_id)
        for d in USER_SENSORS
    ]


def site_sensors(figures: SiteFigures, entry_id: str) -> list[FigureSensor]:
    """The site's totals, on the site's device."""
    device = DeviceInfo(identifiers={group_device_identifier(entry_id, SITE_GROUP_ID)})
    return [FigureSensor(figures, d, device, None, entry_id) for d in SITE_SENSORS]

"""The subentry flow of a tariff plan: name, currency, VAT, monthly fee and
rule first, then the rule's own fields; checked by ``core.tariff_plans``.

A plan's subentry stores :meth:`TariffPlan.to_dict` without its id (the
subentry's id) and name (the subentry's title); :func:`site_tariff_plans`
reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME, PERCENTAGE, UnitOfTime
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)

from .compat import vol
from .const import SUBENTRY_TARIFF
from .core.tariff_plans import (
    Rule,
    TariffPlan,
    TariffPlanError,
    TimeOfUse,
    plan_from_dict,
    windows_from_text,
    windows_text,
)
from .form_parts import box

CONF_CURRENCY = "currency"
CONF_VAT = "vat_percent"
CONF_MONTHLY_FEE = "monthly_fee"
CONF_RULE = "rule"
CONF_WINDOWS = "windows"
CONF_ENTITY = "entity_id"
_NEW_PLAN_ID = "new"
_COMMON_FIELDS = (CONF_NAME, CONF_CURRENCY, CONF_VAT, CONF_MONTHLY_FEE, CONF_RULE)
_ERRORS = {
    CONF_NAME: "name_required",
    CONF_CURRENCY: "currency_invalid",
    CONF_WINDOWS: "windows_invalid",
    CONF_ENTITY: "entity_unknown",
}
"""The error of a field whose problem is not a number out of range."""


def site_tariff_plans(entry: ConfigEntry) -> dict[str, TariffPlan]:
    """The site's tariff plans by id (their subentry's id); a plan that can
    no longer be read (stored by a future version) is left out."""
    plans: dict[str, TariffPlan] = {}
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_TARIFF:
            continue
        try:
            plans[subentry_id] = plan_from_dict(
                {**subentry.data, CONF_NAME: subentry.title}, plan_id=subentry_id
            )
        except TariffPlanError:
            continue
    return plans


def _common_schema(currency: str) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_CURRENCY, default=currency): TextSelector(),
            vol.Required(CONF_VAT): box(PERCENTAGE, 0.01),
            vol.Required(CONF_MONTHLY_FEE, default=0): box(currency, 0.01),
            vol.Required(CONF_RULE, default=Rule.PER_KWH.value): SelectSelector(
                SelectSelectorConfig(
                    options=[r.value for r in Rule],
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_RULE,
                )
            ),
        }
    )


def _price_box(unit: str) -> NumberSelector:
    """A price typed in a box, to any precision (0.2534 per kWh)."""
    return NumberSelector(
        NumberSelectorConfig(
            mode=NumberSelectorMode.BOX, step="any", unit_of_measurement=unit
        )
    )


def _rule_schema(rule: Rule, currency: str) -> vol.Schema:
    price = _price_box(f"{currency}/kWh")
    hourly = _price_box(f"{currency}/h")
    fields: dict[Rule, dict[Any, Any]] = {
        Rule.PER_KWH: {vol.Required("price"): price},
        Rule.PER_HOUR: {
            vol.Required("price_per_hour"): hourly,
            vol.Required("idle_fee_per_hour", default=0): hourly,
            vol.Required("grace_minutes", default=0): box(UnitOfTime.MINUTES, 1),
        },
        Rule.TIME_OF_USE: {
            vol.Required("default_price"): price,
            vol.Optional(CONF_WINDOWS, default=""): TextSelector(
                TextSelectorConfig(multiline=True)
            ),
        },
        Rule.PRICE_SENSOR: {
            vol.Required(CONF_ENTITY): EntitySelector(
                EntitySelectorConfig(domain="sensor")
            ),
            vol.Required("margin", default=0): price,
            vol.Required("fallback_price"): price,
        },
    }
    return vol.Schema(fields[rule])


def plan_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """The form error of a plan's data (none: it can be used), on the field
    the problem is in: ``number_invalid`` for a number missing or out of
    range, a field's own error otherwise."""
    form_data = dict(data)
    try:
        if isinstance(data.get(CONF_WINDOWS), str):
            form_data[CONF_WINDOWS] = windows_from_text(data[CONF_WINDOWS])
        plan_from_dict(form_data, plan_id=_NEW_PLAN_ID)
    except TariffPlanError as err:
        field = err.field.split("[")[0].split(".")[0]
        return {field: _ERRORS.get(field, "number_invalid")}
    return {}


def plan_data(
    common: Mapping[str, Any], rule_input: Mapping[str, Any]
) -> dict[str, Any]:
    """What a plan's subentry stores: the plan without its id and name."""
    data = {k: v for k, v in common.items() if k != CONF_NAME} | dict(rule_input)
    if isinstance(data.get(CONF_WINDOWS), str):
        data[CONF_WINDOWS] = windows_from_text(data[CONF_WINDOWS])
    stored = plan_from_dict(
        {**data, CONF_NAME: common[CONF_NAME]}, plan_id=_NEW_PLAN_ID
    ).to_dict()
    return {k: v for k, v in stored.items() if k not in ("id", CONF_NAME)}


_AMOUNTS = frozenset(
    {
        CONF_VAT,
        CONF_MONTHLY_FEE,
        "price",
        "price_per_hour",
        "idle_fee_per_hour",
        "grace_minutes",
        "default_price",
        "margin",
        "fallback_price",
    }
)


def _form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored values as the forms show them (amounts as numbers, windows as
    text)."""
    values = {k: float(v) if k in _AMOUNTS else v for k, v in data.items()}
    plan = plan_from_dict({**data, CONF_NAME: "-"}, plan_id=_NEW_PLAN_ID)
    if isinstance(plan.rule, TimeOfUse):
        values[CONF_WINDOWS] = windows_text(plan.rule)
    return values


class TariffSubentryFlow(ConfigSubentryFlow):
    """Add or change a tariff plan of a site: the plan, then its rule."""

    _common: dict[str, Any]

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new plan."""
        return await self._async_common("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a plan; its id stays (users keep it)."""
        return await self._async_common("reconfigure", user_input)

    async def async_step_per_kwh(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A price per kWh."""
        return self._rule_form(Rule.PER_KWH, user_input)

    async def async_step_per_hour(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A price per hour, and an idle fee."""
        return self._rule_form(Rule.PER_HOUR, user_input)

    async def async_step_time_of_use(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Weekly windows with a price each."""
        return self._rule_form(Rule.TIME_OF_USE, user_input)

    async def async_step_price_sensor(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A price sensor plus a margin."""
        return self._rule_form(Rule.PRICE_SENSOR, user_input)

    def _stored(self) -> dict[str, Any] | None:
        """The stored values of the plan changed, as the forms show them."""
        if self.source != SOURCE_RECONFIGURE:
            return None
        subentry = self._get_reconfigure_subentry()
        return _form_values(subentry.data) | {CONF_NAME: subentry.title}

    async def _async_common(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            checked = {k: user_input.get(k) for k in _COMMON_FIELDS}
            errors = {
                k: v for k, v in plan_errors(checked).items() if k in _COMMON_FIELDS
            }
            if not errors:
                self._common = checked
                return self._rule_form(Rule(str(checked[CONF_RULE])), None)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _common_schema(self.hass.config.currency),
                user_input if user_input is not None else self._stored(),
            ),
            errors=errors,
        )

    def _rule_form(
        self, rule: Rule, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = plan_errors({**self._common, **user_input})
            errors |= self._entity_errors(user_input)
            if not errors:
                return self._store(plan_data(self._common, user_input))
        stored = self._stored()
        if user_input is None and stored is not None and stored[CONF_RULE] != rule:
            stored = None  # another rule's fields
        return self.async_show_form(
            step_id=rule.value,
            data_schema=self.add_suggested_values_to_schema(
                _rule_schema(rule, str(self._common[CONF_CURRENCY]).upper()),
                user_input if user_input is not None else stored,
            ),
            errors=errors,
        )

    def _entity_errors(self, user_input: Mapping[str, Any]) -> dict[str, str]:
        """A price sensor Home Assistant does not have."""
        entity_id = user_input.get(CONF_ENTITY)
        if not isinstance(entity_id, str):
            return {}
        known = self.hass.states.get(entity_id) is not None
        if known or er.async_get(self.hass).async_get(entity_id) is not None:
            return {}
        return {CONF_ENTITY: "entity_unknown"}

    def _store(self, data: dict[str, Any]) -> SubentryFlowResult:
        title = str(self._common[CONF_NAME]).strip()
        if self.source != SOURCE_RECONFIGURE:
            return self.async_create_entry(title=title, data=data)
        return self.async_update_and_abort(
            self._get_entry(),
            self._get_reconfigure_subentry(),
            title=title,
            data=data,
        )

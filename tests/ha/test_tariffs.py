"""Tariff plans as subentries of a site, in a real Home Assistant: the two-step
form (the plan, then its rule), its errors, reconfiguring, and the plans read
back by ``site_tariff_plans``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import SUBENTRY_TARIFF
from custom_components.ev_power_share.core.tariff_plans import (
    PerHour,
    PerKwh,
    PriceSensor,
    TimeOfUse,
)
from custom_components.ev_power_share.tariff_flow import site_tariff_plans

from .test_site_control import _setup

PLAN = {
    CONF_NAME: "Residents",
    "currency": "eur",
    "vat_percent": 21,
    "monthly_fee": 5,
    "rule": "per_kwh",
}


async def _start(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {"source": SOURCE_USER}
    if subentry_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TARIFF), context=context
    )
    assert result["type"] is FlowResultType.FORM
    return dict(result)


async def _answer(
    hass: HomeAssistant, flow: dict[str, Any], answer: dict[str, Any]
) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], answer
    )
    await hass.async_block_till_done()
    return dict(result)


async def _add(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    plan: dict[str, Any],
    rule: dict[str, Any],
) -> str:
    """Add a plan through both forms; its subentry id."""
    before = set(entry.subentries)
    step = await _answer(hass, await _start(hass, entry), plan)
    assert step["step_id"] == plan["rule"], step.get("errors")
    done = await _answer(hass, step, rule)
    assert done["type"] is FlowResultType.CREATE_ENTRY, done.get("errors")
    (added,) = set(entry.subentries) - before
    return added


async def test_a_plan_is_added_through_its_two_forms_and_read_back(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """On a running site: the site stays loaded and gets no device for it."""
    await _setup(hass, site_entry)
    devices = len(
        dr.async_entries_for_config_entry(dr.async_get(hass), site_entry.entry_id)
    )
    plan_id = await _add(hass, site_entry, PLAN, {"price": 0.2534})
    subentry = site_entry.subentries[plan_id]
    assert subentry.title == "Residents"
    assert dict(subentry.data) == {
        "currency": "EUR",
        "vat_percent": "21",
        "monthly_fee": "5",
        "rule": "per_kwh",
        "price": "0.2534",
    }
    plan = site_tariff_plans(site_entry)[plan_id]
    assert (plan.id, plan.name, plan.currency, plan.vat_percent, plan.monthly_fee) == (
        plan_id,
        "Residents",
        "EUR",
        Decimal(21),
        Decimal(5),
    )
    assert plan.rule == PerKwh(Decimal("0.2534"))
    assert site_entry.state is ConfigEntryState.LOADED
    assert (
        len(dr.async_entries_for_config_entry(dr.async_get(hass), site_entry.entry_id))
        == devices
    )


async def test_each_rule_asks_for_its_own_fields(
    hass: HomeAssistant, site_entry: MockConfigEntry, no_setup: None
) -> None:
    site_entry.add_to_hass(hass)
    hass.states.async_set(
        "sensor.nord_pool", "0.12", {"unit_of_measurement": "EUR/kWh"}
    )
    visitor = await _add(
        hass,
        site_entry,
        {**PLAN, CONF_NAME: "Visitors", "monthly_fee": 0, "rule": "per_hour"},
        {"price_per_hour": 1.5, "idle_fee_per_hour": 4, "grace_minutes": 30},
    )
    offpeak = await _add(
        hass,
        site_entry,
        {**PLAN, CONF_NAME: "Off-peak", "rule": "time_of_use"},
        {"default_price": 0.18, "windows": "mon-fri 07:00-23:00 0.32"},
    )
    dynamic = await _add(
        hass,
        site_entry,
        {**PLAN, CONF_NAME: "Dynamic", "rule": "price_sensor"},
        {"entity_id": "sensor.nord_pool", "margin": 0.05, "fallback_price": 0.3},
    )
    plans = site_tariff_plans(site_entry)
    assert plans[visitor].rule == PerHour(Decimal("1.5"), Decimal(4), 30)
    assert isinstance(plans[offpeak].rule, TimeOfUse)
    assert plans[offpeak].rule.windows[0].days == frozenset(range(5))
    assert plans[dynamic].rule == PriceSensor(
        "sensor.nord_pool", Decimal("0.05"), Decimal("0.3")
    )


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({CONF_NAME: "  "}, CONF_NAME, "name_required"),
        ({"currency": "euro"}, "currency", "currency_invalid"),
        ({"vat_percent": 150}, "vat_percent", "number_invalid"),
        ({"monthly_fee": -5}, "monthly_fee", "number_invalid"),
    ],
)
async def test_the_plan_form_refuses_what_cannot_be_billed(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    no_setup: None,
    change: dict[str, Any],
    field: str,
    error: str,
) -> None:
    site_entry.add_to_hass(hass)
    result = await _answer(hass, await _start(hass, site_entry), {**PLAN, **change})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {field: error}


@pytest.mark.parametrize(
    ("rule", "answer", "field", "error"),
    [
        ("per_kwh", {"price": -0.1}, "price", "number_invalid"),
        ("per_kwh", {"price": 5000}, "price", "number_invalid"),
        (
            "per_hour",
            {"price_per_hour": 1, "idle_fee_per_hour": 1, "grace_minutes": 2.5},
            "grace_minutes",
            "number_invalid",
        ),
        (
            "time_of_use",
            {"default_price": 0.2, "windows": "weekdays 7-23 0.3"},
            "windows",
            "windows_invalid",
        ),
        (
            "time_of_use",
            {"default_price": 0.2, "windows": "mon 07:00-25:00 0.3"},
            "windows",
            "windows_invalid",
        ),
        (
            "price_sensor",
            {"entity_id": "sensor.nothing", "margin": 0, "fallback_price": 0.3},
            "entity_id",
            "entity_unknown",
        ),
    ],
)
async def test_the_rule_form_refuses_what_cannot_be_billed(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    no_setup: None,
    rule: str,
    answer: dict[str, Any],
    field: str,
    error: str,
) -> None:
    site_entry.add_to_hass(hass)
    step = await _answer(hass, await _start(hass, site_entry), {**PLAN, "rule": rule})
    result = await _answer(hass, step, answer)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == rule
    assert result["errors"] == {field: error}
    assert not site_tariff_plans(site_entry)


async def test_a_plan_is_changed_in_place_even_to_another_rule(
    hass: HomeAssistant, site_entry: MockConfigEntry, no_setup: None
) -> None:
    site_entry.add_to_hass(hass)
    plan_id = await _add(
        hass,
        site_entry,
        {**PLAN, "rule": "time_of_use"},
        {
            "default_price": 0.18,
            "windows": "mon-fri 07:00-23:00 0.32\nsat,sun 09:00-12:00 0.25",
        },
    )
    first = await _start(hass, site_entry, plan_id)
    suggested = {str(k): k.description for k in first["data_schema"].schema}
    assert suggested[CONF_NAME] == {"suggested_value": "Residents"}
    assert suggested["vat_percent"] == {"suggested_value": 21.0}
    rule_step = await _answer(
        hass, first, {**PLAN, CONF_NAME: "Residents 2026", "rule": "time_of_use"}
    )
    shown = {str(k): k.description for k in rule_step["data_schema"].schema}
    assert shown["windows"] == {
        "suggested_value": "mon,tue,wed,thu,fri 07:00-23:00 0.32\nsat,sun 09:00-12:00 0.25"
    }
    result = await _answer(
        hass, rule_step, {"default_price": 0.2, "windows": "mon-sun 00:00-06:00 0.1"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    plan = site_tariff_plans(site_entry)[plan_id]
    assert plan.name == "Residents 2026"
    assert isinstance(plan.rule, TimeOfUse)
    assert plan.rule.windows[0].days == frozenset(range(7))
    to_hourly = await _answer(
        hass, await _start(hass, site_entry, plan_id), {**PLAN, "rule": "per_hour"}
    )
    fields = {str(k): k.description for k in to_hourly["data_schema"].schema}
    assert fields["price_per_hour"] is None  # not the other rule's values
    await _answer(
        hass,
        to_hourly,
        {"price_per_hour": 2, "idle_fee_per_hour": 0, "grace_minutes": 0},
    )
    assert site_tariff_plans(site_entry)[plan_id].rule == PerHour(Decimal(2))
    assert set(site_entry.subentries[plan_id].data) == {
        "currency",
        "vat_percent",
        "monthly_fee",
        "rule",
        "price_per_hour",
        "idle_fee_per_hour",
        "grace_minutes",
    }


async def test_a_plan_that_cannot_be_read_is_left_out(
    hass: HomeAssistant, site_entry: MockConfigEntry, no_setup: None
) -> None:
    """A subentry stored by a newer version with a rule this one lacks."""
    site_entry.add_to_hass(hass)
    plan_id = await _add(hass, site_entry, PLAN, {"price": 0.25})
    subentry = site_entry.subentries[plan_id]
    hass.config_entries.async_update_subentry(
        site_entry, subentry, data={**subentry.data, "rule": "per_minute"}
    )
    assert site_tariff_plans(site_entry) == {}

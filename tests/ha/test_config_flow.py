"""The site config flow, driven through Home Assistant's flow manager."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_CONTINUOUS_FACTOR,
    CONF_MAIN_BREAKER_A,
    CONF_SUPPLY,
    DOMAIN,
)

FORM = {
    CONF_NAME: "Maple Court",
    CONF_SUPPLY: "three_phase_400",
    CONF_MAIN_BREAKER_A: 100,
    CONF_CONTINUOUS_FACTOR: 80,
}


async def _start(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(result)


@pytest.mark.usefixtures("no_setup")
async def test_create_site(hass: HomeAssistant) -> None:
    flow = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {**FORM, CONF_NAME: "  Maple Court ", CONF_SUPPLY: "split_phase_240"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Maple Court"
    assert result["data"] == {
        CONF_NAME: "Maple Court",
        CONF_SUPPLY: "split_phase_240",
        CONF_MAIN_BREAKER_A: 100.0,
        CONF_CONTINUOUS_FACTOR: 0.8,
    }
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.unique_id == "maple_court"


@pytest.mark.usefixtures("no_setup")
@pytest.mark.parametrize(
    ("field", "bad", "error"),
    [
        (CONF_NAME, "   ", "name_required"),
        (CONF_MAIN_BREAKER_A, 0, "breaker_not_positive"),
        (CONF_MAIN_BREAKER_A, -16, "breaker_not_positive"),
        (CONF_MAIN_BREAKER_A, 2500, "breaker_too_high"),
        (CONF_CONTINUOUS_FACTOR, 40, "factor_out_of_range"),
        (CONF_CONTINUOUS_FACTOR, 101, "factor_out_of_range"),
    ],
)
async def test_validation_error_then_recovery(
    hass: HomeAssistant, field: str, bad: object, error: str
) -> None:
    flow = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**FORM, field: bad}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    # What the user typed is kept in the form.
    suggested = {
        str(key): key.description.get("suggested_value")
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested[field] == bad
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], FORM)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_MAIN_BREAKER_A] == 100.0


@pytest.mark.usefixtures("no_setup")
async def test_duplicate_site_aborts(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    flow = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**FORM, CONF_NAME: "maple court"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_updates_and_reloads(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()

    result = await site_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    suggested = {
        str(key): key.description.get("suggested_value")
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested[CONF_CONTINUOUS_FACTOR] == 80.0  # shown as a percentage
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            **FORM,
            CONF_NAME: "Maple Court East",
            CONF_MAIN_BREAKER_A: 125,
            CONF_CONTINUOUS_FACTOR: 100,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.title == "Maple Court East"
    assert site_entry.unique_id == "maple_court_east"
    assert site_entry.data[CONF_MAIN_BREAKER_A] == 125.0
    assert site_entry.data[CONF_CONTINUOUS_FACTOR] == 1.0
    assert site_entry.state is ConfigEntryState.LOADED
    assert site_entry.runtime_data.settings.site_limit_a == 125.0


@pytest.mark.usefixtures("no_setup")
async def test_reconfigure_error_then_recovery(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    result = await site_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**FORM, CONF_MAIN_BREAKER_A: 0}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_MAIN_BREAKER_A: "breaker_not_positive"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**FORM, CONF_MAIN_BREAKER_A: 63}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.data[CONF_MAIN_BREAKER_A] == 63.0
    assert site_entry.title == "Maple Court"


@pytest.mark.usefixtures("no_setup")
async def test_reconfigure_onto_another_sites_name_aborts(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    site_entry.add_to_hass(hass)
    other = MockConfigEntry(
        domain=DOMAIN,
        title="Oak Lane",
        unique_id="oak_lane",
        data={**site_entry.data, CONF_NAME: "Oak Lane"},
    )
    other.add_to_hass(hass)
    result = await site_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**FORM, CONF_NAME: "Oak Lane"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert site_entry.title == "Maple Court"
    assert site_entry.unique_id == "maple_court"

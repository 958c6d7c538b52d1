"""A charger's limit options in its form: checked, stored, and what its ports
take (unit, step, its own minimum, a write budget)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_CHARGER_MIN_A,
    CONF_LIMIT_STEP,
    CONF_LIMIT_UNIT,
    CONF_WRITES_PER_MIN,
)
from custom_components.ev_power_share.core.commands import WriteBudget

from .test_ocpp_site import _add_charger
from .test_site_control import _setup


async def test_a_chargers_limit_options_are_checked_and_taken(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    bad = await _add_charger(
        hass,
        site_entry,
        "cp-q",
        "site",
        **{
            CONF_LIMIT_STEP: 0.01,
            CONF_CHARGER_MIN_A: 40,  # above its 32 A maximum
            CONF_WRITES_PER_MIN: 2.5,
        },
    )
    assert bad["errors"] == {
        CONF_LIMIT_STEP: "limit_step_out_of_range",
        CONF_CHARGER_MIN_A: "charger_min_out_of_range",
        CONF_WRITES_PER_MIN: "writes_per_minute_out_of_range",
    }
    done = await _add_charger(
        hass,
        site_entry,
        "cp-q",
        "site",
        **{
            CONF_LIMIT_UNIT: "watts",
            CONF_LIMIT_STEP: 100,
            CONF_CHARGER_MIN_A: 10,
            CONF_WRITES_PER_MIN: 6,
        },
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    steps = site_entry.runtime_data.ocpp.readings().steps["cp-q:1"]
    assert (steps.unit, steps.step, steps.minimum_a) == ("W", 100.0, 10.0)
    assert steps.budget == WriteBudget(6, 60.0)
    # A charger without them: what it says, whole amperes, no budget.
    plain = await _add_charger(hass, site_entry, "cp-p", "site")
    assert plain["type"] is FlowResultType.CREATE_ENTRY
    default = site_entry.runtime_data.ocpp.readings().steps["cp-p:1"]
    assert (default.unit, default.step, default.minimum_a, default.budget) == (
        "A",
        1.0,
        0.0,
        None,
    )

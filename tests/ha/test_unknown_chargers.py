"""A charger nobody configured connects: the user adds it from the repair issue (its
id filled in), or rejects it; a rejected charger is refused until allowed again.

Real simulated chargers over real websockets on 127.0.0.1; the repair flow is
driven through the same HTTP API the Repairs dashboard uses."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_power_share.const import (
    CONF_CHARGE_POINT_ID,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_GROUP,
    CONF_MAX_CURRENT_A,
    CONF_REJECTED_CHARGERS,
    DOMAIN,
    SUBENTRY_CHARGER,
)
from simulator.chargepoint import SimulatedChargePoint

from .test_ocpp_site import _add_charger, _until
from .test_site_control import _setup

ID = "garage-7"


async def _pending(
    hass: HomeAssistant, entry: MockConfigEntry, sims: list[SimulatedChargePoint]
) -> tuple[SimulatedChargePoint, str]:
    """Set the site up and have an unknown charger connect: it is held pending."""
    assert await async_setup_component(hass, "repairs", {})
    await _setup(hass, entry)
    sim = SimulatedChargePoint(ID, f"ws://127.0.0.1:{entry.runtime_data.central.port}")
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Pending"
    return sim, f"unknown_charger_{entry.entry_id}_garage_7"


async def _fix(
    hass_client: ClientSessionGenerator, issue_id: str, *steps: dict[str, Any]
) -> list[dict[str, Any]]:
    """Open the issue's fix flow and post each step; every answer, in order."""
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert response.status == 200
    answers = [await response.json()]
    for step in steps:
        response = await client.post(
            f"/api/repairs/issues/fix/{answers[-1]['flow_id']}", json=step
        )
        assert response.status == 200, await response.text()
        answers.append(await response.json())
    return answers


def _chargers(entry: MockConfigEntry) -> dict[str, dict[str, Any]]:
    return {
        s.unique_id or "": dict(s.data) | {"title": s.title}
        for s in entry.subentries.values()
        if s.subentry_type == SUBENTRY_CHARGER
    }


async def test_unknown_charger_is_added_from_its_repair(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    sim, issue_id = await _pending(hass, site_entry, sims)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable

    menu, form, wrong, done = await _fix(
        hass_client,
        issue_id,
        {"next_step_id": "add"},
        {  # a bad value is answered with the form and its error, nothing added
            "name": "Garage 7",
            CONF_CHARGE_POINT_ID: ID,
            CONF_GROUP: "site",
            CONF_CONNECTORS: 1,
            CONF_CONNECTION: "L1-L2-L3",
            CONF_MAX_CURRENT_A: 200,
        },
        {
            "name": "Garage 7",
            CONF_CHARGE_POINT_ID: ID,
            CONF_GROUP: "site",
            CONF_CONNECTORS: 1,
            CONF_CONNECTION: "L1-L2-L3",
            CONF_MAX_CURRENT_A: 16,
        },
    )
    assert menu["type"] == "menu"
    assert menu["menu_options"] == ["add", "reject"]
    assert menu["description_placeholders"] == {"charger": ID, "site": "Maple Court"}
    assert form["step_id"] == "add"
    # The id is filled in for the user.
    fields = {f["name"]: f for f in form["data_schema"]}
    assert fields[CONF_CHARGE_POINT_ID]["description"] == {"suggested_value": ID}
    assert wrong["errors"] == {CONF_MAX_CURRENT_A: "max_current_out_of_range"}
    assert done["type"] == "create_entry"
    await hass.async_block_till_done()

    assert _chargers(site_entry)[ID][CONF_MAX_CURRENT_A] == 16.0
    assert _chargers(site_entry)[ID]["title"] == "Garage 7"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    # It is disconnected, comes back, and is admitted under control.
    async with asyncio.timeout(5):
        await sim.wait_closed()
    await sim.close()
    await sim.connect()
    assert await sim.boot() == "Accepted"
    runtime = site_entry.runtime_data
    await _until(hass, site_entry, lambda: runtime.ocpp.online(ID))


async def test_unknown_charger_is_rejected_then_allowed_again(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    sim, issue_id = await _pending(hass, site_entry, sims)
    _menu, confirm, done = await _fix(
        hass_client, issue_id, {"next_step_id": "reject"}, {}
    )
    assert confirm["step_id"] == "reject"
    assert done["type"] == "create_entry"
    await hass.async_block_till_done()
    assert site_entry.options[CONF_REJECTED_CHARGERS] == [ID]
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # Disconnected, and refused at the handshake from now on, without a new issue.
    async with asyncio.timeout(5):
        await sim.wait_closed()
    await sim.close()
    with pytest.raises(Exception, match="401"):
        await sim.connect()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # The options list it; unticking it lets it connect again as unknown.
    result = await hass.config_entries.options.async_init(site_entry.entry_id)
    schema = result["data_schema"].schema
    assert CONF_REJECTED_CHARGERS in {str(k) for k in schema}
    values = {
        str(k): k.description["suggested_value"]
        for k in schema
        if k.description
        and "suggested_value" in k.description
        # (the tests' central system listens on a free port, not the default)
        and str(k) != "ocpp_port"
    }
    assert values[CONF_REJECTED_CHARGERS] == [ID]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**values, CONF_REJECTED_CHARGERS: []}
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert CONF_REJECTED_CHARGERS not in site_entry.options
    assert site_entry.options["policy"] == "equal_share"  # the rest is kept
    await sim.connect()
    assert await sim.boot() == "Pending"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None


async def test_adding_a_rejected_charger_allows_it(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    hass_client: ClientSessionGenerator,
) -> None:
    sim, issue_id = await _pending(hass, site_entry, sims)
    await _fix(hass_client, issue_id, {"next_step_id": "reject"}, {})
    await hass.async_block_till_done()
    assert site_entry.options[CONF_REJECTED_CHARGERS] == [ID]
    # The user changes their mind and adds it through the site's *Add charger*.
    await _add_charger(hass, site_entry, ID, "site")
    await hass.async_block_till_done()
    assert CONF_REJECTED_CHARGERS not in site_entry.options
    async with asyncio.timeout(5):
        await sim.wait_closed()
    await sim.close()
    await sim.connect()
    assert await sim.boot() == "Accepted"

"""A charger gets a password by default; one without is a repair issue that gives
it one; diagnostics do not show charge point ids. Real simulated chargers over
real websockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_power_share.const import (
    CONF_CHARGE_POINT_ID,
    CONF_PASSWORD,
    DOMAIN,
    SUBENTRY_CHARGER,
)
from custom_components.ev_power_share.diagnostics import (
    async_get_config_entry_diagnostics,
)
from simulator.chargepoint import SimulatedChargePoint

from .test_ocpp_site import _add_charger, _until
from .test_site_control import _setup, assert_replays
from .test_unknown_chargers import _chargers, _fix


async def test_a_new_charger_is_offered_a_generated_password(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    passwords = []
    for _ in range(2):
        result = await hass.config_entries.subentries.async_init(
            (site_entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
        )
        assert result["type"] is FlowResultType.FORM
        field = next(k for k in result["data_schema"].schema if str(k) == CONF_PASSWORD)
        suggested = field.description["suggested_value"]
        assert len(suggested) >= 16
        selector = result["data_schema"].schema[field]
        assert selector.config["type"] == "text"  # shown, to be copied
        passwords.append(suggested)
    assert passwords[0] != passwords[1]
    # Too short, or with a space: refused.
    for bad in ("short", "has a space in it"):
        result = await _add_charger(
            hass, site_entry, "cp-x", "site", **{CONF_PASSWORD: bad}
        )
        assert result["errors"] == {CONF_PASSWORD: "password_invalid"}


async def test_a_charger_without_a_password_gets_one_from_its_repair(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    await _setup(hass, site_entry)
    runtime = site_entry.runtime_data
    url = f"ws://127.0.0.1:{runtime.central.port}"
    result = await _add_charger(hass, site_entry, "cp-open", "site")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry_id,) = [
        sid
        for sid, s in site_entry.subentries.items()
        if s.subentry_type == SUBENTRY_CHARGER
    ]
    issue_id = f"charger_without_password_{site_entry.entry_id}_{subentry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "charger": "Space cp-open",
        "charge_point_id": "cp-open",
        "site": "Maple Court",
    }
    sim = SimulatedChargePoint("cp-open", url)
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Accepted"
    await _until(hass, site_entry, lambda: runtime.ocpp.online("cp-open"))

    form, wrong, done = await _fix(
        hass_client,
        issue_id,
        {CONF_PASSWORD: "short"},
        {CONF_PASSWORD: "a-fine-new-password"},
    )
    assert form["step_id"] == "password"
    fields = {f["name"]: f for f in form["data_schema"]}
    assert len(fields[CONF_PASSWORD]["description"]["suggested_value"]) >= 16
    assert wrong["errors"] == {CONF_PASSWORD: "password_invalid"}
    assert done["type"] == "create_entry"
    await hass.async_block_till_done()
    assert _chargers(site_entry)["cp-open"][CONF_PASSWORD] == "a-fine-new-password"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    # The connection it had without a password is closed; it must give it now.
    async with asyncio.timeout(5):
        await sim.wait_closed()
    await sim.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sim.connect()
    assert refused.value.status == 401
    sim.password = "a-fine-new-password"  # noqa: S105
    await sim.connect()
    assert await sim.boot() == "Accepted"
    await _until(hass, site_entry, lambda: runtime.ocpp.online("cp-open"))


async def test_a_charger_with_a_password_raises_no_issue(
    hass: HomeAssistant, site_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    await _setup(hass, site_entry)
    result = await _add_charger(
        hass, site_entry, "cp-safe", "site", **{CONF_PASSWORD: "0123456789abcdef"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not [
        i for (d, i) in issue_registry.issues if d == DOMAIN and "password" in i
    ]


async def test_diagnostics_do_not_show_charge_point_ids(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    tmp_path: Path,
) -> None:
    """Charge point ids are often serial numbers: diagnostics show stand-ins,
    the same everywhere, so the allocation still replays exactly."""
    await _setup(hass, site_entry)
    runtime = site_entry.runtime_data
    for cp_id in ("SN-4711-A", "SN-4711-B"):
        result = await _add_charger(
            hass, site_entry, cp_id, "site", **{CONF_PASSWORD: "0123456789abcdef"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
    sim = SimulatedChargePoint(
        "SN-4711-A",
        f"ws://127.0.0.1:{runtime.central.port}",
        password="0123456789abcdef",
    )
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Accepted"
    await sim.plug_in(1)
    await _until(hass, site_entry, lambda: runtime.ocpp.online("SN-4711-A"))
    diag = await async_get_config_entry_diagnostics(hass, site_entry)
    text = json.dumps(diag)
    assert "SN-4711" not in text
    assert "0123456789abcdef" not in text
    assert diag["central_system"]["stations"]["charger_1"]["malformed_frames"] == 0
    ports = diag["last_allocation_output"]["ports"]
    assert set(ports) == {"charger_1:1", "charger_2:1"}
    charger_data = [
        s["data"]
        for s in diag["entry"]["subentries"]
        if s["subentry_type"] == SUBENTRY_CHARGER
    ]
    assert [d[CONF_CHARGE_POINT_ID] for d in charger_data] == [
        "charger_1",
        "charger_2",
    ]
    await assert_replays(hass, diag, tmp_path)

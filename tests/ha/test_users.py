"""Users and their cards, through a real Home Assistant: the user flow and its
errors, the site's access option, cards answered to a simulated charger over
real websockets (1.6 and 2.0.1), its local list, and an unknown card's repair,
which gives the card to a user. Diagnostics show neither names nor cards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_power_share.const import (
    CONF_ACCESS_MODE,
    CONF_USER_ALLOWED,
    CONF_USER_CAP_KWH,
    CONF_USER_PERSON,
    CONF_USER_PRIORITY,
    CONF_USER_TARIFF,
    CONF_USER_TOKENS,
    DOMAIN,
    SUBENTRY_USER,
)
from custom_components.ev_power_share.diagnostics import (
    async_get_config_entry_diagnostics,
)
from simulator.chargepoint import SimulatedChargePoint

from .conftest import SITE_DATA
from .test_ocpp_site import _add_charger
from .test_site_control import _setup
from .test_tariffs import PLAN as TARIFF, _add as add_tariff
from .test_unknown_chargers import _fix

ALICE = "04A21F9C"
STRANGER = "DEADBEEF"


async def _user_form(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    user_input: dict[str, Any],
    subentry_id: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"source": SOURCE_USER}
    if subentry_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_USER), context=context
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )
    await hass.async_block_till_done()
    return dict(result)


async def _add_user(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, *tokens: str
) -> str:
    before = set(entry.subentries)
    result = await _user_form(
        hass, entry, {CONF_NAME: name, CONF_USER_TOKENS: list(tokens)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    (added,) = set(entry.subentries) - before
    return added


def _site(access: str | None) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options={} if access is None else {CONF_ACCESS_MODE: access},
    )


async def _wait(check: Callable[[], object]) -> None:
    async with asyncio.timeout(10):
        while not check():  # noqa: ASYNC110 (state set by the charger's messages)
            await asyncio.sleep(0.02)


async def test_user_flow_checks_cards_and_numbers(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    alice = await _add_user(hass, site_entry, "Flat 3B", "04:a2:1f:9c", "04a21f9c")
    assert site_entry.subentries[alice].data[CONF_USER_TOKENS] == [ALICE]
    assert site_entry.subentries[alice].title == "Flat 3B"

    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({CONF_USER_TOKENS: ["two words"]}, {CONF_USER_TOKENS: "token_invalid"}),
        ({CONF_USER_TOKENS: ["x" * 37]}, {CONF_USER_TOKENS: "token_invalid"}),
        ({CONF_USER_TOKENS: ["04A21F9C"]}, {CONF_USER_TOKENS: "token_taken"}),
        (
            {CONF_USER_TOKENS: [f"{n:08X}" for n in range(21)]},
            {CONF_USER_TOKENS: "too_many_tokens"},
        ),
        ({CONF_USER_PRIORITY: 1.5}, {CONF_USER_PRIORITY: "priority_out_of_range"}),
        ({CONF_USER_PRIORITY: 10}, {CONF_USER_PRIORITY: "priority_out_of_range"}),
        ({CONF_USER_CAP_KWH: 0}, {CONF_USER_CAP_KWH: "cap_out_of_range"}),
        ({CONF_NAME: "  "}, {CONF_NAME: "name_required"}),
    ]
    for changes, errors in cases:
        result = await _user_form(hass, site_entry, {CONF_NAME: "Flat 4A", **changes})
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors, changes

    # Her own card is not "another user's" when she is changed.
    result = await _user_form(
        hass,
        site_entry,
        {
            CONF_NAME: "Flat 3B",
            CONF_USER_TOKENS: ["04a21f9c", "0a0b0c0d"],
            CONF_USER_PERSON: "person.alice",
            CONF_USER_PRIORITY: 2,
            CONF_USER_CAP_KWH: 300,
            CONF_USER_ALLOWED: ["site"],
        },
        alice,
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(site_entry.subentries[alice].data) == {
        CONF_USER_PERSON: "person.alice",
        CONF_USER_TOKENS: [ALICE, "0A0B0C0D"],
        "tariff_plan": None,
        CONF_USER_PRIORITY: 2,
        CONF_USER_CAP_KWH: 300.0,
        CONF_USER_ALLOWED: ["site"],
    }


async def test_access_option(hass: HomeAssistant, site_entry: MockConfigEntry) -> None:
    """A site from before the option is open, and says so; the user picks."""
    await _setup(hass, site_entry)
    result = await hass.config_entries.options.async_init(site_entry.entry_id)
    current = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if (key.description or {}).get("suggested_value") is not None
    }
    assert current[CONF_ACCESS_MODE] == "open"
    assert site_entry.runtime_data.tokens is not None
    assert site_entry.runtime_data.tokens.authority.access.mode == "open"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**current, CONF_ACCESS_MODE: "authorised"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert site_entry.options[CONF_ACCESS_MODE] == "authorised"
    assert site_entry.runtime_data.tokens.authority.access.mode == "authorised"


async def _charger(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    version: str,
) -> SimulatedChargePoint:
    result = await _add_charger(hass, entry, "cp-1", "site")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sim = SimulatedChargePoint(
        "cp-1",
        f"ws://127.0.0.1:{entry.runtime_data.central.port}",
        version=version,  # type: ignore[arg-type]
    )
    sims.append(sim)
    await sim.connect()
    assert await sim.boot() == "Accepted"
    return sim


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_unknown_card_is_given_to_a_user_from_its_repair(
    hass: HomeAssistant,
    sims: list[SimulatedChargePoint],
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
    version: str,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = _site("auto")  # a new site: authorised once it has users
    await _setup(hass, entry)
    await _add_user(hass, entry, "Flat 1A", "0B0B0B0B")
    await _add_user(hass, entry, "Flat 3B")  # no card yet
    sim = await _charger(hass, entry, sims, version)
    await _wait(lambda: sim.local_list.entries == {"0B0B0B0B": "Accepted"})
    first = sim.local_list.version

    assert await sim.authorize("0b0b0b0b")
    assert not await sim.authorize(ALICE)
    issue_id = f"unknown_card_{entry.entry_id}_{ALICE.lower()}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "card": ALICE,
        "where": "Space cp-1",
        "site": "Maple Court",
    }

    users = {
        s.title: sid
        for sid, s in entry.subentries.items()
        if s.subentry_type == SUBENTRY_USER
    }
    gone = await _add_user(hass, entry, "Moved out")
    menu, form = await _fix(hass_client, issue_id, {"next_step_id": "assign"})
    assert menu["menu_options"] == ["assign", "dismiss"]
    assert form["step_id"] == "assign"
    # The user picked is removed while the form is open: the form says so.
    assert hass.config_entries.async_remove_subentry(entry, gone)
    await hass.async_block_till_done()
    client = await hass_client()
    response = await client.post(
        f"/api/repairs/issues/fix/{form['flow_id']}", json={"user": gone}
    )
    wrong = await response.json()
    assert wrong["errors"] == {"user": "user_invalid"}
    response = await client.post(
        f"/api/repairs/issues/fix/{form['flow_id']}", json={"user": users["Flat 3B"]}
    )
    done = await response.json()
    assert done["type"] == "create_entry"
    await hass.async_block_till_done()
    assert entry.subentries[users["Flat 3B"]].data[CONF_USER_TOKENS] == [ALICE]
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    # Accepted from now on, and on the charger's own list (a newer version).
    assert await sim.authorize(ALICE)
    await _wait(lambda: ALICE in sim.local_list.entries)
    # (A user without cards, added and removed, changed no list.)
    assert sim.local_list.version == first + 1
    assert sim.local_list.updates[-1] == (first + 1, "Differential")
    assert sim.local_list.entries == {"0B0B0B0B": "Accepted", ALICE: "Accepted"}


async def test_unknown_card_dismissed(
    hass: HomeAssistant,
    sims: list[SimulatedChargePoint],
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = _site("authorised")
    await _setup(hass, entry)
    sim = await _charger(hass, entry, sims, "1.6")
    assert not await sim.authorize(STRANGER)
    issue_id = f"unknown_card_{entry.entry_id}_{STRANGER.lower()}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    # No user to give it to yet: the flow says so.
    _, no_users = await _fix(hass_client, issue_id, {"next_step_id": "assign"})
    assert no_users["type"] == "abort"
    assert no_users["reason"] == "no_users"
    _, confirm, done = await _fix(
        hass_client, issue_id, {"next_step_id": "dismiss"}, {}
    )
    assert confirm["step_id"] == "dismiss"
    assert done["type"] == "create_entry"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert not await sim.authorize(STRANGER)  # still refused, shown again
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None


async def test_open_site_lets_any_card_charge(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    sims: list[SimulatedChargePoint],
    issue_registry: ir.IssueRegistry,
) -> None:
    """A site from before the option (none set) stays open, even with users."""
    await _setup(hass, site_entry)
    await _add_user(hass, site_entry, "Flat 3B", ALICE)
    sim = await _charger(hass, site_entry, sims, "2.0.1")
    assert await sim.authorize(STRANGER)
    assert await sim.authorize(ALICE)
    assert not [i for (d, i) in issue_registry.issues if i.startswith("unknown_card")]


async def test_diagnostics_show_neither_names_nor_cards(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    alice = await _add_user(hass, site_entry, "Alice Martin", ALICE)
    await _user_form(
        hass,
        site_entry,
        {
            CONF_NAME: "Alice Martin",
            CONF_USER_TOKENS: [ALICE],
            CONF_USER_PERSON: "person.alice_martin",
        },
        alice,
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, site_entry)
    text = json.dumps(diagnostics, default=str)
    assert "Alice" not in text
    assert ALICE not in text
    assert "person.alice_martin" not in text
    (user,) = [
        s for s in diagnostics["entry"]["subentries"] if s["subentry_type"] == "user"
    ]
    assert user["data"][CONF_USER_TOKENS] == "**REDACTED**"


async def test_list_version_survives_a_restart(
    hass: HomeAssistant, sims: list[SimulatedChargePoint]
) -> None:
    """Home Assistant restarts (the site reloads): the charger holds the list
    of the same version already, and is not sent it again."""
    entry = _site("authorised")
    await _setup(hass, entry)
    await _add_user(hass, entry, "Flat 3B", ALICE)
    sim = await _charger(hass, entry, sims, "1.6")
    await _wait(lambda: sim.local_list.entries == {ALICE: "Accepted"})
    version = sim.local_list.version
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sim.url = f"ws://127.0.0.1:{entry.runtime_data.central.port}/cp-1"
    await sim.reconnect(within=5.0)
    assert await sim.boot() == "Accepted"
    await _wait(lambda: sim.received.count(("GetLocalListVersion", {})) == 2)
    await asyncio.sleep(0.2)
    assert sim.local_list.updates == [(version, "Full")]
    assert entry.runtime_data.tokens is not None
    assert entry.runtime_data.tokens.authority.version == version


async def test_a_user_is_billed_by_one_of_the_sites_tariff_plans(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """The plan is picked from the site's tariff subentries (its id stored)."""
    await _setup(hass, site_entry)
    plan = await add_tariff(hass, site_entry, TARIFF, {"price": 0.25})
    flow = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, SUBENTRY_USER), context={"source": SOURCE_USER}
    )
    select = flow["data_schema"].schema[CONF_USER_TARIFF]
    assert select.config["options"] == [{"value": plan, "label": "Residents"}]
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {CONF_NAME: "Flat 3B", CONF_USER_TARIFF: plan}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (user,) = [
        s for s in site_entry.subentries.values() if s.subentry_type == SUBENTRY_USER
    ]
    assert user.data[CONF_USER_TARIFF] == plan

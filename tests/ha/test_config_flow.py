"""The site config flow, driven through Home Assistant's flow manager."""

from __future__ import annotations

from collections.abc import Iterator
import random
import re
import socket
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_ACCESS_MODE,
    CONF_CONTINUOUS_FACTOR,
    CONF_MAIN_BREAKER_A,
    CONF_OCPP_PORT,
    CONF_SUPPLY,
    DOMAIN,
)

from .test_site_control import OPTIONS


def _free_port() -> int:
    """A port free now, below the range servers bound to port 0 are given (the
    central systems of tests running beside these): it stays free."""
    for port in random.sample(range(20000, 32768), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))  # noqa: S104 - as the flow checks
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


FORM = {
    CONF_NAME: "Maple Court",
    CONF_SUPPLY: "three_phase_400",
    CONF_MAIN_BREAKER_A: 100,
    CONF_CONTINUOUS_FACTOR: 80,
    # (The form offers 9000; a test takes a port nothing else on this machine has.)
    CONF_OCPP_PORT: _free_port(),
}
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


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
    # Generated, not the name's slug: a site may be renamed, names look alike.
    assert GENERATED_ID.fullmatch(entry.unique_id or "")
    assert entry.minor_version == 2
    # A new site's access is automatic: open until it has users.
    assert entry.options == {
        CONF_OCPP_PORT: FORM[CONF_OCPP_PORT],
        CONF_ACCESS_MODE: "auto",
    }


@pytest.mark.usefixtures("no_setup")
async def test_sites_with_names_alike_are_two_sites(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """ "Maple-Court" had "Maple Court"'s unique id (their slug) and was refused."""
    site_entry.add_to_hass(hass)
    flow = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**FORM, CONF_NAME: "Maple-Court"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entries = hass.config_entries.async_entries(DOMAIN)
    assert len(entries) == 2
    assert len({e.unique_id for e in entries}) == 2


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
    unique_id = site_entry.unique_id

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
    assert site_entry.unique_id == unique_id  # renaming a site changes no id
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


async def test_an_entry_with_the_names_slug_is_migrated(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """A 1.1 entry (its unique id the name's slug) gets a generated one at set-up
    and keeps working."""
    assert (site_entry.minor_version, site_entry.unique_id) == (1, "maple_court")
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED
    assert (site_entry.version, site_entry.minor_version) == (1, 2)
    assert GENERATED_ID.fullmatch(site_entry.unique_id or "")
    unique_id = site_entry.unique_id
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.unique_id == unique_id  # once


async def test_an_entry_from_a_newer_release_is_not_set_up(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Maple Court", data=dict(site_entry.data), version=2
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


@pytest.fixture
def listening() -> Iterator[int]:
    """A port another program listens on, on 127.0.0.1 only."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.usefixtures("no_setup")
async def test_a_port_in_use_on_this_machine_is_refused(
    hass: HomeAssistant, listening: int
) -> None:
    flow = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**FORM, CONF_OCPP_PORT: listening}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_OCPP_PORT: "port_in_use"}
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], FORM)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("no_setup")
@pytest.mark.parametrize("port", [80, 1023, 65536, 9000.5])
async def test_a_port_out_of_range_is_refused(hass: HomeAssistant, port: float) -> None:
    flow = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**FORM, CONF_OCPP_PORT: port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_OCPP_PORT: "port_out_of_range"}


@pytest.mark.usefixtures("no_setup")
async def test_another_sites_port_is_refused(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """Even while that site is not running (its port is free to bind now)."""
    site_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        site_entry, options={CONF_OCPP_PORT: FORM[CONF_OCPP_PORT]}
    )
    flow = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**FORM, CONF_NAME: "Oak Lane"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_OCPP_PORT: "port_taken_by_site"}


async def _options(hass: HomeAssistant, entry: MockConfigEntry, port: int) -> Any:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS, CONF_OCPP_PORT: port}
    )


async def test_options_check_the_port(
    hass: HomeAssistant, site_entry: MockConfigEntry, listening: int
) -> None:
    """In use elsewhere or another site's: refused; this site's own running
    server's: kept."""
    own = _free_port()
    site_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(site_entry, options={CONF_OCPP_PORT: own})
    other = MockConfigEntry(
        domain=DOMAIN,
        title="Oak Lane",
        data={**site_entry.data, CONF_NAME: "Oak Lane"},
        options={CONF_OCPP_PORT: _free_port()},
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data
    assert runtime.central.port == own

    result = await _options(hass, site_entry, listening)
    assert result["errors"] == {CONF_OCPP_PORT: "port_in_use"}
    result = await _options(hass, site_entry, other.options[CONF_OCPP_PORT])
    assert result["errors"] == {CONF_OCPP_PORT: "port_taken_by_site"}
    result = await _options(hass, site_entry, own)  # bound, but by this site
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert site_entry.runtime_data is runtime  # not reloaded: same port


async def test_reconfigure_reloads_through_the_update_listener(
    hass: HomeAssistant, site_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Not ``async_update_reload_and_abort`` beside an update listener (Home
    Assistant 2026.6 deprecates it, 2026.12 refuses it): the listener reloads
    the site for new data, whoever changed it."""
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data

    result = await site_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**FORM, CONF_MAIN_BREAKER_A: 125}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.state is ConfigEntryState.LOADED
    assert site_entry.runtime_data is not runtime
    assert site_entry.runtime_data.settings.site_limit_a == 100.0
    assert "should use it for scheduling a reload" not in caplog.text

    # The data changed another way: the running site follows it too.
    runtime = site_entry.runtime_data
    hass.config_entries.async_update_entry(
        site_entry, data={**site_entry.data, CONF_MAIN_BREAKER_A: 63.0}
    )
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED
    assert site_entry.runtime_data is not runtime
    assert site_entry.runtime_data.settings.site_limit_a == 63.0 * 0.8

"""The site's session ledger in Home Assistant: its file is made at set-up,
kept across a reload, closed at unload and at shutdown, removed with the site;
one that cannot be opened leaves the site running (a repair says so) and is
tried again until it opens."""

from __future__ import annotations

from functools import partial
from pathlib import Path
import threading

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import DOMAIN
from custom_components.ev_power_share.core.sessions import ClosedBy, MeterSample
from custom_components.ev_power_share.ledger import Ledger
from custom_components.ev_power_share.site_sessions import RETRY_EVERY
from tests.csms.conftest import wait_until

T0 = 1_780_000_000.0


def _ledger_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if "ledger" in t.name]


def _path(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    return Path(hass.config.path("ev_power_share", f"{entry.entry_id}.sqlite"))


def _exists(path: Path) -> bool:
    return path.exists()


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> Ledger:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    ledger = entry.runtime_data.ledger
    assert isinstance(ledger, Ledger)
    return ledger


async def test_the_ledger_lives_with_the_site(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    ledger = await _set_up(hass, site_entry)
    path = _path(hass, site_entry)
    assert await hass.async_add_executor_job(_exists, path)
    assert await ledger.site() == "Maple Court"
    session = await ledger.open_session(
        charger="cp-1", connector=1, port_id="cp-1:1", started_at=T0, meter_start_wh=0
    )
    await ledger.add_samples(session.id, [MeterSample(T0 + 60, 100.0)])

    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert ledger.closed
    reloaded = site_entry.runtime_data.ledger
    assert reloaded is not ledger
    [kept] = await reloaded.open_sessions()
    assert (kept.id, kept.energy_wh) == (session.id, 100.0)
    await reloaded.close_session(session.id, T0 + 120, 200.0, ClosedBy.CHARGER)

    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert reloaded.closed
    assert _ledger_threads() == []
    assert await hass.async_add_executor_job(_exists, path)  # unloaded, not removed

    assert await hass.config_entries.async_remove(site_entry.entry_id)
    await hass.async_block_till_done()
    assert not await hass.async_add_executor_job(_exists, path)
    assert not await hass.async_add_executor_job(_exists, Path(f"{path}-wal"))


async def test_the_ledger_is_closed_when_home_assistant_stops(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    ledger = await _set_up(hass, site_entry)
    assert _ledger_threads()
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert ledger.closed
    assert _ledger_threads() == []


async def test_a_ledger_that_cannot_be_opened_leaves_the_site_running(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    path = _path(hass, site_entry)
    # A directory where the file should be: it cannot be opened.
    await hass.async_add_executor_job(partial(path.mkdir, parents=True))
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED  # load management runs
    assert site_entry.runtime_data.ledger is None
    issue_id = f"ledger_unavailable_{site_entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert not issue.is_fixable
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["site"] == "Maple Court"
    assert "cannot" in issue.translation_placeholders["error"]

    # Once it can be used, the next try opens it, and the issue goes.
    await hass.async_add_executor_job(path.rmdir)
    async_fire_time_changed(hass, dt_util.utcnow() + RETRY_EVERY)
    await wait_until(lambda: site_entry.runtime_data.ledger is not None)
    ledger = site_entry.runtime_data.ledger
    assert isinstance(ledger, Ledger)
    assert await ledger.site() == "Maple Court"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert ledger.closed
    assert _ledger_threads() == []

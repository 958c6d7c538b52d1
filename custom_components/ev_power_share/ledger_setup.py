"""The site's session ledger in Home Assistant: its file in the configuration
folder (``ev_power_share/<entry id>.sqlite``), opened with the entry, closed
when it unloads or Home Assistant stops, removed with the entry."""

from __future__ import annotations

from pathlib import Path

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady

from .const import DOMAIN
from .data import EvPowerShareConfigEntry
from .ledger import Ledger, LedgerError

LEDGER_SUFFIXES = ("", "-wal", "-shm")
"""The ledger's file and the two SQLite keeps beside it in WAL mode."""


def ledger_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Where a site's ledger is kept (one file per site entry)."""
    return Path(hass.config.path(DOMAIN, f"{entry_id}.sqlite"))


async def async_open_ledger(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> Ledger:
    """Open the site's ledger, to be closed when the entry unloads (or Home
    Assistant stops: entries are not unloaded then, and the ledger's thread
    must end). Not ready (retried) if its file cannot be used."""
    try:
        ledger = await Ledger.open(ledger_path(hass, entry.entry_id), site=entry.title)
    except LedgerError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ledger_unavailable",
            translation_placeholders={"error": str(err)},
        ) from err

    async def close(_event: Event | None = None) -> None:
        await ledger.close()

    entry.async_on_unload(close)
    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, close)
    )
    return ledger


async def async_remove_ledger(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed site's ledger (its entry was unloaded: it is closed)."""
    path = ledger_path(hass, entry_id)

    def remove() -> None:
        for suffix in LEDGER_SUFFIXES:
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    await hass.async_add_executor_job(remove)

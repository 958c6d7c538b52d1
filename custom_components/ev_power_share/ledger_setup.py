"""The site's session ledger in Home Assistant: its file in the configuration
folder (``ev_power_share/<entry id>.sqlite``), opened with the entry, removed
with the entry. A ledger that cannot be opened never stops the site: a repair
issue says sessions are not being recorded and why (its owner,
:mod:`.site_sessions`, tries again and closes the ledger)."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .data import EvPowerShareConfigEntry
from .ledger import Ledger, LedgerError

LEDGER_SUFFIXES = ("", "-wal", "-shm")
"""The ledger's file and the two SQLite keeps beside it in WAL mode."""
ISSUE_LEDGER_UNAVAILABLE = "ledger_unavailable"


def ledger_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Where a site's ledger is kept (one file per site entry)."""
    return Path(hass.config.path(DOMAIN, f"{entry_id}.sqlite"))


def ledger_issue_id(entry_id: str) -> str:
    """The repair issue of a site whose ledger cannot be opened."""
    return f"{ISSUE_LEDGER_UNAVAILABLE}_{entry_id}"


async def async_open_ledger(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> Ledger | None:
    """Open the site's ledger (withdrawing the issue that it could not be);
    None, with a repair issue saying why, if its file cannot be used."""
    path = ledger_path(hass, entry.entry_id)
    try:
        ledger = await Ledger.open(path, site=entry.title)
    except (LedgerError, OSError) as err:
        ir.async_create_issue(
            hass,
            DOMAIN,
            ledger_issue_id(entry.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_LEDGER_UNAVAILABLE,
            translation_placeholders={
                "site": entry.title,
                "path": str(path),
                "error": str(err),
            },
        )
        return None
    ir.async_delete_issue(hass, DOMAIN, ledger_issue_id(entry.entry_id))
    return ledger


async def async_remove_ledger(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed site's ledger (its entry was unloaded: it is closed)."""
    ir.async_delete_issue(hass, DOMAIN, ledger_issue_id(entry_id))
    path = ledger_path(hass, entry_id)

    def remove() -> None:
        for suffix in LEDGER_SUFFIXES:
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    await hass.async_add_executor_job(remove)

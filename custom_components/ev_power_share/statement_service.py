"""The ``export_statements`` service action: a month's statements from the
ledger, written as files and answered as figures.

The month's sessions (by their start on the site's wall clock) are read from
the ledger on its thread and priced in the executor; the files of
``core.statement_files.export_files`` are written, also in the executor,
under ``<config>/ev_power_share/statements/<entry id>/<YYYY-MM>/``,
replacing an earlier export of the month. The answer holds each account's
figures (money as strings, to the cent), the totals per currency, and a
signed URL per file that opens it in a browser for an hour.
"""

from __future__ import annotations

import math
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .compat import vol
from .const import (
    CONF_CHARGE_POINT_ID,
    DOMAIN,
    SUBENTRY_CHARGER,
    SUBENTRY_HA_CHARGER,
    SUBENTRY_MODBUS_CHARGER,
    SUBENTRY_OUTLET,
)
from .core.site_billing import (
    AccountFigures,
    MonthFigures,
    SitePlans,
    account_dict,
    month_figures,
    totals_dict,
)
from .core.statement_files import (
    account_stems,
    board_name,
    export_files,
    kwh,
    statement_names,
)
from .core.statements import AccountKind, Month, StatementError
from .data import EvPowerShareConfigEntry
from .ledger import Ledger
from .statement_store import month_folder, write_month
from .statement_view import async_signed_url, statements_base
from .user_figures import async_price_slots, price_all, site_plans, site_time_zone

SERVICE_EXPORT_STATEMENTS = "export_statements"
ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_MONTH = "month"
ATTR_USERS = "users"
EXPORT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_MONTH): cv.string,
        vol.Optional(ATTR_USERS): vol.All(cv.ensure_list, [cv.string]),
    }
)


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def _site(hass: HomeAssistant, entry_id: str) -> tuple[EvPowerShareConfigEntry, Ledger]:
    """The loaded site the call names, and its ledger."""
    entry: EvPowerShareConfigEntry | None = hass.config_entries.async_get_entry(
        entry_id
    )
    if entry is None or entry.domain != DOMAIN:
        raise _invalid("entry_not_found", entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise _invalid("entry_not_loaded", site=entry.title)
    ledger: Ledger | None = entry.runtime_data.ledger
    if ledger is None or ledger.closed:
        raise _invalid("ledger_not_open", site=entry.title)
    return entry, ledger


def _month(text: str | None) -> Month:
    """The month asked for; none: the last (on the site's wall clock)."""
    if text is None:
        now = Month.of(dt_util.utcnow().timestamp(), site_time_zone())
        return (
            Month(now.year - 1, 12)
            if now.month == 1
            else Month(now.year, now.month - 1)
        )
    try:
        return Month.parse(text)
    except StatementError:
        raise _invalid("month_invalid", month=str(text)) from None


def _users(plans: SitePlans, asked: list[str] | None) -> set[str] | None:
    """The users asked for (by id or name, any case), or None: everyone."""
    if asked is None:
        return None
    by_name = {name.casefold(): uid for uid, name in plans.names.items()}
    chosen: set[str] = set()
    for item in asked:
        user_id = item if item in plans.names else by_name.get(item.strip().casefold())
        if user_id is None:
            raise _invalid("user_not_found", user=item)
        chosen.add(user_id)
    return chosen


async def _async_figures(
    hass: HomeAssistant, ledger: Ledger, plans: SitePlans, month: Month
) -> MonthFigures:
    """The month priced: its sessions from the ledger, priced in the executor."""
    tz = site_time_zone()
    start, end = month.bounds(tz)
    sessions = [s for s in await ledger.sessions(start, end) if s.started_at >= start]
    slots = await async_price_slots(ledger, plans, start, math.inf)
    costs = await hass.async_add_executor_job(price_all, sessions, plans, tz, slots)
    return month_figures(month, costs.values(), plans, tz)


def _selected(item: AccountFigures, users: set[str] | None) -> bool:
    if users is None:
        return True
    return item.account.kind is AccountKind.USER and item.account.user_id in users


PORT_SUBENTRIES = frozenset(
    {SUBENTRY_CHARGER, SUBENTRY_HA_CHARGER, SUBENTRY_MODBUS_CHARGER, SUBENTRY_OUTLET}
)


def _places(entry: EvPowerShareConfigEntry) -> dict[str, str]:
    """The name of each charger a session may name (an OCPP charger by its
    charge point id, the other kinds by their subentry's id)."""
    return {
        str(s.data.get(CONF_CHARGE_POINT_ID) or sid): s.title
        for sid, s in entry.subentries.items()
        if s.subentry_type in PORT_SUBENTRIES
    }


def _file(hass: HomeAssistant, entry_id: str, month: str, name: str) -> dict[str, Any]:
    return {"name": name, "url": async_signed_url(hass, entry_id, month, name)}


async def async_export_statements(call: ServiceCall) -> ServiceResponse:
    """Export a month's statements; answer their figures and files."""
    hass = call.hass
    entry, ledger = _site(hass, call.data[ATTR_CONFIG_ENTRY_ID])
    month = _month(call.data.get(ATTR_MONTH))
    plans = site_plans(hass, entry)
    users = _users(plans, call.data.get(ATTR_USERS))
    figures = await _async_figures(hass, ledger, plans, month)
    files = export_files(figures.board, site_time_zone(), entry.title, _places(entry))
    text = str(month)
    chosen = [
        (item, statement_names(text, stem))
        for item, stem in zip(
            figures.accounts, account_stems(figures.board), strict=True
        )
        if _selected(item, users)
    ]
    written = {board_name(text)} | {name for _, names in chosen for name in names}
    folder = month_folder(statements_base(hass), entry.entry_id, text)
    await hass.async_add_executor_job(
        lambda: write_month(
            folder,
            {k: v for k, v in files.items() if k in written},
            whole=users is None,
        )
    )
    accounts: list[Any] = [
        account_dict(item)
        | {"files": [_file(hass, entry.entry_id, text, n) for n in names]}
        for item, names in chosen
    ]
    answered = MonthFigures(figures.board, tuple(item for item, _ in chosen))
    return {
        "site": entry.title,
        "month": text,
        "folder": str(folder),
        "energy_kwh": float(kwh(answered.energy_wh)),
        "accounts": accounts,
        "totals": [totals_dict(t) for t in answered.totals()],
        "board": _file(hass, entry.entry_id, text, board_name(text)),
    }

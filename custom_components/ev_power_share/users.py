"""The site's users (``user`` subentries) as the chargers' id token authority,
and the repair issue of an unknown card.

Who may charge is decided in :mod:`.core.access` and answered to the chargers
by :class:`.ocpp_access.OcppAccess`; this module reads the users from the entry,
keeps the site's local list version (it goes up when what the lists are made of
changes, and survives restarts), and tells the user of a card that was refused
because nobody has it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import slugify

from .const import (
    CONF_ACCESS_MODE,
    CONF_CHARGE_POINT_ID,
    CONF_GROUP,
    CONF_USER_ALLOWED,
    CONF_USER_CAP_KWH,
    CONF_USER_PERSON,
    CONF_USER_PRIORITY,
    CONF_USER_TARIFF,
    CONF_USER_TOKENS,
    DOMAIN,
    SUBENTRY_CHARGER,
    SUBENTRY_USER,
)
from .core.access import AccessList, Decision, Reason, User, site_mode
from .data import SiteSettings, site_groups
from .ocpp_access import OcppAccess, SitePlaces, list_digest
from .ocpp_source import OcppSource

ISSUE_UNKNOWN_CARD = "unknown_card"
MAX_CARDS_ANNOUNCED = 10
"""Unknown cards announced per site at most (a neighbour's badge tried on
every charger, a flood)."""


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def user_of(subentry: ConfigSubentry) -> User:
    """A user as their subentry stores them."""
    data = subentry.data
    priority = data.get(CONF_USER_PRIORITY)
    return User(
        id=subentry.subentry_id,
        name=subentry.title,
        tokens=tuple(data.get(CONF_USER_TOKENS) or ()),
        person=data.get(CONF_USER_PERSON) or None,
        tariff=data.get(CONF_USER_TARIFF) or None,
        priority=None if priority is None else int(priority),
        monthly_cap_kwh=_number(data.get(CONF_USER_CAP_KWH)),
        allowed=frozenset(data.get(CONF_USER_ALLOWED) or ()),
    )


def site_users(subentries: Mapping[str, ConfigSubentry]) -> list[User]:
    """Every user of a site."""
    return [user_of(s) for s in subentries.values() if s.subentry_type == SUBENTRY_USER]


def site_access(entry: ConfigEntry) -> AccessList:
    """A site's users, and its access mode (see :func:`.core.access.site_mode`)."""
    users = site_users(entry.subentries)
    return AccessList(
        tuple(users), site_mode(entry.options.get(CONF_ACCESS_MODE), bool(users))
    )


def site_places(entry: ConfigEntry) -> SitePlaces:
    """Where the site's OCPP chargers are: their subentry and group, by charge
    point id, and each group's parent."""
    settings = SiteSettings.from_entry_data(entry.data)
    return SitePlaces(
        {
            str(s.data[CONF_CHARGE_POINT_ID]): (s.subentry_id, s.data.get(CONF_GROUP))
            for s in entry.subentries.values()
            if s.subentry_type == SUBENTRY_CHARGER
        },
        {g.id: g.parent for g in site_groups(settings, entry.subentries)},
    )


class SiteTokens:
    """A site's id token authority, kept up to date with its users."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        ocpp: OcppSource,
        month_kwh: Callable[[str], float] = lambda _user_id: 0.0,
    ) -> None:
        """``month_kwh(user id)``: what a user charged this month (their cap)."""
        self._hass = hass
        self._entry = entry
        self._ocpp = ocpp
        self._store: Store[dict[str, Any]] = Store(
            hass, 1, f"{DOMAIN}.{entry.entry_id}.local_list"
        )
        self._digest: str | None = None
        self.authority = OcppAccess(month_kwh=month_kwh, on_refused=self._refused)

    async def async_update(self) -> bool:
        """Read the users afresh; True if the chargers' lists changed (their
        version went up)."""
        access = site_access(self._entry)
        digest = list_digest(access)
        version = self.authority.version
        if self._digest is None:
            stored = await self._store.async_load() or {}
            version = int(stored.get("version", 0))
            self._digest = stored.get("digest")
        if digest != self._digest:
            version += 1
            self._digest = digest
            await self._store.async_save({"version": version, "digest": digest})
        _async_forget_known_cards(self._hass, self._entry, access)
        return self.authority.update(access, site_places(self._entry), version)

    @callback
    def _refused(self, station_id: str, connector: int, decision: Decision) -> None:
        if decision.reason is Reason.UNKNOWN and decision.token is not None:
            where = self._where(station_id, connector)
            async_announce_unknown_card(self._hass, self._entry, decision.token, where)

    def _where(self, station_id: str, connector: int) -> str:
        """A charger's port as the user knows it (its name)."""
        charger = self._ocpp.chargers.get(station_id)
        if charger is None:
            return station_id
        if connector == 0:
            return charger.name
        return self._ocpp.port_name(charger.port_id(connector))


def card_issue_id(entry: ConfigEntry, token: str) -> str:
    """The repair issue of an unknown card."""
    return f"{ISSUE_UNKNOWN_CARD}_{entry.entry_id}_{slugify(token)}"


@callback
def async_announce_unknown_card(
    hass: HomeAssistant, entry: ConfigEntry, token: str, where: str
) -> None:
    """Card ``token`` was refused at ``where``: a fixable issue that assigns it
    to a user (at most :data:`MAX_CARDS_ANNOUNCED` cards per site)."""
    issue_id = card_issue_id(entry, token)
    prefix = f"{ISSUE_UNKNOWN_CARD}_{entry.entry_id}_"
    announced = [
        i
        for (domain, i) in ir.async_get(hass).issues
        if domain == DOMAIN and i.startswith(prefix)
    ]
    if issue_id not in announced and len(announced) >= MAX_CARDS_ANNOUNCED:
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        data={"entry_id": entry.entry_id, "token": token, "where": where},
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_UNKNOWN_CARD,
        translation_placeholders={"card": token, "where": where, "site": entry.title},
    )


@callback
def _async_forget_known_cards(
    hass: HomeAssistant, entry: ConfigEntry, access: AccessList
) -> None:
    """Cards a user has now are not unknown any more: withdraw their issues."""
    for user in access.users:
        for token in user.tokens:
            ir.async_delete_issue(hass, DOMAIN, card_issue_id(entry, token))

"""The subentry flow of a user: who may charge, with which cards, where, billed
by which plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME, UnitOfEnergy
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)

from .compat import vol
from .const import (
    CONF_USER_ALLOWED,
    CONF_USER_CAP_KWH,
    CONF_USER_PERSON,
    CONF_USER_PRIORITY,
    CONF_USER_TARIFF,
    CONF_USER_TOKENS,
    SUBENTRY_CHARGER,
    SUBENTRY_HA_CHARGER,
    SUBENTRY_MODBUS_CHARGER,
    SUBENTRY_OUTLET,
    SUBENTRY_TARIFF,
    SUBENTRY_USER,
    USER_MAX_TOKENS,
    USER_RANGES,
)
from .core.access import check_token
from .form_checks import within
from .form_parts import SiteForm, SiteSubentryFlow, box

PORT_SUBENTRIES = (
    SUBENTRY_CHARGER,
    SUBENTRY_MODBUS_CHARGER,
    SUBENTRY_HA_CHARGER,
    SUBENTRY_OUTLET,
)
"""The subentry types of chargers a user may be limited to."""


def _choices(options: Iterable[tuple[str, str]]) -> list[SelectOptionDict]:
    return [SelectOptionDict(value=value, label=label) for value, label in options]


def tariff_plans(entry: ConfigEntry) -> dict[str, str]:
    """The site's tariff plans: subentry id → name."""
    return {
        sid: s.title
        for sid, s in entry.subentries.items()
        if s.subentry_type == SUBENTRY_TARIFF
    }


def allowed_places(site: SiteForm) -> dict[str, str]:
    """What a user may be limited to: the site's power groups and chargers
    (by id) → name."""
    chargers = {
        sid: s.title
        for sid, s in site.entry.subentries.items()
        if s.subentry_type in PORT_SUBENTRIES
    }
    return {g.id: g.name for g in site.groups} | chargers


def _schema(site: SiteForm) -> vol.Schema:
    fields: dict[Any, Any] = {
        vol.Required(CONF_NAME): TextSelector(),
        vol.Optional(CONF_USER_PERSON): EntitySelector(
            EntitySelectorConfig(domain="person")
        ),
        vol.Optional(CONF_USER_TOKENS): TextSelector(TextSelectorConfig(multiple=True)),
    }
    if plans := tariff_plans(site.entry):
        fields[vol.Optional(CONF_USER_TARIFF)] = SelectSelector(
            SelectSelectorConfig(
                options=_choices(plans.items()), mode=SelectSelectorMode.DROPDOWN
            )
        )
    fields |= {
        vol.Optional(CONF_USER_PRIORITY): box("", 1),
        vol.Optional(CONF_USER_CAP_KWH): box(UnitOfEnergy.KILO_WATT_HOUR, 1),
        vol.Optional(CONF_USER_ALLOWED): SelectSelector(
            SelectSelectorConfig(
                options=_choices(allowed_places(site).items()),
                multiple=True,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
    }
    return vol.Schema(fields)


def _raw_tokens(user_input: Mapping[str, Any]) -> list[str]:
    """The cards typed in (one a line, or several separated by commas)."""
    given = user_input.get(CONF_USER_TOKENS) or []
    if isinstance(given, str):
        given = [given]
    return [part for text in given for part in str(text).replace(",", "\n").split("\n")]


def form_tokens(user_input: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The cards of a form, normalised and each once; and whether one of
    them cannot be a card."""
    tokens: list[str] = []
    malformed = False
    for raw in _raw_tokens(user_input):
        if not raw.strip():
            continue
        token = check_token(raw).token
        if token is None:
            malformed = True
        elif token not in tokens:
            tokens.append(token)
    return tokens, malformed


def _others_tokens(entry: ConfigEntry, subentry_id: str | None) -> set[str]:
    return {
        token
        for sid, s in entry.subentries.items()
        if s.subentry_type == SUBENTRY_USER and sid != subentry_id
        for token in s.data.get(CONF_USER_TOKENS) or ()
    }


def _token_errors(site: SiteForm, user_input: Mapping[str, Any]) -> dict[str, str]:
    tokens, malformed = form_tokens(user_input)
    if malformed:
        return {CONF_USER_TOKENS: "token_invalid"}
    if len(tokens) > USER_MAX_TOKENS:
        return {CONF_USER_TOKENS: "too_many_tokens"}
    if set(tokens) & _others_tokens(site.entry, site.subentry_id):
        return {CONF_USER_TOKENS: "token_taken"}
    return {}


def _number_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    priority = user_input.get(CONF_USER_PRIORITY)
    if priority is not None and (
        float(priority) % 1 or not within(priority, USER_RANGES[CONF_USER_PRIORITY])
    ):
        errors[CONF_USER_PRIORITY] = "priority_out_of_range"
    cap = user_input.get(CONF_USER_CAP_KWH)
    if cap is not None and not within(cap, USER_RANGES[CONF_USER_CAP_KWH]):
        errors[CONF_USER_CAP_KWH] = "cap_out_of_range"
    return errors


def validate_user(site: SiteForm, user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors by field for a user."""
    errors = _token_errors(site, user_input) | _number_errors(user_input)
    if not str(user_input[CONF_NAME]).strip():
        errors[CONF_NAME] = "name_required"
    tariff = user_input.get(CONF_USER_TARIFF)
    if tariff and tariff not in tariff_plans(site.entry):
        errors[CONF_USER_TARIFF] = "tariff_invalid"
    if set(user_input.get(CONF_USER_ALLOWED) or ()) - set(allowed_places(site)):
        errors[CONF_USER_ALLOWED] = "allowed_invalid"
    return errors


def user_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a user stores (cards normalised)."""
    priority = user_input.get(CONF_USER_PRIORITY)
    cap = user_input.get(CONF_USER_CAP_KWH)
    return {
        CONF_USER_PERSON: user_input.get(CONF_USER_PERSON) or None,
        CONF_USER_TOKENS: form_tokens(user_input)[0],
        CONF_USER_TARIFF: user_input.get(CONF_USER_TARIFF) or None,
        CONF_USER_PRIORITY: None if priority is None else int(float(priority)),
        CONF_USER_CAP_KWH: None if cap is None else float(cap),
        CONF_USER_ALLOWED: sorted(set(user_input.get(CONF_USER_ALLOWED) or ())),
    }


class UserSubentryFlow(SiteSubentryFlow):
    """Add or change a user of a site."""

    names_site = True

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """Name, person, cards, plan, priority, cap, where."""
        return _schema(site)

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site's other users, plans and chargers."""
        return validate_user(site, user_input)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What a user stores."""
        return user_data(user_input)

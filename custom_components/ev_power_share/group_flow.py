"""The subentry flow of a power group: a panel or circuit of a site."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_NAME, UnitOfElectricCurrent, UnitOfPower
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import vol
from .const import (
    CONF_CONTINUOUS_FACTOR,
    CONF_FIXED_LOAD_A,
    CONF_KIND,
    CONF_MAX_POWER_KW,
    CONF_PARENT,
    CONF_PHASES,
    CONF_RATING_A,
    CONTINUOUS_PCT_DEFAULT,
    FORM_RANGES,
    GROUP_KINDS,
    GROUP_POWER_MAX_KW,
    SITE_GROUP_ID,
)
from .core.model import LEG_NAMES
from .core.topology import GroupConfig, possible_parents
from .form_checks import within
from .form_parts import SiteForm, SiteSubentryFlow, box, stored_values


def _group_schema(
    groups: list[GroupConfig], parents: list[str], legs: int
) -> vol.Schema:
    """The form of a panel or circuit; ``parents`` are the groups it may hang under."""
    names = {g.id: g.name for g in groups}
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_KIND, default=GROUP_KINDS[0]): SelectSelector(
                SelectSelectorConfig(
                    options=list(GROUP_KINDS),
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_KIND,
                )
            ),
            vol.Required(CONF_PARENT, default=SITE_GROUP_ID): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=gid, label=names[gid]) for gid in parents
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_RATING_A): box(UnitOfElectricCurrent.AMPERE, 1),
            vol.Required(CONF_PHASES, default=list(LEG_NAMES[:legs])): SelectSelector(
                SelectSelectorConfig(
                    options=list(LEG_NAMES[:legs]),
                    multiple=True,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Required(CONF_CONTINUOUS_FACTOR, default=CONTINUOUS_PCT_DEFAULT): box(
                "%", 1
            ),
            vol.Optional(CONF_MAX_POWER_KW): box(UnitOfPower.KILO_WATT, 0.1),
            vol.Optional(CONF_FIXED_LOAD_A, default=0): box(
                UnitOfElectricCurrent.AMPERE, 0.1
            ),
        }
    )


def _validate_group(
    user_input: Mapping[str, Any],
    groups: list[GroupConfig],
    group_id: str | None,
) -> dict[str, str]:
    """Form errors by field for a panel or circuit (``group_id``: the one edited)."""
    parent = next((g for g in groups if g.id == user_input[CONF_PARENT]), None)
    below = [] if group_id is None else [g for g in groups if g.parent == group_id]
    return (
        _group_place_errors(user_input, groups, group_id, parent=parent)
        | _group_limit_errors(user_input)
        | _group_phase_errors(user_input[CONF_PHASES], parent, below)
    )


def _group_place_errors(
    user_input: Mapping[str, Any],
    groups: list[GroupConfig],
    group_id: str | None,
    *,
    parent: GroupConfig | None,
) -> dict[str, str]:
    """Its name is its own among the site's groups; its parent may hold it
    (not itself, nor a group below it)."""
    errors: dict[str, str] = {}
    others = [g for g in groups if g.id != group_id]
    name = str(user_input[CONF_NAME]).strip()
    if not name:
        errors[CONF_NAME] = "name_required"
    elif name.casefold() in {g.name.casefold() for g in others}:
        errors[CONF_NAME] = "name_taken"
    if parent is None or user_input[CONF_PARENT] not in possible_parents(
        groups, group_id
    ):
        errors[CONF_PARENT] = "parent_invalid"
    return errors


def _group_limit_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Its rating, continuous factor and power in range; its fixed load below
    what it may carry continuously, so chargers under it can get something."""
    errors: dict[str, str] = {}
    rating = float(user_input[CONF_RATING_A])
    if not within(rating, FORM_RANGES[CONF_RATING_A]):
        errors[CONF_RATING_A] = "rating_out_of_range"
    pct = float(user_input[CONF_CONTINUOUS_FACTOR])
    if not within(pct, FORM_RANGES[CONF_CONTINUOUS_FACTOR]):
        errors[CONF_CONTINUOUS_FACTOR] = "factor_out_of_range"
    power = user_input.get(CONF_MAX_POWER_KW)
    if power is not None and not 0 < float(power) <= GROUP_POWER_MAX_KW:
        errors[CONF_MAX_POWER_KW] = "power_out_of_range"
    fixed = float(user_input.get(CONF_FIXED_LOAD_A) or 0.0)
    if fixed < 0:
        errors[CONF_FIXED_LOAD_A] = "fixed_load_negative"
    elif CONF_RATING_A not in errors and fixed >= rating * pct / 100.0:
        errors[CONF_FIXED_LOAD_A] = "fixed_load_too_high"
    return errors


def _group_phase_errors(
    legs: list[str], parent: GroupConfig | None, below: list[GroupConfig]
) -> dict[str, str]:
    """Its phases (``legs``, by name) are some of its parent's, and all of those
    of the groups right ``below`` it."""
    errors: dict[str, str] = {}
    phases = {LEG_NAMES.index(leg) for leg in legs}
    if not phases:
        errors[CONF_PHASES] = "phases_required"
    elif parent is not None and not phases <= set(parent.phases):
        errors[CONF_PHASES] = "phases_not_in_parent"
    elif any(not set(g.phases) <= phases for g in below):
        errors[CONF_PHASES] = "phases_used_below"
    return errors


def _group_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a group subentry stores: fractions, legs in supply order."""
    power = user_input.get(CONF_MAX_POWER_KW)
    return {
        CONF_KIND: user_input[CONF_KIND],
        CONF_PARENT: user_input[CONF_PARENT],
        CONF_RATING_A: float(user_input[CONF_RATING_A]),
        CONF_PHASES: [leg for leg in LEG_NAMES if leg in user_input[CONF_PHASES]],
        CONF_CONTINUOUS_FACTOR: float(user_input[CONF_CONTINUOUS_FACTOR]) / 100.0,
        CONF_MAX_POWER_KW: None if power is None else float(power),
        CONF_FIXED_LOAD_A: float(user_input.get(CONF_FIXED_LOAD_A) or 0.0),
    }


class PowerGroupSubentryFlow(SiteSubentryFlow):
    """Add or change a panel or circuit of a site."""

    names_site = True

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """Name, kind, parent, rating, phases, limits."""
        groups = site.groups
        return _group_schema(
            groups, possible_parents(groups, site.subentry_id), site.legs
        )

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site's other groups."""
        return _validate_group(user_input, site.groups, site.subentry_id)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """Fractions, legs in supply order."""
        return _group_data(user_input)

    def form_suggested(self, site: SiteForm) -> Mapping[str, Any] | None:
        """The stored group, its continuous factor as a percentage."""
        if site.subentry is None:
            return None
        factor = site.subentry.data[CONF_CONTINUOUS_FACTOR]
        return stored_values(site.subentry) | {
            CONF_CONTINUOUS_FACTOR: round(factor * 100.0, 1)
        }

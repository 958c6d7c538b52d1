"""The subentry flow of a time-of-use limit: a group, an on/off entity, a limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_NAME, UnitOfElectricCurrent, UnitOfPower
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    TextSelector,
)

from .compat import vol
from .const import (
    CONF_CURRENT_A,
    CONF_GROUP,
    CONF_POWER_KW,
    CONF_SCHEDULE_ENTITY,
    GROUP_POWER_MAX_KW,
    SCHEDULE_DOMAINS,
    SITE_GROUP_ID,
)
from .core.topology import GroupConfig
from .form_checks import name_and_group_errors
from .form_parts import SiteForm, SiteSubentryFlow, box, group_picker


def _schema(groups: list[GroupConfig]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(groups),
            vol.Required(CONF_SCHEDULE_ENTITY): EntitySelector(
                EntitySelectorConfig(domain=SCHEDULE_DOMAINS)
            ),
            vol.Optional(CONF_CURRENT_A): box(UnitOfElectricCurrent.AMPERE, 1),
            vol.Optional(CONF_POWER_KW): box(UnitOfPower.KILO_WATT, 0.1),
        }
    )


def validate_schedule(
    user_input: Mapping[str, Any], groups: list[GroupConfig]
) -> dict[str, str]:
    """Form errors by field for a time-of-use limit."""
    errors, group = name_and_group_errors(user_input, groups)
    amps, kw = user_input.get(CONF_CURRENT_A), user_input.get(CONF_POWER_KW)
    if amps is None and kw is None:
        errors["base"] = "limit_required"
    rating = group.rating_a if group is not None else None
    if amps is not None and not (
        0 <= float(amps) <= (rating if rating is not None else float("inf"))
    ):
        errors[CONF_CURRENT_A] = "current_out_of_range"
    if kw is not None and not 0 <= float(kw) <= GROUP_POWER_MAX_KW:
        errors[CONF_POWER_KW] = "power_out_of_range"
    return errors


def schedule_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a time-of-use limit stores."""
    amps, kw = user_input.get(CONF_CURRENT_A), user_input.get(CONF_POWER_KW)
    return {
        CONF_GROUP: user_input[CONF_GROUP],
        CONF_SCHEDULE_ENTITY: user_input[CONF_SCHEDULE_ENTITY],
        CONF_CURRENT_A: None if amps is None else float(amps),
        CONF_POWER_KW: None if kw is None else float(kw),
    }


class ScheduleLimitSubentryFlow(SiteSubentryFlow):
    """Add or change a time-of-use limit of a site."""

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """Name, group, on/off entity, limit."""
        return _schema(site.groups)

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site's groups."""
        return validate_schedule(user_input, site.groups)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What a time-of-use limit stores."""
        return schedule_data(user_input)

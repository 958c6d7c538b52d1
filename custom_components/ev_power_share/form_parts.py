"""Pieces the site's forms share: number boxes, the power-group picker, the
values a reconfigure form starts from, and the skeleton of a subentry's flow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .compat import vol
from .core.topology import GroupConfig
from .data import SiteSettings, site_groups


def box(unit: str, step: float) -> NumberSelector:
    """A number typed in a box (bounds are checked by the flow, with a message)."""
    return NumberSelector(
        NumberSelectorConfig(
            mode=NumberSelectorMode.BOX, step=step, unit_of_measurement=unit
        )
    )


def group_picker(groups: list[GroupConfig]) -> SelectSelector:
    """A drop-down of the site's power groups, by name."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=g.id, label=g.name) for g in groups],
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def stored_values(subentry: ConfigSubentry) -> dict[str, Any]:
    """A subentry's stored data (without empty values) and its name, as a
    reconfigure form's starting values."""
    return {k: v for k, v in subentry.data.items() if v is not None} | {
        CONF_NAME: subentry.title
    }


@dataclass(frozen=True, slots=True)
class SiteForm:
    """What a subentry's form is made from: its site, and the subentry changed."""

    entry: ConfigEntry
    settings: SiteSettings
    groups: list[GroupConfig]
    """The site's power groups, the site first."""
    subentry: ConfigSubentry | None
    """The subentry being changed; None: a new one is added."""

    @property
    def subentry_id(self) -> str | None:
        """The id of the subentry being changed (None: a new one)."""
        return None if self.subentry is None else self.subentry.subentry_id

    @property
    def legs(self) -> int:
        """How many legs (phases) the site's supply has."""
        return self.settings.supply.legs


class SiteSubentryFlow(ConfigSubentryFlow):
    """Add (step ``user``) or change (``reconfigure``) a subentry of a site with
    one form: shown, checked, stored.

    A flow says what its form is with the hooks: ``form_schema``,
    ``async_form_errors``, ``form_data``, and optionally ``form_unique_id``,
    ``form_suggested`` and ``names_site`` (the form's description names the site).
    """

    names_site: ClassVar[bool] = False

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new one."""
        return await self.async_form("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change one; its id (and entities) stay."""
        return await self.async_form("reconfigure", user_input)

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """The form's fields."""
        raise NotImplementedError

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Form errors by field."""
        raise NotImplementedError

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What the subentry stores (its name is its title)."""
        raise NotImplementedError

    def form_unique_id(self, data: Mapping[str, Any]) -> str | None:
        """The subentry's unique id, if it has one (one per site)."""
        return None

    def form_suggested(self, site: SiteForm) -> Mapping[str, Any] | None:
        """What the form starts from: the stored values of a subentry changed."""
        return None if site.subentry is None else stored_values(site.subentry)

    def site_form(self) -> SiteForm:
        """The site and the subentry being changed, as they are now."""
        entry = self._get_entry()
        settings = SiteSettings.from_entry_data(entry.data)
        return SiteForm(
            entry=entry,
            settings=settings,
            groups=site_groups(settings, entry.subentries),
            subentry=(
                self._get_reconfigure_subentry()
                if self.source == SOURCE_RECONFIGURE
                else None
            ),
        )

    async def async_form(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show the form of ``step_id``; store what it was given when it is right."""
        site = self.site_form()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self.async_form_errors(site, user_input)
            if not errors:
                return self._async_store(site, user_input)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                self.form_schema(site),
                user_input if user_input is not None else self.form_suggested(site),
            ),
            errors=errors,
            description_placeholders=self.form_placeholders(site),
        )

    def form_placeholders(self, site: SiteForm) -> dict[str, str] | None:
        """What the form's description names: the site, if ``names_site``."""
        return {"site": site.entry.title} if self.names_site else None

    def _async_store(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> SubentryFlowResult:
        title = str(user_input[CONF_NAME]).strip()
        data = self.form_data(user_input)
        unique_id = self.form_unique_id(data)
        if site.subentry is None:
            if unique_id is not None and any(
                s.unique_id == unique_id for s in site.entry.subentries.values()
            ):
                return self.async_abort(reason="already_configured")
            return self.async_create_entry(title=title, data=data, unique_id=unique_id)
        return self.async_update_and_abort(
            site.entry, site.subentry, title=title, data=data, unique_id=unique_id
        )

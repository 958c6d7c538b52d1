"""Pieces the site's forms share: number boxes, the power-group picker, and the
values a reconfigure form starts from."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentry
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

from .core.topology import GroupConfig


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

"""Time-of-use limits: while an on/off entity is on, a power group's limit is lower.

The week is described where Home Assistant users already describe weeks: a
``schedule`` helper (or any ``input_boolean``, ``binary_sensor`` or ``switch``
an automation drives, e.g. from a tariff). Each limit is a config subentry; every
control cycle the active ones lower their group's current (A per phase) and/or
power (kW) limit. 0 kW or 0 A means no charging under the group in that window
(the building itself is not limited: its load is not ours to cut).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from homeassistant.const import STATE_ON
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
)

from .core.model import Site
from .core.ports import CycleInputs, Published


@dataclass(frozen=True, slots=True)
class ScheduledLimit:
    """A group's lower limit while an entity is on."""

    id: str
    name: str
    group: str
    entity_id: str
    current_a: float | None
    power_kw: float | None


def apply_limits(site: Site, active: Iterable[ScheduledLimit]) -> Site:
    """``site`` with the active limits: each lowers its group (never raises it);
    a limit of 0 stops charging under the group instead."""
    groups = {g.id: g for g in site.groups}
    stopped: set[str] = set()
    for limit in active:
        group = groups.get(limit.group)
        if group is None:
            continue
        if limit.current_a == 0 or limit.power_kw == 0:
            stopped.add(group.id)
            continue
        if limit.current_a is not None:
            cap = limit.current_a
            group = replace(
                group,
                override_a=cap
                if group.override_a is None
                else min(cap, group.override_a),
            )
        if limit.power_kw is not None:
            kw = limit.power_kw
            group = replace(
                group,
                max_power_kw=kw
                if group.max_power_kw is None
                else min(kw, group.max_power_kw),
            )
        groups[group.id] = group
    ports = site.ports
    if stopped:
        under = {
            g.id
            for g in site.groups
            if any(a.id in stopped for a in site.ancestors(g.id))
        }
        ports = tuple(
            replace(p, max_a=0.0) if p.online and p.group in under else p
            for p in site.ports
        )
    return replace(site, groups=tuple(groups[g.id] for g in site.groups), ports=ports)


class ScheduledLimits:
    """The site's time-of-use limits, applied every cycle (a site adjuster)."""

    def __init__(
        self,
        hass: HomeAssistant,
        limits: Iterable[ScheduledLimit],
        on_change: CALLBACK_TYPE,
    ) -> None:
        self.hass = hass
        self._on_change = on_change
        self._unsub: CALLBACK_TYPE | None = None
        self.limits: list[ScheduledLimit] = []
        self.update_limits(limits)

    def update_limits(self, limits: Iterable[ScheduledLimit]) -> None:
        """Apply a new set of limits and follow their entities."""
        self.limits = list(limits)
        self.stop()
        entities = sorted({limit.entity_id for limit in self.limits})
        if entities:
            self._unsub = async_track_state_change_event(
                self.hass, entities, self._changed
            )

    def stop(self) -> None:
        """Stop following the entities."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    @callback
    def _changed(self, _event: Event[EventStateChangedData]) -> None:
        self._on_change()

    def active(self) -> list[ScheduledLimit]:
        """The limits whose entity is on now."""
        return [
            limit
            for limit in self.limits
            if (state := self.hass.states.get(limit.entity_id)) is not None
            and state.state == STATE_ON
        ]

    def adjust(
        self, site: Site, inputs: CycleInputs, now: float
    ) -> tuple[Site, Published]:
        """The site with the limits in force now (it reads no ``inputs``; what
        is in force shows on the groups' limits)."""
        return apply_limits(site, self.active()), Published()

"""The control loop: measurements in, allocation, commands out, state published.

Runs inside Home Assistant's event loop as a ``DataUpdateCoordinator``: on a timer
(the control interval) and on events (``async_request_refresh``: a vehicle plugs
in, a limit changes). Each cycle builds a snapshot of the site (core model),
calls the core allocator, turns its currents into commands with the command
writer (``core.commands.plan_commands``: decreases first, increases once they
are confirmed and settled, whole steps, write budgets, watchdog refreshes) and
hands them to the port sources (transports).
Cycles never overlap. The allocation itself is pure CPU and takes about a
millisecond for 200 ports (``bench/controller.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
import logging
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.allocator import allocate
from .core.commands import (
    CommandState,
    SetpointRules,
    plan_commands,
)
from .core.gather import Topology, gather_ports
from .core.load_estimate import capped_at_failsafe
from .core.model import Group, Site, Supply
from .core.ports import (
    CycleInputs,
    PortReadings,
    PortSource,
    Published,
    SiteAdjuster,
    commanded,
    port_name,
)
from .core.settings import LimitOverride, PortSettings, SiteState, site_groups
from .core.snapshot import ControllerSnapshot, ControlSettings
from .core.topology import GroupConfig
from .cycle_issues import ISSUE_ADJUSTER, ISSUE_BAD_INPUT, CycleIssues

if TYPE_CHECKING:
    from .data import EvPowerShareConfigEntry

__all__ = ["ControlSettings", "ControllerSnapshot", "SiteController"]

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1


class SiteController(DataUpdateCoordinator[ControllerSnapshot]):
    """Allocates a site's capacity every few seconds and on events."""

    config_entry: EvPowerShareConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvPowerShareConfigEntry,
        supply: Supply,
        groups: list[GroupConfig],
        settings: ControlSettings,
    ) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=settings.interval_s),
            request_refresh_debouncer=Debouncer(
                hass, _LOGGER, cooldown=0.5, immediate=True
            ),
            always_update=True,
        )
        self.supply = supply
        self.groups = groups
        self.settings = settings
        self.sources: list[PortSource] = []
        self.adjusters: list[SiteAdjuster] = []
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._persisted = SiteState()
        self._stored_ports: frozenset[str] = frozenset()
        self._commands = CommandState()
        self._expiry_unsub: CALLBACK_TYPE | None = None
        self._cycle_lock = asyncio.Lock()
        self._design_site: Site | None = None
        self._issues = CycleIssues(hass, entry, {g.id: g.name for g in groups})
        self._last_readings: dict[int, PortReadings] = {}
        """Each source's last good readings (by id of the source)."""
        self._readings: list[PortReadings] = []
        """This cycle's readings, one per source (in the order of sources)."""
        self._published = Published()
        """What this cycle's adjusters found."""
        self._inputs = CycleInputs()
        """What this cycle's sources read."""
        self._served: tuple[frozenset[str], ...] = ()
        """The port ids each source served this cycle."""

    # -- configuration -----------------------------------------------------

    @callback
    def reconfigure(
        self,
        supply: Supply,
        groups: list[GroupConfig],
        settings: ControlSettings,
    ) -> None:
        """Apply new groups or options without losing state."""
        self.supply = supply
        self.groups = groups
        self._issues.group_names = {g.id: g.name for g in groups}
        if settings.interval_s != self.settings.interval_s:
            self.update_interval = timedelta(seconds=settings.interval_s)
        self.settings = settings
        known = {g.id for g in groups}
        for gid in [g for g in self._persisted.overrides if g not in known]:
            del self._persisted.overrides[gid]
        self._schedule_save()

    @callback
    def add_source(self, source: PortSource) -> Callable[[], None]:
        """Attach a transport; returns a callable that detaches it."""
        self.sources.append(source)

        @callback
        def remove() -> None:
            if source in self.sources:
                self.sources.remove(source)

        return remove

    @callback
    def add_adjuster(self, adjuster: SiteAdjuster) -> Callable[[], None]:
        """Refine every cycle's site with ``adjuster``; returns its removal."""
        self.adjusters.append(adjuster)

        @callback
        def remove() -> None:
            if adjuster in self.adjusters:
                self.adjusters.remove(adjuster)

        return remove

    # -- overrides ---------------------------------------------------------

    @property
    def overrides(self) -> Mapping[str, LimitOverride]:
        """Active limit overrides by group id."""
        return self._persisted.overrides

    @callback
    def set_override(self, group_id: str, override: LimitOverride | None) -> None:
        """Set (or clear, with None) a group's limit override."""
        if override is None:
            self._persisted.overrides.pop(group_id, None)
        else:
            self._persisted.overrides[group_id] = override
        self._schedule_expiry()
        self._schedule_save()

    def _expire_overrides(self, now: float) -> None:
        expired = [
            gid
            for gid, o in self._persisted.overrides.items()
            if o.until is not None and o.until <= now
        ]
        for gid in expired:
            del self._persisted.overrides[gid]
            _LOGGER.info("Limit override on %s expired", gid)
        if expired:
            self._schedule_save()
            self._schedule_expiry()

    @callback
    def _schedule_expiry(self) -> None:
        if self._expiry_unsub is not None:
            self._expiry_unsub()
            self._expiry_unsub = None
        ends = [o.until for o in self._persisted.overrides.values() if o.until]
        if not ends:
            return

        @callback
        def expire(_now: Any) -> None:
            # The refresh drops what expired and schedules the next expiry.
            self._expiry_unsub = None
            self.config_entry.async_create_background_task(
                self.hass, self.async_refresh(), f"{DOMAIN} override expiry"
            )

        self._expiry_unsub = async_track_point_in_utc_time(
            self.hass, expire, dt_util.utc_from_timestamp(min(ends))
        )

    # -- persistence -------------------------------------------------------

    def port_settings(self, port_id: str) -> PortSettings:
        """The user's settings of a port (its defaults until set). Reading them
        keeps nothing; to change them, :meth:`set_port_settings`."""
        stored = self._persisted.ports.get(port_id)
        return PortSettings() if stored is None else replace(stored)

    @callback
    def set_port_settings(self, port_id: str, settings: PortSettings) -> None:
        """Keep new settings of a port (the next cycle applies them)."""
        self._persisted.ports[port_id] = replace(settings)
        self._schedule_save()

    def has_port_settings(self, port_id: str) -> bool:
        """Whether this port's settings came from the store (else its entities
        restore what they showed before: installations from before the store
        kept them)."""
        return port_id in self._stored_ports

    def forget_ports(self, keep: Iterable[str]) -> None:
        """Drop the settings of ports that are no longer configured."""
        kept = set(keep)
        gone = [pid for pid in self._persisted.ports if pid not in kept]
        for pid in gone:
            del self._persisted.ports[pid]
        if gone:
            self._schedule_save()

    async def async_load(self) -> None:
        """Restore overrides, the round-robin state and the ports' settings saved
        before a restart."""
        stored = await self._store.async_load()
        if not stored:
            return
        self._persisted = SiteState.from_dict(stored)
        self._stored_ports = frozenset(self._persisted.ports)
        self._expire_overrides(time.time())
        self._schedule_expiry()

    def _data_to_save(self) -> dict[str, Any]:
        return self._persisted.to_dict()

    @callback
    def _schedule_save(self) -> None:
        self._store.async_delay_save(self._data_to_save, 5)

    async def async_shutdown(self) -> None:
        """Stop timers and write state to disk."""
        await super().async_shutdown()
        self._issues.clear()
        if self._expiry_unsub is not None:
            self._expiry_unsub()
            self._expiry_unsub = None
        await self._store.async_save(self._data_to_save())

    # -- the cycle ---------------------------------------------------------

    def build_site(self, now: float) -> Site:
        """The site as it is at ``now``: configuration, overrides, ports, then
        what the adjusters (meters, solar) make of it. Once per cycle."""
        groups = site_groups(self.groups, self._persisted.overrides, self.supply.legs)
        s = self.settings
        self._issues.begin_cycle()
        self._readings = self._read_sources(now, groups)
        gathered = gather_ports(
            self._readings,
            self._topology(groups),
            self._persisted.ports,
            s.failsafe_a,
        )
        self._served = gathered.served
        for bad in gathered.bad:
            self._issues.problem(
                f"{ISSUE_BAD_INPUT}_{bad.port_id}",
                port_name(self.sources[bad.source], bad.port_id),
                bad.problem,
            )
        site = Site(
            groups=groups,
            ports=gathered.ports,
            supply=self.supply,
            policy=s.policy,
            min_current_a=s.min_current_a,
            rotation_period_s=s.rotation_period_s,
            now_s=now,
        )
        self._design_site = site
        inputs = self._inputs = CycleInputs.merged(
            self._readings, self._persisted.ports
        )
        self._published = Published()
        for adjuster in self.adjusters:
            try:
                site, found = adjuster.adjust(site, inputs, now)
                self._published = self._published.merged(found)
            except Exception as err:  # noqa: BLE001 - a cycle always completes
                # What it would have added is unknown (a meter's load, a cap):
                # every charger falls back to its failsafe current, as under a
                # failed meter, until it works again.
                name = type(adjuster).__name__
                self._issues.problem(f"{ISSUE_ADJUSTER}_{name}", name, repr(err), err)
                site = capped_at_failsafe(site, [groups[0].id], inputs.failsafe_a)
        return site

    def _topology(self, groups: Iterable[Group]) -> Topology:
        ids = [g.id for g in groups]
        return Topology(frozenset(ids), ids[0], self.supply)

    def _read_sources(
        self, now: float, groups: tuple[Group, ...]
    ) -> list[PortReadings]:
        """Every source's readings, once. A source that fails to read is
        counted as it was last seen, each port at the most it may draw."""
        readings: list[PortReadings] = []
        for source in self.sources:
            try:
                reading = source.readings(now)
            except Exception as err:  # noqa: BLE001 - a cycle always completes
                name = type(source).__name__
                self._issues.problem(f"{ISSUE_ADJUSTER}_{name}", name, repr(err), err)
                last = self._last_readings.get(id(source), PortReadings())
                topology = self._topology(groups)
                reading = PortReadings(
                    tuple(topology.counted_at_most(p) for p in last.ports)
                )
            else:
                self._last_readings[id(source)] = reading
            readings.append(reading)
        return readings

    async def _async_update_data(self) -> ControllerSnapshot:
        """One control cycle; a cycle requested during another waits for it."""
        async with self._cycle_lock:
            return await self._async_cycle()

    async def _async_cycle(self) -> ControllerSnapshot:
        now = time.time()
        self._expire_overrides(now)
        start = time.perf_counter()
        site = self.build_site(now)
        previous = self._persisted.rotation
        allocation = allocate(site, previous)
        cycle_ms = (time.perf_counter() - start) * 1000.0
        # The design figures describe the installation, not this moment: they
        # are taken before meters, schedules and charge modes adjust the site.
        design = self._issues.design_figures(self._design_site or site)
        if allocation.rotation != previous:
            self._persisted.rotation = allocation.rotation
            self._schedule_save()
        target = {
            pid: pa.current_a
            for pid, pa in allocation.ports.items()
            if pa.reason != "offline"
        }
        steps, held = commanded(self._readings)
        commands, self._commands = plan_commands(
            target,
            self._commands,
            now,
            SetpointRules(hysteresis_a=self.settings.hysteresis_a),
            steps=steps,
            held=held,
        )
        self._issues.sync_inputs()
        for source, mine in zip(self.sources, self._served, strict=False):
            try:
                await source.async_apply(commands.only(mine))
            except Exception:  # one transport never stops the others
                _LOGGER.exception("%s failed to send its commands", source)
        return ControllerSnapshot(
            site=site,
            previous_rotation=previous,
            allocation=allocation,
            design=design,
            commands=commands,
            cycle_ms=cycle_ms,
            at=now,
            published=self._published,
            inputs=self._inputs,
        )

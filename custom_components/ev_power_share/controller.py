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
from dataclasses import dataclass, field, replace
from datetime import timedelta
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol, cast

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.allocator import Allocation, RotationState, allocate
from .core.commands import (
    Commands,
    CommandState,
    Held,
    PortSteps,
    SetpointRules,
    confirm,
    plan_commands,
)
from .core.design import DesignFigures, design_figures
from .core.load_estimate import capped_at_failsafe
from .core.model import (
    ModelError,
    Policy,
    Port,
    Site,
    Supply,
    counted_at_most,
    validate_port,
)
from .core.scenario import dump_allocation, dump_scenario
from .core.settings import PortSettings, with_settings
from .core.topology import GroupConfig, build_groups

if TYPE_CHECKING:
    from .data import EvPowerShareConfigEntry

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1
ISSUE_GUARANTEE = "guarantee_below_minimum"
ISSUE_BAD_INPUT = "port_input_invalid"
ISSUE_ADJUSTER = "site_input_failed"
PORT_MOST_A = 80.0
"""What a port whose description cannot be used is counted at, per phase, when
it does not say its own maximum (the highest charger rating a form accepts)."""
LOG_INTERVAL_S = 300.0
"""A fault of the same kind is logged at most once in this time."""


class PortSource(Protocol):
    """A transport that knows charging ports and carries their commands.

    The OCPP central system and Modbus chargers implement this; until they are
    configured a site has no sources and allocates nothing.
    """

    def ports(self) -> Iterable[Port]:
        """The ports this source serves, as they are now."""

    async def async_apply(self, commands: Commands) -> None:
        """Send new current limits (A per phase; 0 = pause) to the ports: the
        full map of what each port is to hold, and the writes due now
        (``commands.writes``, for sources that say what their chargers hold)."""


class CommandedSource(PortSource, Protocol):
    """A port source that says what its chargers confirmed and how they take
    limits: the command writer then decides each write (``commands.writes``)."""

    def steps(self) -> Mapping[str, PortSteps]:
        """How each port takes a limit (step, unit, refresh, write budget)."""

    def held(self) -> Mapping[str, Held | None]:
        """What each port's charger confirmed it holds from us."""


def _port_name(source: PortSource, port_id: str) -> str:
    """What the user calls a port's device (its charger's name), if its source
    can tell; else the port id."""
    name_of = getattr(source, "port_name", None)
    return str(name_of(port_id)) if callable(name_of) else port_id


def _commanded(
    sources: Iterable[PortSource],
) -> tuple[dict[str, PortSteps], dict[str, Held | None]]:
    """How the ports of sources that can tell take limits, and what they hold."""
    steps: dict[str, PortSteps] = {}
    held: dict[str, Held | None] = {}
    for source in sources:
        if callable(getattr(source, "held", None)):
            commanded = cast("CommandedSource", source)
            steps.update(commanded.steps())
            held.update(commanded.held())
    return steps, held


def _failsafe_currents(sources: Iterable[PortSource]) -> dict[str, float]:
    """The configured failsafe current of every port whose source knows it."""
    currents: dict[str, float] = {}
    for source in sources:
        known = getattr(source, "failsafe_currents", None)
        if callable(known):
            currents.update(known())
    return currents


class SiteAdjuster(Protocol):
    """Something that refines each cycle's site before it is allocated: meters
    (a group's measured non-EV load), solar and tariffs (caps on ports).

    Called exactly once per cycle, in the order they were added.
    """

    def adjust(self, site: Site, now: float) -> Site:
        """The site to allocate at ``now``."""


@dataclass(frozen=True, slots=True)
class LimitOverride:
    """A temporary cap on a group, set by a service action or an entity."""

    current_a: float | None = None
    power_kw: float | None = None
    until: float | None = None
    """UTC timestamp when it reverts; None: until cleared."""


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """The site's options, as the controller uses them."""

    policy: Policy = Policy.EQUAL_SHARE
    min_current_a: float = 6.0
    failsafe_a: float = 6.0
    rotation_period_s: float = 900.0
    interval_s: float = 5.0
    hysteresis_a: float = 1.0


@dataclass(frozen=True, slots=True)
class ControllerSnapshot:
    """What one cycle decided; entities and diagnostics read this."""

    site: Site
    previous_rotation: RotationState | None
    allocation: Allocation
    design: Mapping[str, DesignFigures]
    commands: Mapping[str, float]
    cycle_ms: float
    at: float

    def scenario(self) -> dict[str, Any]:
        """The cycle's input in the contract's scenario format (for replay)."""
        return dump_scenario(self.site, self.previous_rotation)

    def result(self) -> dict[str, Any]:
        """The cycle's output in the contract's format."""
        return dump_allocation(self.site, self.allocation)


@dataclass
class _Persisted:
    overrides: dict[str, LimitOverride] = field(default_factory=dict)
    rotation: RotationState | None = None
    ports: dict[str, PortSettings] = field(default_factory=dict)
    """The user's settings of each port (mode, on/off, cap, energy, departure)."""


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
        self._persisted = _Persisted()
        self._stored_ports: frozenset[str] = frozenset()
        self._commands = CommandState()
        self._expiry_unsub: CALLBACK_TYPE | None = None
        self._cycle_lock = asyncio.Lock()
        self._design_key: object = None
        self._design: Mapping[str, DesignFigures] = {}
        self._design_issues: set[str] = set()
        self._design_site: Site | None = None
        self._last_ports: dict[int, list[Port]] = {}
        """Each source's ports at its last good reading (by id of the source)."""
        self._source_ports: dict[int, set[str]] = {}
        """The port ids each source served this cycle."""
        self._input_problems: dict[str, tuple[str, str]] = {}
        """This cycle's faulty inputs: issue id -> (device, what is wrong)."""
        self._input_issues: set[str] = set()
        self._logged: dict[str, float] = {}

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
        overrides = {
            gid: LimitOverride(
                current_a=o.get("current_a"),
                power_kw=o.get("power_kw"),
                until=o.get("until"),
            )
            for gid, o in stored.get("overrides", {}).items()
        }
        rotation = stored.get("rotation")
        ports = stored.get("ports")
        self._persisted = _Persisted(
            ports={
                str(pid): PortSettings.from_dict(data)
                for pid, data in (ports.items() if isinstance(ports, dict) else ())
                if isinstance(data, dict)
            },
            overrides=overrides,
            rotation=None
            if not rotation
            else RotationState(
                queue=tuple(rotation.get("queue", ())),
                since_s=rotation.get("since_s"),
            ),
        )
        self._stored_ports = frozenset(self._persisted.ports)
        self._expire_overrides(time.time())
        self._schedule_expiry()

    def _data_to_save(self) -> dict[str, Any]:
        rotation = self._persisted.rotation
        return {
            "overrides": {
                gid: {
                    "current_a": o.current_a,
                    "power_kw": o.power_kw,
                    "until": o.until,
                }
                for gid, o in self._persisted.overrides.items()
            },
            "rotation": None
            if rotation is None
            else {"queue": list(rotation.queue), "since_s": rotation.since_s},
            "ports": {
                pid: settings.to_dict()
                for pid, settings in self._persisted.ports.items()
            },
        }

    @callback
    def _schedule_save(self) -> None:
        self._store.async_delay_save(self._data_to_save, 5)

    async def async_shutdown(self) -> None:
        """Stop timers and write state to disk."""
        await super().async_shutdown()
        for issue_id in self._design_issues | self._input_issues:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._design_issues = set()
        self._input_issues = set()
        self._design_key = None
        if self._expiry_unsub is not None:
            self._expiry_unsub()
            self._expiry_unsub = None
        await self._store.async_save(self._data_to_save())

    # -- the cycle ---------------------------------------------------------

    def build_site(self, now: float) -> Site:
        """The site as it is at ``now``: configuration, overrides, ports, then
        what the adjusters (meters, solar) make of it. Once per cycle."""
        overrides = self._persisted.overrides
        groups = build_groups(
            self.groups,
            overrides={
                gid: o.current_a
                for gid, o in overrides.items()
                if o.current_a is not None
            },
            legs=self.supply.legs,
        )
        groups = tuple(
            replace(
                g,
                max_power_kw=min(
                    x
                    for x in (g.max_power_kw, overrides[g.id].power_kw)
                    if x is not None
                ),
            )
            if g.id in overrides and overrides[g.id].power_kw is not None
            else g
            for g in groups
        )
        s = self.settings
        self._input_problems = {}
        site = Site(
            groups=groups,
            ports=self._gather_ports(groups[0].id, {g.id for g in groups}),
            supply=self.supply,
            policy=s.policy,
            min_current_a=s.min_current_a,
            rotation_period_s=s.rotation_period_s,
            now_s=now,
        )
        self._design_site = site
        for adjuster in self.adjusters:
            try:
                site = adjuster.adjust(site, now)
            except Exception as err:  # noqa: BLE001 - a cycle always completes
                # What it would have added is unknown (a meter's load, a cap):
                # every charger falls back to its failsafe current, as under a
                # failed meter, until it works again.
                name = type(adjuster).__name__
                self._problem(f"{ISSUE_ADJUSTER}_{name}", name, repr(err), err)
                site = capped_at_failsafe(
                    site, [groups[0].id], _failsafe_currents(self.sources)
                )
        return site

    def _gather_ports(self, root: str, group_ids: set[str]) -> tuple[Port, ...]:
        """Every source's ports, each checked on its own: one whose description
        is wrong (a reading no source should pass on, a bug) is counted at the
        most it may draw, offline, and the others are allocated as usual."""
        failsafe_a = self.settings.failsafe_a
        ports: list[Port] = []
        seen: set[str] = set()
        self._source_ports = {}
        for source in self.sources:
            try:
                served = list(source.ports())
                self._last_ports[id(source)] = served
            except Exception as err:  # noqa: BLE001 - a cycle always completes
                # Its ports as they were last seen, at the most they may draw.
                self._problem(
                    f"{ISSUE_ADJUSTER}_{type(source).__name__}",
                    type(source).__name__,
                    repr(err),
                    err,
                )
                served = [
                    counted_at_most(p, group_ids, root, self.supply, PORT_MOST_A)
                    for p in self._last_ports.get(id(source), [])
                ]
            mine: set[str] = set()
            for served_port in served:
                # An offline charger is counted at the site's failsafe current
                # unless its transport knows the charger's own.
                port = (
                    served_port
                    if served_port.failsafe_a is not None
                    else replace(served_port, failsafe_a=failsafe_a)
                )
                problem = self._port_problem(port, seen, group_ids)
                if problem is None:
                    port = with_settings(port, self._persisted.ports.get(port.id))
                else:
                    self._problem(
                        f"{ISSUE_BAD_INPUT}_{port.id}",
                        _port_name(source, port.id),
                        problem,
                    )
                    port = counted_at_most(
                        port, group_ids, root, self.supply, PORT_MOST_A
                    )
                    if port.id in seen:
                        port = replace(port, id=f"{port.id}#{len(ports)}")
                seen.add(port.id)
                mine.add(port.id)
                ports.append(port)
            self._source_ports[id(source)] = mine
        return tuple(ports)

    def _port_problem(
        self, port: Port, seen: set[str], group_ids: set[str]
    ) -> str | None:
        """What is wrong with a port's description (None: nothing)."""
        if port.id in seen:
            return f"another port has the id {port.id!r}"
        try:
            validate_port(port, group_ids, self.supply)
        except ModelError as err:
            return str(err)
        return None

    def _problem(
        self, key: str, device: str, what: str, error: BaseException | None = None
    ) -> None:
        """Note a faulty input of this cycle (a repair issue names it); logged
        once per :data:`LOG_INTERVAL_S`."""
        issue_id = f"{key}_{self.config_entry.entry_id}"
        self._input_problems[issue_id] = (device, what)
        now = time.monotonic()
        if now - self._logged.get(key, -LOG_INTERVAL_S) >= LOG_INTERVAL_S:
            self._logged[key] = now
            _LOGGER.warning(
                "%s: %s; it is counted at the most it may draw (the others are "
                "allocated as usual)",
                device,
                what,
                exc_info=error,
            )

    def _sync_input_issues(self) -> None:
        """A repair issue per faulty input of this cycle; withdrawn once fixed."""
        for issue_id, (device, what) in self._input_problems.items():
            if issue_id not in self._input_issues:
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    issue_id,
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key=ISSUE_BAD_INPUT
                    if issue_id.startswith(ISSUE_BAD_INPUT)
                    else ISSUE_ADJUSTER,
                    translation_placeholders={
                        "device": device,
                        "problem": what[:200],
                        "site": self.config_entry.title,
                    },
                )
        for issue_id in self._input_issues - set(self._input_problems):
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._input_issues = set(self._input_problems)

    def _design_figures(self, site: Site) -> Mapping[str, DesignFigures]:
        """Design figures, recomputed only when the installation changes."""
        key = (
            tuple(
                (g.id, g.parent, g.rating_a, g.continuous_factor, g.max_power_kw)
                for g in site.groups
            ),
            tuple((p.id, p.group, p.connection, p.max_a) for p in site.ports),
            site.min_current_a,
            tuple(g.name for g in self.groups),
        )
        if key != self._design_key:
            self._design_key = key
            self._design = design_figures(site)
            self._sync_design_issues(site.min_current_a)
        return self._design

    def _sync_design_issues(self, min_current_a: float) -> None:
        """A repair issue per group whose design cannot give every port the minimum.

        With every port under it busy, such a group cannot give each vehicle the
        minimum current at once: vehicles will take turns (round robin). That may
        be intended, but the board should know the promise it cannot keep.
        """
        names = {g.id: g.name for g in self.groups}
        prefix = f"{ISSUE_GUARANTEE}_{self.config_entry.entry_id}_"
        wanted: set[str] = set()
        for gid, figures in self._design.items():
            guaranteed = figures.guaranteed_a
            if guaranteed is None or guaranteed >= min_current_a - 1e-6:
                continue
            issue_id = prefix + gid
            wanted.add(issue_id)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_GUARANTEE,
                translation_placeholders={
                    "group": names.get(gid, gid),
                    "ports": str(figures.ports),
                    "guaranteed": f"{guaranteed:.1f}",
                    "minimum": f"{min_current_a:g}",
                },
            )
        for issue_id in self._design_issues - wanted:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._design_issues = wanted

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
        design = self._design_figures(self._design_site or site)
        if allocation.rotation != previous:
            self._persisted.rotation = allocation.rotation
            self._schedule_save()
        target = {
            pid: pa.current_a
            for pid, pa in allocation.ports.items()
            if pa.reason != "offline"
        }
        steps, held = _commanded(self.sources)
        commands, self._commands = plan_commands(
            target,
            self._commands,
            now,
            SetpointRules(hysteresis_a=self.settings.hysteresis_a),
            steps=steps,
            held=held,
        )
        self._sync_input_issues()
        for source in self.sources:
            mine = self._source_ports.get(id(source), set())
            try:
                await source.async_apply(commands.only(mine))
            except Exception:  # one transport never stops the others
                _LOGGER.exception("%s failed to send its commands", source)
        if held:
            self._commands = confirm(self._commands, _commanded(self.sources)[1])
        return ControllerSnapshot(
            site=site,
            previous_rotation=previous,
            allocation=allocation,
            design=design,
            commands=commands,
            cycle_ms=cycle_ms,
            at=now,
        )

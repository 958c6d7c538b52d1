"""The safety invariant for chargers already in Home Assistant, over time.

Simulated chargers take each limit written late (each its own latency, a
vendor cloud's up to a minute), some ignore every write, their entities go
unavailable and come back, vehicles come and go, and Home Assistant restarts
(what the port source and the command writer knew is lost, while writes the
last run sent are still on their way: a restart may take no time at all). Each cycle runs what the site runs: the
logic counts the ports, the allocator allocates, the command writer decides,
and the writes go out as the port source sends them. At every moment a limit
lands, the limits the chargers apply add up to at most the group's limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.allocator import RotationState, allocate
from custom_components.ev_power_share.core.commands import (
    CommandState,
    Held,
    PortSteps,
    SetpointRules,
    plan_commands,
)
from custom_components.ev_power_share.core.model import Group, Site
from custom_components.ev_power_share.ha_charger_logic import (
    HaCharger,
    LimitScale,
    Observation,
    Track,
    coalesced,
    count,
    observe,
    port,
    resend_due,
    restarted,
    settled,
    steps,
    worth_writing,
    write_for,
    wrote,
)
from custom_components.ev_power_share.ha_profiles import PROFILES, ROLE_PAUSE

VOLTAGE = 230.0
LIMIT_A = 32.0  # 40 A × 0.8
EPS = 1e-6


@dataclass
class SimCharger:
    """A charger behind its maker's integration: its number and its switch
    take a write ``latency`` seconds after it is sent (in order), or never; a
    local one's call returns then (a cloud one's never says)."""

    config: HaCharger
    latency: float
    ignores: bool
    number: float = 0.0
    switch_on: bool = True
    queue: list[tuple[float, float | None, bool | None, float, float]] = field(
        default_factory=list
    )
    """When each write lands, what it sets, and which write it was (A, sent)."""

    @property
    def applies(self) -> float:
        """The limit it applies (A)."""
        return min(self.number, self.config.rated_a) if self.switch_on else 0.0

    def send(
        self,
        now: float,
        value: float | None,
        switch_on: bool | None,
        amps: float,
    ) -> None:
        last = self.queue[-1][0] if self.queue else now
        if not self.ignores:
            land = max(last, now + self.latency)
            self.queue.append((land, value, switch_on, amps, now))

    def land(self, until: float) -> list[tuple[float, float]]:
        """Apply what lands by ``until``; which writes did (A, when sent)."""
        landed = []
        while self.queue and self.queue[0][0] <= until:
            _, value, switch_on, amps, sent_at = self.queue.pop(0)
            if value is not None:
                self.number = value
            if switch_on is not None:
                self.switch_on = switch_on
            landed.append((amps, sent_at))
        return landed


def _chargers(specs: list[tuple[float, float, bool, bool]]) -> list[SimCharger]:
    made = []
    for i, (rated, latency, ignores, switched) in enumerate(specs):
        profile = PROFILES["wallbox" if switched else "generic"]
        entities = {"limit": f"number.c{i}"}
        if switched:
            entities[ROLE_PAUSE] = f"switch.c{i}"
        config = HaCharger(
            f"c{i}",
            f"Charger {i}",
            "site",
            profile,
            entities,
            rated_a=rated,
            link="cloud" if latency > 10 else "local",
        )
        made.append(SimCharger(config, latency, ignores))
    return made


def _observation(sim: SimCharger, available: bool, plugged: bool) -> Observation:
    return Observation(
        limit=sim.number if available else None,
        scale=LimitScale(minimum=sim.config.profile.min_a),
        currents_a=(sim.applies,) * 3 if plugged and available else (),
        switch_on=sim.switch_on if available else None,
        plugged=plugged,
    )


cycle = st.fixed_dictionaries(
    {
        "dt": st.floats(1.0, 40.0),
        "available": st.lists(st.booleans() | st.just(True), min_size=3, max_size=3),
        "plugged": st.lists(st.booleans() | st.just(True), min_size=3, max_size=3),
        "restart": st.sampled_from((False,) * 9 + (True,)),
    }
)
charger = st.tuples(
    st.sampled_from((16.0, 32.0)),
    st.sampled_from((1.0, 5.0, 30.0, 60.0)),
    st.sampled_from((False, False, False, True)),
    st.booleans(),
)


class SimSite:
    """The port source and the command writer of one simulated site."""

    def __init__(self, sims: list[SimCharger], now: float = 0.0) -> None:
        self.sims = sims
        self.restart(now)

    def restart(self, now: float) -> None:
        """A new run's source: it knows nothing of what the last one wrote."""
        self.tracks: dict[str, Track] = {
            s.config.port_id: restarted(s.config, now) for s in self.sims
        }
        self.commands = CommandState()
        self.rotation: RotationState | None = None

    def cycle(self, now: float, available: list[bool], plugged: list[bool]) -> None:
        obs = {
            s.config.port_id: _observation(s, a, p)
            for s, a, p in zip(self.sims, available, plugged, strict=True)
        }
        ports, held, port_steps = [], {}, {}
        for sim in self.sims:
            pid = sim.config.port_id
            counted = count(
                sim.config, obs[pid], self.tracks.get(pid, Track()), now, VOLTAGE
            )
            ports.append(port(sim.config, counted, obs[pid]))
            held[pid] = counted.held
            port_steps[pid] = steps(sim.config, obs[pid].scale, VOLTAGE, 6.0)
        site = Site((Group("site", rating_a=40.0),), tuple(ports), now_s=now)
        allocation = allocate(site, self.rotation)
        self.rotation = allocation.rotation
        _within(allocation.ports, site)
        target = {
            p: a.current_a for p, a in allocation.ports.items() if a.reason != "offline"
        }
        commands, self.commands = plan_commands(
            target, self.commands, now, SetpointRules(), steps=port_steps, held=held
        )
        self._apply(commands.writes, now, obs, held, port_steps)

    def _apply(
        self,
        writes: object,
        now: float,
        obs: dict[str, Observation],
        held: dict[str, Held | None],
        port_steps: dict[str, PortSteps],
    ) -> None:
        by_id = {s.config.port_id: s for s in self.sims}
        for pid, sim in by_id.items():
            self.tracks[pid] = observe(
                sim.config, obs[pid], self.tracks.get(pid, Track()), now, VOLTAGE
            )
        sent = set()
        for command in writes:  # type: ignore[attr-defined]
            sim = by_id[command.port]
            track = self.tracks[command.port]
            counted = count(sim.config, obs[command.port], track, now, VOLTAGE)
            if coalesced(
                track, command.amps, now, sim.config.latency_s
            ) or not worth_writing(
                sim.config, command.amps, counted.holds_a, command.decrease
            ):
                continue
            self._write(sim, command.amps, command.value, obs[command.port], now)
            sent.add(command.port)
        for pid, sim in by_id.items():
            track = self.tracks[pid]
            counted = count(sim.config, obs[pid], track, now, VOLTAGE)
            if (
                pid not in sent
                and track.written is not None
                and resend_due(track, counted.holds_a, now, sim.config.latency_s)
            ):
                amps = track.written.amps
                value = port_steps[pid].value(amps)
                self._write(sim, amps, value, obs[pid], now)

    def landed(self, sim: SimCharger, writes: list[tuple[float, float]]) -> None:
        """On the LAN, a write's call returns once it has landed."""
        pid = sim.config.port_id
        if sim.config.link != "local" or pid not in self.tracks:
            return
        for amps, sent_at in writes:
            self.tracks[pid] = settled(self.tracks[pid], amps, sent_at)

    def _write(
        self, sim: SimCharger, amps: float, value: float, obs: Observation, now: float
    ) -> None:
        pid = sim.config.port_id
        draw = max(obs.currents_a) if obs.currents_a else None
        self.tracks[pid] = wrote(
            self.tracks.get(pid, Track()), amps, now, draw, sim.config.latency_s
        )
        write = write_for(sim.config, amps, value, obs)
        sim.send(now, write.value, write.switch_on, amps)


def _within(ports: object, site: Site) -> None:
    """The allocation itself: online allocations and offline ports at what they
    are counted at fit the group, unless the offline ones alone do not."""
    offline = sum(p.failsafe_a or 0.0 for p in site.ports if not p.online)
    online = sum(
        a.current_a
        for p, a in ports.items()  # type: ignore[attr-defined]
        if a.reason != "offline"
    )
    assert offline > LIMIT_A + EPS or online + offline <= LIMIT_A + EPS


def _applied(sims: list[SimCharger]) -> float:
    return sum(s.applies for s in sims)


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(charger, min_size=3, max_size=3),
    cycles=st.lists(cycle, min_size=3, max_size=40),
)
def test_group_limit_holds_while_confirmations_lag(
    specs: list[tuple[float, float, bool, bool]], cycles: list[dict[str, object]]
) -> None:
    sims = _chargers(specs)
    site = SimSite(sims)
    now = 1000.0
    for snap in cycles:
        now += snap["dt"]  # type: ignore[operator]
        events = sorted({w[0] for s in sims for w in s.queue if w[0] <= now})
        for at in events:
            for sim in sims:
                site.landed(sim, sim.land(at))
            assert _applied(sims) <= LIMIT_A + EPS, (at, [s.applies for s in sims])
        if snap["restart"]:
            site.restart(now)
        site.cycle(now, snap["available"], snap["plugged"])  # type: ignore[arg-type]
    for sim in sims:
        sim.land(float("inf"))
    assert _applied(sims) <= LIMIT_A + EPS

"""A charger already in Home Assistant as the allocator's port: what it is
counted at, how it takes limits, and what to write to it.

Such a charger has no watchdog (it keeps the last limit it was given, even if
Home Assistant stops), and is often driven through a vendor cloud, with latency
and rate limits. So, from one :class:`Observation` (the limit entity's state,
availability and age, what it measures, its pause switch) and its
:class:`Track` (what we last wrote, and when):

* **A lowered limit counts at the old (higher) value** until the limit entity
  shows it (or the measured current came down to it): the port is offline at
  what it may still hold, so the others are allocated around that. The same
  holds for a charger whose limit someone else raised above ours; our last
  limit is written again every :func:`resend_s` until it shows.
* **A raised limit counts at the allocation** at once (the charger may apply it
  any moment; the allocation is what it was given), and it is taken to hold it
  (``held``), so that lowering it again waits for its entity.
* **A limit written may still arrive** for :func:`flight_s` (a cloud may apply
  it late, after a later one): while an earlier, higher one may, the port is
  offline at that. What the last run wrote before Home Assistant restarted is
  not known: a new source takes a limit up to the charger's rating as written
  at its start (:func:`restarted`). On the LAN a write has arrived once its call returned
  (:func:`settled`; one charger's calls run one at a time).
* **Unavailable, unknown or stale** (not reported within its profile's
  ``stale_s``): offline at its full rating.
* **A charger that does not follow its limit** (it draws more than it holds
  for :func:`disobey_s`, or does not show a lowered limit within
  :func:`confirm_s`) is flagged (a repair issue names it) and counted at its
  rating, or at what it draws if that is more.
* **Read-only chargers** (Tesla Wall Connector) are never commanded: always
  counted at their rating.
* A limit entity in W or kW is converted with the charger's phases and the
  site's voltage (``PortSteps.unit = "W"``; the command writer rounds down in W).

No Home Assistant imports: ``ha_chargers.py`` turns states into observations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
import math

from .core.commands import Held, PortSteps, Unit
from .core.model import CONNECTIONS, Port, Vehicle
from .core.ports import PortState, port_text
from .ha_profiles import (
    ROLE_PAUSE,
    Link,
    Profile,
    budget_of,
    latency_of,
)

TOLERANCE_A = 0.5
"""A limit or a draw this close to another counts as the same (rounding)."""
DISOBEY_MARGIN_A = 2.0
"""A draw this much above what the charger holds does not follow it."""
CHARGING_A = 1.0
"""A phase drawing more than this is used by the vehicle."""
MAX_ABSURD = 1_000_000.0


def disobey_s(latency_s: float) -> float:
    """How long a draw above the limit lasts before the charger is flagged."""
    return max(60.0, 3.0 * latency_s)


def confirm_s(latency_s: float) -> float:
    """How long a lowered limit may take to show before the charger is flagged."""
    return max(60.0, 4.0 * latency_s)


def flight_s(latency_s: float) -> float:
    """How long a limit written may still reach the charger (a vendor cloud
    may apply it late): until then the charger may hold it."""
    return confirm_s(latency_s)


def resend_s(latency_s: float) -> float:
    """How long a limit written is left to show before it is written again."""
    return max(10.0, 2.0 * latency_s)


@dataclass(frozen=True, slots=True)
class HaCharger:
    """A charger already in Home Assistant, as its subentry configures it."""

    subentry_id: str
    name: str
    group: str
    profile: Profile
    entities: Mapping[str, str]
    """By role (``ha_profiles.ROLES``)."""
    connection: str = "L1-L2-L3"
    rated_a: float = 32.0
    link: Link = "local"
    device_id: str | None = None

    @property
    def port_id(self) -> str:
        """Its one port."""
        return port_text(self.subentry_id, 1)

    @property
    def phases(self) -> int:
        """How many phases its connection has."""
        return len(CONNECTIONS[self.connection].legs)

    @property
    def latency_s(self) -> float:
        """How long a limit takes to show."""
        return latency_of(self.profile, self.link)

    def pause_switch(self, scale: LimitScale) -> str | None:
        """The switch that pauses it, where 0 A does not (its profile says so,
        or its limit entity's minimum is above 0); None: 0 A does, or it has
        no switch."""
        if self.profile.zero_pauses and not (scale.minimum or 0.0) > 0.0:
            return None
        return self.entities.get(ROLE_PAUSE)


@dataclass(frozen=True, slots=True)
class LimitScale:
    """How the limit entity's numbers read: its unit, the factor to A or W
    (1000 for kW), and its own range and step (its state attributes; None:
    the profile's)."""

    unit: Unit = "A"
    factor: float = 1.0
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """One charger's entities at one moment, screened (see ``ha_chargers``)."""

    limit: float | None
    """The limit entity's value in its own unit (None: unavailable, unknown or
    not a plausible number)."""
    scale: LimitScale = field(default_factory=LimitScale)
    limit_age_s: float | None = None
    """Since the limit entity last reported (None: not known)."""
    currents_a: tuple[float, ...] = ()
    """Measured per phase (only those known)."""
    power_w: float | None = None
    switch_on: bool | None = None
    """The pause switch (None: no switch, or its state is not known)."""
    plugged: bool | None = None
    energy_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """A limit we wrote to a charger, and what it drew then."""

    amps: float
    at: float
    """When this value was first written."""
    draw_a: float | None
    """The draw measured (per phase, from its currents) when it was written."""
    sent_at: float
    """When it was last sent (it is sent again until it shows)."""


@dataclass(frozen=True, slots=True)
class Track:
    """What a port source keeps of one charger between cycles."""

    written: Written | None = None
    """The last limit written."""
    recent: tuple[tuple[float, float], ...] = ()
    """Every limit written within its :func:`flight_s` (A, when sent): any
    of them may still reach the charger."""
    over_since: float | None = None
    """Since when it has drawn more than it holds (None: it does not)."""
    disobeys: bool = False


@dataclass(frozen=True, slots=True)
class Counted:
    """What a charger's port is counted at this cycle, and what it holds."""

    online: bool
    counted_a: float
    """What the allocator counts it at while it is offline (its failsafe)."""
    holds_a: float | None
    """The limit its entity shows, in A (0 while paused; None: not known)."""
    held: Held | None
    state: PortState
    why: str
    """``ok``, ``read_only``, ``unavailable``, ``stale``, ``unconfirmed`` or
    ``disobeys``."""


def finite(value: float | None) -> float | None:
    """``value`` if it is a plausible non-negative number, else None."""
    if value is None or not math.isfinite(value) or not 0 <= value <= MAX_ABSURD:
        return None
    return value


def watts_per_amp(charger: HaCharger, voltage_v: float) -> float:
    """W per A per phase of the charger."""
    return charger.phases * voltage_v


def holds_a(charger: HaCharger, obs: Observation, voltage_v: float) -> float | None:
    """The limit its entity shows, in A per phase (0 while its pause switch is
    off; at most its rating); None: not known."""
    if obs.limit is None:
        return None
    value = obs.limit * obs.scale.factor
    amps = value if obs.scale.unit == "A" else value / watts_per_amp(charger, voltage_v)
    if obs.switch_on is False and charger.entities.get(ROLE_PAUSE):
        return 0.0
    return min(amps, charger.rated_a)


def measured_a(
    charger: HaCharger, obs: Observation, voltage_v: float
) -> tuple[float | None, bool]:
    """What it draws per phase (the highest), and whether that came from its
    phase currents (else from its power, as if spread over all its phases: at
    most what it draws on its busiest phase)."""
    if obs.currents_a:
        return max(obs.currents_a), True
    if obs.power_w is not None:
        return obs.power_w / watts_per_amp(charger, voltage_v), False
    return None, False


def _state(obs: Observation, draw: float | None) -> PortState:
    if draw is not None and draw > CHARGING_A:
        return "charging"
    if obs.plugged is False:
        return "idle"
    return "off" if obs.switch_on is False else "connected"


def _confirmed_by_draw(written: Written, draw: float | None, phases: bool) -> bool:
    """Whether its phase currents came down to a lowered limit: drawing more
    than it when it was written, at most it now."""
    return (
        phases
        and draw is not None
        and written.draw_a is not None
        and written.draw_a > written.amps + TOLERANCE_A
        and draw <= written.amps + TOLERANCE_A
    )


def restarted(charger: HaCharger, now: float) -> Track:
    """The track of a charger when its source starts: a limit up to its rating
    may still reach it (one the last run wrote just before it stopped), until
    its :func:`flight_s` has passed or its entity shows as much."""
    return Track(recent=((charger.rated_a, now),))


def in_flight_a(track: Track, now: float, latency_s: float) -> float:
    """The highest limit written that may still reach the charger (0: none)."""
    window = flight_s(latency_s)
    return max((a for a, at in track.recent if now - at < window), default=0.0)


def count(
    charger: HaCharger,
    obs: Observation,
    track: Track,
    now: float,
    voltage_v: float,
) -> Counted:
    """What the charger's port is counted at (see the module)."""
    rated = charger.rated_a
    draw, from_phases = measured_a(charger, obs, voltage_v)
    most = max(rated, draw or 0.0)

    def offline(at: float, why: str, holds: float | None = None) -> Counted:
        known = why not in ("unavailable", "stale")
        state = _state(obs, draw) if known else "unavailable"
        return Counted(False, at, holds, None, state, why)

    if charger.profile.read_only:
        return offline(most, "read_only")
    holds = holds_a(charger, obs, voltage_v)
    stale_s = charger.profile.stale_s
    if holds is None:
        return offline(most, "unavailable")
    if (
        stale_s is not None
        and obs.limit_age_s is not None
        and obs.limit_age_s > stale_s
    ):
        return offline(most, "stale", holds)
    if track.disobeys:
        return offline(most, "disobeys", holds)
    written = track.written
    flying = in_flight_a(track, now, charger.latency_s)
    may_hold = max(holds, flying, draw or 0.0)
    if written is None:
        if flying > holds + TOLERANCE_A:
            # A limit the last run wrote (Home Assistant restarted) may arrive.
            return offline(may_hold, "unconfirmed", holds)
        return Counted(True, most, holds, Held(holds, now), _state(obs, draw), "ok")
    if flying > written.amps + TOLERANCE_A or (
        holds > written.amps + TOLERANCE_A
        and not _confirmed_by_draw(written, draw, from_phases)
    ):
        return offline(may_hold, "unconfirmed", holds)
    shown = max(min(holds, written.amps), written.amps if flying else 0.0)
    return Counted(True, most, holds, Held(shown, now), _state(obs, draw), "ok")


def observe(
    charger: HaCharger,
    obs: Observation,
    track: Track,
    now: float,
    voltage_v: float,
) -> Track:
    """The track after this observation: since when it draws more than it holds,
    and whether it does not follow its limit (too long over it, or a lowered
    limit that does not show)."""
    if charger.profile.read_only:
        return Track()
    holds = holds_a(charger, obs, voltage_v)
    draw, _ = measured_a(charger, obs, voltage_v)
    over = holds is not None and draw is not None and draw > holds + DISOBEY_MARGIN_A
    over_since = (track.over_since or now) if over else None
    latency = charger.latency_s
    written = track.written
    ignored = (
        written is not None
        and holds is not None
        and holds > written.amps + TOLERANCE_A
        and now - written.at >= confirm_s(latency)
    )
    disobeys = ignored or (
        over_since is not None and now - over_since >= disobey_s(latency)
    )
    if holds is None:
        disobeys = track.disobeys  # nothing to tell, either way
    return replace(track, over_since=over_since, disobeys=disobeys)


def steps(
    charger: HaCharger, scale: LimitScale, voltage_v: float, failsafe_a: float
) -> PortSteps:
    """How the port takes a limit: in the limit entity's unit and step (its
    attributes, else its profile's), paused under its minimum, within its
    write budget."""
    profile = charger.profile
    wpa = watts_per_amp(charger, voltage_v)
    step = scale.step * scale.factor if scale.step else profile.step
    if scale.unit == "W" and not scale.step:
        step = 1.0
    entity_min = (scale.minimum or 0.0) * scale.factor
    entity_min_a = entity_min if scale.unit == "A" else entity_min / wpa
    return PortSteps(
        charger=charger.port_id,
        unit=scale.unit,
        step=step,
        minimum_a=max(profile.min_a, entity_min_a),
        watts_per_amp=wpa,
        budget=budget_of(profile, charger.link),
        failsafe_a=failsafe_a,
    )


def port(charger: HaCharger, counted: Counted, obs: Observation) -> Port:
    """The charger's port as the allocator sees it: a vehicle there while it is
    online and not known to be unplugged (all its phases until it draws)."""
    ev: Vehicle | None = None
    if counted.online and obs.plugged is not False:
        used = [a for a in obs.currents_a if a > CHARGING_A]
        ev = Vehicle(
            phases=len(used) if used else charger.phases,
            max_a=charger.rated_a,
            offered_a=counted.holds_a,
        )
    return Port(
        id=charger.port_id,
        group=charger.group,
        connection=charger.connection,
        max_a=charger.rated_a,
        online=counted.online,
        failsafe_a=counted.counted_a,
        ev=ev,
    )


@dataclass(frozen=True, slots=True)
class Write:
    """What to send a charger for one limit: the limit entity's new value (None:
    leave it), and the pause switch's new state (None: leave it)."""

    value: float | None
    switch_on: bool | None


def write_for(charger: HaCharger, amps: float, value: float, obs: Observation) -> Write:
    """How to make the charger hold ``amps`` (``value``: the same in the
    writer's unit, W or A): 0 A through its pause switch where 0 A does not
    pause it; else the limit in the entity's unit, within its range."""
    switch = charger.pause_switch(obs.scale)
    if amps <= 0.0 and switch is not None:
        return Write(None, False)
    entity_value = value / obs.scale.factor
    if obs.scale.maximum is not None:
        entity_value = min(entity_value, obs.scale.maximum)
    resume = True if switch is not None and obs.switch_on is not True else None
    return Write(round(entity_value, 6), resume)


def worth_writing(
    charger: HaCharger, amps: float, holds: float | None, decrease: bool
) -> bool:
    """Whether a limit is worth a write: every decrease is; a raise only by at
    least its profile's smallest change (or out of a pause)."""
    if decrease or holds is None or holds <= 0.0:
        return True
    return amps - holds >= charger.profile.min_change_a - 1e-6


def coalesced(track: Track, amps: float, now: float, latency_s: float) -> bool:
    """Whether the same limit was sent so recently that it is still on its way."""
    written = track.written
    return (
        written is not None
        and abs(written.amps - amps) <= 1e-6
        and now - written.sent_at < resend_s(latency_s)
    )


def wrote(
    track: Track, amps: float, now: float, draw: float | None, latency_s: float
) -> Track:
    """The track after sending ``amps`` now."""
    window = flight_s(latency_s)
    recent = (*(w for w in track.recent if now - w[1] < window), (amps, now))
    written = track.written
    if written is not None and abs(written.amps - amps) <= 1e-6:
        return replace(track, written=replace(written, sent_at=now), recent=recent)
    return replace(track, written=Written(amps, now, draw, now), recent=recent)


def settled(track: Track, amps: float, sent_at: float) -> Track:
    """The track once the write of ``amps`` sent at ``sent_at`` has reached a
    charger on the LAN (its call returned): it can no longer arrive late."""
    recent = tuple(w for w in track.recent if w != (amps, sent_at))
    return replace(track, recent=recent)


def resend_due(track: Track, holds: float | None, now: float, latency_s: float) -> bool:
    """Whether our last limit is to be written again: the charger holds more
    (it has not shown it yet, or someone raised it), and it was sent a while
    ago."""
    written = track.written
    return (
        written is not None
        and holds is not None
        and holds > written.amps + TOLERANCE_A
        and now - written.sent_at >= resend_s(latency_s)
    )


def accumulate(
    total: tuple[float, float] | None, reading: float | None
) -> tuple[float, float] | None:
    """A never-decreasing total (``(last reading, total)``) from an energy
    sensor that may be a session's: a reading below the last one starts anew
    (a new session, or a meter reset), and counts from 0."""
    if reading is None:
        return total
    if total is None:
        return (reading, reading)
    last, sum_kwh = total
    step = reading - last if reading >= last else reading
    return (reading, sum_kwh + step)

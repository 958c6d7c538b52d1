"""An OCPP connector as the allocator's port: what one cycle reads of it.

:func:`ocpp_readings` is :meth:`.ocpp_source.OcppSource.readings`: the ports of
every configured charger, how each takes a limit, what each holds from us, its
failsafe, what it measures and its session energy. It reads and changes nothing.

* A connector counts as **online** only while its charger is under control
  (booted or resumed, accepted, holding our failsafe profile), follows our
  limits, and confirmed its last one (one it did not confirm counts until
  whatever it held lapsed). Offline, it is counted at the most it may apply:
  its failsafe, a limit of ours it may still hold, or what it applies while
  it disobeys.
* A vehicle's phases are unknown until it draws: every phase of its connection
  is assumed (the safe side).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.commands import Held, PortSteps
from .core.model import CONNECTIONS, Port, Vehicle
from .core.ports import PortReadings
from .csms import ConnectorState

if TYPE_CHECKING:
    from .ocpp_chargers import ChargerConfig
    from .ocpp_source import OcppSource

CHARGING_THRESHOLD_A = 1.0
"""A phase drawing more than this counts as used by the vehicle."""


def ocpp_readings(source: OcppSource, now: float) -> PortReadings:
    """Every connector of every charger ``source`` configures, at ``now``."""
    ports: list[Port] = []
    steps: dict[str, PortSteps] = {}
    held: dict[str, Held | None] = {}
    failsafe: dict[str, float] = {}
    currents: dict[str, tuple[float, ...]] = {}
    energy: dict[str, float] = {}
    for cp_id, charger in source.chargers.items():
        station = source.stations.get(cp_id)
        port_steps = source.steps_of(charger, station)
        for connector in range(1, charger.connectors + 1):
            pid = charger.port_id(connector)
            state = None if station is None else station.connectors.get(connector)
            ports.append(connector_port(source, charger, pid, state, now))
            steps[pid] = port_steps
            held[pid] = source.limits.held(pid, station, now)
            failsafe[pid] = source.failsafe_of(charger)
            if state is not None and state.current_a:
                currents[pid] = tuple(state.current_a)
            if state is not None and state.session_energy_wh is not None:
                energy[pid] = state.session_energy_wh / 1000.0
    return PortReadings(tuple(ports), steps, held, failsafe, currents, energy)


def connector_port(
    source: OcppSource,
    charger: ChargerConfig,
    pid: str,
    state: ConnectorState | None,
    now: float,
) -> Port:
    """One connector as the allocator sees it."""
    limits = source.limits
    held = limits.held_a(pid, now)
    applied = limits.disobeys(pid)
    online = (
        source.online(charger.charge_point_id)
        and not limits.unsure(pid, now)
        and applied is None
    )
    ev: Vehicle | None = None
    if online and state is not None and state.vehicle_connected:
        ev = _vehicle(source, charger, pid, state)
    return Port(
        id=pid,
        group=charger.group,
        connection=charger.connection,
        max_a=charger.max_current_a,
        online=online,
        failsafe_a=max(source.failsafe_of(charger), held, applied or 0.0),
        ev=ev,
    )


def _vehicle(
    source: OcppSource, charger: ChargerConfig, pid: str, state: ConnectorState
) -> Vehicle:
    measured = [a for a in state.current_a if a > CHARGING_THRESHOLD_A]
    return Vehicle(
        phases=len(measured) if measured else len(CONNECTIONS[charger.connection].legs),
        max_a=charger.max_current_a,
        draw_a=max(state.current_a) if state.current_a else None,
        offered_a=source.limits.offered(pid),
        draw_offered_a=source.limits.draw_offered(pid),
        arrived_s=source.arrived_at(pid),
    )

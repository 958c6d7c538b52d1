"""What the solar controller takes and gives (:class:`SolarPort`,
:class:`SolarDecision`), and the site's side of them: the ports it sees, what
they draw, and its caps applied to the site. No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .model import Port, Site, Supply
from .solar_settings import ChargeMode, SolarState


@dataclass(frozen=True, slots=True)
class SolarPort:
    """A port with a vehicle, as the solar controller sees it."""

    id: str
    mode: ChargeMode
    watts_per_amp: float
    """Power per ampere of the vehicle on this port (phases × V, or V line-line)."""
    min_a: float = 6.0
    max_a: float = 16.0

    @property
    def min_w(self) -> float:
        """Power at the minimum current."""
        return self.min_a * self.watts_per_amp


@dataclass(frozen=True, slots=True)
class SolarPortStatus:
    """One port's outcome of a cycle."""

    cap_a: float
    state: SolarState
    since_s: float | None
    """When the current on/off state began (None: mode off)."""


@dataclass(frozen=True, slots=True)
class SolarDecision:
    """What one cycle decided."""

    caps: Mapping[str, float]
    """Current cap per port (A), for ``solar``, ``min_solar`` and ``off`` ports."""
    ports: Mapping[str, SolarPortStatus]
    surplus_w: float
    """Surplus available to the solar-mode EVs this cycle (raw)."""
    smoothed_w: float
    """Its moving average (used for decreases and stopping)."""
    sustained_w: float
    """Lowest moving average over ``sustain_s`` (used for increases)."""


def solar_port(
    port: Port, supply: Supply, mode: ChargeMode, min_a: float
) -> SolarPort | None:
    """The solar view of a site port; None without a vehicle.

    ``min_a`` is the least current the vehicle may be given: at least the site's
    minimum current (the allocator pauses a port capped below it).
    """
    ev = port.ev
    if ev is None:
        return None
    conn = port.conn
    wpa = supply.watts_per_amp(conn, conn.active_legs(ev.phases))
    return SolarPort(port.id, mode, wpa, min_a, min(port.max_a, ev.max_a))


def solar_ports(site: Site, modes: Mapping[str, ChargeMode]) -> list[SolarPort]:
    """Every port of ``site`` with a vehicle and a mode in ``modes`` (by id)."""
    found = []
    for port in site.ports:
        mode = modes.get(port.id)
        if mode is None:
            continue
        sp = solar_port(port, site.supply, mode, site.min_current_a)
        if sp is not None:
            found.append(sp)
    return found


def drawn_power_w(site: Site, port_ids: Iterable[str]) -> dict[str, float]:
    """Power each of ``port_ids`` draws now (W), from its vehicle's measured
    current; 0 for a port without a vehicle or a measurement."""
    wanted = set(port_ids)
    out: dict[str, float] = {}
    for port in site.ports:
        if port.id not in wanted:
            continue
        ev = port.ev
        if ev is None or ev.draw_a is None:
            out[port.id] = 0.0
            continue
        conn = port.conn
        out[port.id] = ev.draw_a * site.supply.watts_per_amp(
            conn, conn.active_legs(ev.phases)
        )
    return out


def apply_caps(site: Site, caps: Mapping[str, float]) -> Site:
    """``site`` with each capped port's ``Vehicle.max_a`` lowered to its cap
    (never raised); ports without a vehicle or a cap are unchanged. The
    allocator then still enforces every group limit."""
    if not caps:
        return site

    def capped(port: Port) -> Port:
        cap, ev = caps.get(port.id), port.ev
        if cap is None or ev is None or cap >= ev.max_a:
            return port
        return replace(port, ev=replace(ev, max_a=max(0.0, cap)))

    return replace(site, ports=tuple(capped(p) for p in site.ports))

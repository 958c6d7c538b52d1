"""One cycle's ports, gathered from every source's readings.

Each port is checked on its own (:func:`~.model.validate_port`): one whose
description is wrong (a reading no source should pass on: a bug) is counted at
the most it may draw, offline, and the others are allocated as usual. A cycle
always completes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from .model import ModelError, Port, Supply, check_port, counted_at_most
from .ports import PortReadings
from .settings import PortSettings, with_settings

PORT_MOST_A = 80.0
"""What a port whose description cannot be used is counted at, per phase, when
it does not say its own maximum (the highest charger rating a form accepts)."""


@dataclass(frozen=True, slots=True)
class BadPort:
    """A port whose description could not be used this cycle."""

    source: int
    """Which of the readings it came in (their index)."""
    port_id: str
    problem: str


@dataclass(frozen=True, slots=True)
class Gathered:
    """The ports of one cycle, and which source serves which."""

    ports: tuple[Port, ...]
    served: tuple[frozenset[str], ...]
    """The port ids of each of the readings, in their order."""
    bad: tuple[BadPort, ...] = ()


@dataclass(frozen=True, slots=True)
class Topology:
    """What a port is checked against: the site's groups and supply."""

    group_ids: frozenset[str]
    root: str
    supply: Supply

    def counted_at_most(self, port: Port) -> Port:
        """``port`` counted at the most it may draw, offline (see
        :func:`~.model.counted_at_most`)."""
        return counted_at_most(
            port, self.group_ids, self.root, self.supply, PORT_MOST_A
        )

    def problem(self, port: Port, seen: Collection[str]) -> str | None:
        """What is wrong with a port's description (None: nothing)."""
        if port.id in seen:
            return f"another port has the id {port.id!r}"
        try:
            check_port(port, self.group_ids, self.supply)
        except ModelError as err:
            return str(err)
        if port.min_a is not None and port.min_a > port.max_a:
            return "port.min_a: must be <= max_a"
        return None


def gather_ports(
    readings: Sequence[PortReadings],
    topology: Topology,
    settings: Mapping[str, PortSettings],
    failsafe_a: float,
) -> Gathered:
    """Every source's ports, with the user's settings applied.

    A port that does not say its failsafe is counted at the site's
    (``failsafe_a``) while offline. A port that fails its check is counted at
    the most it may draw (and renamed if another has its id, so both count).
    """
    ports: list[Port] = []
    seen: set[str] = set()
    served: list[frozenset[str]] = []
    bad: list[BadPort] = []
    for index, reading in enumerate(readings):
        mine: set[str] = set()
        for served_port in reading.ports:
            port = (
                served_port
                if served_port.failsafe_a is not None
                else replace(served_port, failsafe_a=failsafe_a)
            )
            problem = topology.problem(port, seen)
            if problem is None:
                port = with_settings(port, settings.get(port.id))
            else:
                bad.append(BadPort(index, port.id, problem))
                port = topology.counted_at_most(port)
                if port.id in seen:
                    port = replace(port, id=f"{port.id}#{len(ports)}")
            seen.add(port.id)
            mine.add(port.id)
            ports.append(port)
        served.append(frozenset(mine))
    return Gathered(tuple(ports), tuple(served), tuple(bad))

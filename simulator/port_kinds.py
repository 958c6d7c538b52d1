"""The site simulator's ports that are not OCPP charge points: what each lets its
vehicle draw, and how Home Assistant reaches it.

* :class:`ModbusPort`: a Modbus TCP charger (:class:`.modbus_charger.SimulatedCharger`
  on 127.0.0.1) that applies the limit Home Assistant writes, falls back to its
  failsafe when Home Assistant stops talking, and reports what the vehicle draws;
* :class:`OutletPort`: a smart outlet, a switch the simulator holds (``GET`` /
  ``POST /outlets/<id>`` with ``{"on": true}``): its vehicle (a portable charger)
  draws up to the outlet's nominal current while it is on;
* :class:`HaChargerPort`: a charger "already in Home Assistant" behind its maker's
  integration (``GET`` / ``POST /ha_chargers/<id>`` with ``{"limit_a": 10}``): a
  written limit applies only ``apply_delay_s`` later, as a cloud or a slow
  firmware does; until then the charger keeps the limit it had.

Each is driven by :class:`.site.SiteSimulator`: before a step it asks
:meth:`limit_a` and :meth:`transaction`, after it hands over the port's state
(:meth:`measured`).
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import Any

from .modbus_charger import SimulatedCharger
from .site_config import ChargerSpec
from .site_model import PortState


class _Port:
    """What every port kind has: its spec, the limits it held (for the status's
    count of turns) and its place in the site's physics."""

    kind = ""

    def __init__(self, spec: ChargerSpec, port: PortState) -> None:
        self.spec = spec
        self.port = port
        self.limit_log: list[float] = []

    def limit_a(self) -> float:
        """What the vehicle may draw now (A per phase)."""
        raise NotImplementedError

    def transaction(self) -> bool:
        """Whether current flows to a vehicle that is there."""
        return self.port.vehicle is not None

    def measured(self) -> None:
        """After a step: the port's state is new."""
        if not self.limit_log or self.limit_log[-1] != self.port.limit_a:
            self.limit_log.append(self.port.limit_a)

    async def start(self) -> None:
        """Open what it serves (nothing but for a Modbus charger)."""

    async def stop(self) -> None:
        """Close it."""

    def status(self) -> dict[str, Any]:
        """What the status endpoint shows of it besides the common figures."""
        return {}


class ModbusPort(_Port):
    """A Modbus TCP charger on ``127.0.0.1:<modbus_port>``."""

    kind = "modbus"

    def __init__(self, spec: ChargerSpec, port: PortState, modbus_port: int) -> None:
        super().__init__(spec, port)
        assert spec.map is not None  # noqa: S101 - the config requires it
        self.charger = SimulatedCharger(spec.map, failsafe_a=spec.failsafe_a or 6.0)
        self.charger.port = modbus_port

    def limit_a(self) -> float:
        return min(self.charger.applied(1), self.spec.max_current_a)

    def measured(self) -> None:
        super().measured()
        vehicle = self.port.vehicle
        if vehicle is None:
            self.charger.unplug(1)
        elif self.charger.sockets[1].ev_max_a is None:
            self.charger.plug(1, vehicle.spec.max_a)
        self.charger.measure(1, self.port.currents_a, self.port.register_wh)

    async def start(self) -> None:
        await self.charger.start()

    async def stop(self) -> None:
        await self.charger.stop()

    def status(self) -> dict[str, Any]:
        return {
            "map": self.spec.map,
            "modbus_port": self.charger.port,
            "lapsed": self.charger.lapsed(1),
            "writes": self.charger.writes_total,
        }


class OutletPort(_Port):
    """A smart outlet: on or off, as Home Assistant switches it."""

    kind = "outlet"

    def __init__(self, spec: ChargerSpec, port: PortState) -> None:
        super().__init__(spec, port)
        self.on = False
        self.switched = 0
        """How often it was switched (on to off or off to on)."""

    def switch(self, on: bool) -> None:
        """Turn it on or off."""
        if on != self.on:
            self.switched += 1
        self.on = on

    def limit_a(self) -> float:
        return self.spec.max_current_a if self.on else 0.0

    def transaction(self) -> bool:
        return self.on and self.port.vehicle is not None

    def status(self) -> dict[str, Any]:
        return {"on": self.on, "switched": self.switched}


class HaChargerPort(_Port):
    """A charger reached through another integration: it applies a written
    limit ``apply_delay_s`` later."""

    kind = "ha"

    def __init__(
        self,
        spec: ChargerSpec,
        port: PortState,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(spec, port)
        self._clock = clock
        self.applied_a = spec.max_current_a
        """What it applies (it starts at its rating: nobody limited it yet)."""
        self.requested_a = spec.max_current_a
        self._pending: list[tuple[float, float]] = []
        self.writes = 0

    def request(self, amps: float) -> None:
        """A limit written (clamped to its rating; applied later)."""
        amps = max(0.0, min(float(amps), self.spec.max_current_a))
        self.requested_a = amps
        self.writes += 1
        self._pending.append((self._clock() + self.spec.apply_delay_s, amps))

    def limit_a(self) -> float:
        now = self._clock()
        while self._pending and self._pending[0][0] <= now:
            self.applied_a = self._pending.pop(0)[1]
        return self.applied_a

    def status(self) -> dict[str, Any]:
        return {
            "requested_a": round(self.requested_a, 2),
            "applied_a": round(self.applied_a, 2),
            "writes": self.writes,
        }


PortKind = ModbusPort | OutletPort | HaChargerPort

"""What the entities of one charger read of it, whatever drives it.

An OCPP charger's entities read its station (:class:`OcppLink`); those of a
charger already in Home Assistant, a smart outlet or a Modbus charger read
their port source through :class:`~.core.ports.PortStatus` and the last cycle
(:class:`StatusLink`). Both give the same :class:`~.csms.ConnectorState`, so
every connector entity (allocated current, status, energy, the user's
settings) is the same for every kind of port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .core.ports import PortStatus
from .csms import ConnectorState, Station
from .ocpp_source import ChargerConfig, OcppSource

if TYPE_CHECKING:
    from .controller import SiteController
    from .core.snapshot import ControllerSnapshot

_VEHICLE_STATES = frozenset({"charging", "connected"})
_STATUS_TEXT = {
    "charging": "Charging",
    "connected": "Connected",
    "idle": "Available",
    "off": "Off",
    "unavailable": "Unavailable",
}
"""What the status sensor shows of each :data:`~.core.ports.PortState` (in the
words OCPP chargers use, where they have one)."""


class PortLink(Protocol):
    """One charger (or outlet) as its entities see it."""

    @property
    def connectors(self) -> int:
        """How many ports it has (numbered from 1)."""

    def configured(self) -> bool:
        """Whether it is still part of the site (else its entities are
        unavailable until Home Assistant removes them)."""

    def online(self) -> bool:
        """Under control: its commands are followed and confirmed."""

    def port_id(self, connector: int) -> str:
        """The allocator's id of one of its ports."""

    def max_current_a(self) -> float:
        """Its rated current per phase."""

    def station(self) -> Station | None:
        """Its OCPP station (None for other kinds, or while not connected)."""

    def state(self, connector: int) -> ConnectorState | None:
        """What one of its ports reports now (None: nothing yet)."""


class OcppLink:
    """A charger of the embedded OCPP central system."""

    def __init__(self, source: OcppSource, charger: ChargerConfig) -> None:
        """Read ``charger`` (as configured when its entities were made) from
        ``source``."""
        self.source = source
        self.charge_point_id = charger.charge_point_id
        self._charger = charger

    @property
    def charger(self) -> ChargerConfig:
        """The charger as configured now (as it was last, once it is removed:
        its entities may still be asked for their state before they go)."""
        charger = self.source.chargers.get(self.charge_point_id)
        if charger is not None:
            self._charger = charger
        return self._charger

    @property
    def connectors(self) -> int:
        """Its connectors (EVSEs in 2.0.1)."""
        return self.charger.connectors

    def configured(self) -> bool:
        """Whether the source still has it."""
        return self.charge_point_id in self.source.chargers

    def online(self) -> bool:
        """Connected, booted and holding our failsafe."""
        return self.source.online(self.charge_point_id)

    def port_id(self, connector: int) -> str:
        """``charge point id:connector``."""
        return self.charger.port_id(connector)

    def max_current_a(self) -> float:
        """As configured."""
        return self.charger.max_current_a

    def station(self) -> Station | None:
        """Its station, while it is connected."""
        return self.source.stations.get(self.charge_point_id)

    def state(self, connector: int) -> ConnectorState | None:
        """What its last status and meter values said of the connector."""
        station = self.station()
        return None if station is None else station.connectors.get(connector)


class StatusLink:
    """A charger or outlet of another port source (one subentry)."""

    def __init__(
        self,
        controller: SiteController,
        source: PortStatus,
        subentry_id: str,
        ports: list[str],
    ) -> None:
        """Read the ``ports`` of one subentry from ``source`` and the cycle."""
        self.controller = controller
        self.source = source
        self.subentry_id = subentry_id
        self._ports = list(ports)

    @property
    def connectors(self) -> int:
        """Its ports when its entities were made."""
        return len(self._ports)

    def configured(self) -> bool:
        """Whether its source still serves its ports."""
        return bool(self.source.subentry_ports(self.subentry_id))

    def _port(self, connector: int = 1) -> str:
        return self._ports[min(max(connector, 1), len(self._ports)) - 1]

    def online(self) -> bool:
        """Whether the last cycle counted its first port as under control."""
        snapshot: ControllerSnapshot | None = self.controller.data
        port = None if snapshot is None else snapshot.port(self._port())
        return port is not None and port.online

    def port_id(self, connector: int) -> str:
        """Its source's id of the port."""
        return self._port(connector)

    def max_current_a(self) -> float:
        """The rating the last cycle counted it with (32 A before the first)."""
        snapshot = self.controller.data
        port = None if snapshot is None else snapshot.port(self._port())
        return 32.0 if port is None else port.max_a

    def station(self) -> Station | None:
        """Not an OCPP charger."""
        return None

    def state(self, connector: int) -> ConnectorState | None:
        """The port as its source and the last cycle's readings tell it."""
        pid = self._port(connector)
        state = self.source.port_state(pid)
        snapshot = self.controller.data
        inputs = None if snapshot is None else snapshot.inputs
        currents = () if inputs is None else inputs.phase_currents.get(pid, ())
        session = None if inputs is None else inputs.session_kwh.get(pid)
        energy = self.source.energy_kwh(pid)
        energy_wh = None if energy is None else energy * 1000.0
        start = (
            None
            if energy_wh is None or session is None
            else energy_wh - session * 1000.0
        )
        return ConnectorState(
            status=_STATUS_TEXT[state],
            vehicle_connected=state in _VEHICLE_STATES,
            current_a=tuple(currents),
            energy_wh=energy_wh,
            session_start_wh=start,
        )

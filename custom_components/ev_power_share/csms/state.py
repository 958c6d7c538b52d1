"""What the rest of the integration reads of a station: what it said at its boot,
and the state of each of its connectors (EVSEs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .meter import MeterReading


@dataclass(slots=True)
class StationInfo:
    """From BootNotification."""

    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None


_CONNECTED_STATUSES = frozenset(
    {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Occupied"}
)


@dataclass(slots=True)
class ConnectorState:
    """One connector (1.6) or EVSE (2.0.1); id 0 is the station as a whole."""

    status: str | None = None
    vehicle_connected: bool = False
    transaction_id: str | None = None
    id_tag: str | None = None
    user_id: str | None = None
    """The user the id tag of its transaction belongs to, if known."""
    current_a: tuple[float, ...] = ()
    """Per phase (L1, L2, L3), as last measured."""
    power_w: float | None = None
    energy_wh: float | None = None
    """The meter register."""
    session_start_wh: float | None = None
    soc: float | None = None
    last_meter_at: datetime | None = None
    charging_state: str | None = None
    """2.0.1 only: Charging, EVConnected, SuspendedEV, SuspendedEVSE, Idle."""

    @property
    def session_energy_wh(self) -> float | None:
        """Energy of the current (or last) session, from the register."""
        if self.energy_wh is None or self.session_start_wh is None:
            return None
        return max(0.0, self.energy_wh - self.session_start_wh)

    def set_status(self, status: str) -> None:
        """Store a status and what it says about a plugged-in vehicle."""
        self.status = status
        self.set_vehicle(status in _CONNECTED_STATUSES)

    def set_vehicle(self, connected: bool) -> None:
        """Store whether a vehicle is plugged in; without one, nothing is drawn
        and no state of charge is known."""
        self.vehicle_connected = connected
        if not connected:
            self.draws_nothing()
            self.soc = None

    def draws_nothing(self) -> None:
        """No vehicle draws here (its transaction ended, or it left): the last
        measured current and power are 0 until the next reading. The energy
        register is kept. Only for what we know, never for a charger that went
        offline (it may still be charging; it is counted at what it may hold)."""
        self.current_a = tuple(0.0 for _ in self.current_a)
        if self.power_w is not None:
            self.power_w = 0.0

    def apply(self, reading: MeterReading, now: datetime) -> bool:
        """Fold a meter reading in; False if it carried nothing we use."""
        if reading.empty:
            return False
        if reading.current_a:
            self.current_a = reading.currents()
        if reading.power_w is not None:
            self.power_w = reading.power_w
        if reading.energy_wh is not None:
            self.energy_wh = reading.energy_wh
            if self.transaction_id is not None and self.session_start_wh is None:
                self.session_start_wh = reading.energy_wh
        if reading.soc is not None:
            self.soc = reading.soc
        self.last_meter_at = now
        return True


def connector_state(
    connectors: dict[int, ConnectorState], connector_id: int
) -> ConnectorState:
    """The state of a connector, created on first mention."""
    state = connectors.get(connector_id)
    if state is None:
        state = connectors[connector_id] = ConnectorState()
    return state

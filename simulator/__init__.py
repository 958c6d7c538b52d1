"""Simulated devices that speak the real protocols, for tests, the demo and benchmarks."""

from .chargepoint import SimulatedChargePoint
from .smart import Profile, SmartCharging
from .vehicles import Vehicle, VehicleSpec

__all__ = ["Profile", "SimulatedChargePoint", "SmartCharging", "Vehicle", "VehicleSpec"]

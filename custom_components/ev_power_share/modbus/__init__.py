"""Energy meters over Modbus TCP. No Home Assistant imports.

Register maps are data (:mod:`.profiles`): ``PROFILES["sdm630"]`` (Eastron SDM630),
``"sdm120"`` (Eastron SDM120), ``"em24"`` (Carlo Gavazzi EM24-DIN). The integration

* checks a user's entry with :func:`probe` (host, port, unit id, profile), whose
  :class:`MeterError` has a :class:`MeterErrorReason` fit for a form's error key;
* keeps one :class:`ModbusMeter` per configured meter and calls :meth:`~ModbusMeter.read`
  each control cycle: a :class:`MeterReading` (per-phase currents, voltages and
  powers, total power with import positive, energy counters), or
  :class:`MeterUnavailableError` at once while the meter is down or backing off.

Works with pymodbus 3.8.3 through 3.13 (see :mod:`._compat`).
"""

from .client import (
    DEFAULT_PORT,
    MeterError,
    MeterErrorReason,
    MeterReading,
    MeterUnavailableError,
    ModbusMeter,
    plausibility_problem,
    probe,
)
from .codec import CodecError, DataType, WordOrder
from .profiles import (
    EM24,
    PROFILES,
    SDM120,
    SDM630,
    MeterProfile,
    ReadBlock,
    Register,
    RegisterKind,
    get_profile,
    plan_reads,
)

__all__ = [
    "DEFAULT_PORT",
    "EM24",
    "PROFILES",
    "SDM120",
    "SDM630",
    "CodecError",
    "DataType",
    "MeterError",
    "MeterErrorReason",
    "MeterProfile",
    "MeterReading",
    "MeterUnavailableError",
    "ModbusMeter",
    "ReadBlock",
    "Register",
    "RegisterKind",
    "WordOrder",
    "get_profile",
    "plan_reads",
    "plausibility_problem",
    "probe",
]

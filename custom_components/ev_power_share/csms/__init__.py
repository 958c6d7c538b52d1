"""Embedded OCPP central system (1.6J and 2.0.1). No Home Assistant imports.

The integration creates one :class:`CentralSystem`, gives it an ``authorize``
callback (charge point id, password → :class:`Admission`) and a
:class:`StationListener`, and commands the connected :class:`Station` objects
(``set_limit``, ``set_failsafe``, ...). Everything OCPP-specific, including JSON
schema validation, is done by the ``ocpp`` library.
"""

from .config import Admission, StationConfig, StationListener
from .guard import ConnectionLimits
from .id_tokens import IdTokens, LocalList, TokenAnswer
from .meter import MeterReading, parse_meter_values
from .server import CentralSystem
from .state import ConnectorState, StationInfo
from .station import Station
from .tx_messages import TransactionMessage, TxKind, TxSample
from .v16 import V16Station
from .v201 import V201Station

__all__ = [
    "Admission",
    "CentralSystem",
    "ConnectionLimits",
    "ConnectorState",
    "IdTokens",
    "LocalList",
    "MeterReading",
    "Station",
    "StationConfig",
    "StationInfo",
    "StationListener",
    "TokenAnswer",
    "TransactionMessage",
    "TxKind",
    "TxSample",
    "V16Station",
    "V201Station",
    "parse_meter_values",
]

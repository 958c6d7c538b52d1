"""The pymodbus differences we bridge, detected once at import.

We support pymodbus 3.8.3 (Home Assistant 2025.4) up to the 3.x Home Assistant 2026
pins (3.13.1). Between them:

* the unit id keyword of every request method was renamed: ``slave=`` (3.8) became
  ``device_id=`` (3.10 on); we look at the signature instead of the version number;
* the client's value helpers changed (``BinaryPayloadDecoder`` removed,
  ``convert_from_registers`` reworked): :mod:`.codec` decodes with :mod:`struct`.

The client constructor, ``connect``/``close``/``connected``, the responses'
``isError()``/``registers``/``exception_code`` and the exception classes we catch are
the same in both.
"""

from __future__ import annotations

import inspect
from typing import Any, Final

from pymodbus.client import AsyncModbusTcpClient


def _unit_keyword() -> str:
    parameters = inspect.signature(AsyncModbusTcpClient.read_input_registers).parameters
    for name in ("device_id", "slave"):
        if name in parameters:
            return name
    raise ImportError("unsupported pymodbus: request methods take no unit id")


UNIT_KEYWORD: Final = _unit_keyword()
"""``"device_id"`` (pymodbus ≥ 3.10) or ``"slave"`` (older)."""


def read_kwargs(unit: int, count: int) -> dict[str, Any]:
    """Keyword arguments of ``read_input_registers``/``read_holding_registers``."""
    return {"count": count, UNIT_KEYWORD: unit}


def tcp_client(host: str, port: int, timeout: float) -> AsyncModbusTcpClient:
    """A client that never reconnects by itself and tries each request once.

    Reconnection and its back-off are ours (:class:`~.client.ModbusMeter`): the
    library's own loop would retry in the background with its own timing.
    """
    return AsyncModbusTcpClient(
        host,
        port=port,
        timeout=timeout,
        retries=0,
        reconnect_delay=0,
        reconnect_delay_max=0,
    )

"""The pymodbus differences we bridge, detected once at import.

We support pymodbus 3.8.3 (Home Assistant 2025.4) up to the 3.x Home Assistant 2026
pins (3.13.1). Between them:

* the unit id keyword of every request method was renamed: ``slave=`` (3.8) became
  ``device_id=`` (3.10 on); we look at the signature instead of the version number;
* the client's value helpers changed (``BinaryPayloadDecoder`` removed,
  ``convert_from_registers`` reworked): :mod:`.codec` decodes with :mod:`struct`.

The client constructor (including its ``trace_pdu`` hook), ``connect``/``close``/
``connected``, the PDUs' ``transaction_id``/``dev_id``/``function_code``, the responses'
``isError()``/``registers``/``exception_code`` and the exception classes we catch are
the same in both.

What neither checks for us, and :class:`~.client.ModbusMeter` therefore checks itself
(with the request as ``trace_pdu`` saw it leave): 3.8.3 takes any frame that arrives
as the answer, whatever its transaction id, unit id or function code; 3.13.1 skips
frames of another transaction or unit id but takes transaction id 0 as matching any
request, and takes another function code too.
"""

from __future__ import annotations

from collections.abc import Callable
import inspect
from typing import Any, Final

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU


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


def tcp_client(
    host: str,
    port: int,
    timeout: float,
    trace_pdu: Callable[[bool, ModbusPDU], ModbusPDU] | None = None,
) -> AsyncModbusTcpClient:
    """A client that never reconnects by itself and tries each request once.

    Reconnection and its back-off are ours (:class:`~.client.ModbusMeter`): the
    library's own loop would retry in the background with its own timing.
    ``trace_pdu(sending, pdu)`` sees every request just before it is framed (with its
    transaction id set) and every decoded answer; it must return the PDU unchanged.
    """
    return AsyncModbusTcpClient(
        host,
        port=port,
        timeout=timeout,
        retries=0,
        reconnect_delay=0,
        reconnect_delay_max=0,
        trace_pdu=trace_pdu,
    )

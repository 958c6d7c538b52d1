"""Whether a Modbus reply answers the request that left, and holds what was asked.

pymodbus does not reliably pair a reply with its request (see :mod:`._compat`), so
:class:`~.client.ModbusMeter` notes each request as it leaves (:class:`SentRequest`)
and checks its reply with :func:`reply_problem` before taking a figure from it:

* another transaction or unit id: not our answer, as if none came (``no_response``);
* another function code: the device's muddle (``device_error``);
* a Modbus exception: ``device_error``, or ``no_response`` where a gateway says the
  device behind it did not answer;
* another number of registers than asked for: ``device_error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from pymodbus.pdu import ModbusPDU

from .reading import MeterErrorReason

# exception codes by which a Modbus gateway says the device behind it did not answer
_GATEWAY_PATH_UNAVAILABLE = 0x0A
_GATEWAY_TARGET_NO_RESPONSE = 0x0B
_FUNCTION_MASK = 0x7F
"""The function code without the bit (0x80) that marks an exception reply."""


class ReplyProblem(NamedTuple):
    """Why a reply's figures cannot be taken."""

    reason: MeterErrorReason
    message: str


@dataclass(frozen=True, slots=True)
class SentRequest:
    """A request as it left (pymodbus numbers a request only as it sends it)."""

    transaction_id: int
    unit: int
    function_code: int

    @classmethod
    def of(cls, pdu: ModbusPDU) -> SentRequest:
        """The request ``pdu`` as pymodbus's ``trace_pdu`` hook sees it leave."""
        return cls(pdu.transaction_id, pdu.dev_id, pdu.function_code)


def reply_problem(
    sent: SentRequest | None, response: ModbusPDU, count: int
) -> ReplyProblem | None:
    """Why ``response`` is not the answer of ``count`` registers to ``sent``, or None."""
    return _pairing_problem(sent, response) or _answer_problem(response, count)


def _pairing_problem(
    sent: SentRequest | None, response: ModbusPDU
) -> ReplyProblem | None:
    """Unless ``response`` answers the request that just left (None: none left)."""
    if sent is None or response.transaction_id != sent.transaction_id:
        asked = "none" if sent is None else sent.transaction_id
        return ReplyProblem(
            MeterErrorReason.NO_RESPONSE,
            f"reply with transaction id {response.transaction_id} to request {asked}",
        )
    if response.dev_id != sent.unit:
        return ReplyProblem(
            MeterErrorReason.NO_RESPONSE, f"reply from unit {response.dev_id}"
        )
    if (response.function_code & _FUNCTION_MASK) != sent.function_code:
        return ReplyProblem(
            MeterErrorReason.DEVICE_ERROR,
            f"reply with function code {response.function_code:#04x} to "
            f"function {sent.function_code:#04x}",
        )
    return None


def _answer_problem(response: ModbusPDU, count: int) -> ReplyProblem | None:
    """Unless ``response`` (our own) holds the ``count`` registers asked for."""
    if response.isError():
        code = getattr(response, "exception_code", None)
        if code in (_GATEWAY_PATH_UNAVAILABLE, _GATEWAY_TARGET_NO_RESPONSE):
            return ReplyProblem(
                MeterErrorReason.NO_RESPONSE, f"gateway exception {code:#04x}"
            )
        return ReplyProblem(MeterErrorReason.DEVICE_ERROR, f"Modbus exception {code!r}")
    if len(response.registers) != count:
        return ReplyProblem(
            MeterErrorReason.DEVICE_ERROR,
            f"answered {len(response.registers)} registers",
        )
    return None

"""Modbus register words ⇄ numbers, with :mod:`struct` only.

A Modbus register is one 16-bit word, sent most significant byte first. Values wider
than a word span consecutive registers; the order of those words is the device's
choice: Eastron sends the most significant word first, Carlo Gavazzi the least
significant word first. pymodbus's own helpers differ between the versions we
support (``BinaryPayloadDecoder`` is gone from 3.9 on, ``convert_from_registers``
only grew its ``word_order`` later), so we decode ourselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
import math
import struct


class DataType(StrEnum):
    """How the words of one value are to be read."""

    FLOAT32 = "float32"
    """IEEE 754 single precision, two registers."""
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"

    @property
    def register_count(self) -> int:
        """Number of 16-bit registers a value of this type occupies."""
        return _FORMATS[self][1]

    @property
    def is_integer(self) -> bool:
        """True for the integer types (whose raw value must be a whole number)."""
        return self is not DataType.FLOAT32


class WordOrder(StrEnum):
    """Order of the 16-bit words of a multi-register value."""

    MSW_FIRST = "msw_first"
    """Big-endian words ("ABCD"): the Modbus default, Eastron."""
    LSW_FIRST = "lsw_first"
    """Little-endian words ("CDAB"): Carlo Gavazzi."""


class CodecError(ValueError):
    """Words that cannot be decoded, or a value that does not fit its type."""


# struct format (big-endian bytes) and register count of each type
_FORMATS: dict[DataType, tuple[str, int]] = {
    DataType.FLOAT32: (">f", 2),
    DataType.INT16: (">h", 1),
    DataType.UINT16: (">H", 1),
    DataType.INT32: (">i", 2),
    DataType.UINT32: (">I", 2),
}

_INT_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}


def decode(
    words: Sequence[int],
    data_type: DataType,
    word_order: WordOrder = WordOrder.MSW_FIRST,
) -> int | float:
    """The raw (unscaled) value held in ``words``.

    A float may come back NaN or infinite if the device says so; callers decide.
    """
    fmt, count = _FORMATS[data_type]
    if len(words) != count:
        raise CodecError(f"{data_type} needs {count} registers, got {len(words)}")
    if any(not 0 <= word <= 0xFFFF for word in words):
        raise CodecError(f"not 16-bit register values: {list(words)}")
    ordered = words if word_order is WordOrder.MSW_FIRST else tuple(reversed(words))
    payload = b"".join(word.to_bytes(2, "big") for word in ordered)
    value: int | float = struct.unpack(fmt, payload)[0]
    return value


def encode(
    value: float,
    data_type: DataType,
    word_order: WordOrder = WordOrder.MSW_FIRST,
) -> tuple[int, ...]:
    """The registers holding raw ``value`` (integers must be whole and in range)."""
    fmt, _count = _FORMATS[data_type]
    raw: int | float
    if data_type.is_integer:
        if not math.isfinite(value) or value != int(value):
            raise CodecError(f"{data_type} cannot hold {value!r}")
        raw = int(value)
        low, high = _INT_RANGES[data_type]
        if not low <= raw <= high:
            raise CodecError(f"{raw} is out of range for {data_type}")
    else:
        raw = float(value)
    try:
        payload = struct.pack(fmt, raw)
    except (struct.error, OverflowError) as err:
        raise CodecError(f"{data_type} cannot hold {value!r}") from err
    words = tuple(
        int.from_bytes(payload[i : i + 2], "big") for i in range(0, len(payload), 2)
    )
    return words if word_order is WordOrder.MSW_FIRST else tuple(reversed(words))

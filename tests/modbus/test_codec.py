"""Register words ⇄ numbers: known encodings from the meters' documents, round trips."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given, strategies as st
import pytest

from custom_components.ev_power_share.modbus import (
    CodecError,
    DataType,
    Register,
    RegisterKind,
    WordOrder,
)
from custom_components.ev_power_share.modbus.codec import decode, encode

INT_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}


def test_float32_as_eastron_sends_it() -> None:
    # Eastron's protocol example: 230.0 V is answered as 43 66 00 00
    assert encode(230.0, DataType.FLOAT32) == (0x4366, 0x0000)
    assert decode((0x4366, 0x0000), DataType.FLOAT32) == 230.0
    assert decode((0x4270, 0x0000), DataType.FLOAT32) == 60.0


def test_int32_low_word_first_as_carlo_gavazzi_sends_it() -> None:
    lsw = WordOrder.LSW_FIRST
    assert encode(70000, DataType.INT32, lsw) == (0x1170, 0x0001)
    assert decode((0x1170, 0x0001), DataType.INT32, lsw) == 70000
    assert decode((0xFFFF, 0xFFFF), DataType.INT32, lsw) == -1
    # the same words read high word first are another number
    assert decode((0x1170, 0x0001), DataType.INT32) == 0x11700001


def test_small_integers() -> None:
    assert decode((0xFFFF,), DataType.INT16) == -1
    assert decode((0xFFFF,), DataType.UINT16) == 65535
    assert decode((0x0001, 0x0000), DataType.UINT32) == 65536
    assert encode(-2, DataType.INT16) == (0xFFFE,)


@pytest.mark.parametrize(
    ("words", "data_type"),
    [
        ((1,), DataType.FLOAT32),  # too few
        ((1, 2, 3), DataType.INT32),  # too many
        ((0x10000, 0), DataType.UINT32),  # not a 16-bit word
        ((-1,), DataType.INT16),
    ],
)
def test_decode_refuses_malformed_words(
    words: tuple[int, ...], data_type: DataType
) -> None:
    with pytest.raises(CodecError):
        decode(words, data_type)


@pytest.mark.parametrize(
    ("value", "data_type"),
    [
        (2**15, DataType.INT16),
        (-1, DataType.UINT16),
        (2**32, DataType.UINT32),
        (1.5, DataType.INT32),
        (math.nan, DataType.INT32),
        (1e39, DataType.FLOAT32),  # beyond float32
    ],
)
def test_encode_refuses_what_does_not_fit(value: float, data_type: DataType) -> None:
    with pytest.raises(CodecError):
        encode(value, data_type)


@given(
    st.sampled_from(sorted(INT_RANGES)).flatmap(
        lambda t: st.tuples(st.just(t), st.integers(*INT_RANGES[t]))
    ),
    st.sampled_from(WordOrder),
)
def test_integers_round_trip(
    typed_value: tuple[DataType, int], word_order: WordOrder
) -> None:
    data_type, value = typed_value
    words = encode(value, data_type, word_order)
    assert len(words) == data_type.register_count
    assert all(0 <= word <= 0xFFFF for word in words)
    assert decode(words, data_type, word_order) == value


@given(st.floats(width=32), st.sampled_from(WordOrder))
def test_float32_round_trip(value: float, word_order: WordOrder) -> None:
    decoded = decode(
        encode(value, DataType.FLOAT32, word_order), DataType.FLOAT32, word_order
    )
    if math.isnan(value):
        assert math.isnan(decoded)
    else:
        assert decoded == value


@given(
    st.sampled_from([0.1, 0.01, 0.001, 10.0, -0.1]),
    st.sampled_from([DataType.INT32, DataType.INT16]),
    st.integers(-30000, 30000),
)
def test_scaled_register_round_trip(
    scale: float, data_type: DataType, raw: int
) -> None:
    register = Register(0, data_type, RegisterKind.HOLDING, scale, WordOrder.LSW_FIRST)
    value = raw * scale
    decoded = register.decode(register.encode(value))
    assert decoded == pytest.approx(value, abs=abs(scale) / 2)
    # a value between two steps lands on the nearest step
    nudged = register.decode(register.encode(value + scale * 0.4))
    assert nudged == pytest.approx(value, abs=abs(scale) / 2)


def test_register_decodes_with_its_scale_and_sign() -> None:
    tenth_watts = Register(
        0x28, DataType.INT32, scale=0.1, word_order=WordOrder.LSW_FIRST
    )
    assert tenth_watts.decode(encode(-12345, DataType.INT32, WordOrder.LSW_FIRST)) == (
        pytest.approx(-1234.5)
    )
    export_positive = Register(0, DataType.FLOAT32, scale=-1.0)
    assert export_positive.decode(encode(500.0, DataType.FLOAT32)) == -500.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"address": -1},
        {"address": 0xFFFF, "data_type": DataType.INT32},  # runs past the last address
        {"address": 0, "scale": 0.0},
        {"address": 0, "scale": math.inf},
    ],
)
def test_register_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Register(**kwargs)  # type: ignore[arg-type]


def test_modbus_has_no_homeassistant_imports() -> None:
    """The Modbus client is reusable outside Home Assistant (as csms/ and core/)."""
    package = Path(__file__).parents[2] / "custom_components/ev_power_share/modbus"
    files = list(package.glob("*.py"))
    assert files
    for path in files:
        assert "homeassistant" not in path.read_text(encoding="utf-8"), path.name

"""The register maps (as documented by the manufacturers) and how reads are grouped."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st
import pytest

from custom_components.ev_power_share.modbus import (
    EM24,
    PROFILES,
    SDM120,
    SDM630,
    DataType,
    MeterProfile,
    Register,
    RegisterKind,
    WordOrder,
    get_profile,
    plan_reads,
)


def test_sdm630_map_as_documented() -> None:
    # 30001.. phase voltages, 30007.. currents, 30013.. powers, 30053 total power,
    # 30073 import kWh, 30075 export kWh; IEEE 754 floats in input registers
    assert [r.address for r in SDM630.voltages] == [0x00, 0x02, 0x04]
    assert [r.address for r in SDM630.currents] == [0x06, 0x08, 0x0A]
    assert [r.address for r in SDM630.powers] == [0x0C, 0x0E, 0x10]
    assert SDM630.total_power is not None
    assert SDM630.total_power.address == 0x34
    assert SDM630.import_energy is not None
    assert SDM630.import_energy.address == 0x48
    assert SDM630.export_energy is not None
    assert SDM630.export_energy.address == 0x4A
    for register in SDM630.registers():
        assert register.kind is RegisterKind.INPUT
        assert register.data_type is DataType.FLOAT32
        assert register.word_order is WordOrder.MSW_FIRST
        assert register.scale == 1.0


def test_sdm120_map_as_documented() -> None:
    assert SDM120.phases == 1
    assert [r.address for r in SDM120.voltages] == [0x00]
    assert [r.address for r in SDM120.currents] == [0x06]
    assert [r.address for r in SDM120.powers] == [0x0C]
    assert SDM120.total_power is None  # a single phase: its power is the total
    assert SDM120.import_energy is not None
    assert SDM120.import_energy.address == 0x48
    assert SDM120.export_energy is not None
    assert SDM120.export_energy.address == 0x4A


def test_em24_map_as_documented() -> None:
    # INT32, low word first; V×10, A×1000, W×10, kWh×10
    assert [(r.address, r.scale) for r in EM24.voltages] == [
        (0x00, 0.1),
        (0x02, 0.1),
        (0x04, 0.1),
    ]
    assert [(r.address, r.scale) for r in EM24.currents] == [
        (0x0C, 0.001),
        (0x0E, 0.001),
        (0x10, 0.001),
    ]
    assert [(r.address, r.scale) for r in EM24.powers] == [
        (0x12, 0.1),
        (0x14, 0.1),
        (0x16, 0.1),
    ]
    assert EM24.total_power == Register(
        0x28, DataType.INT32, RegisterKind.INPUT, 0.1, WordOrder.LSW_FIRST
    )
    assert EM24.import_energy is not None
    assert EM24.import_energy.address == 0x3E
    assert EM24.export_energy is not None
    assert EM24.export_energy.address == 0x5C
    for register in EM24.registers():
        assert register.data_type is DataType.INT32
        assert register.word_order is WordOrder.LSW_FIRST


def test_profiles_by_key() -> None:
    assert set(PROFILES) == {"sdm630", "sdm120", "em24"}
    assert get_profile("em24") is EM24
    assert get_profile(SDM630) is SDM630
    with pytest.raises(KeyError):
        get_profile("sdm999")
    for profile in PROFILES.values():
        assert profile.sources, profile.key


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
def test_read_plans_cover_every_register_within_limits(profile: MeterProfile) -> None:
    plan = profile.read_plan()
    for block in plan:
        assert block.count <= profile.max_registers_per_read
    for register in profile.registers():
        assert sum(block.covers(register) for block in plan) == 1


def test_sdm630_is_read_in_three_requests() -> None:
    plan = SDM630.read_plan()
    assert [(b.address, b.count) for b in plan] == [(0x00, 18), (0x34, 2), (0x48, 4)]


def test_plan_splits_at_the_size_limit_and_never_splits_a_value() -> None:
    registers = [Register(a, DataType.INT32) for a in range(0, 20, 2)]
    plan = plan_reads(registers, max_registers=7)
    assert [(b.address, b.count) for b in plan] == [(0, 6), (6, 6), (12, 6), (18, 2)]


def test_plan_keeps_kinds_apart_and_bridges_small_gaps_only() -> None:
    registers = [
        Register(0, kind=RegisterKind.INPUT),
        Register(0, kind=RegisterKind.HOLDING),
        Register(4, kind=RegisterKind.INPUT),  # 2-register gap
        Register(20, kind=RegisterKind.INPUT),  # 14-register gap
    ]
    plan = plan_reads(registers, max_gap=2)
    assert [(b.kind, b.address, b.count) for b in plan] == [
        (RegisterKind.HOLDING, 0, 2),
        (RegisterKind.INPUT, 0, 6),
        (RegisterKind.INPUT, 20, 2),
    ]
    assert len(plan_reads(registers, max_gap=0)) == 4


@given(
    st.lists(
        st.builds(
            Register,
            address=st.integers(0, 300),
            data_type=st.sampled_from(DataType),
            kind=st.sampled_from(RegisterKind),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(2, 125),
    st.integers(0, 10),
)
def test_plan_reads_properties(
    registers: list[Register], max_registers: int, max_gap: int
) -> None:
    plan = plan_reads(registers, max_registers, max_gap)
    for register in registers:
        assert any(block.covers(register) for block in plan)
    for block in plan:
        assert 1 <= block.count <= max_registers
    # a block ends where the next value is too far away or would not fit
    for first, second in itertools.pairwise(plan):
        if first.kind is second.kind:
            assert second.address > first.address
            # The value that opened the second block: the longest at its start.
            first_of_second = max(
                (
                    r
                    for r in registers
                    if second.covers(r) and r.address == second.address
                ),
                key=lambda r: r.count,
            )
            assert (
                second.address - first.end > max_gap
                or first_of_second.end - first.address > max_registers
            )
    assert len(plan) <= len(set(registers))


def test_profile_refuses_inconsistent_maps() -> None:
    with pytest.raises(ValueError, match="per phase"):
        MeterProfile(
            key="bad",
            name="Bad",
            phases=3,
            voltages=(Register(0),),
            currents=(Register(6),),
            total_power=Register(12),
        )
    with pytest.raises(ValueError, match="total power"):
        MeterProfile(
            key="bad",
            name="Bad",
            phases=1,
            voltages=(Register(0),),
            currents=(Register(6),),
        )


def test_a_short_value_inside_a_long_one_opens_no_block() -> None:
    """An int16 and a float32 at one address: the float32 decides the block, so
    the int16 is read with it rather than in the block before (read twice)."""
    f32_95 = Register(95, DataType.FLOAT32, RegisterKind.INPUT)
    f32_100 = Register(100, DataType.FLOAT32, RegisterKind.INPUT)
    i16_100 = Register(100, DataType.INT16, RegisterKind.INPUT)
    plan = plan_reads([f32_95, i16_100, f32_100], max_registers=6, max_gap=3)
    assert [(b.address, b.count) for b in plan] == [(95, 2), (100, 2)]

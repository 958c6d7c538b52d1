"""Meter register maps as data: which register holds which quantity, and how to read it.

A :class:`MeterProfile` lists, for one meter model, the registers of the quantities we
use: per-phase voltage (V), current (A) and active power (W), total active power (W)
and the import/export energy counters (kWh). Each :class:`Register` says where the
value is (input or holding register, address as sent on the wire, zero-based), how it
is encoded (:class:`~.codec.DataType`, :class:`~.codec.WordOrder`) and the factor
that turns the raw number into the unit above.

Sign convention of every profile: active power is **positive when imported** (drawn
from the grid through the meter). A meter that counts the other way gets a negative
``scale`` on its power registers.

:func:`plan_reads` groups a profile's registers into as few read requests as the
meter allows (:attr:`MeterProfile.max_registers_per_read`, never more than the 125 of
the Modbus specification; gaps of unlisted registers are only read across up to
:attr:`MeterProfile.max_gap` registers, because some meters refuse them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
import math
from types import MappingProxyType
from typing import Protocol

from .codec import DataType, WordOrder, decode, encode

MODBUS_MAX_READ = 125
"""Registers one read request may ask for (Modbus application protocol, 0x7D)."""


class RegisterKind(StrEnum):
    """Which table a register is in (and so which function code reads it)."""

    INPUT = "input"
    """Read with function 04 (read input registers)."""
    HOLDING = "holding"
    """Read with function 03 (read holding registers)."""


@dataclass(frozen=True, slots=True)
class Register:
    """One value in a meter's register map."""

    address: int
    """Zero-based address of the first register, as sent in the request."""
    data_type: DataType = DataType.FLOAT32
    kind: RegisterKind = RegisterKind.INPUT
    scale: float = 1.0
    """Value in our unit = raw value × scale (e.g. 0.1 for a meter counting 0.1 V)."""
    word_order: WordOrder = WordOrder.MSW_FIRST

    def __post_init__(self) -> None:
        if self.address < 0 or self.address + self.count > 0x10000:
            raise ValueError(f"register address {self.address} is out of range")
        if not math.isfinite(self.scale) or self.scale == 0:
            raise ValueError(f"scale must be finite and non-zero, not {self.scale}")

    @property
    def count(self) -> int:
        """Number of 16-bit registers the value occupies."""
        return self.data_type.register_count

    @property
    def end(self) -> int:
        """Address just after the value."""
        return self.address + self.count

    def decode(self, words: Sequence[int]) -> float:
        """The value in our unit (may be NaN/inf if a float register says so)."""
        return float(decode(words, self.data_type, self.word_order)) * self.scale

    def encode(self, value: float) -> tuple[int, ...]:
        """The words a meter would send for ``value`` (integers rounded to the step)."""
        raw = value / self.scale
        if self.data_type.is_integer and math.isfinite(raw):
            raw = round(raw)
        return encode(raw, self.data_type, self.word_order)


class Span(Protocol):
    """Consecutive registers of one table: a meter's :class:`Register`, or a
    value of a charger's map (``charger_maps.Field``)."""

    @property
    def kind(self) -> RegisterKind:
        """Holding or input registers."""

    @property
    def address(self) -> int:
        """The first register."""

    @property
    def count(self) -> int:
        """How many registers."""

    @property
    def end(self) -> int:
        """Address just after the last one."""


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers of one kind from ``address`` on."""

    kind: RegisterKind
    address: int
    count: int

    @property
    def end(self) -> int:
        """Address just after the block."""
        return self.address + self.count

    def covers(self, register: Span) -> bool:
        """True if the block returns every word of ``register``."""
        return (
            register.kind is self.kind
            and self.address <= register.address
            and register.end <= self.end
        )

    def words_of(self, register: Span, words: Sequence[int]) -> Sequence[int]:
        """The part of this block's ``words`` that holds ``register``."""
        start = register.address - self.address
        return words[start : start + register.count]


def plan_reads(
    registers: Iterable[Span],
    max_registers: int = MODBUS_MAX_READ,
    max_gap: int = 0,
) -> tuple[ReadBlock, ...]:
    """Group ``registers`` into as few contiguous read requests as the limits allow.

    A block never exceeds ``max_registers`` and reads across at most ``max_gap``
    registers that hold nothing we asked for; a value is never split between blocks.
    """
    if not 1 <= max_registers <= MODBUS_MAX_READ:
        raise ValueError(f"max_registers must be 1..{MODBUS_MAX_READ}")
    if max_gap < 0:
        raise ValueError("max_gap must not be negative")
    blocks: list[ReadBlock] = []
    # At one address the longest value first: shorter ones there are inside it
    # (a block is never opened for the short one and the long one read again).
    ordered = sorted(set(registers), key=lambda r: (r.kind, r.address, -r.count))
    for register in ordered:
        if register.count > max_registers:
            raise ValueError(f"{register} does not fit in {max_registers} registers")
        if blocks:
            last = blocks[-1]
            if (
                register.kind is last.kind
                and register.address - last.end <= max_gap
                and register.end - last.address <= max_registers
            ):
                end = max(last.end, register.end)
                blocks[-1] = ReadBlock(last.kind, last.address, end - last.address)
                continue
        blocks.append(ReadBlock(register.kind, register.address, register.count))
    return tuple(blocks)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterProfile:
    """The register map of one meter model (only the quantities we use)."""

    key: str
    """Stable identifier, stored in config entries (e.g. ``"sdm630"``)."""
    name: str
    """Manufacturer and model, for people."""
    phases: int
    voltages: tuple[Register, ...]
    """Line-to-neutral voltage of L1, L2, L3 (V), one per phase."""
    currents: tuple[Register, ...]
    """Current of L1, L2, L3 (A), one per phase."""
    powers: tuple[Register, ...] = ()
    """Active power of L1, L2, L3 (W, import positive), one per phase, or none."""
    total_power: Register | None = None
    """Total active power (W, import positive); the phases' sum if absent."""
    import_energy: Register | None = None
    """Imported active energy counter (kWh)."""
    export_energy: Register | None = None
    """Exported active energy counter (kWh)."""
    max_registers_per_read: int = MODBUS_MAX_READ
    max_gap: int = 0
    sources: tuple[str, ...] = ()
    """Where the map was checked (documentation addresses)."""

    def __post_init__(self) -> None:
        if self.phases not in (1, 2, 3):
            raise ValueError(f"{self.key}: phases must be 1, 2 or 3")
        if len(self.voltages) != self.phases or len(self.currents) != self.phases:
            raise ValueError(f"{self.key}: one voltage and one current per phase")
        if len(self.powers) not in (0, self.phases):
            raise ValueError(f"{self.key}: per-phase powers for every phase or none")
        if self.total_power is None and not self.powers:
            raise ValueError(f"{self.key}: needs a total power or per-phase powers")
        if not 1 <= self.max_registers_per_read <= MODBUS_MAX_READ:
            raise ValueError(f"{self.key}: max_registers_per_read out of range")
        self.read_plan()  # every register must fit in a block

    def registers(self) -> tuple[Register, ...]:
        """Every register the profile reads."""
        optional = (self.total_power, self.import_energy, self.export_energy)
        return (
            *self.voltages,
            *self.currents,
            *self.powers,
            *(register for register in optional if register is not None),
        )

    def read_plan(self) -> tuple[ReadBlock, ...]:
        """The read requests that fetch every register of the profile."""
        return plan_reads(self.registers(), self.max_registers_per_read, self.max_gap)


def _eastron(address: int) -> Register:
    """Eastron: IEEE 754 float in two input registers, high word first."""
    return Register(address, DataType.FLOAT32, RegisterKind.INPUT)


def _gavazzi(address: int, scale: float) -> Register:
    """Carlo Gavazzi: INT32 in two input registers, low word first."""
    return Register(
        address, DataType.INT32, RegisterKind.INPUT, scale, WordOrder.LSW_FIRST
    )


def _eastron_phases(first: int, phases: int) -> tuple[Register, ...]:
    """L1, L2, L3 of one quantity: Eastron keeps them in consecutive floats."""
    return tuple(_eastron(first + 2 * phase) for phase in range(phases))


def _eastron_profile(
    key: str,
    name: str,
    phases: int,
    *,
    total_power: Register | None = None,
    sources: tuple[str, ...],
) -> MeterProfile:
    """An Eastron SDM meter: the models share one input register map.

    A single-phase model (SDM120) has L1's registers of the three-phase one (SDM630):
    30001 voltage, 30007 current, 30013 active power; both count energy at 30073
    (import) and 30075 (export).
    """
    return MeterProfile(
        key=key,
        name=name,
        phases=phases,
        voltages=_eastron_phases(0x0000, phases),  # from 30001, line to neutral
        currents=_eastron_phases(0x0006, phases),  # from 30007
        powers=_eastron_phases(0x000C, phases),  # from 30013, active power
        total_power=total_power,
        import_energy=_eastron(0x0048),  # 30073 "Total import kWh"
        export_energy=_eastron(0x004A),  # 30075 "Total export kWh"
        # "Do not attempt to read more than 40 parameters (80 registers)" per request
        # (the SDM630's manual); the SDM120 is read within the same.
        max_registers_per_read=80,
        sources=sources,
    )


SDM630 = _eastron_profile(
    "sdm630",
    "Eastron SDM630",
    3,
    total_power=_eastron(0x0034),  # 30053 "Total system power"
    sources=(
        "https://manualshive.com/en/manual/eastron/sdm630-modbus-mid-v2/522581?page=28",
        "https://lamaplc.com/doku.php?do=export_raw&id=meas%3Aeastron_sdm_modbus",
        "https://ob121.com/doku.php?do=export_raw&id=de:hw:eastron_modbus",
    ),
)
"""Eastron SDM630 (Modbus V2, MID): three-phase, float32 input registers (FC 04)."""

SDM120 = _eastron_profile(
    "sdm120",
    "Eastron SDM120",
    1,
    sources=(
        "https://cdn.shopify.com/s/files/1/0418/3749/4423/files/Eastron_SDM120_CT_Series_Electricity_Meters__Modbus_Protocol.pdf",
        "https://raw.githubusercontent.com/nobrega8/mbmap-library/main/maps/eastron/sdm120-m.mbmap.json",
        "https://github.com/syssi/esphome-modbus-solax-x1/files/8323539/eastron-sdm230-protocol-v14.pdf",
    ),
)
"""Eastron SDM120 (Modbus): single-phase, float32 input registers (FC 04)."""

EM24 = MeterProfile(
    key="em24",
    name="Carlo Gavazzi EM24-DIN",
    phases=3,
    voltages=(  # V L1-N .. V L3-N, Volt × 10
        _gavazzi(0x0000, 0.1),
        _gavazzi(0x0002, 0.1),
        _gavazzi(0x0004, 0.1),
    ),
    currents=(  # A L1 .. A L3, Ampere × 1000
        _gavazzi(0x000C, 0.001),
        _gavazzi(0x000E, 0.001),
        _gavazzi(0x0010, 0.001),
    ),
    powers=(  # W L1 .. W L3, Watt × 10; imported active power is positive
        _gavazzi(0x0012, 0.1),
        _gavazzi(0x0014, 0.1),
        _gavazzi(0x0016, 0.1),
    ),
    total_power=_gavazzi(0x0028, 0.1),  # W Σ, Watt × 10
    import_energy=_gavazzi(0x003E, 0.1),  # kWh(+) TOT, kWh × 10
    export_energy=_gavazzi(0x005C, 0.1),  # kWh(-) TOT, kWh × 10
    # Carlo Gavazzi's protocol documents allow 11 words per request "when not
    # differently specified": stay within that.
    max_registers_per_read=11,
    sources=(
        "http://www.manualshelf.com/manual/carlo-gavazzi/em24dinav93xo2x/3-2-1-user-manual-english/page-8.html",
        "http://38.142.81.21:8001/manual/carlo-gavazzi/em24dinav93xo2x/3-2-1-user-manual-english/page-7.html",
        "https://manualshive.com/en/manual/carlo-gavazzi/em-21/2558682?page=4",
        "http://www.aggsoft.com/serial-data-logger/tutorials/modbus-data-logging/carlo-gavazzi-em24.htm",
    ),
)
"""Carlo Gavazzi EM24-DIN: three-phase, INT32 (low word first) input registers."""

PROFILES: Mapping[str, MeterProfile] = MappingProxyType(
    {profile.key: profile for profile in (SDM630, SDM120, EM24)}
)
"""Every built-in profile by :attr:`MeterProfile.key`."""


def get_profile(profile: MeterProfile | str) -> MeterProfile:
    """A profile given itself or its key (``KeyError`` for an unknown key)."""
    if isinstance(profile, MeterProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise KeyError(f"unknown meter profile {profile!r}") from None

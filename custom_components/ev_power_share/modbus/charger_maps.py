"""Modbus TCP charger register maps as data: where a charger takes its limit,
its failsafe, its keep-alive, and where it shows its state, currents and energy.

One frozen :class:`ChargerMap` per model (:data:`CHARGER_MAPS`). Every address is
zero-based as sent on the wire. A map says:

* **the limit** (:class:`LimitSpec`): the register written, the one read back
  (the confirmation), its type and scale (raw × scale = A), range and step, and
  how a pause is written (0 A, or an enable register);
* **the failsafe** (:class:`FailsafeSpec`): the registers of the failsafe current
  and of the communication timeout, programmed at connect where they are
  writable (read only where the charger keeps them in its own set-up), so the
  charger falls back by itself when Home Assistant stops talking to it;
* **the keep-alive** (:class:`KeepAlive`): what resets the charger's timeout
  (any request, a life bit written periodically, or the limit written again);
* **status** (:class:`Codes`): which raw codes mean a vehicle is connected, and
  which that it is charging; **per-phase currents** and **energy**;
* **a write budget** (``writes`` in ``window_s``, for the command writer's
  ``WriteBudget``): chargers that keep their settings in flash or EEPROM get
  fewer writes (decreases always go out).

No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import math
import struct
from types import MappingProxyType
from typing import Literal

from .profiles import RegisterKind

type ValueType = Literal[
    "uint16", "int16", "uint32", "int32", "float32", "float64", "int64", "string"
]

_FORMATS: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        "uint16": (">H", 1),
        "int16": (">h", 1),
        "uint32": (">I", 2),
        "int32": (">i", 2),
        "float32": (">f", 2),
        "float64": (">d", 4),
        "int64": (">q", 4),
    }
)
HOLDING = RegisterKind.HOLDING
INPUT = RegisterKind.INPUT


@dataclass(frozen=True, slots=True)
class Field:
    """One value in a charger's registers (most significant word first)."""

    address: int
    type: ValueType = "uint16"
    scale: float = 1.0
    """Value in our unit (A, s, kWh) = raw × scale."""
    kind: RegisterKind = HOLDING
    length: int = 1
    """Registers of a ``"string"`` (two ASCII characters each)."""

    def __post_init__(self) -> None:
        """Check the address and scale."""
        if self.address < 0 or self.address + self.count > 0x10000:
            raise ValueError(f"register address {self.address} is out of range")
        if not math.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(f"scale must be finite and positive, not {self.scale}")

    @property
    def count(self) -> int:
        """Registers the value occupies."""
        return self.length if self.type == "string" else _FORMATS[self.type][1]

    @property
    def most(self) -> float:
        """The largest value it can hold, in our unit (for a whole number)."""
        bits = {"uint16": 16, "uint32": 32, "int16": 15, "int32": 31, "int64": 63}
        if self.type not in bits:
            return math.inf
        return float(2 ** bits[self.type] - 1) * self.scale

    @property
    def end(self) -> int:
        """Address just after the value."""
        return self.address + self.count

    def at(self, offset: int) -> Field:
        """The same value ``offset`` registers further (another charging point)."""
        return Field(
            self.address + offset, self.type, self.scale, self.kind, self.length
        )

    def raw(self, words: Sequence[int]) -> int | float | str:
        """The raw value in ``words`` (a string without its trailing NULs)."""
        if len(words) != self.count or any(not 0 <= w <= 0xFFFF for w in words):
            raise ValueError(f"{self.type} needs {self.count} 16-bit registers")
        payload = b"".join(w.to_bytes(2, "big") for w in words)
        if self.type == "string":
            return payload.split(b"\0", 1)[0].decode("ascii", "replace").strip()
        value: int | float = struct.unpack(_FORMATS[self.type][0], payload)[0]
        return value

    def decode(self, words: Sequence[int]) -> float:
        """The value in our unit (NaN for a string or a float the charger says is
        not a number: callers screen it)."""
        raw = self.raw(words)
        return math.nan if isinstance(raw, str) else float(raw) * self.scale

    def encode(self, value: float) -> tuple[int, ...]:
        """The words holding ``value`` (in our unit; integers rounded to the step)."""
        raw: float = value / self.scale
        fmt = _FORMATS[self.type][0]
        if self.type.startswith(("uint", "int")):
            payload = struct.pack(fmt, round(raw))
        else:
            payload = struct.pack(fmt, raw)
        return tuple(
            int.from_bytes(payload[i : i + 2], "big") for i in range(0, len(payload), 2)
        )

    def encode_text(self, text: str) -> tuple[int, ...]:
        """The words of a string value (padded with NULs)."""
        payload = text.encode("ascii").ljust(2 * self.count, b"\0")[: 2 * self.count]
        return tuple(
            int.from_bytes(payload[i : i + 2], "big") for i in range(0, len(payload), 2)
        )


@dataclass(frozen=True, slots=True)
class Codes:
    """Which raw codes of a status register mean "yes" (connected, charging)."""

    field: Field
    on: frozenset[int | str]
    off: int | str
    """A code that means "no" (what a simulator shows; never matched)."""
    shift: int = 0
    mask: int = 0xFFFFFFFF
    """An integer code is ``(raw >> shift) & mask`` (a state in one byte)."""

    def code(self, words: Sequence[int]) -> int | str:
        """The code in ``words``."""
        raw = self.field.raw(words)
        if isinstance(raw, str):
            return raw
        return (int(raw) >> self.shift) & self.mask

    def matches(self, words: Sequence[int]) -> bool:
        """Whether ``words`` hold one of the "yes" codes."""
        return self.code(words) in self.on

    def words(self, code: int | str) -> tuple[int, ...]:
        """The words a charger shows for ``code`` (for simulators)."""
        if isinstance(code, str):
            return self.field.encode_text(code)
        return self.field.encode(float(code << self.shift))


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """How the charger takes its current limit."""

    write: Field
    read: Field
    """Read back after a write: the charger's confirmation (A after scale)."""
    minimum_a: float = 6.0
    maximum_a: float = 32.0
    step_a: float = 1.0
    pause: Field | None = None
    """An enable register (1 on, 0 paused) where 0 A is not taken; None: 0 A pauses."""
    single_write: bool = False
    """Written with function 06 (else 16, write multiple registers)."""


@dataclass(frozen=True, slots=True)
class FailsafeSpec:
    """What the charger applies when it hears nothing from us."""

    current: Field | None = None
    """The failsafe current (A); None: set on the charger only (its own set-up)."""
    current_writable: bool = False
    timeout: Field | None = None
    """The communication timeout (s); None: fixed, or set on the charger."""
    timeout_writable: bool = False
    timeout_readable: bool = True
    """The timeout reads back where it is written (then it is written only
    where it differs: flash wear)."""
    timeout_s: float = 60.0
    """What we program where writable and no watchdog is asked for (see
    :meth:`timeout_for`), else what the charger is assumed to use."""
    validity: Field | None = None
    """The time (s) the limit written is still valid (0: it lapsed to the failsafe)."""

    def timeout_for(self, wanted_s: float | None) -> float:
        """The communication timeout the charger uses when we want ``wanted_s``
        (the site's charger watchdog): that, within what its register holds,
        where we program it; else :attr:`timeout_s`."""
        if wanted_s is None or self.timeout is None or not self.timeout_writable:
            return self.timeout_s
        return min(wanted_s, self.timeout.most)


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """What keeps the charger's communication timeout from running out."""

    how: Literal["any_request", "register", "limit"]
    """Any request (our polls); a life bit written every ``period_s``; or the
    limit written again (the command writer's refresh)."""
    field: Field | None = None
    value: int = 1
    period_s: float = 5.0


@dataclass(frozen=True, slots=True)
class ChargerMap:
    """The register map of one charger model (only what we use)."""

    key: str
    maker: str
    model: str
    source: str
    """Where the registers come from (for reviewers and bug reports)."""
    limit: LimitSpec
    failsafe: FailsafeSpec
    keep_alive: KeepAlive
    connected: Codes
    charging: Codes
    currents: tuple[Field, ...]
    energy: Field | None = None
    """kWh after scale."""
    energy_is_session: bool = False
    """The counter restarts with each session (else it only grows)."""
    default_unit: int = 1
    default_port: int = 502
    max_sockets: int = 1
    socket_units: bool = False
    """Each socket is its own unit id (first unit + socket − 1)."""
    socket_offset: int = 0
    """Each socket's registers are ``socket × offset`` further."""
    budget: tuple[int, float] | None = None
    """At most this many limits in this many seconds (None: no budget)."""
    refresh_s: float | None = None
    """Re-send an unchanged limit this often (a limit with a validity time)."""
    max_gap: int = 16

    @property
    def name(self) -> str:
        """Maker and model, as a device shows them."""
        return f"{self.maker} {self.model}"

    def fields(self) -> tuple[Field, ...]:
        """Every value one poll reads (of the first socket)."""
        values = [
            self.limit.read,
            self.connected.field,
            self.charging.field,
            *self.currents,
        ]
        extras = (self.energy, self.limit.pause, self.failsafe.validity)
        values.extend(extra for extra in extras if extra is not None)
        return tuple(values)

    def socket_field(self, value: Field, socket: int) -> Field:
        """``value`` of one socket (1 = the first)."""
        return value.at(self.socket_offset * socket) if self.socket_offset else value

    def unit_of(self, unit: int, socket: int) -> int:
        """The unit id of a socket (``unit``: the charger's first)."""
        return unit + socket - 1 if self.socket_units else unit


_MODE3_CONNECTED = frozenset({"B1", "B2", "C1", "C2", "D1", "D2"})
_MODE3_CHARGING = frozenset({"C2", "D2"})
_ALFEN_STATE = Field(1201, "string", length=5)

ALFEN_EVE = ChargerMap(
    key="alfen_eve",
    maker="Alfen",
    model="Eve",
    source=(
        "Alfen, 'Modbus Slave TCP/IP for Alfen NG9xx platform' v2.3 (2020): socket "
        "registers on unit id 1 (socket 2: unit id 2), station registers on 200; "
        "holding registers only; evcc's alfen charger"
    ),
    limit=LimitSpec(
        write=Field(1210, "float32"),
        read=Field(1210, "float32"),
        minimum_a=6.0,
        maximum_a=32.0,
        step_a=0.1,
    ),
    # The safe current (1212) and the validity time are the charger's own set-up
    # (ACE Service Installer, default 60 s); 1208 counts down the validity.
    failsafe=FailsafeSpec(
        current=Field(1212, "float32"),
        timeout_s=60.0,
        validity=Field(1208, "uint32"),
    ),
    keep_alive=KeepAlive("limit", period_s=25.0),
    connected=Codes(_ALFEN_STATE, _MODE3_CONNECTED, "A"),
    charging=Codes(_ALFEN_STATE, _MODE3_CHARGING, "B2"),
    currents=(Field(320, "float32"), Field(322, "float32"), Field(324, "float32")),
    energy=Field(374, "float64", scale=0.001),
    max_sockets=2,
    socket_units=True,
    budget=(12, 60.0),
    refresh_s=25.0,
)

_ABB_STATE = Field(0x400C, "uint32")
ABB_TERRA_AC = ChargerMap(
    key="abb_terra_ac",
    maker="ABB",
    model="Terra AC",
    source=(
        "ABB, 'TACWB Modbus Communication' (Terra AC wallbox, 2021): 0x4000 range "
        "read, 0x4100 range written; evcc's abb charger"
    ),
    limit=LimitSpec(
        write=Field(0x4100, "uint32", scale=0.001),
        read=Field(0x400E, "uint32", scale=0.001),
        minimum_a=6.0,
        maximum_a=32.0,
        step_a=0.1,
    ),
    # The fallback current is the charger's own set-up (TerraConfig); the
    # communication timeout is written at 0x4106 (write only: written at each
    # connect).
    failsafe=FailsafeSpec(
        timeout=Field(0x4106, "uint16"),
        timeout_writable=True,
        timeout_readable=False,
        timeout_s=30.0,
    ),
    keep_alive=KeepAlive("any_request"),
    connected=Codes(_ABB_STATE, frozenset({1, 2, 3, 4}), 0, shift=8, mask=0x7F),
    charging=Codes(_ABB_STATE, frozenset({4}), 2, shift=8, mask=0x7F),
    currents=tuple(Field(0x4010 + 2 * i, "uint32", scale=0.001) for i in range(3)),
    energy=Field(0x401E, "uint32", scale=0.001),
    energy_is_session=True,
    budget=(4, 60.0),
)

_CHARX_STATE = Field(1299, "uint16")
PHOENIX_CHARX = ChargerMap(
    key="phoenix_charx",
    maker="Phoenix Contact",
    model="CHARX SEC-3xxx",
    source=(
        "Phoenix Contact CHARX SEC-3xxx Modbus server (charging point n at n × 1000 "
        "+ register, holding and input alike); evcc's phoenix-charx charger"
    ),
    limit=LimitSpec(
        write=Field(301, "uint16"),
        read=Field(301, "uint16"),
        minimum_a=6.0,
        maximum_a=32.0,
        pause=Field(300, "uint16"),
    ),
    # Its fallback current and Modbus timeout are set in its web-based management.
    failsafe=FailsafeSpec(timeout_s=60.0),
    keep_alive=KeepAlive("any_request"),
    connected=Codes(
        _CHARX_STATE, frozenset({ord("B"), ord("C"), ord("D")}), ord("A"), shift=8
    ),
    charging=Codes(_CHARX_STATE, frozenset({ord("C"), ord("D")}), ord("B"), shift=8),
    currents=tuple(Field(238 + 2 * i, "int32", scale=0.001) for i in range(3)),
    energy=Field(250, "int64", scale=0.001),
    max_sockets=4,
    socket_offset=1000,
    budget=(12, 60.0),
)

WEBASTO_VESTEL = ChargerMap(
    key="webasto_unite",
    maker="Webasto / Vestel",
    model="Unite / EVC04",
    source=(
        "Vestel EVC04 Modbus TCP register map (also Webasto Unite): unit id 255; "
        "state in input registers, settings in holding registers; evcc's vestel "
        "charger"
    ),
    limit=LimitSpec(
        write=Field(5004, "uint16"),
        read=Field(5004, "uint16"),
        minimum_a=6.0,
        maximum_a=32.0,
        single_write=True,
    ),
    failsafe=FailsafeSpec(
        current=Field(2000, "uint16"),
        current_writable=True,
        timeout=Field(2002, "uint16"),
        timeout_writable=True,
        timeout_s=20.0,
    ),
    keep_alive=KeepAlive("register", Field(6000, "uint16"), 1, period_s=5.0),
    connected=Codes(Field(1004, kind=INPUT), frozenset({2, 3}), 0),
    charging=Codes(Field(1001, kind=INPUT), frozenset({1}), 0),
    currents=tuple(Field(1008 + 2 * i, scale=0.001, kind=INPUT) for i in range(3)),
    energy=Field(1036, "uint32", scale=0.1, kind=INPUT),
    default_unit=255,
    budget=(12, 60.0),
)

HEIDELBERG_EC = ChargerMap(
    key="heidelberg_ec",
    maker="Heidelberg",
    model="Energy Control",
    source=(
        "Heidelberg 'Energy Control ModBus register table' (2021-02-22); evcc's "
        "heidelberg charger. Any request resets its watchdog (257, in ms)"
    ),
    limit=LimitSpec(
        write=Field(261, "uint16", scale=0.1),
        read=Field(261, "uint16", scale=0.1),
        minimum_a=6.0,
        maximum_a=16.0,
        step_a=0.1,
    ),
    failsafe=FailsafeSpec(
        current=Field(262, "uint16", scale=0.1),
        current_writable=True,
        timeout=Field(257, "uint16", scale=0.001),
        timeout_writable=True,
        timeout_s=15.0,
    ),
    keep_alive=KeepAlive("any_request"),
    connected=Codes(Field(5, kind=INPUT), frozenset({4, 5, 6, 7, 8}), 2),
    charging=Codes(Field(5, kind=INPUT), frozenset({7, 8}), 5),
    currents=tuple(Field(6 + i, scale=0.1, kind=INPUT) for i in range(3)),
    energy=Field(17, "uint32", scale=0.001, kind=INPUT),
    # It keeps its settings in non-volatile memory: few writes.
    budget=(4, 60.0),
)

CHARGER_MAPS: Mapping[str, ChargerMap] = MappingProxyType(
    {
        m.key: m
        for m in (ALFEN_EVE, ABB_TERRA_AC, PHOENIX_CHARX, WEBASTO_VESTEL, HEIDELBERG_EC)
    }
)
"""Every map, by the key a configuration stores."""


def get_map(key: ChargerMap | str) -> ChargerMap:
    """The map of ``key`` (a map passes through); ValueError for an unknown key."""
    if isinstance(key, ChargerMap):
        return key
    try:
        return CHARGER_MAPS[key]
    except KeyError:
        raise ValueError(f"unknown charger model {key!r}") from None

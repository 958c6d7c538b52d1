"""Soak benchmark: a real Home Assistant site, 200 OCPP chargers, hostile load.

    .venv/bin/python bench/soak.py                 # 5 minutes, 200 chargers, 10^5 bad frames
    .venv/bin/python bench/soak.py --minutes 1 --chargers 20 --frames 5000   # a smoke run

What runs: a real Home Assistant (the pytest-homeassistant-custom-component
harness, so nothing touches your configuration) with one EV Power Share site
(3-phase 400 V, an 800 A main breaker, 2 panels of 10 circuits, a 2 s control
interval) whose OCPP central system listens on 127.0.0.1 on a free port. The
site has ``--chargers`` chargers (config subentries, each with a 16+ character
password; a mix of 1-phase and 3-phase connections) and four more configured
ids that only a hostile client uses (``bad-1`` .. ``bad-4``).

The load comes from a separate process (this file with ``--load``), so that it
shares neither the event loop nor the CPU accounting of the server measured:

* every charger (simulated, real OCPP 1.6J or 2.0.1 over a websocket) connects
  with its password, boots, plugs a vehicle in, starts a transaction, and sends
  meter values every 10 s with currents just under the limit it holds (a
  charger whose socket closes reconnects, as chargers do);
* one good charger (the first) sends a Heartbeat every second (round-trip
  time), and every 15-20 s stops its transaction and unplugs (until its limit
  drops to 0), then plugs in and starts again: the setpoint latency is the time
  from that plug-in until the central system's SetChargingProfile gives it a
  limit above 0;
* hostile load for the whole soak: ``--frames`` malformed frames paced over it
  (mutated and reshaped OCPP calls, cut and deeply nested JSON, random text and
  bytes, stray answers, unknown actions; like tests/fuzz/test_ocpp_fuzz.py),
  from six websockets (two unknown ids held pending, the four ``bad-*`` ids
  with their passwords), with a few implausible meter values besides; 240 idle
  TCP sockets from 127.0.0.2-7 and 24 half-finished HTTP upgrades from
  127.0.0.8-9, re-opened whenever the server closes them; and a failed
  password attempt (wrong or missing) every 0.5 s from 127.0.0.10.

Warm-up (every charger online and charging) is measured apart; the soak lasts
``--minutes``. At the end it prints a table: durations; chargers connected and
online (the runtime's ``ocpp.online``); frames sent and malformed frames counted
by the central system (``Station.malformed_frames``, disconnected stations
included); crashes (exceptions reaching the event loop's exception handler,
failed control cycles, ERROR records of the integration or the ``ocpp``
library); control cycles; the server's RSS, CPU and event-loop lag; heartbeat
and setpoint latencies; log bytes per minute (each record formatted as Home
Assistant's default log format, at WARNING and above as home-assistant.log
keeps them, and at INFO and above as the console shows them); refused and
open connections. It prints figures and asserts nothing.

Besides RSS, the heap at each minute of the soak: pymalloc blocks in use,
glibc malloc's heap (taken, in use, free), and the bytes of the bench's own
records kept in the server (loop-lag samples, gc timings, RSS samples, log
counters), so that growth of the bench's bookkeeping is measured apart.
``--no-hostile`` runs the chargers and probes only; ``--trace-memory`` adds
tracemalloc and gc object counts (see :class:`MemoryTrace`).

The harness runs its event loop in debug mode; the soak turns that off (Home
Assistant runs without it), mutes the harness's console log handler (records
are counted, not printed), and runs pytest without its log capture (which
would keep every record in memory).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Sequence
import contextlib
from dataclasses import asdict, dataclass, field
import gc
import json
import logging
import math
import os
from pathlib import Path
import random
import resource
import signal
import sys
import time
import tracemalloc
from typing import Any

SELF = Path(__file__).resolve()
sys.path.insert(0, str(SELF.parent.parent))
if __name__ != "__main__":
    # Imported by pytest (the server side): before the harness mounts its own
    # custom_components (as tests/conftest.py does).
    import custom_components.ev_power_share  # noqa: F401

ENV = "EV_POWER_SHARE_SOAK"
"""How ``main`` hands the options to the pytest run (JSON)."""
HOST = "127.0.0.1"

# The site.
MAIN_BREAKER_A = 800.0
PANELS = 2
CIRCUITS_PER_PANEL = 10
PANEL_A = 400.0
CIRCUIT_A = 63.0
INTERVAL_S = 2.0
MAX_CURRENT_A = 32.0
BAD_IDS = ("bad-1", "bad-2", "bad-3", "bad-4")
STRANGERS = ("stranger-1", "stranger-2")

# The load.
METER_EVERY_S = 10.0
HEARTBEAT_EVERY_S = 1.0
SETPOINT_EVERY_S = (15.0, 20.0)
STEP_S = 15.0
"""Bound of one network step (a call, a connect)."""
LIMIT_BOUND_S = 30.0
"""How long the good charger waits for its limit to change."""
CONNECT_SLOTS = 8
"""Chargers connecting at once (all from 127.0.0.1: the central system keeps
at most 16 unproven connections per address)."""
IDLE_ADDRESSES = tuple(f"127.0.0.{n}" for n in range(2, 8))
IDLE_PER_ADDRESS = 40
UPGRADE_ADDRESSES = ("127.0.0.8", "127.0.0.9")
UPGRADES_PER_ADDRESS = 12
GUESSER_ADDRESS = "127.0.0.10"
GUESS_EVERY_S = 0.5
HOSTILE_ADDRESS = "127.0.0.11"
HOSTILE_TICK_S = 0.05
HOSTILE_BURST = 64
"""Frames one hostile socket sends at most per tick (it catches up after a
reconnect at this pace)."""
PACED_SHARE = 0.97
"""The frames are spread over this much of the soak (all are sent before it ends)."""
IMPLAUSIBLE_SHARE = 0.02
"""Well-formed meter values with absurd figures, sent on top of ``--frames``."""

# The server's watch.
LAG_TICK_S = 0.05
RSS_EVERY_S = 1.0
TRACE_FRAMES = 25
TRACE_SKIP_S = 60.0
"""With ``--trace-memory``: the growth compared starts this far into the soak."""
TRACE_LATE_S = 10.0
"""With ``--trace-memory``: a point this long before the soak ends (under load)."""
TRACE_TOP = 15
TRACE_STACKS = 5
TRACE_STACK_DEPTH = 12
HA_LOG_FORMAT = (
    "%(asctime)s.%(msecs)03d %(levelname)s (%(threadName)s) [%(name)s] %(message)s"
)
OUR_LOGGERS = ("custom_components.ev_power_share", "ocpp")

_LOAD_PID: list[int] = []
"""The running load process (killed at exit if still there)."""


# --- shared by both processes ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    """What a soak run is asked to do."""

    minutes: float = 5.0
    chargers: int = 200
    frames: int = 100_000
    seed: int = 1
    hostile: bool = True
    """Hostile load (bad frames, idle sockets, half upgrades, wrong passwords);
    off, only the chargers and the good charger's probes run."""
    trace_memory: bool = False
    """Trace the server's allocations (tracemalloc) and objects (gc) during
    the soak, and print where they grew (see :class:`MemoryTrace`)."""

    @property
    def seconds(self) -> float:
        """The soak's length."""
        return 60.0 * self.minutes

    @property
    def warmup_bound_s(self) -> float:
        """How long warm-up may take at most."""
        return 90.0 + 0.5 * self.chargers


def charger_id(index: int) -> str:
    """The charge point id of charger ``index`` (0-based)."""
    return f"cp-{index + 1:04d}"


def password_of(cp_id: str) -> str:
    """Every configured id's HTTP Basic password (16+ characters)."""
    return f"{cp_id}-soak-passphrase"


def version_of(index: int) -> str:
    """OCPP version of charger ``index``: 1.6 and 2.0.1 in turn."""
    return "1.6" if index % 2 == 0 else "2.0.1"


def connection_of(index: int) -> str:
    """Charger ``index``'s connection: one in six 3-phase, the rest 1-phase,
    spread over the legs."""
    if index % 6 == 5:
        return ("L1-L2-L3", "L2-L3-L1", "L3-L1-L2")[(index // 6) % 3]
    return ("L1", "L2", "L3")[index % 3]


def circuit_of(index: int) -> str:
    """Charger ``index``'s circuit (``panel<p>-c<c>``)."""
    circuit = index % (PANELS * CIRCUITS_PER_PANEL)
    return f"panel{circuit // CIRCUITS_PER_PANEL}-c{circuit % CIRCUITS_PER_PANEL}"


def phases_of(index: int) -> int:
    """Phases charger ``index`` draws on."""
    return 3 if "-" in connection_of(index) else 1


def _basic(station_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pct(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def _spread(samples_ms: Sequence[float]) -> str:
    if not samples_ms:
        return "no samples"
    return (
        f"p50 {_pct(samples_ms, 0.5):.1f}  p99 {_pct(samples_ms, 0.99):.1f}  "
        f"max {max(samples_ms):.1f} ms  (n={len(samples_ms)})"
    )


# --- the hostile frames ----------------------------------------------------------

T = "2026-01-01T00:00:00Z"
TEMPLATES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "1.6": [
        ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
        ),
        (
            "MeterValues",
            {
                "connectorId": 1,
                "meterValue": [
                    {
                        "timestamp": T,
                        "sampledValue": [
                            {
                                "value": "16.5",
                                "measurand": "Current.Import",
                                "phase": "L1",
                                "unit": "A",
                            }
                        ],
                    }
                ],
            },
        ),
        (
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": T},
        ),
        ("StopTransaction", {"transactionId": 5, "meterStop": 100, "timestamp": T}),
        ("Authorize", {"idTag": "TAG"}),
        ("DataTransfer", {"vendorId": "x"}),
    ],
    "2.0.1": [
        (
            "BootNotification",
            {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"},
        ),
        (
            "StatusNotification",
            {
                "timestamp": T,
                "connectorStatus": "Occupied",
                "evseId": 1,
                "connectorId": 1,
            },
        ),
        (
            "MeterValues",
            {
                "evseId": 1,
                "meterValue": [
                    {
                        "timestamp": T,
                        "sampledValue": [
                            {
                                "value": 16.5,
                                "measurand": "Current.Import",
                                "phase": "L1",
                                "unitOfMeasure": {"unit": "A"},
                            }
                        ],
                    }
                ],
            },
        ),
        (
            "TransactionEvent",
            {
                "eventType": "Started",
                "timestamp": T,
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": "T1"},
            },
        ),
        ("Authorize", {"idToken": {"idToken": "TAG", "type": "ISO14443"}}),
        ("DataTransfer", {"vendorId": "x"}),
    ],
}
KINDS = {
    "mutated": 34,
    "reshaped": 15,
    "json": 10,
    "text": 10,
    "cut": 10,
    "stray answer": 8,
    "unknown action": 5,
    "extra field": 3,
    "binary": 3,
    "deep": 2,
}
"""Kinds of malformed frame and their weights. (The templates hold required
fields only, so that dropping one, or giving it a value of another JSON type,
makes the frame malformed.)"""
ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    [],
    {},
    {"a": [1, {"b": None}]},
    "",
    "x" * 300,
    "Charging",
    1.5,
    -1,
    2**63,
    math.nan,
    math.inf,
)
RESHAPED: tuple[tuple[Any, ...], ...] = (
    (None, True, [], {}, "2", 9, 5, -1, 1.5, "x" * 300),  # the message type
    (None, True, [], {}, 1.5, -1, 2**63, "x" * 300),  # the message id
    ODD_VALUES,  # the action
    (None, True, [], "x", 1.5, 2**63, [{"a": 1}]),  # the payload
)
"""What replaces each element of a call in a reshaped frame."""
TEXT_CHARS = 'abcXYZ019 {}[]",:\\\n\t\x00é€😀' + "\u202e"


class HostileFrames:
    """Malformed OCPP-J frames (and implausible meter values), seeded."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._kinds = list(KINDS)
        self._weights = list(KINDS.values())

    def _id(self) -> Any:
        roll = self.rng.random()
        if roll < 0.03:
            return self.rng.randint(-5, 5)
        if roll < 0.08:
            return "i" * 40  # over 36 characters
        return "".join(self.rng.choices("abcdef0123456789-", k=self.rng.randint(1, 12)))

    def _json(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if depth > 2 or roll < 0.5:
            return self.rng.choice(ODD_VALUES)
        if roll < 0.75:
            return [self._json(depth + 1) for _ in range(self.rng.randint(0, 3))]
        return {
            self.rng.choice("abcxyz"): self._json(depth + 1)
            for _ in range(self.rng.randint(0, 3))
        }

    def _text(self, limit: int = 80) -> str:
        return "".join(self.rng.choices(TEXT_CHARS, k=self.rng.randint(0, limit)))

    def _wrong_type(self, value: Any) -> Any:
        """A value whose JSON type is not ``value``'s (so the schema refuses it)."""
        if isinstance(value, str):
            pool: tuple[Any, ...] = (None, 1, 1.5, [], {}, True)
        elif isinstance(value, bool | int):
            pool = ("1", None, 1.5, [], {}, "x" * 300)
        elif isinstance(value, float):
            pool = ("16.5", None, [], {}, True)
        elif isinstance(value, list):
            pool = (None, {}, "x", 3)
        else:
            pool = (None, [], "x", 3)
        return self.rng.choice(pool)

    def _mutate(self, payload: dict[str, Any]) -> dict[str, Any]:
        leaves: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            items: Iterable[tuple[Any, Any]] = (
                node.items() if isinstance(node, dict) else enumerate(node)
            )
            for key, child in items:
                leaves.append((node, key))
                if isinstance(child, dict | list) and child:
                    walk(child)

        walk(payload)
        if not leaves:
            payload[self.rng.choice(("x", "extra"))] = self._json()
            return payload
        for parent, key in self.rng.sample(leaves, min(len(leaves), 3)):
            if isinstance(parent, dict) and key not in parent:
                continue  # under a field dropped already
            if parent is payload and self.rng.random() < 0.3:
                del payload[key]  # every top-level field is required
            else:
                parent[key] = self._wrong_type(parent[key])
        return payload

    def frame(self, version: str) -> tuple[str, str | bytes]:
        """A malformed frame for a station of ``version``: (kind, frame)."""
        kind = self.rng.choices(self._kinds, self._weights)[0]
        action, template = self.rng.choice(TEMPLATES[version])
        payload = json.loads(json.dumps(template))
        message: list[Any] = [2, self._id(), action, payload]
        if kind == "mutated":
            message[3] = self._mutate(payload)
        elif kind == "reshaped":
            index = self.rng.randint(0, 3)
            message[index] = self.rng.choice(RESHAPED[index])
            if self.rng.random() < 0.5:
                message = message[: self.rng.randint(0, 3)]
        elif kind == "json":
            return kind, json.dumps(self._json())
        elif kind == "text":
            return kind, self._text()
        elif kind == "cut":
            text = json.dumps(message)
            return kind, text[: self.rng.randint(0, len(text) - 1)]
        elif kind == "stray answer":
            if self.rng.random() < 0.5:
                message = [3, self._id(), {"status": "Accepted"}]
            else:
                message = [4, self._id(), "GenericError", "nope", {}]
        elif kind == "unknown action":
            other = "2.0.1" if version == "1.6" else "1.6"
            message[2] = self.rng.choice(
                ("NoSuchAction", "", "x" * 60, TEMPLATES[other][-3][0])
            )
            if message[2] in dict(TEMPLATES[version]):
                message[2] = "NoSuchAction"
        elif kind == "extra field":
            payload[self.rng.choice(("extra", "x", "evil"))] = self._json()
        elif kind == "binary":
            return kind, self.rng.randbytes(self.rng.randint(1, 64))
        elif kind == "deep":
            depth = self.rng.choice((40, 1000, 5000))
            return kind, "[" * depth + json.dumps(message) + "]" * depth
        return kind, json.dumps(message)

    def implausible(self, version: str) -> str:
        """Well-formed MeterValues with figures no meter reads (NaN, 10^38 A)."""
        value = self.rng.choice((math.nan, math.inf, 1e38, -1e38, 1e12))
        if version == "1.6":
            sample: dict[str, Any] = {
                "value": str(value),
                "measurand": "Current.Import",
                "phase": "L1",
                "unit": "A",
            }
            payload: dict[str, Any] = {"connectorId": 1}
        else:
            sample = {
                "value": value,
                "measurand": "Current.Import",
                "phase": "L1",
                "unitOfMeasure": {"unit": "A"},
            }
            payload = {"evseId": 1}
        payload["meterValue"] = [{"timestamp": T, "sampledValue": [sample]}]
        unique_id = "".join(self.rng.choices("0123456789abcdef", k=12))
        return json.dumps([2, unique_id, "MeterValues", payload])


# --- the load process ------------------------------------------------------------


@dataclass
class LoadStats:
    """What the load process saw (sent to the server as JSON)."""

    chargers: int = 0
    ready: int = 0
    warmup_s: float = 0.0
    soak_s: float = 0.0
    cpu_s: float = 0.0
    connect_retries: int = 0
    reconnects: int = 0
    reboots: int = 0
    meter_values: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    connected_at_end: int = 0
    mean_limit_a: float = 0.0
    frames_sent: int = 0
    frames_by_kind: Counter[str] = field(default_factory=Counter)
    implausible_sent: int = 0
    hostile_answers: int = 0
    hostile_calls_ignored: int = 0
    hostile_connects: Counter[str] = field(default_factory=Counter)
    idle_opened: int = 0
    idle_closed_by_server: int = 0
    idle_open_failed: int = 0
    upgrades_opened: int = 0
    upgrades_closed_by_server: int = 0
    password_attempts: Counter[str] = field(default_factory=Counter)
    heartbeat_ms: list[float] = field(default_factory=list)
    heartbeat_failed: int = 0
    setpoint_ms: list[float] = field(default_factory=list)
    setpoint_failed: int = 0
    release_ms: list[float] = field(default_factory=list)
    release_failed: int = 0

    def as_json(self) -> dict[str, Any]:
        """As plain JSON values (``asdict`` would turn a Counter's items into keys)."""
        return {
            k: dict(v) if isinstance(v, Counter) else v for k, v in vars(self).items()
        }


class Load:
    """The load generator (its own process and event loop)."""

    def __init__(self, options: Options, port: int) -> None:
        from simulator.chargepoint import SimulatedChargePoint  # noqa: PLC0415

        self.options = options
        self.port = port
        self.url = f"ws://{HOST}:{port}"
        self.stats = LoadStats(chargers=options.chargers)
        self.rng = random.Random(options.seed)
        self.stopping = asyncio.Event()
        self.commands: asyncio.Queue[str] = asyncio.Queue()
        self.sims = [
            SimulatedChargePoint(
                charger_id(i),
                self.url,
                version=version_of(i),  # type: ignore[arg-type]
                password=password_of(charger_id(i)),
                max_current_a=MAX_CURRENT_A,
                response_timeout=STEP_S,
            )
            for i in range(options.chargers)
        ]
        self.energy_wh = [0.0] * options.chargers
        self.limit_changed = asyncio.Event()
        self._frames_due: list[int] = []
        """Frames each hostile socket took so far (sent, or being sent)."""
        self._soak_start = 0.0
        good = self.sims[0]
        original = good._record_limits

        def record(now: Any = None) -> None:
            original(now)
            self.limit_changed.set()

        good._record_limits = record  # type: ignore[method-assign]

    # -- plumbing

    def emit(self, event: str, **data: Any) -> None:
        """One JSON line to the server."""
        sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
        sys.stdout.flush()

    async def read_commands(self, main: asyncio.Task[Any] | None) -> None:
        """The server's commands, a line each. Once it is gone (its end of the
        pipe closed: it ended, or was killed), ``main`` is cancelled."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
        while line := await reader.readline():
            await self.commands.put(line.decode().strip())
        await self.commands.put("eof")
        if main is not None:
            main.cancel()

    async def command(self, wanted: str, bound: float) -> None:
        """Until the server says ``wanted`` (at most ``bound`` seconds)."""
        async with asyncio.timeout(bound):
            while (got := await self.commands.get()) != wanted:
                if got == "eof":
                    raise RuntimeError("the server went away")

    async def pause(self, seconds: float) -> None:
        """Sleep, or less if the soak ends."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    def error(self, where: str, err: BaseException) -> None:
        """Count an error by where and type."""
        self.stats.errors[f"{where}: {type(err).__name__}"] += 1

    # -- the chargers

    async def bring_up(self, index: int, slots: asyncio.Semaphore) -> bool:
        """Connect (retrying), boot, plug in, start a transaction."""
        sim = self.sims[index]
        loop = asyncio.get_running_loop()
        async with slots:
            deadline = loop.time() + 20.0
            while True:
                try:
                    async with asyncio.timeout(STEP_S):
                        await sim.connect()
                    break
                except Exception as err:  # noqa: BLE001 - counted, retried
                    self.stats.connect_retries += 1
                    self.error("connect", err)
                    if loop.time() > deadline:
                        return False
                    await asyncio.sleep(0.5)
            return await self.boot(index)

    async def boot(self, index: int) -> bool:
        """Boot, plug the vehicle in and start charging."""
        sim = self.sims[index]
        try:
            async with asyncio.timeout(3 * STEP_S):
                if await sim.boot() != "Accepted":
                    self.stats.errors["boot not accepted"] += 1
                    return False
                if not sim.plugged[1]:
                    await sim.plug_in(1)
                if 1 not in sim.transactions:
                    await sim.start_transaction(1, f"TAG-{index:04d}")
        except Exception as err:  # noqa: BLE001 - counted, retried later
            self.error("boot", err)
            return False
        return True

    async def charger(self, index: int) -> None:
        """Meter values every 10 s; reconnect (and boot if needed) when dropped."""
        sim = self.sims[index]
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.rng.uniform(0.0, METER_EVERY_S)
        last = loop.time()
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += METER_EVERY_S
            if not sim.connected:
                try:
                    await sim.reconnect(within=STEP_S)
                except Exception as err:  # noqa: BLE001 - counted, tried again
                    self.error("reconnect", err)
                    continue
                self.stats.reconnects += 1
            if sim.boot_status != "Accepted":
                self.stats.reboots += 1
                await self.boot(index)
                continue
            now = loop.time()
            charging = 1 in sim.transactions
            amps = max(0.0, sim.effective_limit(1) - 0.3) if charging else 0.0
            self.energy_wh[index] += (
                amps * 230.0 * phases_of(index) * (now - last) / 3600.0
            )
            last = now
            try:
                await sim.send_meter_values(
                    1,
                    currents=(round(amps, 1),) * phases_of(index),
                    energy_wh=round(self.energy_wh[index]),
                )
            except Exception as err:  # noqa: BLE001 - counted
                self.error("meter values", err)
            else:
                self.stats.meter_values += 1

    # -- the good charger's probes

    async def heartbeats(self) -> None:
        """A Heartbeat every second, timed."""
        sim = self.sims[0]
        while not self.stopping.is_set():
            start = time.perf_counter()
            try:
                await sim.heartbeat()
            except Exception as err:  # noqa: BLE001 - counted
                self.stats.heartbeat_failed += 1
                self.error("heartbeat", err)
            else:
                self.stats.heartbeat_ms.append((time.perf_counter() - start) * 1000.0)
            await self.pause(HEARTBEAT_EVERY_S)

    async def until_limit(self, wanted: Callable[[float], bool]) -> bool:
        """Until the good charger's limit is ``wanted`` (at most LIMIT_BOUND_S)."""
        sim = self.sims[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIMIT_BOUND_S
        while not wanted(sim.effective_limit(1)):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.limit_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.limit_changed.wait(), min(remaining, 0.25))
        return True

    async def setpoints(self) -> None:
        """Leave and arrive again every 15-20 s; time the limits."""
        sim = self.sims[0]
        while not self.stopping.is_set():
            await self.pause(self.rng.uniform(*SETPOINT_EVERY_S))
            if self.stopping.is_set() or not sim.connected:
                continue
            try:
                start = time.perf_counter()
                if 1 in sim.transactions:
                    await sim.stop_transaction(1)
                await sim.unplug(1)
                if await self.until_limit(lambda amps: amps == 0):
                    self.stats.release_ms.append((time.perf_counter() - start) * 1000)
                else:
                    self.stats.release_failed += 1
                start = time.perf_counter()
                await sim.plug_in(1)
                await sim.start_transaction(1, "TAG-GOOD")
                if await self.until_limit(lambda amps: amps > 0):
                    self.stats.setpoint_ms.append((time.perf_counter() - start) * 1000)
                else:
                    self.stats.setpoint_failed += 1
            except Exception as err:  # noqa: BLE001 - counted
                self.error("setpoint probe", err)

    # -- the hostile load

    def take_frames(self, socket: int, wanted: int) -> int:
        """Reserve up to ``wanted`` of the frames hostile socket ``socket`` owes
        by now: its equal share of ``--frames``, paced evenly over the soak."""
        loop = asyncio.get_running_loop()
        sockets = len(self._frames_due)
        share = self.options.frames // sockets + (
            socket < self.options.frames % sockets
        )
        elapsed = loop.time() - self._soak_start
        spread_s = PACED_SHARE * self.options.seconds
        target = min(share, math.ceil(share * elapsed / spread_s))
        n = max(0, min(wanted, target - self._frames_due[socket]))
        self._frames_due[socket] += n
        return n

    async def drain(self, ws: Any) -> None:
        """Read (and drop) what the central system sends a hostile socket."""
        import aiohttp  # noqa: PLC0415

        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                if msg.data.startswith("[2"):
                    self.stats.hostile_calls_ignored += 1
                else:
                    self.stats.hostile_answers += 1

    async def hostile(self, socket: int, station_id: str, version: str) -> None:
        """One websocket sending malformed frames at its share of the pace."""
        import aiohttp  # noqa: PLC0415

        frames = HostileFrames(self.options.seed + socket)
        headers = (
            _basic(station_id, password_of(station_id)) if station_id in BAD_IDS else {}
        )
        connector = aiohttp.TCPConnector(local_addr=(HOSTILE_ADDRESS, 0))
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=STEP_S)
        ) as session:
            while not self.stopping.is_set():
                try:
                    ws = await session.ws_connect(
                        f"{self.url}/{station_id}",
                        protocols=(f"ocpp{version}",),
                        headers=headers,
                        max_msg_size=0,
                        timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                    )
                except Exception as err:  # noqa: BLE001 - counted, retried
                    self.error(f"hostile connect {station_id}", err)
                    await self.pause(1.0)
                    continue
                self.stats.hostile_connects[station_id] += 1
                reader = asyncio.get_running_loop().create_task(self.drain(ws))
                try:
                    await self.flood(socket, ws, frames, version)
                except Exception as err:  # noqa: BLE001 - counted, reconnects
                    self.error(f"hostile send {station_id}", err)
                finally:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(3.0):
                            await ws.close()
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)
                await self.pause(0.5)

    async def flood(
        self, socket: int, ws: Any, frames: HostileFrames, version: str
    ) -> None:
        """Send this socket's share of the frames until the soak ends."""
        while not self.stopping.is_set() and not ws.closed:
            n = self.take_frames(socket, HOSTILE_BURST)
            sent = 0
            try:
                for _ in range(n):
                    kind, frame = frames.frame(version)
                    async with asyncio.timeout(STEP_S):
                        if isinstance(frame, bytes):
                            await ws.send_bytes(frame)
                        else:
                            await ws.send_str(frame)
                    sent += 1
                    self.stats.frames_by_kind[kind] += 1
                    if frames.rng.random() < IMPLAUSIBLE_SHARE:
                        async with asyncio.timeout(STEP_S):
                            await ws.send_str(frames.implausible(version))
                        self.stats.implausible_sent += 1
            finally:
                self.stats.frames_sent += sent
                self._frames_due[socket] -= n - sent  # unsent ones are due again
            await self.pause(HOSTILE_TICK_S)

    async def idle_socket(self, address: str, upgrade: bool) -> None:
        """A TCP connection that says nothing (or half an HTTP upgrade, a header
        line every 3 s), opened again whenever the server closes it."""
        while not self.stopping.is_set():
            try:
                async with asyncio.timeout(STEP_S):
                    reader, writer = await asyncio.open_connection(
                        HOST, self.port, local_addr=(address, 0)
                    )
            except (OSError, TimeoutError) as err:
                self.stats.idle_open_failed += 1
                self.error("idle open", err)
                await self.pause(1.0)
                continue
            if upgrade:
                self.stats.upgrades_opened += 1
            else:
                self.stats.idle_opened += 1
            closed = False
            try:
                if upgrade:
                    writer.write(
                        f"GET /{charger_id(0)} HTTP/1.1\r\nHost: {HOST}\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n".encode()
                    )
                while not self.stopping.is_set():
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 3.0)
                    except TimeoutError:
                        if upgrade:
                            writer.write(b"X-Slow: 1\r\n")
                        continue
                    if not data:
                        closed = True
                        break
            except OSError:
                closed = True
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.wait_closed(), 1.0)
            if closed and upgrade:
                self.stats.upgrades_closed_by_server += 1
            elif closed:
                self.stats.idle_closed_by_server += 1
            await self.pause(self.rng.uniform(2.0, 5.0))

    async def wrong_passwords(self) -> None:
        """A failed password attempt (wrong, or missing) every 0.5 s."""
        import aiohttp  # noqa: PLC0415

        ids = [*map(charger_id, range(self.options.chargers)), *BAD_IDS]
        connector = aiohttp.TCPConnector(local_addr=(GUESSER_ADDRESS, 0))
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=STEP_S)
        ) as session:
            while not self.stopping.is_set():
                station_id = self.rng.choice(ids)
                headers = (
                    {}
                    if self.rng.random() < 0.2
                    else _basic(station_id, f"wrong-{self.rng.random():.12f}")
                )
                try:
                    async with asyncio.timeout(STEP_S):
                        ws = await session.ws_connect(
                            f"{self.url}/{station_id}",
                            protocols=("ocpp1.6",),
                            headers=headers,
                        )
                    self.stats.password_attempts["accepted (!)"] += 1
                    await ws.close()
                except aiohttp.WSServerHandshakeError as err:
                    self.stats.password_attempts[str(err.status)] += 1
                except Exception as err:  # noqa: BLE001 - counted
                    self.stats.password_attempts[type(err).__name__] += 1
                await self.pause(GUESS_EVERY_S)

    # -- the run

    async def run(self) -> None:
        """Warm-up, the soak, and the end (as the server says)."""
        loop = asyncio.get_running_loop()
        commands = loop.create_task(self.read_commands(asyncio.current_task()))
        chargers: list[asyncio.Task[None]] = []
        try:
            start = loop.time()
            slots = asyncio.Semaphore(CONNECT_SLOTS)
            up = await asyncio.gather(
                *(self.bring_up(i, slots) for i in range(self.options.chargers))
            )
            self.stats.ready = sum(up)
            self.stats.warmup_s = loop.time() - start
            chargers = [
                loop.create_task(self.charger(i)) for i in range(self.options.chargers)
            ]
            self.emit("ready", ready=self.stats.ready, warmup_s=self.stats.warmup_s)
            await self.command("go", self.options.warmup_bound_s)
            await self.soak()
            self.emit("measured", stats=self.stats.as_json())
            await self.command("close", 120.0)
        finally:
            self.stopping.set()
            for task in [*chargers, commands]:
                task.cancel()
            await asyncio.wait([*chargers, commands], timeout=STEP_S)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30.0):
                    await asyncio.gather(
                        *(sim.close() for sim in self.sims), return_exceptions=True
                    )
        self.emit("closed")

    async def soak(self) -> None:
        """The measured part: probes and hostile load for ``--minutes``."""
        loop = asyncio.get_running_loop()
        self._soak_start = loop.time()
        cpu = _cpu_s()
        work: list[Coroutine[Any, Any, None]] = [self.heartbeats(), self.setpoints()]
        hostile_ids = [(s, v) for s, v in zip(STRANGERS, ("1.6", "2.0.1"), strict=True)]
        hostile_ids += [
            (b, "1.6" if n % 2 == 0 else "2.0.1") for n, b in enumerate(BAD_IDS)
        ]
        self._frames_due = [0] * len(hostile_ids)
        if not self.options.hostile:
            hostile_ids = []
        work += [
            self.hostile(n, station_id, version)
            for n, (station_id, version) in enumerate(hostile_ids)
        ]
        if self.options.hostile:
            work += [
                self.idle_socket(address, upgrade=False)
                for address in IDLE_ADDRESSES
                for _ in range(IDLE_PER_ADDRESS)
            ]
            work += [
                self.idle_socket(address, upgrade=True)
                for address in UPGRADE_ADDRESSES
                for _ in range(UPGRADES_PER_ADDRESS)
            ]
            work.append(self.wrong_passwords())
        tasks = [loop.create_task(w) for w in work]
        try:
            await asyncio.sleep(self.options.seconds)
        finally:
            self.stopping.set()
            _, pending = await asyncio.wait(tasks, timeout=STEP_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=STEP_S)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception():
                    self.error("task", task.exception())  # type: ignore[arg-type]
        self.stats.soak_s = loop.time() - self._soak_start
        self.stats.cpu_s = _cpu_s() - cpu
        self.stats.connected_at_end = sum(sim.connected for sim in self.sims)
        limits = [sim.effective_limit(1) for sim in self.sims if sim.connected]
        self.stats.mean_limit_a = sum(limits) / len(limits) if limits else 0.0


def _load_main(options: Options, port: int) -> int:
    logging.basicConfig(
        level=logging.ERROR, format="soak load: %(levelname)s [%(name)s] %(message)s"
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        deadline = options.warmup_bound_s * 2 + options.seconds + 300.0
        async with asyncio.timeout(deadline):
            await Load(options, port).run()

    try:
        asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130
    return 0


# --- the server side (Home Assistant) ----------------------------------------------


class LogMeter(logging.Handler):
    """Counts the bytes Home Assistant's default format would write, per phase
    of the run, and keeps our ERROR records."""

    def __init__(self) -> None:
        from homeassistant.const import FORMAT_DATETIME  # noqa: PLC0415

        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter(HA_LOG_FORMAT, datefmt=FORMAT_DATETIME))
        self.phase = "warm-up"
        self.bytes: Counter[tuple[str, str]] = Counter()
        """(phase, "info" | "warning") -> bytes."""
        self.lines: Counter[tuple[str, str]] = Counter()
        self.by_logger: Counter[tuple[str, str]] = Counter()
        """(phase, logger) -> bytes at WARNING and above."""
        self.info_by_logger: Counter[tuple[str, str]] = Counter()
        """(phase, logger) -> bytes at INFO."""
        self.templates: Counter[tuple[str, str]] = Counter()
        """(phase, logger: message template) -> WARNING+ lines."""
        self.samples: dict[str, tuple[str, str]] = {}
        """The first WARNING+ line of each (logger, template): (phase, line)."""
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record."""
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a broken record is counted as such
            text = f"unformattable record {record.msg!r}"
        size = len(text.encode("utf-8", "replace")) + 1
        self.bytes[self.phase, "info"] += size
        self.lines[self.phase, "info"] += 1
        if record.levelno < logging.WARNING:
            self.info_by_logger[self.phase, record.name] += size
        if record.levelno >= logging.WARNING:
            self.bytes[self.phase, "warning"] += size
            self.lines[self.phase, "warning"] += 1
            self.by_logger[self.phase, record.name] += size
            key = f"{record.name}|{record.msg}"
            self.templates[self.phase, f"[{record.name}] {record.msg}"] += 1
            if len(self.samples) < 200 and key not in self.samples:
                self.samples[key] = (self.phase, text)
        if record.levelno >= logging.ERROR and record.name.startswith(OUR_LOGGERS):
            self.errors.append(text[:600])


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return math.nan


def _slope_per_min(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope (per minute) of (seconds, value) points."""
    if len(points) < 2:
        return math.nan
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return math.nan
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return 60.0 * cov / var


class MemoryTrace:
    """Where the server's memory grows during the soak (``--trace-memory``).

    tracemalloc (``TRACE_FRAMES`` frames) starts after warm-up; snapshots, and
    counts of live objects by type (after a full collection), are taken then,
    ``TRACE_SKIP_S`` into the soak (so that one-time growth, such as caches
    filling on first use, is left out), ``TRACE_LATE_S`` before its end (under
    load) and at its end (once the hostile sockets' stations are gone; the
    chargers are still connected). The report compares the second point with
    each later one: the allocation sites that grew most (by line, and the call
    stacks of the biggest), and the types of gc-tracked objects.
    """

    def __init__(self) -> None:
        self.points: list[tuple[str, float, Any, Counter[str], float]] = []
        """(name, soak seconds, snapshot, object counts, RSS MB)."""
        self.pause_s: list[tuple[float, float, float]] = []
        """How long each point stopped the event loop: collection, snapshot,
        counts."""
        self._counts_line = 0
        self.heap: list[dict[str, float]] = []
        """Each point's heap figures (tracemalloc, pymalloc, glibc malloc)."""

    def counts(self) -> Counter[str]:
        """Live objects (tracked by gc) by type name."""
        self._counts_line = sys._getframe().f_lineno + 1
        return Counter(type(o).__name__ for o in gc.get_objects())

    def start(self) -> None:
        """Trace from now on."""
        tracemalloc.start(TRACE_FRAMES)

    def take(self, name: str, at_s: float) -> None:
        """A point: snapshot, object counts, RSS (filtered when reported)."""
        began = time.perf_counter()
        gc.collect()
        collected = time.perf_counter()
        snapshot = tracemalloc.take_snapshot()
        snapped = time.perf_counter()
        counts = self.counts()
        self.points.append((name, at_s, snapshot, counts, _rss_mb()))
        self.heap.append(
            {
                "traced": tracemalloc.get_traced_memory()[0] / 1e6,
                "tracemalloc's own": tracemalloc.get_tracemalloc_memory() / 1e6,
                "pymalloc blocks": sys.getallocatedblocks(),
                **_mallinfo_mb(),
            }
        )
        self.pause_s.append(
            (collected - began, snapped - collected, time.perf_counter() - snapped)
        )

    def stop(self) -> None:
        """Stop tracing (the snapshots stay)."""
        if tracemalloc.is_tracing():
            tracemalloc.stop()

    def report(self) -> None:
        """Print what grew from the second point (or the first) to each later one."""
        if len(self.points) < 2:
            print("memory trace: fewer than two points")
            return
        print(
            f"memory trace: {' / '.join(f'{p[0]} {p[1]:.0f} s' for p in self.points)}"
            " (event loop stopped for gc + snapshot + counts: "
            + ", ".join("+".join(f"{t:.1f}" for t in p) for p in self.pause_s)
            + " s)"
        )
        hidden = (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<unknown>"),
        )
        self.points = [
            (name, at_s, snapshot.filter_traces(hidden), counts, rss)
            for name, at_s, snapshot, counts, rss in self.points
        ]
        print(
            "  traced: "
            + " / ".join(
                f"{sum(s.size for s in p[2].statistics('filename')) / 1e6:.2f}"
                for p in self.points
            )
            + " MB; RSS: "
            + " / ".join(f"{p[4]:.1f}" for p in self.points)
            + " MB"
        )
        for key in self.heap[0]:
            print(f"  {key}: " + " / ".join(f"{h[key]:.2f}" for h in self.heap))
        base = 1 if len(self.points) > 2 else 0
        for later in self.points[base + 1 :]:
            self.compare(self.points[base], later, self._counts_line)

    @staticmethod
    def compare(
        base: tuple[str, float, Any, Counter[str], float],
        end: tuple[str, float, Any, Counter[str], float],
        counts_line: int,
    ) -> None:
        """What grew from ``base`` to ``end``."""
        minutes = max(1e-9, (end[1] - base[1]) / 60.0)
        # By call stack; the object counts of the earlier points left out.
        stacks = [
            d
            for d in end[2].compare_to(base[2], "traceback")
            if not any(
                f.filename == str(SELF) and f.lineno == counts_line for f in d.traceback
            )
        ]
        stacks.sort(key=lambda d: -d.size_diff)
        by_line: dict[tuple[str, int], list[int]] = {}
        for diff in stacks:
            frame = diff.traceback[-1]
            line = by_line.setdefault((frame.filename, frame.lineno), [0, 0, 0])
            line[0] += diff.size_diff
            line[1] += diff.count_diff
            line[2] += diff.size
        grown = sum(d.size_diff for d in stacks)
        print(
            f"{base[0]} -> {end[0]} ({minutes:.1f} min): traced {grown / 1e6:+.3f} MB"
            f" ({grown / minutes / 1e6:+.3f} MB/min); the {TRACE_TOP} lines that "
            "grew most (by the most recent frame):"
        )
        lines = sorted(by_line.items(), key=lambda item: -item[1][0])
        for (filename, lineno), (size_diff, count_diff, size) in lines[:TRACE_TOP]:
            print(
                f"    {size_diff / 1024:+9.1f} KiB {count_diff:+7d} blocks"
                f"  (now {size / 1024:8.1f} KiB)  {_short(filename)}:{lineno}"
            )
        for diff in stacks[:TRACE_STACKS]:
            print(
                f"  stack of {diff.size_diff / 1024:+.1f} KiB ({diff.count_diff:+d} "
                "blocks), most recent call last:"
            )
            for frame in list(diff.traceback)[-TRACE_STACK_DEPTH:]:
                print(f"      {_short(frame.filename)}:{frame.lineno}")
        growth = end[3].copy()
        growth.subtract(base[3])
        top = [(t, n) for t, n in growth.most_common(TRACE_TOP) if n > 0]
        print(
            f"  gc-tracked objects {base[3].total()} -> {end[3].total()}; "
            "the types that grew most:"
        )
        for name, n in top:
            print(f"    {n:+8d}  {name} (now {end[3][name]})")


def _mallinfo_mb() -> dict[str, float]:
    """glibc malloc's figures (MB): taken from the system (``arena``, main heap;
    ``hblkhd``, mmapped blocks), in use (``uordblks``), free but kept
    (``fordblks``). Empty where there is no ``mallinfo2``."""
    import ctypes  # noqa: PLC0415

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return {}
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return {
        f"malloc {name}": getattr(info, name) / 1e6
        for name in ("arena", "hblkhd", "uordblks", "fordblks")
    }


def _short(filename: str) -> str:
    """A source path without its site-packages or repository prefix."""
    for marker in ("site-packages/", str(SELF.parent.parent) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _site_entry(options: Options) -> Any:
    from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]  # noqa: PLC0415
        MockConfigEntry,
    )

    from custom_components.ev_power_share.const import (  # noqa: PLC0415
        CONF_INTERVAL_S,
        DOMAIN,
    )

    def group(gid: str, parent: str, rating: float) -> dict[str, Any]:
        return {
            "subentry_id": gid,
            "subentry_type": "group",
            "title": gid,
            "unique_id": None,
            "data": {
                "kind": "panel" if parent == "site" else "circuit",
                "parent": parent,
                "rating_a": rating,
                "phases": ["L1", "L2", "L3"],
                "continuous_factor": 0.8,
                "max_power_kw": None,
                "fixed_load_a": 0.0,
            },
        }

    def charger(cp_id: str, circuit: str, connection: str) -> dict[str, Any]:
        return {
            "subentry_id": f"charger-{cp_id}",
            "subentry_type": "charger",
            "title": f"Space {cp_id}",
            "unique_id": cp_id,
            "data": {
                "charge_point_id": cp_id,
                "group": circuit,
                "connectors": 1,
                "connection": connection,
                "max_current_a": MAX_CURRENT_A,
                "failsafe_a": None,
                "password": password_of(cp_id),
            },
        }

    panels = [f"panel{p}" for p in range(PANELS)]
    circuits = [f"{p}-c{c}" for p in panels for c in range(CIRCUITS_PER_PANEL)]
    chargers = [
        charger(charger_id(i), circuit_of(i), connection_of(i))
        for i in range(options.chargers)
    ]
    chargers += [
        charger(cp_id, circuits[n * 5], "L1") for n, cp_id in enumerate(BAD_IDS)
    ]
    return MockConfigEntry(
        domain=DOMAIN,
        title="Soak",
        unique_id="soak",
        data={
            "name": "Soak",
            "supply": "three_phase_400",
            "main_breaker_a": MAIN_BREAKER_A,
            "continuous_factor": 0.8,
        },
        subentries_data=[group(p, "site", PANEL_A) for p in panels]
        + [group(c, c.split("-")[0], CIRCUIT_A) for c in circuits]
        + chargers,
        options={CONF_INTERVAL_S: INTERVAL_S},
    )


class Soak:
    """The server side: Home Assistant, the site, and what is measured of it."""

    def __init__(self, hass: Any, options: Options) -> None:
        self.hass = hass
        self.options = options
        self.cp_ids = [charger_id(i) for i in range(options.chargers)]
        self.log = LogMeter()
        self.crashes: list[str] = []
        self.cycles = 0
        self.decrease_cycles = 0
        """Cycles that decreased a command (increases wait for them to settle)."""
        self.settling_cycles = 0
        """Cycles within the settle time of a decrease: no increase is sent."""
        self.cycle_errors: list[str] = []
        self.failed_refreshes = 0
        self.gone_malformed: Counter[str] = Counter()
        """Malformed frames of stations that disconnected, by kind of id."""
        self.gone_discarded = 0
        self.connects: Counter[str] = Counter()
        self.disconnects: Counter[str] = Counter()
        self.soaking = False
        self.soak_disconnects: Counter[str] = Counter()
        self.lags_ms: list[float] = []
        self.gc_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        """Garbage collections during the soak: durations by generation."""
        self._gc_start = 0.0
        self.rss: list[tuple[float, float]] = []
        self.heap: list[dict[str, float]] = []
        """:meth:`heap_figures` at each minute of the soak."""
        self.lines: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.figures: dict[str, Any] = {}

    def kind(self, station_id: str) -> str:
        """What a station id is in this run."""
        if station_id in BAD_IDS:
            return "bad"
        if station_id in STRANGERS:
            return "stranger"
        return "charger" if station_id.startswith("cp-") else "other"

    # -- instruments

    def instrument(self, runtime: Any) -> Callable[[], None]:
        """Count cycles, failures and stations' frames; returns the undo."""
        from custom_components.ev_power_share.core.commands import (  # noqa: PLC0415
            SetpointRules,
        )

        controller, ocpp = runtime.controller, runtime.ocpp
        update = controller._async_update_data
        connected, disconnected = ocpp.on_connected, ocpp.on_disconnected

        async def counted_update() -> Any:
            try:
                data = await update()
            except Exception as err:
                self.cycle_errors.append(repr(err)[:300])
                raise
            self.cycles += 1
            state = controller._commands
            if state.last_decrease_s is not None:
                if state.last_decrease_s == data.at:
                    self.decrease_cycles += 1
                if data.at - state.last_decrease_s < SetpointRules().settle_s:
                    self.settling_cycles += 1
            return data

        def on_refresh() -> None:
            if not controller.last_update_success:
                self.failed_refreshes += 1

        def on_connected(station: Any) -> None:
            self.connects[self.kind(station.id)] += 1
            connected(station)

        def on_disconnected(station: Any) -> None:
            self.gone_malformed[self.kind(station.id)] += station.malformed_frames
            self.gone_discarded += station.discarded_values
            self.disconnects[self.kind(station.id)] += 1
            if self.soaking:
                self.soak_disconnects[self.kind(station.id)] += 1
            disconnected(station)

        controller._async_update_data = counted_update
        ocpp.on_connected = on_connected
        ocpp.on_disconnected = on_disconnected
        unlisten = controller.async_add_listener(on_refresh)

        def undo() -> None:
            unlisten()
            controller.__dict__.pop("_async_update_data", None)
            ocpp.__dict__.pop("on_connected", None)
            ocpp.__dict__.pop("on_disconnected", None)

        return undo

    def on_loop_exception(
        self, previous: Callable[..., Any] | None
    ) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
        """An exception handler that records, then hands on."""

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            self.crashes.append(
                f"{context.get('message')}: {context.get('exception')!r}"[:400]
            )
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        return handler

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Time each garbage collection (a ``gc.callbacks`` entry)."""
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            elapsed = (time.perf_counter() - self._gc_start) * 1000.0
            self.gc_ms.setdefault(info["generation"], []).append(elapsed)

    async def watch_loop(self) -> None:
        """How late the event loop wakes a sleeper (every 50 ms)."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            self.lags_ms.append(max(0.0, loop.time() - start - LAG_TICK_S) * 1000.0)

    async def watch_rss(self, since: float) -> None:
        """The server's RSS every second; the heap's figures every minute."""
        loop = asyncio.get_running_loop()
        minute = 1
        while True:
            rss = await self.hass.async_add_executor_job(_rss_mb)
            at = loop.time() - since
            self.rss.append((at, rss))
            if at >= 60.0 * minute:
                self.heap.append(self.heap_figures())
                minute += 1
            await asyncio.sleep(RSS_EVERY_S)

    def heap_figures(self) -> dict[str, float]:
        """Where the heap stands: pymalloc blocks in use, glibc malloc's
        figures, and the bytes of this bench's own records in the server."""
        own = [self.lags_ms, self.rss, *self.gc_ms.values()]
        counters = [
            self.log.bytes,
            self.log.lines,
            self.log.by_logger,
            self.log.info_by_logger,
            self.log.templates,
        ]
        return {
            "pymalloc blocks (k)": sys.getallocatedblocks() / 1e3,
            **_mallinfo_mb(),
            "bench records (kB)": (
                sum(sys.getsizeof(x) + 24 * len(x) for x in own)
                + sum(sys.getsizeof(c) + 150 * len(c) for c in counters)
            )
            / 1e3,
        }

    async def trace_at(self, trace: MemoryTrace, skip_s: float, late_s: float) -> None:
        """The memory trace's points during the soak: ``skip_s`` and ``late_s``
        into it (the hostile load still running at the latter)."""
        await asyncio.sleep(skip_s)
        trace.take("skip", skip_s)
        await asyncio.sleep(late_s - skip_s)
        trace.take("late", late_s)

    # -- the load process

    async def read_lines(self, proc: asyncio.subprocess.Process) -> None:
        """The load's JSON lines; None at its end."""
        if proc.stdout is not None:
            while line := await proc.stdout.readline():
                try:
                    self.lines.put_nowait(json.loads(line))
                except ValueError:
                    print(f"soak: load said {line!r}")
        self.lines.put_nowait(None)

    async def expect(self, event: str, bound: float) -> dict[str, Any]:
        """The load's next ``event`` line (at most ``bound`` seconds)."""
        async with asyncio.timeout(bound):
            while True:
                line = await self.lines.get()
                if line is None:
                    raise RuntimeError(f"the load process ended before {event!r}")
                if line.get("event") == event:
                    return line

    async def tell(self, proc: asyncio.subprocess.Process, command: str) -> None:
        """Send the load a command."""
        if proc.stdin is not None:
            proc.stdin.write(f"{command}\n".encode())
            async with asyncio.timeout(STEP_S):
                await proc.stdin.drain()

    async def until(self, check: Callable[[], bool], bound: float) -> bool:
        """Until ``check`` holds (polled every 0.2 s, at most ``bound`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound
        while not check():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    # -- the run

    def malformed(self, central: Any) -> tuple[Counter[str], int]:
        """Malformed frames (by kind of station id) and discarded values,
        disconnected stations included."""
        stations = list(central.stations.values())
        frames = Counter(self.gone_malformed)
        for station in stations:
            frames[self.kind(station.id)] += station.malformed_frames
        return (
            frames,
            self.gone_discarded + sum(s.discarded_values for s in stations),
        )

    def online(self, runtime: Any) -> tuple[int, int]:
        """Chargers connected, and online (under control), of ours."""
        stations = runtime.central.stations
        connected = sum(
            1 for cp in self.cp_ids if cp in stations and stations[cp].online
        )
        return connected, sum(1 for cp in self.cp_ids if runtime.ocpp.online(cp))

    async def run(self) -> None:
        """Set up, warm up, soak, measure, tear down; then print."""
        hass, options = self.hass, self.options
        loop = asyncio.get_running_loop()
        begun = loop.time()
        root = logging.getLogger()
        muted = [(h, h.level) for h in root.handlers]
        root_level = root.level
        for handler, _ in muted:
            handler.setLevel(logging.CRITICAL + 1)
        root.setLevel(logging.INFO)
        root.addHandler(self.log)
        previous = loop.get_exception_handler()
        loop.set_exception_handler(self.on_loop_exception(previous))
        if (current := asyncio.current_task()) is not None:
            # A SIGTERM ends the soak through its cleanup (the load is stopped).
            loop.add_signal_handler(signal.SIGTERM, current.cancel)
        entry = _site_entry(options)
        entry.add_to_hass(hass)
        proc: asyncio.subprocess.Process | None = None
        tasks: list[asyncio.Task[None]] = []
        undo: Callable[[], None] = lambda: None  # noqa: E731
        trace = MemoryTrace() if options.trace_memory else None
        try:
            async with asyncio.timeout(120.0):
                await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done()
            runtime = entry.runtime_data
            undo = self.instrument(runtime)
            central = runtime.central
            self.figures["setup_s"] = loop.time() - begun
            self.figures["entities"] = len(hass.states.async_all())
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SELF),
                "--load",
                "--port",
                str(central.port),
                "--minutes",
                str(options.minutes),
                "--chargers",
                str(options.chargers),
                "--frames",
                str(options.frames),
                "--seed",
                str(options.seed),
                *(() if options.hostile else ("--no-hostile",)),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            _LOAD_PID.append(proc.pid)
            atexit.register(_kill_load)
            tasks.append(loop.create_task(self.read_lines(proc)))
            warm_start = loop.time()
            ready = await self.expect("ready", options.warmup_bound_s)
            all_online = await self.until(
                lambda: self.online(runtime)[1] == options.chargers, 60.0
            )
            self.figures |= {
                "load_ready": ready["ready"],
                "load_warmup_s": ready["warmup_s"],
                "all_online": all_online,
                "warmup_s": loop.time() - warm_start,
                "rss_warm": await hass.async_add_executor_job(_rss_mb),
                "tasks_warm": len(asyncio.all_tasks()),
                "refused_warm": central.refused_connections,
                "malformed_warm": self.malformed(central)[0].total(),
                "cycles_warm": self.cycles,
                "decrease_warm": self.decrease_cycles,
                "settling_warm": self.settling_cycles,
            }
            if trace is not None:
                trace.start()
                trace.take("warm", 0.0)
            # The soak.
            soak_start = loop.time()
            cpu = _cpu_s()
            self.log.phase = "soak"
            self.soaking = True
            gc.callbacks.append(self.on_gc)
            tasks += [
                loop.create_task(self.watch_loop()),
                loop.create_task(self.watch_rss(soak_start)),
            ]
            if trace is not None:
                skip_s = min(TRACE_SKIP_S, options.seconds / 3.0)
                late_s = max(skip_s, options.seconds - TRACE_LATE_S)
                tasks.append(loop.create_task(self.trace_at(trace, skip_s, late_s)))
            await self.tell(proc, "go")
            measured = await self.expect("measured", options.seconds + 120.0)
            self.soaking = False
            self.log.phase = "end"
            gc.callbacks.remove(self.on_gc)
            soak_s = loop.time() - soak_start
            cpu_s = _cpu_s() - cpu
            # Hostile sockets are closed: let their stations go.
            await self.until(
                lambda: all(
                    self.connects[k] == self.disconnects[k] for k in ("bad", "stranger")
                ),
                STEP_S,
            )
            await self.until(lambda: central.connections <= options.chargers, STEP_S)
            if trace is not None:
                trace.take("end", loop.time() - soak_start)
            malformed, discarded = self.malformed(central)
            connected, online = self.online(runtime)
            self.figures |= {
                "soak_s": soak_s,
                "cpu_s": cpu_s,
                "load": measured["stats"],
                "rss_end": await hass.async_add_executor_job(_rss_mb),
                "tasks_end": len(asyncio.all_tasks()),
                "connected": connected,
                "online": online,
                "malformed": malformed.total(),
                "malformed_by_kind": dict(malformed),
                "discarded": discarded,
                "refused": central.refused_connections,
                "open_end": central.connections,
                "cycles_soak": self.cycles - self.figures["cycles_warm"],
                "decrease_soak": self.decrease_cycles - self.figures["decrease_warm"],
                "settling_soak": self.settling_cycles - self.figures["settling_warm"],
                "issues": self.issues(),
            }
            await self.tell(proc, "close")
            await self.expect("closed", 60.0)
            async with asyncio.timeout(30.0):
                await proc.wait()
            _LOAD_PID.clear()
            await self.until(lambda: central.connections == 0, STEP_S)
            self.figures["open_after"] = central.connections
            self.figures["total_s"] = loop.time() - begun
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if proc is not None and proc.returncode is None:
                proc.terminate()
                try:
                    async with asyncio.timeout(10.0):
                        await proc.wait()
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            _LOAD_PID.clear()
            if trace is not None:
                trace.stop()
            if self.on_gc in gc.callbacks:
                gc.callbacks.remove(self.on_gc)
            undo()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(60.0):
                    await hass.config_entries.async_unload(entry.entry_id)
                    await hass.async_block_till_done()
            loop.set_exception_handler(previous)
            loop.remove_signal_handler(signal.SIGTERM)
            root.removeHandler(self.log)
            root.setLevel(root_level)
            for handler, level in muted:
                handler.setLevel(level)
        self.report()
        if trace is not None:
            trace.report()

    def issues(self) -> dict[str, int]:
        """Repair issues of the integration, by kind."""
        from homeassistant.helpers import issue_registry as ir  # noqa: PLC0415

        from custom_components.ev_power_share.const import DOMAIN  # noqa: PLC0415

        registry = ir.async_get(self.hass)
        return dict(
            Counter(
                str(issue.translation_key)
                for (domain, _), issue in registry.issues.items()
                if domain == DOMAIN
            )
        )

    # -- the figures

    def report(self) -> None:
        """Print the table."""
        from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

        f, o = self.figures, self.options
        load: dict[str, Any] = f["load"]
        soak_min = f["soak_s"] / 60.0
        by_kind = Counter(load["frames_by_kind"])
        rows: list[tuple[str, str]] = []

        def row(name: str, value: str) -> None:
            rows.append((name, value))

        n16 = sum(1 for i in range(o.chargers) if version_of(i) == "1.6")
        print(
            f"\nSoak: {o.chargers} chargers ({n16} OCPP 1.6, {o.chargers - n16} "
            f"2.0.1) + {len(BAD_IDS)} hostile configured ids + {len(STRANGERS)} "
            f"unknown ids, {f['entities']} entities, Python "
            f"{sys.version.split()[0]}, Home Assistant {ha_version}"
        )
        row(
            "duration",
            f"soak {f['soak_s']:.1f} s ({o.minutes:g} min asked); warm-up "
            f"{f['warmup_s']:.1f} s; setup {f['setup_s']:.1f} s; total "
            f"{f['total_s']:.1f} s",
        )
        row(
            "chargers connected / online (end)",
            f"{f['connected']} / {f['online']} of {o.chargers} (all online after "
            f"warm-up: {'yes' if f['all_online'] else 'NO'})",
        )
        row(
            "  disconnects during the soak",
            f"chargers {self.soak_disconnects['charger']}; hostile sockets "
            f"reconnected "
            f"{sum(load['hostile_connects'].values()) - len(STRANGERS + BAD_IDS)}; "
            f"load reconnects {load['reconnects']}, re-boots {load['reboots']}, "
            f"connect retries at warm-up {load['connect_retries']}",
        )
        row(
            "frames sent by the load (malformed)",
            f"{load['frames_sent']} (+ {load['implausible_sent']} implausible "
            f"meter values)",
        )
        row(
            "  by kind",
            ", ".join(f"{k} {v}" for k, v in by_kind.most_common()),
        )
        row(
            "malformed frames counted by the CSMS",
            f"{f['malformed'] - f['malformed_warm']} during the soak "
            f"({f['malformed']} in all); discarded meter values {f['discarded']}",
        )
        row(
            "  by kind of station",
            ", ".join(
                f"{k} {v}" for k, v in sorted(f["malformed_by_kind"].items()) if v
            ),
        )
        row(
            "  hostile sockets",
            f"answers received {load['hostile_answers']}, calls from the CSMS "
            f"left unanswered {load['hostile_calls_ignored']}, connects "
            f"{sum(load['hostile_connects'].values())}",
        )
        crashes = len(self.crashes) + len(self.cycle_errors) + len(self.log.errors)
        row(
            "crashes",
            f"{crashes} (loop exceptions {len(self.crashes)}, failed cycles "
            f"{len(self.cycle_errors)} / refreshes {self.failed_refreshes}, ERROR "
            f"records {len(self.log.errors)})",
        )
        row(
            "control cycles completed",
            f"{f['cycles_soak']} in the soak ({f['cycles_soak'] / f['soak_s']:.2f}/s)"
            f", {self.cycles} in all",
        )
        row(
            "  cycles that decreased / held raises",
            f"{f['decrease_soak']} / {f['settling_soak']} of {f['cycles_soak']} "
            "(raises wait 5 s after any decrease on the site)",
        )
        row("server event-loop lag (50 ms sleeper)", _spread(self.lags_ms))
        row(
            "  garbage collections (soak)",
            "; ".join(
                f"gen{g} n={len(v)} max {max(v, default=0):.1f} ms sum {sum(v):.0f} ms"
                for g, v in sorted(self.gc_ms.items())
            ),
        )
        row(
            "server CPU (soak)",
            f"{100 * f['cpu_s'] / f['soak_s']:.0f} % of a core; load process "
            f"{100 * load['cpu_s'] / max(load['soak_s'], 1e-9):.0f} %",
        )
        tail = [p for p in self.rss if p[0] >= f["soak_s"] / 2]
        row(
            "server RSS warm-up / end / growth",
            f"{f['rss_warm']:.1f} / {f['rss_end']:.1f} / "
            f"{f['rss_end'] - f['rss_warm']:+.1f} MB (max "
            f"{max((v for _, v in self.rss), default=math.nan):.1f} MB; second "
            f"half {_slope_per_min(tail):+.2f} MB/min)",
        )
        per_minute = [
            next(v for t, v in self.rss if t >= 60.0 * m)
            for m in range(1, int(f["soak_s"] // 60) + 1)
            if any(t >= 60.0 * m for t, _ in self.rss)
        ]
        row(
            "  RSS at each minute of the soak",
            " ".join(f"{v:.1f}" for v in per_minute) + " MB",
        )
        for key in self.heap[0] if self.heap else ():
            row(f"  {key} at each minute", " ".join(f"{h[key]:.1f}" for h in self.heap))
        row(
            "server tasks warm-up / end",
            f"{f['tasks_warm']} / {f['tasks_end']}",
        )
        row(
            "heartbeat RTT (good charger)",
            f"{_spread(load['heartbeat_ms'])}; failed {load['heartbeat_failed']}",
        )
        row(
            "setpoint latency (plug-in -> limit > 0)",
            f"{_spread(load['setpoint_ms'])}; timed out {load['setpoint_failed']}",
        )
        row(
            "limit release (stop -> limit 0)",
            f"{_spread(load['release_ms'])}; timed out {load['release_failed']}",
        )
        for level, name in (("warning", "WARNING+"), ("info", "INFO+")):
            size = self.log.bytes["soak", level]
            row(
                f"log bytes/min {name} (soak)",
                f"{size / soak_min:,.0f} B/min ({self.log.lines['soak', level] / soak_min:.1f}"
                f" lines/min); warm-up {self.log.bytes['warm-up', level]:,} B",
            )
        top = Counter(
            {n: b for (p, n), b in self.log.by_logger.items() if p == "soak"}
        ).most_common(4)
        row(
            "  WARNING+ by logger (soak)",
            "; ".join(f"{n} {b / soak_min:,.0f} B/min" for n, b in top) or "none",
        )
        templates = Counter(
            {t: n for (p, t), n in self.log.templates.items() if p == "soak"}
        ).most_common(5)
        for template, count in templates:
            row("  WARNING+ lines, by message (soak)", f"{count:>6} × {template[:110]}")
        warm = Counter(
            {n: b for (p, n), b in self.log.info_by_logger.items() if p == "warm-up"}
        ).most_common(3)
        row(
            "  INFO by logger (warm-up)",
            "; ".join(f"{n} {b:,} B" for n, b in warm) or "none",
        )
        row(
            "refused connections",
            f"{f['refused'] - f['refused_warm']} during the soak ({f['refused']} in all)",
        )
        row(
            "open connections",
            f"{f['open_end']} at the end (chargers still connected), "
            f"{f['open_after']} after the load left",
        )
        row(
            "  idle sockets / half upgrades",
            f"opened {load['idle_opened']} / {load['upgrades_opened']}, closed by "
            f"the server {load['idle_closed_by_server']} / "
            f"{load['upgrades_closed_by_server']}, open failed "
            f"{load['idle_open_failed']}",
        )
        row(
            "  failed password attempts",
            ", ".join(
                f"HTTP {k} ×{v}" if k.isdigit() else f"{k} ×{v}"
                for k, v in sorted(load["password_attempts"].items())
            ),
        )
        row(
            "chargers' meter values",
            f"{load['meter_values']} sent; mean limit held at the end "
            f"{load['mean_limit_a']:.1f} A",
        )
        row(
            "repair issues at the end",
            ", ".join(f"{k} ×{v}" for k, v in sorted(f["issues"].items())) or "none",
        )
        if load["errors"]:
            row(
                "load-side errors",
                ", ".join(
                    f"{k} ×{v}" for k, v in Counter(load["errors"]).most_common()
                ),
            )
        width = max(len(name) for name, _ in rows) + 2
        print("-" * (width + 60))
        for name, value in rows:
            print(f"{name:<{width}}{value}")
        print("-" * (width + 60))
        for title, lines in (
            ("loop exceptions", self.crashes),
            ("failed cycles", self.cycle_errors),
            ("ERROR records", self.log.errors),
        ):
            for line in lines[:5]:
                print(f"{title}: {line}")
        samples = sorted(self.log.samples.values(), key=lambda s: s[0] != "soak")
        print(f"WARNING+ lines, the first of each kind ({len(samples)} kinds):")
        for phase, text in samples[:30]:
            print(f"  ({phase}) {text[:240]}")


async def bench_soak(
    hass: Any, enable_custom_integrations: Any, socket_enabled: Any
) -> None:
    """The soak (run by ``main`` through pytest)."""
    from unittest.mock import patch  # noqa: PLC0415

    options = Options(**json.loads(os.environ.get(ENV, "{}")))
    # Home Assistant runs its loop without asyncio's debug mode.
    asyncio.get_running_loop().set_debug(False)
    # The embedded OCPP central system listens on 127.0.0.1, on a free port.
    with (
        patch("custom_components.ev_power_share.OCPP_HOST", HOST),
        patch("custom_components.ev_power_share.DEFAULT_OCPP_PORT", 0),
    ):
        await Soak(hass, options).run()


def _kill_load() -> None:
    for pid in _LOAD_PID:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """Run the soak (server side), or, with ``--load``, the load generator."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    defaults = Options()
    parser.add_argument("--minutes", type=float, default=defaults.minutes)
    parser.add_argument("--chargers", type=int, default=defaults.chargers)
    parser.add_argument("--frames", type=int, default=defaults.frames)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--no-hostile",
        action="store_true",
        help="no hostile load (to tell what the chargers alone cost)",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="tracemalloc and gc object counts in the server during the soak "
        "(slower, and its RSS includes tracemalloc's own; not for the figures; "
        "with 200 chargers on 2 busy cores the server falls behind, and the "
        "backlog is what grows: use --chargers 20)",
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    options = Options(
        args.minutes,
        max(1, args.chargers),
        args.frames,
        args.seed,
        hostile=not args.no_hostile,
        trace_memory=args.trace_memory,
    )
    if args.load:
        return _load_main(options, args.port)
    import pytest  # noqa: PLC0415

    os.environ[ENV] = json.dumps(asdict(options))
    return int(
        pytest.main(
            [
                __file__,
                "-q",
                "-s",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:sugar",
                "-p",
                "no:logging",
                "-o",
                "python_functions=bench_*",
                "-o",
                "asyncio_mode=auto",
                "-o",
                "timeout=0",
                "--no-header",
                "-W",
                "ignore",
            ]
        )
    )


if __name__ == "__main__":
    sys.exit(main())

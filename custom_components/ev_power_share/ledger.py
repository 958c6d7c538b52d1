"""The session ledger: every charging session of a site, in a SQLite file. No
Home Assistant imports.

Every read and write runs on one thread the ledger owns (or one injected
single-worker executor), so the event loop never waits for the disk and the
writes keep their order; the API is async.

Durability. The file is in WAL mode with ``synchronous=FULL``: every write
that returned is committed and the WAL is synced to disk before it returns,
so it survives a process crash (``kill -9``) and a power cut alike. (NORMAL
would be enough for a process crash, since the WAL is in the operating
system's cache, but a power cut could roll back the last commits; at the
ledger's rate, a few commits a second at most, the fsync per commit costs
nothing worth that.)

Samples. A session keeps its start reading as its first sample and its stop
reading as its last; in between, a reading is kept when it fits: not before
the start nor after the stop, not at a time already kept, and its register
between its neighbours' (the register never goes backwards within a session).
Anything else is dropped. Readings closer together than ``min_interval_s``
(60 s by default), and a register that does not move, are thinned: the newest
reading replaces the last one kept (so the last sample is always the latest
reading, and a run of equal readings keeps only its first and last). A
20-charger condo whose chargers each deliver about 3 h a day keeps some 1.3
million samples a year: about 30 MB (some 23 bytes a sample, measured).

Prices. A price sensor plan bills each interval at the price its sensor
showed then, so the ledger keeps every change of those sensors' prices (a
price, or none while the sensor had none): Home Assistant's own history is
purged after some days and may exclude the sensor, a statement may be made
months later.

Schema. ``PRAGMA user_version`` is the schema's version; ``MIGRATIONS`` lists,
for each version, the statements that bring the one before it there. A file of
a newer version is refused, never changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
import hashlib
import json
import math
from pathlib import Path
import secrets
import sqlite3
from typing import Any

from .core.price_history import PricePoint
from .core.sessions import ClosedBy, MeterSample, SessionRecord

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: sessions and their meter samples
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            charger TEXT NOT NULL,
            connector INTEGER NOT NULL,
            port_id TEXT NOT NULL,
            started_at REAL NOT NULL,
            meter_start_wh REAL NOT NULL,
            user_id TEXT,
            token TEXT,
            transaction_id TEXT,
            stopped_at REAL,
            meter_stop_wh REAL,
            closed_by TEXT NOT NULL DEFAULT 'open'
                CHECK (closed_by IN ('open', 'charger', 'meter')),
            peak_w REAL,
            UNIQUE (port_id, started_at))""",
        "CREATE INDEX sessions_started ON sessions (started_at)",
        "CREATE INDEX sessions_user ON sessions (user_id, started_at)",
        "CREATE INDEX sessions_transaction ON sessions (port_id, transaction_id)",
        "CREATE INDEX sessions_open ON sessions (port_id) WHERE closed_by = 'open'",
        """CREATE TABLE samples (
            session_id INTEGER NOT NULL REFERENCES sessions (id),
            at REAL NOT NULL,
            wh REAL NOT NULL,
            w REAL,
            PRIMARY KEY (session_id, at)) WITHOUT ROWID""",
        # A forgotten user: a salted hash of their id (never the id) and the
        # pseudonym their sessions are booked to.
        """CREATE TABLE pseudonyms (
            user_hash TEXT PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE) WITHOUT ROWID""",
    ),
    (  # 2: what a price sensor's price was over time (price sensor plans)
        """CREATE TABLE prices (
            entity_id TEXT NOT NULL,
            at REAL NOT NULL,
            price TEXT,
            PRIMARY KEY (entity_id, at)) WITHOUT ROWID""",
    ),
)
"""The schema, as the statements that bring each version from the one before."""

MIN_INTERVAL_S = 60.0
"""Readings closer together than this are thinned (the newest is kept)."""
MAX_WH = 1e12
"""A register above this (1 TWh) is not a charger's."""
MAX_W = 1e7
"""A power above this (10 MW) is not a charger's: taken as unknown."""
EARLIEST_AT = 946_684_800.0  # 2000-01-01
LATEST_AT = 4_102_444_800.0  # 2100-01-01
PSEUDONYM_PREFIX = "resident-"

_SELECT_ONE = """SELECT id, charger, connector, port_id, started_at, meter_start_wh,
    user_id, token, transaction_id, stopped_at, meter_stop_wh, closed_by, peak_w
    FROM sessions WHERE id = ?"""
_SELECT = """SELECT id, charger, connector, port_id, started_at, meter_start_wh,
    user_id, token, transaction_id, stopped_at, meter_stop_wh, closed_by, peak_w
    FROM sessions
    WHERE (:id IS NULL OR id = :id)
    AND (:charger IS NULL OR charger = :charger)
    AND (:port_id IS NULL OR port_id = :port_id)
    AND (:transaction_id IS NULL OR transaction_id = :transaction_id)
    AND (:user_id IS NULL OR user_id = :user_id)
    AND (NOT :open_only OR closed_by = 'open')
    AND started_at < :end AND started_at <= :until
    AND coalesce(stopped_at, 9e999) >= :start
    ORDER BY started_at, id"""
_SAMPLES = """SELECT session_id, at, wh, w FROM samples
    WHERE session_id IN (SELECT value FROM json_each(?))
    ORDER BY session_id, at"""


class LedgerError(Exception):
    """The ledger's file cannot be used (unreadable, or from a newer release)."""


class LedgerClosedError(LedgerError):
    """The ledger was closed."""


def check_at(at: object, what: str = "at") -> float:
    """A timestamp (UTC, s) between 2000 and 2100, or ValueError."""
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise TypeError(f"{what}: must be a number, got {type(at).__name__}")
    if not (math.isfinite(at) and EARLIEST_AT <= at <= LATEST_AT):
        raise ValueError(f"{what}: must be a time between 2000 and 2100, got {at}")
    return float(at)


def check_wh(wh: object, what: str = "meter") -> float:
    """An energy register (Wh, finite, 0 to 1 TWh), or ValueError."""
    if isinstance(wh, bool) or not isinstance(wh, int | float):
        raise TypeError(f"{what}: must be a number, got {type(wh).__name__}")
    if not (math.isfinite(wh) and 0 <= wh <= MAX_WH):
        raise ValueError(f"{what}: must be a number from 0 to {MAX_WH:g} Wh, got {wh}")
    return float(wh)


def plausible_w(w: object) -> float | None:
    """A power (W), or None when it is unknown or cannot be right."""
    if isinstance(w, bool) or not isinstance(w, int | float):
        return None
    return float(w) if math.isfinite(w) and 0 <= w <= MAX_W else None


def _text(value: object, what: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: must be a non-empty text, got {value!r}")
    return value


def _connector(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"connector: must be a whole number >= 0, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Query:
    """Which sessions to read (every condition given must hold)."""

    id: int | None = None
    charger: str | None = None
    port_id: str | None = None
    transaction_id: str | None = None
    user_id: str | None = None
    open_only: bool = False
    start: float = -math.inf
    """Not ended before this time."""
    end: float = math.inf
    """Started before this time."""
    until: float = math.inf
    """Started at or before this time."""

    def params(self) -> dict[str, Any]:
        """The query's parameters (ValueError if a time is not a number)."""
        if any(math.isnan(t) for t in (self.start, self.end, self.until)):
            raise ValueError("start, end: must be times, not NaN")
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class NewSession:
    """What a session starts with (checked when made)."""

    charger: str
    connector: int
    port_id: str
    started_at: float
    meter_start_wh: float
    user_id: str | None = None
    token: str | None = None
    transaction_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.charger, "charger", optional=False)
        _connector(self.connector)
        _text(self.port_id, "port_id", optional=False)
        check_at(self.started_at, "started_at")
        check_wh(self.meter_start_wh, "meter_start_wh")
        _text(self.user_id, "user_id")
        _text(self.token, "token")
        _text(self.transaction_id, "transaction_id")


def _sample(row: sqlite3.Row) -> MeterSample:
    return MeterSample(row["at"], row["wh"], row["w"])


def _record(row: sqlite3.Row, samples: Sequence[MeterSample]) -> SessionRecord:
    return SessionRecord(
        id=str(row["id"]),
        charger=row["charger"],
        connector=row["connector"],
        port_id=row["port_id"],
        started_at=row["started_at"],
        meter_start_wh=row["meter_start_wh"],
        user_id=row["user_id"],
        token=row["token"],
        transaction_id=row["transaction_id"],
        stopped_at=row["stopped_at"],
        meter_stop_wh=row["meter_stop_wh"],
        closed_by=ClosedBy(row["closed_by"]),
        peak_w=row["peak_w"],
        samples=tuple(samples),
    )


def _session_key(session_id: object) -> int:
    """A session id as the ledger stores it, or ValueError."""
    if isinstance(session_id, str) and session_id.isdigit():
        return int(session_id)
    raise ValueError(f"session_id: not a session of this ledger: {session_id!r}")


class _Store:
    """The file and what is done with it; used on the ledger's thread only."""

    def __init__(self, path: Path, min_interval_s: float) -> None:
        self.min_interval_s = min_interval_s
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as err:
            raise LedgerError(f"{path}: cannot be used as a ledger: {err}") from err
        except OSError as err:
            raise LedgerError(f"{path}: cannot be opened: {err}") from err
        try:
            self.db.row_factory = sqlite3.Row
            self._configure()
            self._migrate()
        except BaseException as err:
            # Not kept: its connection is closed (a site retries every few
            # minutes; each try would leave one open).
            self.db.close()
            if isinstance(err, sqlite3.Error):
                raise LedgerError(f"{path}: cannot be used as a ledger: {err}") from err
            raise

    def _configure(self) -> None:
        mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LedgerError(f"the file does not take WAL mode (it is {mode})")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA secure_delete=ON")  # a forgotten token is erased

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise LedgerError(
                f"schema version {version} is newer than this release knows"
                f" ({len(MIGRATIONS)})"
            )
        for number, statements in enumerate(MIGRATIONS[version:], version + 1):
            with self.transaction():
                for statement in statements:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number:d}")
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('salt', ?)",
                (secrets.token_hex(16),),
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # Reading

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def records(self, query: Query) -> list[SessionRecord]:
        rows = self.db.execute(_SELECT, query.params()).fetchall()
        samples: dict[int, list[MeterSample]] = {row["id"]: [] for row in rows}
        ids = json.dumps(list(samples))
        for row in self.db.execute(_SAMPLES, (ids,)):
            samples[row["session_id"]].append(_sample(row))
        return [_record(row, samples[row["id"]]) for row in rows]

    def record(self, key: int) -> SessionRecord:
        found = self.records(Query(id=key))
        if not found:
            raise ValueError(f"session_id: no session {key} in this ledger")
        return found[0]

    def row(self, key: int) -> sqlite3.Row:
        row: sqlite3.Row | None = self.db.execute(_SELECT_ONE, (key,)).fetchone()
        if row is None:
            raise ValueError(f"session_id: no session {key} in this ledger")
        return row

    def before(self, key: int, at: float) -> sqlite3.Row | None:
        """The sample kept at or before this time (the latest)."""
        row: sqlite3.Row | None = self.db.execute(
            "SELECT at, wh, w FROM samples WHERE session_id = ? AND at <= ?"
            " ORDER BY at DESC LIMIT 1",
            (key, at),
        ).fetchone()
        return row

    def after(self, key: int, at: float) -> sqlite3.Row | None:
        """The first sample kept after this time."""
        row: sqlite3.Row | None = self.db.execute(
            "SELECT at, wh, w FROM samples WHERE session_id = ? AND at > ?"
            " ORDER BY at LIMIT 1",
            (key, at),
        ).fetchone()
        return row

    def last(self, key: int) -> MeterSample:
        row = self.before(key, math.inf)
        if row is None:
            raise LedgerError(f"session {key} has no samples")
        return _sample(row)

    # Writing

    def open_session(self, new: NewSession) -> SessionRecord:
        with self.transaction() as db:
            found = self._same_session(new)
            if found is not None:
                return self.record(found)
            key = db.execute(
                "INSERT INTO sessions (charger, connector, port_id, started_at,"
                " meter_start_wh, user_id, token, transaction_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.charger,
                    new.connector,
                    new.port_id,
                    new.started_at,
                    new.meter_start_wh,
                    new.user_id,
                    new.token,
                    new.transaction_id,
                ),
            ).lastrowid
            db.execute(
                "INSERT INTO samples VALUES (?, ?, ?, NULL)",
                (key, new.started_at, new.meter_start_wh),
            )
            if key is None:
                raise LedgerError("the new session was given no id")
            return self.record(key)

    def _same_session(self, new: NewSession) -> int | None:
        """The session this start repeats: the same port and start time, or
        the same transaction on the port while it is open."""
        row = self.db.execute(
            "SELECT id FROM sessions WHERE port_id = ? AND (started_at = ?"
            " OR (transaction_id = ? AND closed_by = 'open'))"
            " ORDER BY started_at = ? DESC LIMIT 1",
            (new.port_id, new.started_at, new.transaction_id, new.started_at),
        ).fetchone()
        return None if row is None else int(row[0])

    def add_samples(self, key: int, samples: Iterable[MeterSample]) -> int:
        with self.transaction():
            session = self.row(key)
            return sum(self._add_sample(session, sample) for sample in samples)

    def _add_sample(self, session: sqlite3.Row, sample: MeterSample) -> bool:
        if not isinstance(sample, MeterSample):
            raise TypeError(f"samples: must be MeterSample, got {sample!r}")
        if sample.at < session["started_at"] or sample.wh > MAX_WH:
            return False
        stop = session["stopped_at"]
        if stop is not None and sample.at > stop:
            return False
        key = session["id"]
        prev, nxt = self.before(key, sample.at), self.after(key, sample.at)
        if prev is None or prev["at"] == sample.at or sample.wh < prev["wh"]:
            return False
        if nxt is not None and sample.wh > nxt["wh"]:
            return False
        w = plausible_w(sample.w)
        if nxt is None and self._thins(key, prev, sample):
            self.db.execute(
                "UPDATE samples SET at = ?, wh = ?, w = ? WHERE session_id = ? AND at = ?",
                (sample.at, sample.wh, w, key, prev["at"]),
            )
        else:
            self.db.execute(
                "INSERT INTO samples VALUES (?, ?, ?, ?)",
                (key, sample.at, sample.wh, w),
            )
        if w is not None:
            self.db.execute(
                "UPDATE sessions SET peak_w = max(coalesce(peak_w, 0), ?) WHERE id = ?",
                (w, key),
            )
        return True

    def _thins(self, key: int, prev: sqlite3.Row, sample: MeterSample) -> bool:
        """Whether the newest reading replaces the last one kept (not the start)."""
        older = self.db.execute(
            "SELECT at, wh FROM samples WHERE session_id = ? AND at < ?"
            " ORDER BY at DESC LIMIT 1",
            (key, prev["at"]),
        ).fetchone()
        if older is None:
            return False
        flat = older["wh"] == prev["wh"] == sample.wh
        return bool(flat or sample.at - older["at"] < self.min_interval_s)

    def close_session(
        self, key: int, stopped_at: float, meter_stop_wh: float, closed_by: ClosedBy
    ) -> SessionRecord:
        with self.transaction() as db:
            session = self.row(key)
            current = ClosedBy(session["closed_by"])
            if current is ClosedBy.CHARGER or current is closed_by:
                return self.record(key)  # the charger's own stop is final
            stopped_at, meter_stop_wh = self._stop_reading(
                session, stopped_at, meter_stop_wh
            )
            db.execute(  # what came after the stop is not the session's
                "DELETE FROM samples WHERE session_id = ? AND at >= ? AND at > ?",
                (key, stopped_at, session["started_at"]),
            )
            db.execute(
                "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, NULL)",
                (key, stopped_at, meter_stop_wh),
            )
            db.execute(
                "UPDATE sessions SET stopped_at = ?, meter_stop_wh = ?, closed_by = ?"
                " WHERE id = ?",
                (stopped_at, meter_stop_wh, closed_by.value, key),
            )
            return self.record(key)

    def _stop_reading(
        self, session: sqlite3.Row, at: float, wh: float
    ) -> tuple[float, float]:
        """The stop as kept: not before the start (a stop at the start
        instant delivered nothing), its register not below one kept before."""
        start_at, start_wh = session["started_at"], session["meter_start_wh"]
        if at <= start_at:
            return start_at, start_wh
        prev = self.before(session["id"], at)
        return at, max(wh, start_wh, prev["wh"] if prev is not None else start_wh)

    def close_at_last_reading(self, key: int, before: float) -> SessionRecord:
        row = self.before(key, before)
        if row is None:  # nothing before it: it ends where it started
            session = self.row(key)
            at, wh = session["started_at"], session["meter_start_wh"]
        else:
            at, wh = row["at"], row["wh"]
        return self.close_session(key, at, wh, ClosedBy.METER)

    def add_price(self, entity_id: str, at: float, price: str | None) -> bool:
        with self.transaction() as db:
            row = db.execute(
                "SELECT price FROM prices WHERE entity_id = ? AND at <= ?"
                " ORDER BY at DESC LIMIT 1",
                (entity_id, at),
            ).fetchone()
            if row is not None and row[0] == price:
                return False  # the price in force already
            db.execute(
                "INSERT OR REPLACE INTO prices VALUES (?, ?, ?)", (entity_id, at, price)
            )
            return True

    def prices(self, entity_id: str, start: float, end: float) -> list[PricePoint]:
        rows = self.db.execute(
            "SELECT at, price FROM prices WHERE entity_id = :e AND at < :end AND at >="
            " coalesce((SELECT max(at) FROM prices WHERE entity_id = :e"
            " AND at <= :start), :start) ORDER BY at",
            {"e": entity_id, "start": start, "end": end},
        ).fetchall()
        return [PricePoint.of(row[0], row[1]) for row in rows]

    def assign(self, key: int, user_id: str | None) -> SessionRecord:
        with self.transaction() as db:
            self.row(key)
            db.execute("UPDATE sessions SET user_id = ? WHERE id = ?", (user_id, key))
            return self.record(key)

    def forget_user(self, user_id: str) -> str:
        with self.transaction() as db:
            pseudonym = self._pseudonym(user_id)
            db.execute(
                "UPDATE sessions SET user_id = ?, token = NULL WHERE user_id = ?",
                (pseudonym, user_id),
            )
        # What the WAL still holds of the old rows goes into the file (where
        # secure_delete overwrote it) and the WAL is emptied.
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return pseudonym

    def _pseudonym(self, user_id: str) -> str:
        """The same user always gets the same one; another user never does."""
        digest = hashlib.sha256(f"{self.meta('salt')}:{user_id}".encode()).hexdigest()
        row = self.db.execute(
            "SELECT pseudonym FROM pseudonyms WHERE user_hash = ?", (digest,)
        ).fetchone()
        if row is not None:
            return str(row[0])
        length = 4
        while self.db.execute(
            "SELECT 1 FROM pseudonyms WHERE pseudonym = ?",
            (PSEUDONYM_PREFIX + digest[:length],),
        ).fetchone():
            length += 1  # another user's: a longer one
        name = PSEUDONYM_PREFIX + digest[:length]
        self.db.execute("INSERT INTO pseudonyms VALUES (?, ?)", (digest, name))
        return name


class Ledger:
    """A site's sessions in a SQLite file (see the module's doc)."""

    def __init__(self, store: _Store, executor: Executor, owns_executor: bool) -> None:
        self._store: _Store | None = store
        self._executor = executor
        self._owns_executor = owns_executor

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        site: str | None = None,
        executor: Executor | None = None,
        min_interval_s: float = MIN_INTERVAL_S,
    ) -> Ledger:
        """Open (or create) the ledger in this file.

        ``executor``, if given, must run one job at a time (one worker) and is
        left running at ``close``; otherwise the ledger makes its own thread.
        ``site`` names the site in the file (kept from the last open if None).
        Raises LedgerError if the file cannot be used.
        """
        owns = executor is None
        pool = executor or ThreadPoolExecutor(
            1, thread_name_prefix="ev_power_share_ledger"
        )
        loop = asyncio.get_running_loop()
        try:
            store = await loop.run_in_executor(
                pool, partial(_Store, Path(path), min_interval_s)
            )
            if site is not None:
                await loop.run_in_executor(pool, store.set_meta, "site", site)
        except BaseException:
            if owns:
                await loop.run_in_executor(None, partial(pool.shutdown, wait=True))
            raise
        return cls(store, pool, owns)

    async def _run[T](self, job: Callable[[_Store], T]) -> T:
        store = self._store
        if store is None:
            raise LedgerClosedError("the ledger is closed")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, job, store
        )

    @property
    def closed(self) -> bool:
        """Whether it was closed."""
        return self._store is None

    async def site(self) -> str | None:
        """The site's name as stored in the file."""
        return await self._run(lambda s: s.meta("site"))

    async def open_session(
        self,
        *,
        charger: str,
        connector: int,
        port_id: str,
        started_at: float,
        meter_start_wh: float,
        user_id: str | None = None,
        token: str | None = None,
        transaction_id: str | None = None,
    ) -> SessionRecord:
        """Start a session, or return the one this start repeats (the same
        port and start time, or the same transaction open on the port).
        ValueError if an argument cannot be right."""
        new = NewSession(
            charger,
            connector,
            port_id,
            started_at,
            meter_start_wh,
            user_id,
            token,
            transaction_id,
        )
        return await self.add_session(new)

    async def add_session(self, new: NewSession) -> SessionRecord:
        """``open_session`` with what it starts with already checked."""
        return await self._run(lambda s: s.open_session(new))

    async def add_samples(self, session_id: str, samples: Iterable[MeterSample]) -> int:
        """Add readings (kept or dropped by the module's rule): how many were kept."""
        key, batch = _session_key(session_id), list(samples)
        return await self._run(lambda s: s.add_samples(key, batch))

    async def close_session(
        self,
        session_id: str,
        stopped_at: float,
        meter_stop_wh: float,
        closed_by: ClosedBy,
    ) -> SessionRecord:
        """End a session. A charger's stop is final (a repeat changes nothing)
        and replaces a close by the meter; a stop register below a reading
        already kept is raised to it, samples after the stop are dropped."""
        key = _session_key(session_id)
        at, wh = check_at(stopped_at, "stopped_at"), check_wh(meter_stop_wh)
        if not isinstance(closed_by, ClosedBy) or closed_by is ClosedBy.OPEN:
            raise ValueError(f"closed_by: must be charger or meter, got {closed_by!r}")
        return await self._run(lambda s: s.close_session(key, at, wh, closed_by))

    async def close_at_last_reading(
        self, session_id: str, before: float = math.inf
    ) -> SessionRecord:
        """Close a session whose stop never came by the meter, at its last
        reading at or before ``before``."""
        key = _session_key(session_id)
        return await self._run(lambda s: s.close_at_last_reading(key, before))

    async def session(self, session_id: str) -> SessionRecord | None:
        """One session, or None."""
        found = await self._read(Query(id=_session_key(session_id)))
        return found[0] if found else None

    async def last_sample(self, session_id: str) -> MeterSample:
        """The latest reading kept of a session."""
        key = _session_key(session_id)
        return await self._run(lambda s: s.last(key))

    async def sessions(
        self, start: float, end: float, user_id: str | None = None
    ) -> list[SessionRecord]:
        """The sessions that overlap [start, end) (an open one from its start
        on), of one user or all, oldest first."""
        return await self._read(Query(user_id=user_id, start=start, end=end))

    async def open_sessions(self, port_id: str | None = None) -> list[SessionRecord]:
        """The sessions not ended (of one port, or all), oldest first."""
        return await self._read(Query(port_id=port_id, open_only=True))

    async def transaction(
        self, port_id: str, transaction_id: str
    ) -> SessionRecord | None:
        """The latest session of this transaction on the port."""
        found = await self._read(Query(port_id=port_id, transaction_id=transaction_id))
        return found[-1] if found else None

    async def charger_transaction(
        self, charger: str, transaction_id: str
    ) -> SessionRecord | None:
        """The latest session of this transaction of the charger (OCPP 1.6
        StopTransaction names no connector)."""
        found = await self._read(Query(charger=charger, transaction_id=transaction_id))
        return found[-1] if found else None

    async def latest(self, port_id: str, at: float) -> SessionRecord | None:
        """The port's latest session that started at or before this time."""
        found = await self._read(Query(port_id=port_id, until=at))
        return found[-1] if found else None

    async def _read(self, query: Query) -> list[SessionRecord]:
        return await self._run(lambda s: s.records(query))

    async def assign_user(self, session_id: str, user_id: str | None) -> SessionRecord:
        """Book a session to another user (None: unassigned), as when the user
        chosen on a port without a card reader changes during it."""
        key = _session_key(session_id)
        _text(user_id, "user_id")
        return await self._run(lambda s: s.assign(key, user_id))

    async def forget_user(self, user_id: str) -> str:
        """Book a user's sessions to a stable pseudonym and drop their tokens:
        the pseudonym (``resident-7f3a``)."""
        _text(user_id, "user_id", optional=False)
        return await self._run(lambda s: s.forget_user(user_id))

    async def add_price(self, entity_id: str, at: float, price: str | None) -> bool:
        """A price sensor's price from ``at`` on (None: it had none); False if
        it is the price already in force then."""
        _text(entity_id, "entity_id", optional=False)
        moment = check_at(at)
        return await self._run(lambda s: s.add_price(entity_id, moment, price))

    async def prices(
        self, entity_id: str, start: float, end: float
    ) -> list[PricePoint]:
        """A price sensor's prices over [start, end): the one in force at the
        start (if any is known), then every change, oldest first."""
        return await self._run(lambda s: s.prices(entity_id, start, end))

    async def close(self) -> None:
        """Close the file (and the ledger's thread); a second close is a no-op."""
        store, self._store = self._store, None
        if store is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, store.close)
        finally:
            if self._owns_executor:
                await loop.run_in_executor(
                    None, partial(self._executor.shutdown, wait=True)
                )

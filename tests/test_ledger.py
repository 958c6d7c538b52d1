"""The session ledger: a real SQLite file in tmp_path; reopening it is a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
import math
from pathlib import Path
import sqlite3
import threading

import pytest

from custom_components.ev_power_share.core.sessions import ClosedBy, MeterSample
from custom_components.ev_power_share.ledger import (
    MIGRATIONS,
    Ledger,
    LedgerClosedError,
    LedgerError,
)

T0 = 1_780_000_000.0  # 2026-05-28


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await Ledger.open(tmp_path / "site.sqlite", site="Maple Court")
    yield opened
    await opened.close()


def _files_holding(folder: Path, data: bytes) -> list[str]:
    return [f.name for f in folder.iterdir() if data in f.read_bytes()]


async def _start(ledger: Ledger, at: float = T0, **kw: object) -> str:
    args: dict[str, object] = {
        "charger": "cp-1",
        "connector": 1,
        "port_id": "cp-1:1",
        "started_at": at,
        "meter_start_wh": 1000.0,
        **kw,
    }
    return (await ledger.open_session(**args)).id  # type: ignore[arg-type]


async def test_a_session_is_kept_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ev_power_share" / "entry.sqlite"  # the folder is made
    ledger = await Ledger.open(path, site="Maple Court")
    session = await ledger.open_session(
        charger="cp-1",
        connector=1,
        port_id="cp-1:1",
        started_at=T0,
        meter_start_wh=1000.0,
        user_id="user-a",
        token="CARD-1",
        transaction_id="7",
    )
    kept = await ledger.add_samples(
        session.id, [MeterSample(T0 + 60, 1100.0, 7000.0), MeterSample(T0 + 120, 1200)]
    )
    assert kept == 2
    await ledger.close()
    assert ledger.closed

    ledger = await Ledger.open(path)
    try:
        assert await ledger.site() == "Maple Court"
        [again] = await ledger.open_sessions()
        assert again.id == session.id
        assert (again.user_id, again.token, again.transaction_id) == (
            "user-a",
            "CARD-1",
            "7",
        )
        assert again.samples == (
            MeterSample(T0, 1000.0),
            MeterSample(T0 + 60, 1100.0, 7000.0),
            MeterSample(T0 + 120, 1200.0),
        )
        assert again.peak_w == 7000.0
        closed = await ledger.close_session(
            session.id, T0 + 180, 1300.0, ClosedBy.CHARGER
        )
        assert closed.energy_wh == 300.0
        assert closed.samples[-1] == MeterSample(T0 + 180, 1300.0)
        assert await ledger.open_sessions() == []
    finally:
        await ledger.close()


async def test_the_file_is_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "site.sqlite"
    await (await Ledger.open(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


async def test_a_file_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "site.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(LedgerError, match="newer than this release"):
        await Ledger.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    db.close()


async def test_a_file_that_is_no_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "site.sqlite"
    path.write_bytes(b"not a database, just some bytes" * 100)
    with pytest.raises(LedgerError, match="cannot be used as a ledger"):
        await Ledger.open(path)
    assert "ev_power_share_ledger" not in {t.name[:21] for t in threading.enumerate()}


async def test_a_closed_ledger_says_so(ledger: Ledger) -> None:
    await ledger.close()
    await ledger.close()  # twice is fine
    with pytest.raises(LedgerClosedError):
        await ledger.open_sessions()


async def test_an_injected_executor_is_used_and_left_running(tmp_path: Path) -> None:
    names: list[str] = []
    with ThreadPoolExecutor(1, thread_name_prefix="injected") as pool:
        ledger = await Ledger.open(tmp_path / "site.sqlite", executor=pool)
        await _start(ledger)
        names.append(pool.submit(lambda: threading.current_thread().name).result())
        await ledger.close()
        assert pool.submit(lambda: 1 + 1).result() == 2
    assert names[0].startswith("injected")


async def test_the_same_start_twice_is_one_session(ledger: Ledger) -> None:
    first = await _start(ledger, transaction_id="t1")
    assert await _start(ledger, transaction_id="t1") == first
    assert await _start(ledger, at=T0 + 5, transaction_id="t1") == first  # open tx
    assert await _start(ledger) == first  # same port, same instant
    assert len(await ledger.sessions(-math.inf, math.inf)) == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"charger": ""}, ValueError),
        ({"charger": 5}, ValueError),
        ({"connector": -1}, ValueError),
        ({"connector": True}, ValueError),
        ({"started_at": math.nan}, ValueError),
        ({"started_at": 12.0}, ValueError),  # 1970: a charger whose clock is unset
        ({"started_at": "now"}, TypeError),
        ({"meter_start_wh": -1.0}, ValueError),
        ({"meter_start_wh": math.inf}, ValueError),
        ({"meter_start_wh": 1e15}, ValueError),
        ({"token": ""}, ValueError),
    ],
)
async def test_a_start_that_cannot_be_right_is_refused(
    ledger: Ledger, kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await _start(ledger, **kwargs)
    assert await ledger.open_sessions() == []


async def test_samples_out_of_order_or_going_backwards_are_dropped(
    ledger: Ledger,
) -> None:
    sid = await _start(ledger)
    samples = [
        MeterSample(T0 + 120, 1200.0),
        MeterSample(T0 + 60, 1100.0),  # late but fits between: kept
        MeterSample(T0 + 90, 1300.0),  # above the reading after it: dropped
        MeterSample(T0 + 180, 1150.0),  # register backwards: dropped
        MeterSample(T0 - 10, 900.0),  # before the start: dropped
        MeterSample(T0 + 120, 1250.0),  # a time already kept: dropped
    ]
    assert await ledger.add_samples(sid, samples) == 2
    session = await ledger.session(sid)
    assert session is not None
    assert [(s.at - T0, s.wh) for s in session.samples] == [
        (0, 1000.0),
        (60, 1100.0),
        (120, 1200.0),
    ]
    with pytest.raises(TypeError):
        await ledger.add_samples(sid, [(T0 + 200, 1300.0)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="not a session"):
        await ledger.add_samples("s-1", [])
    with pytest.raises(ValueError, match="no session"):
        await ledger.add_samples("999", [])


async def test_an_implausible_power_is_taken_as_unknown(ledger: Ledger) -> None:
    sid = await _start(ledger)
    await ledger.add_samples(sid, [MeterSample(T0 + 60, 1100.0, 5e9)])
    session = await ledger.session(sid)
    assert session is not None
    assert session.samples[-1].w is None
    assert session.peak_w is None


async def test_readings_are_thinned_to_one_a_minute_and_flat_runs_to_two(
    ledger: Ledger,
) -> None:
    sid = await _start(ledger)
    # Every 10 s for 10 min at 6 kW (1000 / 60 Wh per 10 s), then 20 min idle.
    charging = [
        MeterSample(T0 + 10 * i, 1000 + i * 1000 / 60, 6000.0) for i in range(1, 61)
    ]
    idle = [MeterSample(T0 + 600 + 10 * i, charging[-1].wh, 0.0) for i in range(1, 121)]
    assert await ledger.add_samples(sid, charging + idle) == 180
    session = await ledger.session(sid)
    assert session is not None
    times = [s.at for s in session.samples]
    assert times[-1] == T0 + 1800  # the latest reading is always kept
    assert len(times) <= 600 / 60 + 4
    assert all(b - a >= 50 for a, b in pairwise(times[1:-1]))
    flat = [s for s in session.samples if s.wh == charging[-1].wh]
    assert len(flat) == 2
    assert session.energy_wh == pytest.approx(1000.0)
    assert session.peak_w == 6000.0


async def test_a_charger_stop_is_final_and_replaces_a_close_by_the_meter(
    ledger: Ledger,
) -> None:
    sid = await _start(ledger)
    await ledger.add_samples(sid, [MeterSample(T0 + 600, 1500.0)])
    by_meter = await ledger.close_at_last_reading(sid)
    assert (by_meter.closed_by, by_meter.stopped_at, by_meter.meter_stop_wh) == (
        ClosedBy.METER,
        T0 + 600,
        1500.0,
    )
    assert await ledger.close_at_last_reading(sid) == by_meter
    # The charger's own stop arrives late: it is the session's end.
    stopped = await ledger.close_session(sid, T0 + 900, 1800.0, ClosedBy.CHARGER)
    assert (stopped.closed_by, stopped.meter_stop_wh) == (ClosedBy.CHARGER, 1800.0)
    assert (
        await ledger.close_session(sid, T0 + 999, 9999.0, ClosedBy.CHARGER) == stopped
    )
    assert await ledger.close_at_last_reading(sid) == stopped


async def test_a_stop_that_contradicts_the_readings_is_made_consistent(
    ledger: Ledger,
) -> None:
    sid = await _start(ledger)
    await ledger.add_samples(
        sid, [MeterSample(T0 + 60, 1400.0), MeterSample(T0 + 3600, 1900.0)]
    )
    # Below a reading before it: raised to it. Readings after it: dropped.
    stopped = await ledger.close_session(sid, T0 + 120, 1300.0, ClosedBy.CHARGER)
    assert stopped.meter_stop_wh == 1400.0
    assert [s.at - T0 for s in stopped.samples] == [0, 60, 120]
    assert await ledger.add_samples(sid, [MeterSample(T0 + 500, 1500.0)]) == 0
    assert await ledger.add_samples(sid, [MeterSample(T0 + 90, 1400.0)]) == 1
    # Before its start: it ended at its start, having delivered nothing.
    other = await _start(ledger, at=T0 + 7200, port_id="cp-1:2", connector=2)
    early = await ledger.close_session(other, T0, 5000.0, ClosedBy.CHARGER)
    assert (early.stopped_at, early.energy_wh, len(early.samples)) == (T0 + 7200, 0, 1)
    with pytest.raises(ValueError, match="closed_by"):
        await ledger.close_session(sid, T0, 1.0, ClosedBy.OPEN)
    with pytest.raises(ValueError, match="meter"):
        await ledger.close_session(sid, T0, math.nan, ClosedBy.CHARGER)


async def test_sessions_of_a_period_are_those_that_overlap_it(ledger: Ledger) -> None:
    day = 86_400.0
    a = await _start(ledger, at=T0, user_id="a")
    await ledger.close_session(a, T0 + 3600, 2000.0, ClosedBy.CHARGER)
    b = await _start(ledger, at=T0 + day - 60, user_id="b")  # across midnight
    await ledger.close_session(b, T0 + day + 3600, 3000.0, ClosedBy.CHARGER)
    c = await _start(ledger, at=T0 + 2 * day, user_id="a")  # still open
    ids = [s.id for s in await ledger.sessions(T0 + day, T0 + 2 * day)]
    assert ids == [b]
    assert [s.id for s in await ledger.sessions(T0, T0 + 3 * day, "a")] == [a, c]
    assert [s.id for s in await ledger.sessions(T0 + 5 * day, math.inf)] == [c]


async def test_a_forgotten_user_keeps_their_sessions_under_a_pseudonym(
    tmp_path: Path,
) -> None:
    path = tmp_path / "site.sqlite"
    ledger = await Ledger.open(path)
    mine = await _start(ledger, user_id="user-a", token="SECRET-CARD-42")
    await ledger.close_session(mine, T0 + 60, 1100.0, ClosedBy.CHARGER)
    later = await _start(ledger, at=T0 + 600, user_id="user-a", token="SECRET-CARD-42")
    theirs = await _start(ledger, at=T0 + 900, user_id="user-b", token="CARD-B")
    assert _files_holding(tmp_path, b"SECRET-CARD-42")  # the card is stored
    pseudonym = await ledger.forget_user("user-a")
    assert pseudonym.startswith("resident-")
    assert len(pseudonym) == len("resident-") + 4
    sessions = {s.id: s for s in await ledger.sessions(-math.inf, math.inf)}
    assert {sessions[mine].user_id, sessions[later].user_id} == {pseudonym}
    assert sessions[mine].token is None
    assert sessions[mine].energy_wh == 100.0
    assert (sessions[theirs].user_id, sessions[theirs].token) == ("user-b", "CARD-B")
    assert await ledger.forget_user("user-a") == pseudonym  # stable
    other = await ledger.forget_user("user-b")
    assert other != pseudonym
    await ledger.close()
    assert not _files_holding(tmp_path, b"SECRET-CARD-42")  # nor the WAL
    ledger = await Ledger.open(path)
    try:
        assert await ledger.forget_user("user-a") == pseudonym  # across a reopen
    finally:
        await ledger.close()


async def test_a_started_session_finds_its_transaction_and_latest(
    ledger: Ledger,
) -> None:
    sid = await _start(ledger, transaction_id="42")
    found = await ledger.charger_transaction("cp-1", "42")
    assert found is not None
    assert found.id == sid
    assert await ledger.charger_transaction("cp-2", "42") is None
    latest = await ledger.latest("cp-1:1", T0 + 1)
    assert latest is not None
    assert latest.id == sid
    assert await ledger.latest("cp-1:1", T0 - 1) is None
    assert (await ledger.last_sample(sid)).wh == 1000.0


async def test_a_period_that_is_not_one_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="NaN"):
        await ledger.sessions(math.nan, T0)

"""Monthly statements and the board's export: a month of sessions across
per-kWh, per-hour and time-of-use plans, computed by hand to the cent."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
import io
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_power_share.core.session_costs import (
    SessionCost,
    price_session,
)
from custom_components.ev_power_share.core.sessions import (
    ClosedBy,
    MeterSample,
    SessionRecord,
)
from custom_components.ev_power_share.core.statement_files import (
    BOARD_COLUMNS,
    board_csv,
    export_files,
    file_stem,
    safe_text,
    statement_csv,
    statement_html,
)
from custom_components.ev_power_share.core.statements import (
    Account,
    AccountKind,
    Billing,
    BoardExport,
    Month,
    StatementError,
    account_for,
    month_export,
    statement,
)
from custom_components.ev_power_share.core.tariff_plans import (
    TariffPlan,
    plan_from_dict,
)

TZ = ZoneInfo("Europe/Brussels")
MARCH = Month(2025, 3)
PLANS = {
    p.id: p
    for p in (
        plan_from_dict(
            {
                "id": "resident",
                "name": "Resident",
                "currency": "EUR",
                "vat_percent": "21",
                "monthly_fee": "5.00",
                "rule": "per_kwh",
                "price": "0.25",
            }
        ),
        plan_from_dict(
            {
                "id": "offpeak",
                "name": "Off-peak",
                "currency": "EUR",
                "vat_percent": "21",
                "monthly_fee": "3.00",
                "rule": "time_of_use",
                "default_price": "0.18",
                "windows": [
                    {
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                        "start": "07:00",
                        "end": "23:00",
                        "price": "0.32",
                    }
                ],
            }
        ),
        plan_from_dict(
            {
                "id": "visitor",
                "name": "Visitor",
                "currency": "EUR",
                "vat_percent": "21",
                "rule": "per_hour",
                "price_per_hour": "1.50",
                "idle_fee_per_hour": "4.00",
                "grace_minutes": 30,
            }
        ),
    )
}
BILLING = Billing(
    names={"alice": "Alice", "bob": "Bob", "carol": "Carol", "vera": "Vera <visitor>"},
    user_plans={
        "alice": "resident",
        "bob": "offpeak",
        "carol": "resident",
        "vera": "visitor",
    },
    plans=PLANS,
    default_plan_id="resident",
)


def at(month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(2025, month, day, hour, minute, tzinfo=TZ).timestamp()


def record(
    sid: str,
    user: str | None,
    span: tuple[float, float],
    wh: tuple[float, float],
    samples: tuple[MeterSample, ...] = (),
    closed_by: ClosedBy = ClosedBy.CHARGER,
) -> SessionRecord:
    return SessionRecord(
        sid,
        "cp-1",
        1,
        "cp-1:1",
        span[0],
        wh[0],
        user_id=user,
        stopped_at=span[1],
        meter_stop_wh=wh[1],
        closed_by=closed_by,
        samples=samples,
    )


SESSIONS = (
    # Alice, resident (0.25/kWh, fee 5.00):
    #   a1 11.337 kWh × 0.25 = 2.83425 → 2.83
    #   a2  8.660 kWh × 0.25 = 2.165   → 2.17 (half up)
    #   a3 starts 31 March 23:30 (CEST), ends in April: March's; 1 kWh → 0.25
    #   a4 starts 1 April 00:30: April's, not on March's statement
    #   energy 5.25 + fee 5.00 = net 10.25; VAT 21 % 2.1525 → 2.15; gross 12.40
    record("a1", "alice", (at(3, 3, 18), at(3, 3, 22)), (10000.0, 21337.0)),
    record("a2", "alice", (at(3, 10, 19), at(3, 10, 23, 30)), (21337.0, 29997.0)),
    record(
        "a3",
        "alice",
        (at(3, 31, 23, 30), at(4, 1, 1)),
        (29997.0, 30997.0),
        closed_by=ClosedBy.METER,
    ),
    record("a4", "alice", (at(4, 1, 0, 30), at(4, 1, 2)), (30997.0, 35000.0)),
    # Bob, off-peak (Mon–Fri 07:00–23:00 0.32, else 0.18; fee 3.00):
    #   b1 across the 23:00 change, Tue 4 March 21:00 → Wed 01:00; register
    #     57 000 at 22:00 and 64 000 at 23:30, so at 23:00 it reads
    #     57 000 + 7 000 × 60/90 = 61 666.667 Wh:
    #     21:00–23:00 11.666667 kWh × 0.32 = 3.73333344 → 3.73
    #     23:00–01:00  6.333333 kWh × 0.18 = 1.13999994 → 1.14   (4.87)
    #   b2 across the spring change: Sun 30 March 00:00 CET (23:00Z Sat) →
    #     Mon 31 March 08:00 CEST (06:00Z): 31 h, not 32; 1 kW throughout.
    #     Peak from Mon 07:00 CEST = 05:00Z: 30 h off-peak, 1 h peak:
    #     30.000 kWh × 0.18 = 5.40, 1.000 kWh × 0.32 = 0.32       (5.72)
    #   energy 10.59 + fee 3.00 = net 13.59; VAT 2.8539 → 2.85; gross 16.44
    record(
        "b1",
        "bob",
        (at(3, 4, 21), at(3, 5, 1)),
        (50000.0, 68000.0),
        (MeterSample(at(3, 4, 22), 57000.0), MeterSample(at(3, 4, 23, 30), 64000.0)),
    ),
    record("b2", "bob", (at(3, 30, 0), at(3, 31, 8)), (68000.0, 99000.0)),
    # Carol, resident, no sessions: fee 5.00; VAT 1.05; gross 6.05
    # Vera, visitor (1.50/h plugged in, 4.00/h idle after 30 min; no fee):
    #   Sat 15 March 10:00–14:15 (4.25 h), drew until 12:30, then 4 W:
    #   4.25 h × 1.50 = 6.375 → 6.38; idle 13:00–14:15 1.25 h × 4.00 = 5.00
    #   net 11.38; VAT 2.3898 → 2.39; gross 13.77; 16.004 kWh
    record(
        "v1",
        "vera",
        (at(3, 15, 10), at(3, 15, 14, 15)),
        (5000.0, 21004.0),
        (
            MeterSample(at(3, 15, 11), 12000.0),
            MeterSample(at(3, 15, 12), 19000.0),
            MeterSample(at(3, 15, 12, 30), 21000.0),
            MeterSample(at(3, 15, 13), 21000.0),
            MeterSample(at(3, 15, 14), 21004.0),
        ),
    ),
    # A removed user (the ledger booked them to their pseudonym): the default
    # plan, no fee:
    #   2 kWh × 0.25 = 0.50; VAT 0.105 → 0.11 (half up); gross 0.61
    record("x1", "resident-3f2a", (at(3, 20, 8), at(3, 20, 9)), (100000.0, 102000.0)),
    # No user (an outlet nobody was chosen on): the default plan, no fee:
    #   3 kWh × 0.25 = 0.75; VAT 0.1575 → 0.16; gross 0.91
    record("n1", None, (at(3, 25, 8), at(3, 25, 9)), (0.0, 3000.0)),
)
# Board (EUR): 8 sessions, 91.001 kWh, energy 28.47, fees 13.00, net 41.47,
# VAT 8.71, gross 50.18.


def priced(sessions: tuple[SessionRecord, ...] = SESSIONS) -> list[SessionCost]:
    """Each session priced by its user's plan (the default plan for the rest)."""
    return [
        price_session(s, PLANS[BILLING.user_plans.get(s.user_id or "", "resident")], TZ)
        for s in sessions
    ]


def figures(board: BoardExport) -> list[tuple[object, ...]]:
    return [
        (
            s.account.name,
            str(s.account.kind),
            [c.session.id for c in s.sessions],
            f"{s.energy_wh / 1000:.3f}",
            str(s.energy_amount),
            str(s.monthly_fee),
            str(s.net),
            str(s.vat),
            str(s.gross),
        )
        for s in board.statements
    ]


def test_a_month_of_sessions_matches_the_hand_computed_statements() -> None:
    board = month_export(MARCH, priced(), BILLING, TZ)
    assert figures(board) == [
        (
            "Alice",
            "user",
            ["a1", "a2", "a3"],
            "20.997",
            "5.25",
            "5.00",
            "10.25",
            "2.15",
            "12.40",
        ),
        (
            "Bob",
            "user",
            ["b1", "b2"],
            "49.000",
            "10.59",
            "3.00",
            "13.59",
            "2.85",
            "16.44",
        ),
        ("Carol", "user", [], "0.000", "0.00", "5.00", "5.00", "1.05", "6.05"),
        (
            "Vera <visitor>",
            "user",
            ["v1"],
            "16.004",
            "11.38",
            "0.00",
            "11.38",
            "2.39",
            "13.77",
        ),
        (
            "resident-3f2a",
            "pseudonym",
            ["x1"],
            "2.000",
            "0.50",
            "0.00",
            "0.50",
            "0.11",
            "0.61",
        ),
        (
            "Unassigned",
            "unassigned",
            ["n1"],
            "3.000",
            "0.75",
            "0.00",
            "0.75",
            "0.16",
            "0.91",
        ),
    ]
    by_id = {c.session.id: c for s in board.statements for c in s.sessions}
    assert [str(line.amount) for line in by_id["b1"].lines] == ["3.73", "1.14"]
    assert [str(line.amount) for line in by_id["b2"].lines] == ["5.40", "0.32"]
    assert (
        by_id["b2"].lines[1].start
        == datetime(2025, 3, 31, 5, tzinfo=ZoneInfo("UTC")).timestamp()
    )
    assert [str(line.amount) for line in by_id["v1"].lines] == ["6.38", "5.00"]
    (total,) = board.totals()
    assert (
        total.currency,
        total.sessions,
        total.energy_wh,
        total.energy_amount,
        total.monthly_fees,
        total.net,
        total.vat,
        total.gross,
    ) == (
        "EUR",
        8,
        Decimal(91001),
        Decimal("28.47"),
        Decimal(13),
        Decimal("41.47"),
        Decimal("8.71"),
        Decimal("50.18"),
    )


def test_the_board_csv_reconciles_to_the_cent() -> None:
    """Parsed back, the sessions' amounts add up to each account's and the
    accounts' to the total; every account's gross is its net plus VAT."""
    board = month_export(MARCH, priced(), BILLING, TZ)
    rows = list(csv.DictReader(io.StringIO(board_csv(board, TZ))))
    assert list(rows[0]) == list(BOARD_COLUMNS)
    sessions = [r for r in rows if r["row"] == "session"]
    accounts = [r for r in rows if r["row"] == "account"]
    (total,) = [r for r in rows if r["row"] == "total"]
    assert len(sessions) == 8
    assert len(accounts) == 6

    def dsum(items: list[dict[str, str]], key: str) -> Decimal:
        return sum((Decimal(r[key]) for r in items), Decimal(0))

    for account in accounts:
        mine = [r for r in sessions if r["account"] == account["account"]]
        assert dsum(mine, "amount") == Decimal(account["amount"])
        assert dsum(mine, "kwh") == Decimal(account["kwh"])
        assert Decimal(account["net"]) + Decimal(account["vat"]) == Decimal(
            account["gross"]
        )
    for key in ("kwh", "amount", "net", "vat", "gross"):
        assert dsum(accounts, key) == Decimal(total[key])
    assert total["gross"] == "50.18"
    a3 = next(r for r in sessions if r["session"] == "a3")
    assert (a3["started"], a3["stopped"], a3["flag"]) == (
        "2025-03-31 23:30",
        "2025-04-01 01:00",
        "closed by meter",
    )


def test_a_users_csv_lists_every_line_and_the_totals() -> None:
    board = month_export(MARCH, priced(), BILLING, TZ)
    bob = board.statements[1]
    rows = list(csv.reader(io.StringIO(statement_csv(bob, TZ))))
    lines = rows[1:-5]
    assert [(r[0], r[7], r[8], r[9], r[12], r[13]) for r in lines] == [
        ("b1", "2025-03-04 21:00", "2025-03-04 23:00", "11.667", "0.32", "3.73"),
        ("b1", "2025-03-04 23:00", "2025-03-05 01:00", "6.333", "0.18", "1.14"),
        ("b2", "2025-03-30 00:00", "2025-03-31 07:00", "30.000", "0.18", "5.40"),
        ("b2", "2025-03-31 07:00", "2025-03-31 08:00", "1.000", "0.32", "0.32"),
    ]
    assert [(r[0], r[9], r[13]) for r in rows[-5:]] == [
        ("energy", "49.000", "10.59"),
        ("monthly fee", "", "3.00"),
        ("net", "", "13.59"),
        ("vat 21%", "", "2.85"),
        ("gross EUR", "", "16.44"),
    ]


def test_the_printable_statement_shows_the_figures_and_escapes_names() -> None:
    board = month_export(MARCH, priced(), BILLING, TZ)
    vera = board.statements[3]
    html = statement_html(vera, TZ, site="Residence <Les Tilleuls>")
    assert "Vera &lt;visitor&gt;" in html
    assert "<visitor>" not in html
    assert "Residence &lt;Les Tilleuls&gt;" in html
    assert "Idle fee" in html
    assert "13.77" in html
    assert "2025-03-15 13:00" in html
    empty = statement_html(board.statements[2], TZ)
    assert "No sessions this month." in empty
    assert "6.05" in empty
    # Chargers are shown by name where the site tells them (else by id).
    charger = vera.sessions[0].session.charger
    assert f"{charger} #" in html
    named = statement_html(vera, TZ, places={charger: "Visitor <1>"})
    assert "Visitor &lt;1&gt;" in named
    assert f"{charger} #" not in named


def test_text_a_spreadsheet_would_run_is_quoted() -> None:
    assert safe_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_text("@cmd") == "'@cmd"
    assert safe_text("Alice") == "Alice"
    billing = Billing({"u": "=1+1"}, {"u": "resident"}, PLANS, "resident")
    board = month_export(MARCH, [], billing, TZ)
    assert "'=1+1" in board_csv(board, TZ)


def test_accounts_are_users_pseudonyms_or_unassigned() -> None:
    names = {"u1": "Alice"}
    assert account_for("u1", names) == Account("u1", "Alice", AccountKind.USER)
    gone = account_for("u2", names)
    assert gone.kind is AccountKind.PSEUDONYM
    assert gone.name == "u2"
    assert account_for(None, names).kind is AccountKind.UNASSIGNED


def test_months_are_read_and_bounded_on_the_wall_clock() -> None:
    assert Month.parse(" 2025-03 ") == MARCH
    assert str(Month(2025, 12).next()) == "2026-01"
    start, end = MARCH.bounds(TZ)
    assert (end - start) / 3600 == 31 * 24 - 1  # the spring change
    assert Month.of(at(3, 31, 23, 59), TZ) == MARCH
    for bad in ("2025-13", "2025-3", "march", 202503, "1999-12"):
        with pytest.raises(StatementError, match="month"):
            Month.parse(bad)


def test_a_session_in_another_currency_or_a_missing_plan_is_refused() -> None:
    usd = TariffPlan(
        "usd", "USD", "USD", Decimal(0), Decimal(0), PLANS["resident"].rule
    )
    cost = price_session(SESSIONS[0], usd, TZ)
    account = account_for("alice", BILLING.names)
    with pytest.raises(StatementError, match="currency: session a1 is in USD"):
        statement(MARCH, account, PLANS["resident"], [cost])
    billing = Billing({"u": "U"}, {"u": "gone"}, PLANS, "resident")
    with pytest.raises(StatementError, match="no tariff plan 'gone'"):
        month_export(MARCH, [], billing, TZ)


@st.composite
def months_of_sessions(draw: st.DrawFn) -> list[SessionRecord]:
    start, _ = MARCH.bounds(TZ)
    users = st.sampled_from([None, "alice", "bob", "carol", "vera", "gone"])
    out = []
    for i in range(draw(st.integers(0, 25))):
        begin = start + draw(st.floats(-86400, 32 * 86400))
        length = draw(st.floats(0, 2 * 86400))
        first = draw(st.floats(0, 1e7))
        out.append(
            record(
                f"s{i}",
                draw(users),
                (begin, begin + length),
                (first, first + draw(st.floats(0, 80000))),
            )
        )
    return out


@settings(max_examples=100, deadline=None)
@given(months_of_sessions())
def test_totals_reconcile_to_the_cent_with_every_line(
    sessions: list[SessionRecord],
) -> None:
    """Whatever the sessions: the board's energy amount is the sum of every
    line of every session of the month, its net that plus the fees, its gross
    net plus VAT, and no session is on two statements or lost."""
    costs = priced(tuple(sessions))
    board = month_export(MARCH, costs, BILLING, TZ)
    start, end = MARCH.bounds(TZ)
    in_month = sorted(
        c.session.id for c in costs if start <= c.session.started_at < end
    )
    listed = sorted(c.session.id for s in board.statements for c in s.sessions)
    assert listed == in_month
    lines = [line for s in board.statements for c in s.sessions for line in c.lines]
    (total,) = board.totals()  # the current users always have statements
    assert total.energy_amount == sum((line.amount for line in lines), Decimal(0))
    assert (
        total.net
        == total.energy_amount + total.monthly_fees
        == Decimal(13) + total.energy_amount
    )
    assert total.gross == total.net + total.vat
    assert all(
        s.vat == (s.net * Decimal("0.21")).quantize(Decimal("0.01"), "ROUND_HALF_UP")
        for s in board.statements
    )
    assert all(
        int(x.as_tuple().exponent) >= -2
        for s in board.statements
        for x in (s.net, s.vat, s.gross)
    )
    assert all(s.gross >= 0 for s in board.statements)


def test_a_months_files_are_named_by_account_and_never_collide() -> None:
    billing = Billing(
        {"u1": "Élodie Dupont", "u2": "élodie dupont", "u3": "***"},
        {"u1": "resident", "u2": "resident", "u3": "resident"},
        PLANS,
        "resident",
    )
    files = export_files(
        month_export(MARCH, priced(), billing, TZ), TZ, site="Maple Court"
    )
    stems = {
        "account",
        "elodie-dupont",
        "elodie-dupont-2",
        "unassigned",
        *("alice", "bob", "resident-3f2a", "vera"),  # now pseudonyms
    }
    assert set(files) == {"board-2025-03.csv"} | {
        f"statement-2025-03-{stem}.{ext}" for stem in stems for ext in ("csv", "html")
    }
    assert file_stem("Vera <visitor>") == "vera-visitor"
    assert file_stem("***") == "account"
    assert "Maple Court" in files["statement-2025-03-unassigned.html"]
    assert files["statement-2025-03-unassigned.csv"].startswith("session,charger,")

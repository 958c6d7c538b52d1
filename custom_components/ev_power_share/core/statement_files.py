"""Statements as files: a CSV per user, one CSV for the board, a printable HTML
statement per user. No Home Assistant imports, no I/O (the caller writes the
text where it belongs, off the event loop).

Times are shown on the site's wall clock (``YYYY-MM-DD HH:MM``), energy in kWh
to the watt-hour, amounts to the cent, rates as the plan has them. Text that
users typed (names) is written so that a spreadsheet does not run it as a
formula (a leading ``=``, ``+``, ``-``, ``@`` is quoted with ``'``), and HTML
is escaped (jinja2, autoescape on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import csv
from datetime import datetime, tzinfo
from decimal import Decimal
import io
import itertools
import re
from typing import Any
import unicodedata

import jinja2

from .session_costs import CostLine, SessionCost
from .sessions import SessionRecord
from .statements import BoardExport, Statement, Totals

_KWH = Decimal("0.001")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

STATEMENT_COLUMNS = (
    "session",
    "charger",
    "connector",
    "started",
    "stopped",
    "flag",
    "line",
    "from",
    "to",
    "kwh",
    "quantity",
    "unit",
    "rate",
    "amount",
)
BOARD_COLUMNS = (
    "row",
    "account",
    "kind",
    "session",
    "charger",
    "connector",
    "started",
    "stopped",
    "flag",
    "kwh",
    "amount",
    "monthly_fee",
    "net",
    "vat",
    "gross",
    "currency",
)


def safe_text(text: str) -> str:
    """Text a spreadsheet will not read as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def local_time(moment: float | None, tz: tzinfo) -> str:
    """A moment on the site's wall clock; empty if unknown."""
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, tz).strftime("%Y-%m-%d %H:%M")


def kwh(wh: Decimal) -> str:
    """Watt-hours as kWh to the watt-hour."""
    return str((wh / 1000).quantize(_KWH))


def _flag(cost: SessionCost) -> str:
    if cost.session.is_open:
        return "open"
    return "closed by meter" if cost.closed_by_meter else ""


def _session_cells(cost: SessionCost, tz: tzinfo) -> list[str]:
    session = cost.session
    return [
        safe_text(session.id),
        safe_text(session.charger),
        str(session.connector),
        local_time(session.started_at, tz),
        local_time(session.stopped_at, tz),
        _flag(cost),
    ]


def _line_cells(line: CostLine, tz: tzinfo) -> list[str]:
    return [
        str(line.kind),
        local_time(line.start, tz),
        local_time(line.end, tz),
        kwh(line.energy_wh),
        str(line.quantity.quantize(_KWH)),
        line.unit,
        str(line.rate),
        str(line.amount),
    ]


def _write(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def _summary(label: str, amount: Decimal, energy: str = "") -> list[str]:
    """A totals row of a statement: the label first, the energy under kwh and
    the amount under amount."""
    row = [""] * len(STATEMENT_COLUMNS)
    row[0] = label
    row[STATEMENT_COLUMNS.index("kwh")] = energy
    row[STATEMENT_COLUMNS.index("amount")] = str(amount)
    return row


def statement_csv(item: Statement, tz: tzinfo) -> str:
    """A user's statement: a line per cost line of every session, then the
    totals (energy, monthly fee, net, VAT, gross)."""
    rows = [list(STATEMENT_COLUMNS)]
    for cost in item.sessions:
        rows += [
            _session_cells(cost, tz) + _line_cells(line, tz) for line in cost.lines
        ]
    rows += [
        _summary("energy", item.energy_amount, kwh(item.energy_wh)),
        _summary("monthly fee", item.monthly_fee),
        _summary("net", item.net),
        _summary(f"vat {item.vat_percent}%", item.vat),
        _summary(f"gross {item.currency}", item.gross),
    ]
    return _write(rows)


def _board_row(**cells: str) -> list[str]:
    """A board row: the named columns filled, the rest empty."""
    return [cells.get(column, "") for column in BOARD_COLUMNS]


def _session_row(item: Statement, cost: SessionCost, tz: tzinfo) -> list[str]:
    session = dict(zip(_SESSION_KEYS, _session_cells(cost, tz), strict=True))
    return _board_row(
        row="session",
        account=safe_text(item.account.name),
        kind=str(item.account.kind),
        **session,
        kwh=kwh(cost.energy_wh),
        amount=str(cost.amount),
        currency=item.currency,
    )


_SESSION_KEYS = ("session", "charger", "connector", "started", "stopped", "flag")


def _account_row(item: Statement) -> list[str]:
    return _board_row(
        row="account",
        account=safe_text(item.account.name),
        kind=str(item.account.kind),
        kwh=kwh(item.energy_wh),
        amount=str(item.energy_amount),
        monthly_fee=str(item.monthly_fee),
        net=str(item.net),
        vat=str(item.vat),
        gross=str(item.gross),
        currency=item.currency,
    )


def _total_row(total: Totals) -> list[str]:
    return _board_row(
        row="total",
        kwh=kwh(total.energy_wh),
        amount=str(total.energy_amount),
        monthly_fee=str(total.monthly_fees),
        net=str(total.net),
        vat=str(total.vat),
        gross=str(total.gross),
        currency=total.currency,
    )


def board_csv(board: BoardExport, tz: tzinfo) -> str:
    """The board's export: every session of the month, a total per account,
    and a total per currency."""
    rows = [list(BOARD_COLUMNS)]
    for item in board.statements:
        rows += [_session_row(item, cost, tz) for cost in item.sessions]
        rows.append(_account_row(item))
    rows += [_total_row(total) for total in board.totals()]
    return _write(rows)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; }
td.n, th.n { text-align: right; }
tfoot td { font-weight: bold; }
.flag { color: #a60; }
@media print { body { margin: 0; } }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{{ site }} · {{ account }} · {{ month }}</p>
{% for session in sessions %}
<h2>{{ session.started }} – {{ session.stopped }} · {{ session.charger }}
{%- if session.flag %} <span class="flag">({{ session.flag }})</span>{% endif %}</h2>
<table>
<thead><tr><th>From</th><th>To</th><th>Charged for</th><th class="n">kWh</th>
<th class="n">Quantity</th><th class="n">Rate</th><th class="n">Amount</th></tr></thead>
<tbody>
{% for line in session.lines %}<tr><td>{{ line.start }}</td><td>{{ line.end }}</td>
<td>{{ line.kind }}</td><td class="n">{{ line.kwh }}</td>
<td class="n">{{ line.quantity }} {{ line.unit }}</td><td class="n">{{ line.rate }}</td>
<td class="n">{{ line.amount }}</td></tr>
{% endfor %}</tbody>
<tfoot><tr><td colspan="3">Session</td><td class="n">{{ session.kwh }}</td>
<td></td><td></td><td class="n">{{ session.amount }}</td></tr></tfoot>
</table>
{% else %}
<p>No sessions this month.</p>
{% endfor %}
<table>
<tbody>
<tr><td>Energy ({{ totals.kwh }} kWh)</td><td class="n">{{ totals.energy }}</td></tr>
<tr><td>Monthly fee</td><td class="n">{{ totals.fee }}</td></tr>
<tr><td>Net</td><td class="n">{{ totals.net }}</td></tr>
<tr><td>VAT {{ totals.vat_percent }} %</td><td class="n">{{ totals.vat }}</td></tr>
</tbody>
<tfoot><tr><td>Total ({{ currency }})</td><td class="n">{{ totals.gross }}</td></tr></tfoot>
</table>
</body>
</html>
"""
_ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def statement_html(
    item: Statement,
    tz: tzinfo,
    site: str = "",
    places: Mapping[str, str] | None = None,
) -> str:
    """A user's printable statement (HTML, print styles included). ``places``:
    the name each charger is shown by (by its id; else its id)."""
    template = _ENVIRONMENT.from_string(_TEMPLATE)
    return template.render(
        title=f"Charging statement {item.month}",
        site=site,
        account=item.account.name,
        month=str(item.month),
        currency=item.currency,
        sessions=[_session_view(cost, tz, places or {}) for cost in item.sessions],
        totals={
            "kwh": kwh(item.energy_wh),
            "energy": str(item.energy_amount),
            "fee": str(item.monthly_fee),
            "net": str(item.net),
            "vat_percent": str(item.vat_percent),
            "vat": str(item.vat),
            "gross": str(item.gross),
        },
    )


def _session_view(
    cost: SessionCost, tz: tzinfo, places: Mapping[str, str]
) -> dict[str, Any]:
    session = cost.session
    return {
        "started": local_time(session.started_at, tz),
        "stopped": local_time(session.stopped_at, tz) or "open",
        "charger": _place(session, places),
        "flag": _flag(cost),
        "kwh": kwh(cost.energy_wh),
        "amount": str(cost.amount),
        "lines": [_line_view(line, tz) for line in cost.lines],
    }


def _place(session: SessionRecord, places: Mapping[str, str]) -> str:
    """Where a session ran: its charger's name (its id if it has none), and
    the connector where the charger has more than one."""
    name = places.get(session.charger)
    if name is None:
        return f"{session.charger} #{session.connector}"
    return name if session.connector == 1 else f"{name} #{session.connector}"


_LINE_KEYS = ("kind", "start", "end", "kwh", "quantity", "unit", "rate", "amount")
_LINE_LABELS = {"energy": "Energy", "time": "Plugged in", "idle": "Idle fee"}


def _line_view(line: CostLine, tz: tzinfo) -> dict[str, str]:
    view = dict(zip(_LINE_KEYS, _line_cells(line, tz), strict=True))
    view["kind"] = _LINE_LABELS[view["kind"]]
    return view


def file_stem(name: str) -> str:
    """A file name's stem from an account's name: lower-case letters, digits
    and dashes (``Vera <visitor>`` → ``vera-visitor``; nothing left: ``account``)."""
    letters = unicodedata.normalize("NFKD", name.lower())
    plain = "".join(c for c in letters if not unicodedata.combining(c))
    stem = re.sub(r"[^a-z0-9]+", "-", plain)
    return stem.strip("-")[:60] or "account"


def account_stems(board: BoardExport) -> list[str]:
    """Each statement's file stem, in the board's order (names made unique
    with a counter: ``flat-3b``, ``flat-3b-2``)."""
    stems: list[str] = []
    for item in board.statements:
        base = stem = file_stem(item.account.name)
        for counter in itertools.count(2):
            if stem not in stems:
                break
            stem = f"{base}-{counter}"
        stems.append(stem)
    return stems


def statement_names(month: str, stem: str) -> tuple[str, str]:
    """An account's two files: its CSV and its printable HTML statement."""
    return (f"statement-{month}-{stem}.csv", f"statement-{month}-{stem}.html")


def board_name(month: str) -> str:
    """The board's export of a month."""
    return f"board-{month}.csv"


def export_files(
    board: BoardExport,
    tz: tzinfo,
    site: str = "",
    places: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A month's files by name: the board's CSV, and a CSV and a printable
    HTML statement per account (:func:`account_stems`; ``places``: the name
    each charger is shown by on a statement)."""
    month = str(board.month)
    files = {board_name(month): board_csv(board, tz)}
    for item, stem in zip(board.statements, account_stems(board), strict=True):
        csv_name, html_name = statement_names(month, stem)
        files[csv_name] = statement_csv(item, tz)
        files[html_name] = statement_html(item, tz, site, places)
    return files

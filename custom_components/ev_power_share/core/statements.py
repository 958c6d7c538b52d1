"""Monthly statements per user, and the board's export of a month. No Home
Assistant imports.

A session belongs to the month in which it **started**, on the site's wall
clock (a session from 31 March 23:00 to 1 April 02:00 is March's), so a late
transaction that arrives after the month has ended still lands in its month.

**One rounding rule** (:func:`.session_costs.cents`, to the cent, half up),
applied in this order so that every total is the sum of the figures shown:

1. each line's amount (quantity × rate) is rounded;
2. a session costs the sum of its rounded lines;
3. a statement's energy amount is the sum of its sessions, its net that plus
   the monthly fee;
4. VAT is rounded once, on the net; gross = net + VAT.

The board's totals are sums of the statements' figures, per currency.

A session is booked to an account: a current user (by name; the plan's
monthly fee applies), a **pseudonym** (a user who has been removed: the
ledger keeps their past sessions under a stable name that does not reveal who
they were, ``resident-3f2a``; no fee), or **unassigned** (no user: a port without a card reader nobody was
chosen on; no fee).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
import re

from .session_costs import SessionCost, cents
from .tariff_plans import TariffPlan

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_ZERO = Decimal("0.00")
UNASSIGNED_NAME = "Unassigned"


class StatementError(ValueError):
    """A statement that cannot be made; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month on the site's wall clock."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 2000 <= self.year <= 9998):
            raise StatementError("month", "must be a month YYYY-MM (from 2000)")

    @classmethod
    def parse(cls, text: object) -> Month:
        """``YYYY-MM``."""
        match = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise StatementError("month", "must be a month YYYY-MM")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, moment: float, tz: tzinfo) -> Month:
        """The month a moment (UTC timestamp) falls in, on the wall clock."""
        local = datetime.fromtimestamp(moment, tz)
        return cls(local.year, local.month)

    def next(self) -> Month:
        """The month after this one."""
        if self.month == 12:
            return Month(self.year + 1, 1)
        return Month(self.year, self.month + 1)

    def bounds(self, tz: tzinfo) -> tuple[float, float]:
        """``[start, end)`` as UTC timestamps: local midnight on the first of
        this month and of the next."""
        after = self.next()
        return (
            datetime(self.year, self.month, 1, tzinfo=tz).timestamp(),
            datetime(after.year, after.month, 1, tzinfo=tz).timestamp(),
        )

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class AccountKind(StrEnum):
    """Whom a session is booked to."""

    USER = "user"
    PSEUDONYM = "pseudonym"
    UNASSIGNED = "unassigned"


@dataclass(frozen=True, slots=True)
class Account:
    """Whom sessions are booked to, and the name a statement shows."""

    user_id: str | None
    name: str
    kind: AccountKind


def account_for(user_id: str | None, names: Mapping[str, str]) -> Account:
    """The account of a session's ``user_id``: a current user (``names``:
    user id → name), a pseudonym (an id no current user has, shown as it is:
    the ledger books a removed user's sessions to their pseudonym) or
    unassigned."""
    if user_id is None:
        return Account(None, UNASSIGNED_NAME, AccountKind.UNASSIGNED)
    if user_id in names:
        return Account(user_id, names[user_id], AccountKind.USER)
    return Account(user_id, user_id, AccountKind.PSEUDONYM)


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's month: its sessions (priced), energy, fee, VAT, gross."""

    month: Month
    account: Account
    currency: str
    vat_percent: Decimal
    monthly_fee: Decimal
    sessions: tuple[SessionCost, ...]

    @property
    def energy_wh(self) -> Decimal:
        """The sessions' energy."""
        return sum((s.energy_wh for s in self.sessions), _ZERO)

    @property
    def energy_amount(self) -> Decimal:
        """The sessions' cost: the sum of their amounts."""
        return sum((s.amount for s in self.sessions), _ZERO)

    @property
    def net(self) -> Decimal:
        """Sessions plus monthly fee, before VAT."""
        return self.energy_amount + self.monthly_fee

    @property
    def vat(self) -> Decimal:
        """VAT on the net, rounded once."""
        return cents(self.net * self.vat_percent / 100)

    @property
    def gross(self) -> Decimal:
        """What the account owes: net plus VAT."""
        return self.net + self.vat


def statement(
    month: Month, account: Account, plan: TariffPlan, costs: Iterable[SessionCost]
) -> Statement:
    """An account's statement for ``month`` from its priced sessions (all in
    the plan's currency, oldest first); the plan gives the VAT rate and,
    for a current user, the monthly fee (to the cent)."""
    sessions = tuple(sorted(costs, key=lambda c: (c.session.started_at, c.session.id)))
    for cost in sessions:
        if cost.currency != plan.currency:
            raise StatementError(
                "currency",
                f"session {cost.session.id} is in {cost.currency}, "
                f"the plan {plan.id} in {plan.currency}",
            )
    fee = cents(plan.monthly_fee) if account.kind is AccountKind.USER else _ZERO
    return Statement(month, account, plan.currency, plan.vat_percent, fee, sessions)


@dataclass(frozen=True, slots=True)
class Totals:
    """The sums of statements in one currency."""

    currency: str
    sessions: int
    energy_wh: Decimal
    energy_amount: Decimal
    monthly_fees: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True, slots=True)
class BoardExport:
    """Every statement of a month, for the board."""

    month: Month
    statements: tuple[Statement, ...]

    def totals(self) -> tuple[Totals, ...]:
        """Per currency (sorted), the sums of its statements' figures."""
        by_currency: dict[str, list[Statement]] = defaultdict(list)
        for item in self.statements:
            by_currency[item.currency].append(item)
        return tuple(
            _totals(currency, by_currency[currency]) for currency in sorted(by_currency)
        )


def _totals(currency: str, statements: list[Statement]) -> Totals:
    def total(values: Iterable[Decimal]) -> Decimal:
        return sum(values, _ZERO)

    return Totals(
        currency,
        sum(len(s.sessions) for s in statements),
        total(s.energy_wh for s in statements),
        total(s.energy_amount for s in statements),
        total(s.monthly_fee for s in statements),
        total(s.net for s in statements),
        total(s.vat for s in statements),
        total(s.gross for s in statements),
    )


@dataclass(frozen=True, slots=True)
class Billing:
    """What statements need besides the sessions: the current users (id →
    name and plan id), the plans, and the plan of accounts that have none
    (pseudonyms, unassigned: ``default_plan_id``)."""

    names: Mapping[str, str]
    user_plans: Mapping[str, str]
    plans: Mapping[str, TariffPlan]
    default_plan_id: str

    def plan_of(self, account: Account) -> TariffPlan:
        """The plan whose fee and VAT apply to an account."""
        plan_id = self.default_plan_id
        if account.kind is AccountKind.USER:
            plan_id = self.user_plans.get(account.user_id or "", plan_id)
        plan = self.plans.get(plan_id)
        if plan is None:
            raise StatementError("plan", f"no tariff plan {plan_id!r}")
        return plan


def month_export(
    month: Month, costs: Iterable[SessionCost], billing: Billing, tz: tzinfo
) -> BoardExport:
    """The month's statements: one per current user (with or without
    sessions), one per pseudonym and one for unassigned sessions if there
    are any; ``costs`` may hold sessions of any month (the month's are
    taken, by their start on the wall clock ``tz``)."""
    start, end = month.bounds(tz)
    booked: dict[str | None, list[SessionCost]] = {uid: [] for uid in billing.names}
    for cost in costs:
        if start <= cost.session.started_at < end:
            booked.setdefault(cost.session.user_id, []).append(cost)
    statements = []
    for user_id, sessions in booked.items():
        account = account_for(user_id, billing.names)
        statements.append(statement(month, account, billing.plan_of(account), sessions))
    order = {AccountKind.USER: 0, AccountKind.PSEUDONYM: 1, AccountKind.UNASSIGNED: 2}
    statements.sort(key=lambda s: (order[s.account.kind], s.account.name.casefold()))
    return BoardExport(month, tuple(statements))

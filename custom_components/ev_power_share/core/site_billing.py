"""Which plan prices a session, and a month's figures per account. No Home
Assistant imports.

A session is priced by its user's own plan (``tariff_plan``), else by the
site's **default plan**: for users without a plan, pseudonyms (removed users)
and unassigned sessions. With neither, it is not priced: its energy is
counted and it costs nothing, under :data:`NO_PLAN` (a plan of zero prices in
the site's currency), so the month's files still list every session and its
figures say that the account has no plan (``plan`` None).

A month's figures are :func:`.statements.month_export`'s, so what the
sensors, the service's answer and the files show is one computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from .planner import PriceSlot
from .session_costs import SessionCost, price_session
from .sessions import SessionRecord
from .statement_files import kwh
from .statements import (
    Account,
    AccountKind,
    Billing,
    BoardExport,
    Month,
    Statement,
    Totals,
    month_export,
)
from .tariff_plans import PerKwh, PriceSensor, TariffPlan

NO_PLAN_ID = "no_plan"
"""The plan of accounts that have none (never a subentry id)."""


def no_plan(currency: str) -> TariffPlan:
    """Energy only: every price zero, no fee, no VAT."""
    zero = Decimal(0)
    return TariffPlan(NO_PLAN_ID, "No tariff plan", currency, zero, zero, PerKwh(zero))


@dataclass(frozen=True, slots=True)
class SitePlans:
    """The site's users, plans and default plan."""

    names: Mapping[str, str]
    """Current users: id → name."""
    user_plans: Mapping[str, str]
    """A user's own plan id (users without one are left out)."""
    plans: Mapping[str, TariffPlan]
    default_plan_id: str | None
    currency: str
    """The site's currency (of :data:`NO_PLAN`)."""

    def plan_for(self, user_id: str | None) -> TariffPlan | None:
        """The plan that prices a session of ``user_id`` (None: no plan)."""
        if user_id is not None and user_id in self.names:
            own = self.plans.get(self.user_plans.get(user_id, ""))
            if own is not None:
                return own
        return self.plans.get(self.default_plan_id or "")

    def billing(self) -> Billing:
        """The statements' billing: every account priced by its plan, or by
        :data:`NO_PLAN`."""
        resolved = {
            uid: plan.id if (plan := self.plan_for(uid)) else NO_PLAN_ID
            for uid in self.names
        }
        default = self.plan_for(None)
        return Billing(
            names=self.names,
            user_plans=resolved,
            plans={**self.plans, NO_PLAN_ID: no_plan(self.currency)},
            default_plan_id=NO_PLAN_ID if default is None else default.id,
        )

    def price_entities(self) -> frozenset[str]:
        """The sensors whose prices the site's plans need."""
        return frozenset(
            p.rule.entity_id
            for p in self.plans.values()
            if isinstance(p.rule, PriceSensor)
        )


def price(
    session: SessionRecord,
    plans: SitePlans,
    tz: tzinfo,
    slots: Mapping[str, Sequence[PriceSlot]],
) -> SessionCost:
    """The session priced by its plan (``slots``: each price sensor's slots
    over the session), or at no cost under :data:`NO_PLAN`."""
    plan = plans.plan_for(session.user_id) or no_plan(plans.currency)
    prices: Sequence[PriceSlot] = ()
    if isinstance(plan.rule, PriceSensor):
        prices = slots.get(plan.rule.entity_id, ())
    return price_session(session, plan, tz, prices)


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """One account's month."""

    statement: Statement
    plan: TariffPlan | None
    """None: no plan (energy only, no cost)."""

    @property
    def account(self) -> Account:
        return self.statement.account

    @property
    def priced(self) -> bool:
        """Whether a plan prices its sessions."""
        return self.plan is not None


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """A site's month: the board's export and each account's figures."""

    board: BoardExport
    accounts: tuple[AccountFigures, ...]

    @property
    def month(self) -> Month:
        return self.board.month

    @property
    def energy_wh(self) -> Decimal:
        """Every session's energy."""
        return sum((a.statement.energy_wh for a in self.accounts), Decimal(0))

    def of_user(self, user_id: str) -> AccountFigures | None:
        """A current user's figures."""
        for item in self.accounts:
            if (
                item.account.kind is AccountKind.USER
                and item.account.user_id == user_id
            ):
                return item
        return None

    def totals(self) -> tuple[Totals, ...]:
        """Per currency, the sums of the accounts' figures, as the board's
        file shows them (an account without a plan adds its energy, at no
        cost, in the site's currency)."""
        statements = tuple(a.statement for a in self.accounts)
        return BoardExport(self.board.month, statements).totals()


def month_figures(
    month: Month, costs: Iterable[SessionCost], plans: SitePlans, tz: tzinfo
) -> MonthFigures:
    """The month's figures from priced sessions (of any month: the month's
    are taken)."""
    board = month_export(month, costs, plans.billing(), tz)
    accounts = tuple(
        AccountFigures(item, _plan_of(item.account, plans)) for item in board.statements
    )
    return MonthFigures(board, accounts)


def _plan_of(account: Account, plans: SitePlans) -> TariffPlan | None:
    if account.kind is AccountKind.USER:
        return plans.plan_for(account.user_id)
    return plans.plan_for(None)


def money(value: Decimal) -> str:
    """An amount as the answer shows it (to the cent)."""
    return str(value.quantize(Decimal("0.01")))


def account_dict(item: AccountFigures) -> dict[str, Any]:
    """An account's figures as a service answers them (money as strings)."""
    statement = item.statement
    figures: dict[str, Any] = {
        "user_id": item.account.user_id,
        "name": item.account.name,
        "kind": str(item.account.kind),
        "tariff_plan": None if item.plan is None else item.plan.id,
        "priced": item.priced,
        "sessions": len(statement.sessions),
        "energy_kwh": float(kwh(statement.energy_wh)),
    }
    if item.priced:
        figures |= {
            "currency": statement.currency,
            "energy_amount": money(statement.energy_amount),
            "monthly_fee": money(statement.monthly_fee),
            "net": money(statement.net),
            "vat_percent": str(statement.vat_percent),
            "vat": money(statement.vat),
            "gross": money(statement.gross),
        }
    return figures


def totals_dict(total: Totals) -> dict[str, Any]:
    """One currency's totals as a service answers them."""
    return {
        "currency": total.currency,
        "sessions": total.sessions,
        "energy_kwh": float(kwh(total.energy_wh)),
        "energy_amount": money(total.energy_amount),
        "monthly_fees": money(total.monthly_fees),
        "net": money(total.net),
        "vat": money(total.vat),
        "gross": money(total.gross),
    }

"""A tiny smart-charging engine: what a charger does with the profiles it stores.

Per connector and instant: among the profiles valid now (``validFrom`` ≤ t <
``validTo``) the highest stack level wins within each purpose; a TxProfile (during a
transaction) overrides the TxDefaultProfiles (the connector's own and connector 0's);
the result is capped by the ChargePointMax / ChargingStationMax profile and by the
hardware. When a live profile's ``validTo`` passes, the next one down applies by
itself — which is how a charger falls back to its failsafe when nobody refreshes.

Every change is recorded (time, profiles, transactions), so the limit of every
connector at any instant — and the instants where it changes — can be replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_PURPOSES = frozenset({"ChargePointMaxProfile", "ChargingStationMaxProfile"})
NOMINAL_VOLTAGE = 230.0


def _time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Profile:
    """A stored charging profile, reduced to what decides the limit."""

    id: int
    connector: int
    stack_level: int
    purpose: str
    kind: str
    periods: tuple[tuple[float, float], ...]
    """(start offset in s, limit in A), sorted."""
    start_schedule: datetime | None
    duration_s: float | None
    valid_from: datetime | None
    valid_to: datetime | None
    transaction_id: str | None
    received_at: datetime

    @classmethod
    def from_ocpp(
        cls, connector: int, data: Mapping[str, Any], received_at: datetime
    ) -> Profile:
        """From a snake_cased 1.6 ``csChargingProfiles`` or 2.0.1 ``chargingProfile``."""
        schedule = data["charging_schedule"]
        if isinstance(
            schedule, list
        ):  # 2.0.1: one to three schedules, we use the first
            schedule = schedule[0]
        unit = schedule["charging_rate_unit"]
        periods = []
        for period in schedule["charging_schedule_period"]:
            limit = float(period["limit"])
            if unit == "W":
                limit /= NOMINAL_VOLTAGE * int(period.get("number_phases") or 3)
            periods.append((float(period["start_period"]), limit))
        duration = schedule.get("duration")
        transaction_id = data.get("transaction_id")
        return cls(
            id=int(data.get("charging_profile_id", data.get("id", 0))),
            connector=connector,
            stack_level=int(data["stack_level"]),
            purpose=str(data["charging_profile_purpose"]),
            kind=str(data["charging_profile_kind"]),
            periods=tuple(sorted(periods)),
            start_schedule=_time(schedule.get("start_schedule")),
            duration_s=float(duration) if duration is not None else None,
            valid_from=_time(data.get("valid_from")),
            valid_to=_time(data.get("valid_to")),
            transaction_id=str(transaction_id) if transaction_id is not None else None,
            received_at=received_at,
        )

    def valid_at(self, now: datetime) -> bool:
        """``validFrom`` ≤ now < ``validTo``."""
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_to is None or now < self.valid_to

    def limit_at(
        self, now: datetime, transaction_start: datetime | None
    ) -> float | None:
        """The limit of the schedule period in force, ``None`` outside the schedule."""
        start = self.start_schedule or transaction_start or self.received_at
        offset = (now - start).total_seconds()
        if offset < 0 or (self.duration_s is not None and offset >= self.duration_s):
            return None
        limit = None
        for period_start, period_limit in self.periods:
            if period_start <= offset:
                limit = period_limit
        return limit

    def boundaries(self, transaction_start: datetime | None) -> Iterable[datetime]:
        """Instants where this profile may change the outcome."""
        if self.valid_from is not None:
            yield self.valid_from
        if self.valid_to is not None:
            yield self.valid_to
        start = self.start_schedule or transaction_start or self.received_at
        for period_start, _ in self.periods:
            yield start + timedelta(seconds=period_start)
        if self.duration_s is not None:
            yield start + timedelta(seconds=self.duration_s)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything that decides the limits, from ``at`` until the next snapshot."""

    at: datetime
    profiles: tuple[Profile, ...]
    transactions: tuple[tuple[int, str, datetime], ...]
    """(connector, transaction id, start)."""


class SmartCharging:
    """The profiles a charger holds, and the limits they give over time."""

    def __init__(self, max_current_a: float, now: datetime) -> None:
        self.max_current_a = max_current_a
        self.history: list[Snapshot] = [Snapshot(now, (), ())]

    @property
    def profiles(self) -> tuple[Profile, ...]:
        """The profiles stored now."""
        return self.history[-1].profiles

    def _record(
        self,
        now: datetime,
        profiles: Iterable[Profile] | None = None,
        transactions: Iterable[tuple[int, str, datetime]] | None = None,
    ) -> None:
        last = self.history[-1]
        snapshot = Snapshot(
            at=max(now, last.at),
            profiles=tuple(profiles) if profiles is not None else last.profiles,
            transactions=tuple(transactions)
            if transactions is not None
            else last.transactions,
        )
        if snapshot.at == last.at:
            self.history[-1] = snapshot
        else:
            self.history.append(snapshot)

    def transaction_of(self, connector: int) -> str | None:
        """The transaction running on a connector now."""
        for conn, transaction_id, _ in self.history[-1].transactions:
            if conn == connector:
                return transaction_id
        return None

    def add(self, profile: Profile, now: datetime) -> bool:
        """Store a profile as a charger does; False (rejected) if it cannot apply."""
        if (
            profile.purpose == "TxProfile"
            and self.transaction_of(profile.connector) is None
        ):
            return False
        if profile.purpose in MAX_PURPOSES and profile.connector != 0:
            return False
        kept = [
            p
            for p in self.profiles
            if p.id != profile.id
            and not (
                p.connector == profile.connector
                and p.stack_level == profile.stack_level
                and p.purpose == profile.purpose
            )
        ]
        self._record(now, profiles=[*kept, profile])
        return True

    def clear(
        self,
        now: datetime,
        *,
        profile_id: int | None = None,
        connector: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool:
        """ClearChargingProfile: True if something matched."""

        def matches(p: Profile) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (
                (connector is None or p.connector == connector)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        kept = [p for p in self.profiles if not matches(p)]
        if len(kept) == len(self.profiles):
            return False
        self._record(now, profiles=kept)
        return True

    def start_transaction(
        self, connector: int, transaction_id: str, now: datetime
    ) -> None:
        """A transaction starts on a connector."""
        others = [t for t in self.history[-1].transactions if t[0] != connector]
        self._record(now, transactions=[*others, (connector, transaction_id, now)])

    def stop_transaction(self, connector: int, now: datetime) -> None:
        """The transaction ends; its TxProfiles are deleted."""
        transaction_id = self.transaction_of(connector)
        others = [t for t in self.history[-1].transactions if t[0] != connector]
        profiles = [
            p
            for p in self.profiles
            if not (p.purpose == "TxProfile" and p.connector == connector)
            and (transaction_id is None or p.transaction_id != transaction_id)
        ]
        self._record(now, profiles=profiles, transactions=others)

    def _snapshot_at(self, now: datetime) -> Snapshot:
        current = self.history[0]
        for snapshot in self.history:
            if snapshot.at <= now:
                current = snapshot
            else:
                break
        return current

    def limit(self, connector: int, now: datetime) -> float:
        """The effective limit (A per phase) of a connector at ``now``."""
        return self._limit(self._snapshot_at(now), connector, now)

    def _limit(self, snapshot: Snapshot, connector: int, now: datetime) -> float:
        transaction = next(
            (t for t in snapshot.transactions if t[0] == connector), None
        )
        tx_start = transaction[2] if transaction else None

        def best(purposes: frozenset[str], connectors: tuple[int, ...]) -> float | None:
            candidates = sorted(
                (
                    p
                    for p in snapshot.profiles
                    if p.purpose in purposes
                    and p.connector in connectors
                    and p.valid_at(now)
                ),
                key=lambda p: (p.stack_level, p.connector != 0),
                reverse=True,
            )
            for profile in candidates:
                if profile.purpose == "TxProfile" and profile.transaction_id not in (
                    None,
                    transaction[1] if transaction else None,
                ):
                    continue
                value = profile.limit_at(now, tx_start)
                if value is not None:
                    return value
            return None

        limit = None
        if transaction is not None:
            limit = best(frozenset({"TxProfile"}), (connector,))
        if limit is None:
            limit = best(frozenset({"TxDefaultProfile"}), (0, connector))
        cap = best(MAX_PURPOSES, (0,))
        values = [v for v in (limit, cap) if v is not None]
        return min([self.max_current_a, *values])

    def changes(self, connector: int, until: datetime) -> list[tuple[datetime, float]]:
        """Every instant before ``until`` where the connector's limit changed, and the new limit."""
        points: list[tuple[datetime, float]] = []
        for index, snapshot in enumerate(self.history):
            if snapshot.at > until:
                break
            end = self.history[index + 1].at if index + 1 < len(self.history) else until
            end = min(end, until)
            starts = {t[2] for t in snapshot.transactions if t[0] == connector}
            tx_start = next(iter(starts), None)
            instants = {snapshot.at}
            for profile in snapshot.profiles:
                instants.update(
                    b for b in profile.boundaries(tx_start) if snapshot.at < b < end
                )
            for instant in sorted(instants):
                value = self._limit(snapshot, connector, instant)
                if not points or points[-1][1] != value:
                    points.append((instant, value))
        return points

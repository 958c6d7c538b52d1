"""The charging profiles we send, for OCPP 1.6 and 2.0.1.

Two TxDefaultProfiles, never a ChargePointMaxProfile (many chargers write that one to
flash):

* the **failsafe**: connector 0 (every connector), stack level 0, no ``validTo``;
  what a charger applies when it hears nothing from us;
* the **live** limit: one per connector, stack level 1 (or the charger's
  ``ChargeProfileMaxStackLevel`` if lower), ``validTo`` = now + the watchdog;
  refreshed by sending it again, it lapses to the failsafe by itself.

A live limit is sent as it is given, in A per phase or in W (for chargers that
take only W): what to send is decided by the command writer (``core.commands``).
The failsafe is sent in the unit the charger takes (:mod:`.smart_charging`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ocpp.v16 import datatypes as dt16, enums as en16
from ocpp.v201 import datatypes as dt201, enums as en201

from ._ocpp import ocpp_time

FAILSAFE_STACK_LEVEL = 0
LIVE_STACK_LEVEL = 1
FAILSAFE_PROFILE_ID = 7100
"""Profile ids we own: the failsafe, and ``LIVE_PROFILE_ID_BASE + connector``."""
LIVE_PROFILE_ID_BASE = 7100
START_MARGIN = timedelta(minutes=5)
"""``startSchedule`` lies this far in the past, so a charger whose clock runs a
little behind still applies the schedule at once."""


type RateUnit = Literal["A", "W"]


def live_stack_level(max_stack_level: int | None) -> int:
    """The live profile's stack level: above the failsafe's, never above what the
    charger takes (None: it did not say)."""
    if max_stack_level is None:
        return LIVE_STACK_LEVEL
    return max(FAILSAFE_STACK_LEVEL, min(LIVE_STACK_LEVEL, max_stack_level))


def live_profile_id(connector_id: int) -> int:
    """The id of our live profile on a connector (EVSE)."""
    return LIVE_PROFILE_ID_BASE + connector_id


def our_profile_ids(
    connector_ids: Iterable[int], installed: Iterable[int]
) -> list[int]:
    """Every profile id we may have installed: the ones we know we sent, plus the
    failsafe and each known connector's live id (sent before a restart of ours)."""
    ids = {FAILSAFE_PROFILE_ID, *installed}
    ids.update(live_profile_id(c) for c in connector_ids if c > 0)
    return sorted(ids)


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """One of our TxDefaultProfiles, in either version: one period of ``limit``."""

    profile_id: int
    stack_level: int
    limit: float
    """In ``unit``: A per phase, or W."""
    unit: RateUnit
    number_phases: int
    now: datetime
    valid_to: datetime | None
    """None: it never lapses (the failsafe)."""

    def schedule(
        self, unit_type: Callable[[str], Any], period_type: Callable[..., Any]
    ) -> dict[str, Any]:
        """The fields of its charging schedule, in the version's types: one
        period from ``startSchedule``, a little in the past (:data:`START_MARGIN`)."""
        return {
            "charging_rate_unit": unit_type(self.unit),
            "charging_schedule_period": [
                period_type(
                    start_period=0,
                    limit=float(self.limit),
                    number_phases=self.number_phases,
                )
            ],
            "start_schedule": ocpp_time(self.now - START_MARGIN),
        }

    @property
    def valid_to_time(self) -> str | None:
        """``validTo``, if it lapses."""
        return ocpp_time(self.valid_to) if self.valid_to is not None else None


def v16_profile(spec: ProfileSpec) -> Any:
    """An OCPP 1.6 TxDefaultProfile."""
    return dt16.ChargingProfile(
        charging_profile_id=spec.profile_id,
        stack_level=spec.stack_level,
        charging_profile_purpose=en16.ChargingProfilePurposeType.tx_default_profile,
        charging_profile_kind=en16.ChargingProfileKindType.absolute,
        charging_schedule=dt16.ChargingSchedule(
            **spec.schedule(en16.ChargingRateUnitType, dt16.ChargingSchedulePeriod)
        ),
        valid_to=spec.valid_to_time,
    )


def v201_profile(spec: ProfileSpec) -> Any:
    """An OCPP 2.0.1 TxDefaultProfile (its one schedule has the profile's id)."""
    schedule = spec.schedule(
        en201.ChargingRateUnitEnumType, dt201.ChargingSchedulePeriodType
    )
    return dt201.ChargingProfileType(
        id=spec.profile_id,
        stack_level=spec.stack_level,
        charging_profile_purpose=en201.ChargingProfilePurposeEnumType.tx_default_profile,
        charging_profile_kind=en201.ChargingProfileKindEnumType.absolute,
        charging_schedule=[dt201.ChargingScheduleType(id=spec.profile_id, **schedule)],
        valid_to=spec.valid_to_time,
    )


def applied_limit_a(
    schedule: Any, watts_per_amp: float, elapsed_s: float = 0.0
) -> float | None:
    """The limit (A per phase) in force ``elapsed_s`` into a composite schedule
    dict, in A or in W (converted with ``watts_per_amp``); None if unreadable."""
    if not isinstance(schedule, dict):
        return None
    unit = schedule.get("charging_rate_unit")
    if unit not in ("A", "W"):
        return None
    limit = _limit_at(schedule.get("charging_schedule_period"), elapsed_s)
    if limit is None or unit == "A":
        return limit
    return limit / watts_per_amp


def _limit_at(periods: object, elapsed_s: float) -> float | None:
    """The limit of the schedule period in force ``elapsed_s`` in."""
    if not isinstance(periods, list):
        return None
    limit: float | None = None
    for period in sorted(
        (p for p in periods if isinstance(p, dict)),
        key=lambda p: float(p.get("start_period", 0)),
    ):
        if float(period.get("start_period", 0)) <= elapsed_s:
            try:
                limit = float(period["limit"])
            except (KeyError, TypeError, ValueError):
                return None
    return limit

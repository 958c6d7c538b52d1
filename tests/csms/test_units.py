"""Pure parts: meter value parsing, the simulator's smart-charging engine, profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.ev_power_share.core.commands import quantize
from custom_components.ev_power_share.csms import parse_meter_values
from custom_components.ev_power_share.csms.profiles import applied_limit_a
from simulator import Profile, SmartCharging

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_csms_has_no_homeassistant_imports() -> None:
    package = Path(__file__).parents[2] / "custom_components/ev_power_share/csms"
    for path in package.glob("*.py"):
        assert "homeassistant" not in path.read_text(encoding="utf-8"), path.name


def test_meter_values_both_versions() -> None:
    v16 = parse_meter_values(
        [
            {
                "timestamp": "2025-01-01T12:00:00Z",
                "sampled_value": [
                    {
                        "value": "16.2",
                        "measurand": "Current.Import",
                        "phase": "L1",
                        "unit": "A",
                    },
                    {
                        "value": "15.8",
                        "measurand": "Current.Import",
                        "phase": "L2-N",
                        "unit": "A",
                    },
                    {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"},
                    {"value": "12.345", "unit": "kWh"},  # default measurand: energy
                    {
                        "value": "3000",
                        "measurand": "Energy.Active.Import.Register",
                        "phase": "L1",
                    },
                    {"value": "garbage", "measurand": "SoC"},
                ],
            }
        ]
    )
    assert v16.currents() == (16.2, 15.8)
    assert v16.power_w == pytest.approx(7400)
    assert v16.energy_wh == pytest.approx(12345)
    assert v16.soc is None
    assert v16.timestamp == T0
    v201 = parse_meter_values(
        [
            {
                "sampled_value": [
                    {
                        "value": 1.5,
                        "measurand": "Energy.Active.Import.Register",
                        "unit_of_measure": {"unit": "Wh", "multiplier": 3},
                    },
                    {
                        "value": 55,
                        "measurand": "SoC",
                        "unit_of_measure": {"unit": "Percent"},
                    },
                    {"value": 10, "measurand": "Current.Import", "phase": "L3"},
                    {
                        "value": 1,
                        "measurand": "Voltage",
                        "unit_of_measure": {"unit": "furlong"},
                    },
                ]
            }
        ]
    )
    assert v201.energy_wh == pytest.approx(1500)
    assert v201.soc == 55
    assert v201.currents() == (0.0, 0.0, 10)
    assert parse_meter_values([None, {"sampled_value": [None, {"value": "nan"}]}]).empty


def _sample(value: object, measurand: str, **more: object) -> dict[str, object]:
    return {"value": value, "measurand": measurand, **more}


def test_negative_currents_and_power_are_noise() -> None:
    """A meter's noise around 0 A (or an export shown as a negative import) is
    0 A: a draw below zero would be nonsense to the allocator."""
    reading = parse_meter_values(
        [
            {
                "sampled_value": [
                    _sample("-0.2", "Current.Import", phase="L1"),
                    _sample("-0.2", "Current.Import", phase="L2"),
                    _sample("-5", "Current.Import", phase="L3"),
                    _sample("-40", "Power.Active.Import", unit="W"),
                ]
            }
        ]
    )
    assert reading.currents() == (0.0, 0.0, 0.0)
    assert reading.power_w == 0.0
    assert reading.discarded == []


@pytest.mark.parametrize(
    "sample",
    [
        _sample("1e400", "Current.Import"),  # inf
        _sample("nan", "Current.Import"),
        _sample("-1e38", "Current.Import"),
        _sample("1e6", "Current.Import"),
        _sample("12", "Current.Import", unit="kWh"),  # the wrong unit
        _sample("-3", "Energy.Active.Import.Register"),
        _sample("300", "SoC", unit="Percent"),
        _sample("5e8", "Power.Active.Import", unit="kW"),
        _sample(True, "Current.Import"),
        _sample([1], "Current.Import"),
        # 2.0.1: a multiplier that overflows, or is not an integer
        _sample(1e308, "Current.Import", unit_of_measure={"multiplier": 3}),
        _sample(1, "Current.Import", unit_of_measure={"multiplier": 400}),
        _sample(
            1, "Energy.Active.Import.Register", unit_of_measure={"multiplier": 1.5}
        ),
        _sample(1, "Energy.Active.Import.Register", unit_of_measure={"unit": 7}),
    ],
)
def test_implausible_values_are_discarded_and_named(sample: dict[str, object]) -> None:
    good = _sample("16", "Current.Import", phase="L1")
    reading = parse_meter_values([{"sampled_value": [good, sample]}])
    assert reading.currents() == (16.0,)
    assert reading.energy_wh is None
    assert reading.power_w is None
    assert reading.soc is None
    assert len(reading.discarded) == 1
    assert str(sample["measurand"]) in reading.discarded[0]


def test_unparseable_meter_values_structures() -> None:
    for meter_value in (None, 5, "x", {"a": 1}, [{"sampled_value": 5}]):
        assert parse_meter_values(meter_value).empty
    assert parse_meter_values(
        [{"sampled_value": [{"value": 1, "measurand": ["Current.Import"]}]}]
    ).empty


def _profile(
    pid: int,
    connector: int,
    level: int,
    purpose: str,
    limit: float,
    valid_to: datetime | None = None,
    tx: str | None = None,
) -> Profile:
    data = {
        "charging_profile_id": pid,
        "stack_level": level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "start_schedule": "2025-01-01T11:00:00Z",
            "charging_schedule_period": [{"start_period": 0, "limit": limit}],
        },
        "valid_to": valid_to.isoformat() if valid_to else None,
        "transaction_id": tx,
    }
    return Profile.from_ocpp(connector, data, T0)


def test_smart_charging_stacking_and_fallback() -> None:
    smart = SmartCharging(32, T0)
    assert smart.limit(1, T0) == 32
    assert smart.add(_profile(1, 0, 0, "TxDefaultProfile", 6), T0)
    assert smart.add(
        _profile(2, 1, 1, "TxDefaultProfile", 20, valid_to=T0 + timedelta(seconds=60)),
        T0,
    )
    assert smart.limit(1, T0) == 20
    assert smart.limit(2, T0) == 6  # connector 0's default applies to every connector
    assert smart.limit(1, T0 + timedelta(seconds=60)) == 6  # validTo passed
    assert not smart.add(_profile(3, 1, 0, "TxProfile", 10), T0)  # no transaction
    smart.start_transaction(1, "tx", T0)
    assert smart.add(_profile(3, 1, 0, "TxProfile", 10), T0)
    assert (
        smart.limit(1, T0) == 10
    )  # TxProfile beats TxDefaultProfile, whatever the level
    assert smart.add(_profile(4, 0, 0, "ChargePointMaxProfile", 8), T0)
    assert smart.limit(1, T0) == 8  # capped by the station maximum
    t1 = T0 + timedelta(seconds=5)
    smart.stop_transaction(1, t1)
    assert smart.limit(1, t1) == 8
    assert smart.clear(t1, purpose="ChargePointMaxProfile")
    assert smart.limit(1, t1) == 20
    assert smart.limit(1, T0) == 8  # history is kept
    assert [lim for _, lim in smart.changes(1, T0 + timedelta(minutes=5))] == [8, 20, 6]


@pytest.mark.parametrize(
    ("amps", "whole"),
    [(16.7, 16), (6.0, 6), (5.9999999999, 6), (-3, 0), (float("nan"), 0)],
)
def test_whole_amps_round_down(amps: float, whole: int) -> None:
    assert quantize(amps, 1.0) == whole


def test_the_applied_limit_of_a_composite_schedule_in_a_or_w() -> None:
    periods = [
        {"start_period": 0, "limit": 4140.0},
        {"start_period": 30, "limit": 2070.0},
    ]
    in_w = {"charging_rate_unit": "W", "charging_schedule_period": periods}
    assert applied_limit_a(in_w, 690.0) == pytest.approx(6.0)
    assert applied_limit_a(in_w, 690.0, elapsed_s=45) == pytest.approx(3.0)
    in_a = {"charging_rate_unit": "A", "charging_schedule_period": periods}
    assert applied_limit_a(in_a, 690.0) == 4140.0
    assert applied_limit_a({**in_a, "charging_rate_unit": "kW"}, 690.0) is None
    assert applied_limit_a({"charging_rate_unit": "W"}, 690.0) is None
    assert applied_limit_a([in_w], 690.0) is None

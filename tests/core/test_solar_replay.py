"""Solar charging over simulated hours: no oscillation, no lasting grid import.

A shortened version of ``bench/solar.py``: the synthetic day of
``simulator/solar_day.py`` through solar controller → allocator → commands →
a vehicle that follows within one or two cycles.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.ev_power_share.core.solar import ChargeMode, SolarSettings
from simulator.solar_day import PvConfig, solar_day
from simulator.solar_replay import EvSpec, replay

H = 3600.0
EVS = [EvSpec("3-phase", phases=3), EvSpec("1-phase", phases=1)]
SETTINGS = SolarSettings()


@pytest.mark.parametrize("ev", EVS, ids=lambda ev: ev.name)
def test_noisy_hours_do_not_make_the_setpoint_hunt(ev: EvSpec) -> None:
    """Lunch on a clear day: minute-scale PV noise, the hob pulsing, the oven's
    thermostat cycling 2.4 kW, fridge and freezer. At most 12 changes an hour."""
    day = solar_day(7, PvConfig(cloud_rate_per_h=0.0, thin_periods=0))
    figures = replay(
        day, ev, ChargeMode.SOLAR, SETTINGS, plugged_s=(11.5 * H, 13.5 * H)
    )
    assert figures.charging_h > 1.0
    assert figures.changes_per_hour <= 12.0
    assert figures.share_used > 0.8


@pytest.mark.parametrize("ev", EVS, ids=lambda ev: ev.name)
def test_cloudy_day_import_never_outlasts_the_disable_delay(ev: EvSpec) -> None:
    """A partly cloudy day: the EV may hold its minimum current through a cloud,
    but never imports (beyond the tolerance and the round-up allowance) for
    longer than the disable delay, plus one cycle for the vehicle to follow the
    stop."""
    figures = replay(solar_day(1), ev, ChargeMode.SOLAR, SETTINGS)
    assert figures.starts >= 1
    assert 0 < figures.longest_import_s <= SETTINGS.disable_delay_s + 5.0
    # Clouds are real changes of the sun, and a 1-phase amp is only 230 W: the
    # bench reports ~6 (3-phase) and ~11 (1-phase) changes per charging hour.
    assert figures.changes_per_hour <= 12.0
    assert figures.share_used > 0.85
    # Whatever it imports is small next to what it takes from the sun.
    assert figures.grid_import_kwh < 0.3 * figures.ev_from_surplus_kwh


@pytest.mark.parametrize("ev", EVS, ids=lambda ev: ev.name)
def test_round_up_allowance_costs_little_import(ev: EvSpec) -> None:
    """The round-up allowance uses more of the surplus for a bounded import."""
    day = solar_day(1)
    with_it = replay(day, ev, ChargeMode.SOLAR, SETTINGS)
    strict = replace(SETTINGS, round_up_w=0.0)
    without = replay(day, ev, ChargeMode.SOLAR, strict)
    assert with_it.share_used > without.share_used + 0.01
    assert with_it.grid_import_kwh - without.grid_import_kwh < 0.8
    # Without the allowance, the import beyond the tolerance alone is bounded too.
    assert without.longest_import_s <= strict.disable_delay_s + 5.0


def test_min_solar_never_pauses() -> None:
    figures = replay(
        solar_day(2),
        EVS[1],
        ChargeMode.MIN_SOLAR,
        SETTINGS,
        record=True,
        plugged_s=(10 * H, 14 * H),
    )
    assert min(figures.commands[2:]) >= 6.0  # two cycles to start
    assert figures.starts == 1

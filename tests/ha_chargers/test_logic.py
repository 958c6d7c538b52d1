"""How a charger already in Home Assistant is counted, confirmed, converted and
written (``ha_charger_logic``), and its profiles (``ha_profiles``)."""

from __future__ import annotations

from dataclasses import replace
import math

import pytest

from custom_components.ev_power_share.core.commands import Held
from custom_components.ev_power_share.ha_charger_logic import (
    HaCharger,
    LimitScale,
    Observation,
    Track,
    Write,
    accumulate,
    coalesced,
    confirm_s,
    count,
    disobey_s,
    finite,
    flight_s,
    observe,
    port,
    resend_due,
    restarted,
    settled,
    steps,
    worth_writing,
    write_for,
    wrote,
)
from custom_components.ev_power_share.ha_profiles import (
    CLOUD_BUDGET,
    GENERIC,
    PROFILES,
    ROLE_LIMIT,
    ROLE_PAUSE,
    RegistryEntity,
    budget_of,
    profile_for_domain,
)

V = 230.0


def _charger(profile: str = GENERIC, **kw: object) -> HaCharger:
    entities = {ROLE_LIMIT: "number.limit"}
    if profile == "wallbox":
        entities[ROLE_PAUSE] = "switch.pause"
    return HaCharger("sub", "Garage", "site", PROFILES[profile], entities, **kw)  # type: ignore[arg-type]


def test_a_lowered_limit_counts_at_the_old_value_until_its_entity_shows_it() -> None:
    charger = _charger(link="cloud")
    track = wrote(Track(), 10.0, 100.0, None, charger.latency_s)
    lagging = count(charger, Observation(limit=16.0), track, 110.0, V)
    assert not lagging.online
    assert lagging.counted_a == 16.0
    assert lagging.why == "unconfirmed"
    shown = count(charger, Observation(limit=10.0), track, 140.0, V)
    assert shown.online
    assert shown.held == Held(10.0, 140.0)


def test_phase_currents_that_came_down_confirm_a_lowered_limit() -> None:
    charger = _charger(link="cloud")
    track = wrote(Track(), 10.0, 100.0, 16.0, charger.latency_s)
    still = Observation(limit=16.0, currents_a=(15.8, 15.9, 16.0))
    assert not count(charger, still, track, 105.0, V).online
    down = Observation(limit=16.0, currents_a=(9.8, 9.9, 10.0))
    followed = count(charger, down, track, 110.0, V)
    assert followed.online
    assert followed.held == Held(10.0, 110.0)
    # A draw that was under the new limit anyway confirms nothing.
    idle = wrote(Track(), 10.0, 100.0, 4.0, charger.latency_s)
    assert not count(
        charger, Observation(16.0, currents_a=(4.0,)), idle, 110.0, V
    ).online


def test_a_raise_counts_at_once_and_is_taken_to_be_held() -> None:
    charger = _charger()
    track = wrote(Track(), 16.0, 100.0, None, charger.latency_s)
    counted = count(charger, Observation(limit=10.0), track, 101.0, V)
    assert counted.online
    assert counted.held == Held(16.0, 101.0)


def test_an_earlier_higher_limit_still_on_its_way_counts() -> None:
    charger = _charger(link="cloud")
    track = wrote(Track(), 16.0, 100.0, None, charger.latency_s)
    track = wrote(track, 6.0, 105.0, None, charger.latency_s)
    early = count(charger, Observation(limit=6.0), track, 110.0, V)
    assert not early.online
    assert early.counted_a == 16.0
    later = count(charger, Observation(limit=6.0), track, 100.0 + confirm_s(30.0), V)
    assert later.online


def test_after_a_restart_what_the_last_run_wrote_may_still_arrive() -> None:
    """Home Assistant restarted: a limit the last run wrote just before may
    still reach the charger (a vendor cloud applies it late). Until that can
    no longer happen, it is counted at its rating, unless its entity shows it
    holds as much already."""
    charger = _charger(link="cloud", rated_a=32.0)
    track = restarted(charger, 1000.0)
    early = count(charger, Observation(limit=10.0), track, 1010.0, V)
    assert not early.online
    assert early.counted_a == 32.0
    assert early.why == "unconfirmed"
    assert count(charger, Observation(limit=32.0), track, 1010.0, V).online
    later = 1000.0 + flight_s(charger.latency_s)
    settled_down = count(charger, Observation(limit=10.0), track, later, V)
    assert settled_down.online
    assert settled_down.held == Held(10.0, later)


def test_unavailable_counts_at_its_rating() -> None:
    charger = _charger(rated_a=20.0)
    counted = count(charger, Observation(limit=None), Track(), 1.0, V)
    assert (counted.online, counted.counted_a, counted.why) == (
        False,
        20.0,
        "unavailable",
    )
    assert counted.state == "unavailable"


def test_a_stale_limit_counts_at_its_rating() -> None:
    profile = PROFILES[GENERIC]
    charger = replace(_charger(rated_a=20.0), profile=replace(profile, stale_s=60.0))
    fresh = count(charger, Observation(limit=10.0, limit_age_s=30.0), Track(), 1.0, V)
    old = count(charger, Observation(limit=10.0, limit_age_s=61.0), Track(), 1.0, V)
    assert fresh.online
    assert (old.online, old.counted_a, old.why) == (False, 20.0, "stale")


def test_watts_and_kilowatts_convert_with_its_phases_and_voltage() -> None:
    charger = _charger()
    kw = LimitScale(unit="W", factor=1000.0, minimum=1.4, maximum=22.0, step=0.1)
    counted = count(charger, Observation(limit=6.9, scale=kw), Track(), 1.0, V)
    assert counted.holds_a == pytest.approx(10.0)
    port_steps = steps(charger, kw, V, 6.0)
    assert port_steps.unit == "W"
    assert port_steps.step == pytest.approx(100.0)
    assert port_steps.watts_per_amp == 690.0
    assert port_steps.minimum_a == pytest.approx(1400.0 / 690.0)
    # 16 A is 11 040 W: 11 000 W in whole steps, written as 11.0 kW.
    value = port_steps.value(16.0)
    assert value == 11000.0
    assert write_for(charger, 16.0, value, Observation(6.9, kw)) == Write(11.0, None)
    # Never above the entity's maximum.
    assert write_for(charger, 40.0, 27600.0, Observation(6.9, kw)).value == 22.0


def test_a_charger_drawing_more_than_it_holds_is_flagged_then_forgiven() -> None:
    charger = _charger(rated_a=32.0)
    over = Observation(limit=10.0, currents_a=(16.0, 16.0, 16.0))
    track = observe(charger, over, Track(), 100.0, V)
    assert not track.disobeys
    track = observe(charger, over, track, 100.0 + disobey_s(5.0), V)
    assert track.disobeys
    counted = count(charger, over, track, 200.0, V)
    assert (counted.online, counted.counted_a, counted.why) == (False, 32.0, "disobeys")
    follows = Observation(limit=10.0, currents_a=(9.9, 10.0, 10.0))
    track = observe(charger, follows, track, 210.0, V)
    assert not track.disobeys
    assert count(charger, follows, track, 210.0, V).online


def test_a_charger_that_ignores_a_lowered_limit_is_flagged() -> None:
    charger = _charger(link="cloud")
    track = wrote(Track(), 6.0, 100.0, None, charger.latency_s)
    ignoring = Observation(limit=16.0)
    assert not observe(charger, ignoring, track, 150.0, V).disobeys
    assert observe(charger, ignoring, track, 100.0 + confirm_s(30.0), V).disobeys


def test_read_only_is_counted_at_its_rating_and_never_written() -> None:
    charger = HaCharger("t", "Tesla", "site", PROFILES["tesla_wall_connector"], {})
    counted = count(charger, Observation(limit=None, currents_a=(12.0,)), Track(), 1, V)
    assert (counted.online, counted.counted_a, counted.why) == (
        False,
        32.0,
        "read_only",
    )
    assert counted.state == "charging"
    assert not PROFILES["tesla_wall_connector"].commanded


def test_pausing_where_zero_is_not_taken_goes_through_the_switch() -> None:
    wallbox = _charger("wallbox")
    obs = Observation(limit=16.0, scale=LimitScale(minimum=6.0), switch_on=True)
    assert write_for(wallbox, 0.0, 0.0, obs) == Write(None, False)
    paused = Observation(limit=16.0, scale=LimitScale(minimum=6.0), switch_on=False)
    assert count(wallbox, paused, Track(), 1.0, V).holds_a == 0.0
    assert count(wallbox, paused, Track(), 1.0, V).state == "off"
    assert write_for(wallbox, 10.0, 10.0, paused) == Write(10.0, True)
    assert write_for(wallbox, 10.0, 10.0, obs) == Write(10.0, None)
    # A generic number whose minimum is 0 pauses at 0 A.
    generic = _charger()
    assert write_for(generic, 0.0, 0.0, Observation(16.0)) == Write(0.0, None)
    assert steps(wallbox, obs.scale, V, 6.0).minimum_a == 6.0


def test_writes_coalesce_and_small_raises_wait() -> None:
    charger = _charger(link="cloud")
    track = wrote(Track(), 10.0, 100.0, None, charger.latency_s)
    assert coalesced(track, 10.0, 110.0, charger.latency_s)
    assert not coalesced(track, 9.0, 110.0, charger.latency_s)
    assert not coalesced(track, 10.0, 161.0, charger.latency_s)
    assert resend_due(track, 16.0, 161.0, charger.latency_s)
    assert not resend_due(track, 10.0, 161.0, charger.latency_s)
    assert not worth_writing(charger, 10.5, 10.0, decrease=False)
    assert worth_writing(charger, 9.5, 10.0, decrease=True)
    assert worth_writing(charger, 6.0, 0.0, decrease=False)
    assert steps(charger, LimitScale(), V, 6.0).budget == CLOUD_BUDGET


def test_a_vehicle_is_there_unless_its_sensor_says_not() -> None:
    charger = _charger()
    online = count(charger, Observation(10.0), Track(), 1.0, V)
    assert port(charger, online, Observation(10.0)).ev is not None
    away = Observation(10.0, plugged=False)
    assert port(charger, count(charger, away, Track(), 1.0, V), away).ev is None
    one = Observation(10.0, currents_a=(9.0, 0.0, 0.0))
    assert port(charger, count(charger, one, Track(), 1.0, V), one).ev.phases == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 1e12])
def test_readings_that_cannot_be_right_are_unknown(bad: float) -> None:
    assert finite(bad) is None


def test_profiles_find_their_entities() -> None:
    entities = [
        RegistryEntity("number.eh_limit", "dynamic_charger_limit", "EH1_x"),
        RegistryEntity("sensor.eh_dynamic_charger_limit", "dynamic_charger_limit"),
        RegistryEntity("sensor.eh_power", "power"),
        RegistryEntity("number.garage_max_current_soft", None, "abc_max_current_soft"),
        RegistryEntity("switch.x_charge_control", None, "cp1_charge_control"),
    ]
    assert PROFILES["easee"].find_entities(entities) == {
        "limit": "sensor.eh_dynamic_charger_limit",
        "power": "sensor.eh_power",
    }
    assert PROFILES["openevse"].find_entities(entities) == {
        "limit": "number.garage_max_current_soft"
    }
    assert (
        PROFILES["ocpp"].find_entities(entities)["pause"] == "switch.x_charge_control"
    )
    assert profile_for_domain(["mqtt", "wallbox"]).key == "wallbox"
    assert profile_for_domain(["hue"]).key == GENERIC
    assert budget_of(PROFILES[GENERIC], "cloud") == CLOUD_BUDGET


def test_every_profile_says_how_it_is_driven_and_where_that_came_from() -> None:
    required = {"easee", "zaptec", "wallbox", "goecharger", "openevse", "keba"}
    required |= {"lektrico", "peblar", "ocpp", "tesla_wall_connector", GENERIC}
    assert required <= set(PROFILES)
    for profile in PROFILES.values():
        assert profile.source, profile.key
        if profile.key == GENERIC or profile.read_only:
            continue
        assert ROLE_LIMIT in profile.matches, profile.key
        limit = profile.matches[ROLE_LIMIT]
        assert (limit.domain == "number") == (profile.service is None), profile.key
        if not profile.zero_pauses:
            assert profile.min_a > 0, profile.key
    assert PROFILES["easee"].service is not None
    assert PROFILES["easee"].service.data(10.0, "dev") == {
        "time_to_live": 0,
        "current": 10.0,
        "device_id": "dev",
    }
    assert PROFILES["keba"].service.data(10.0, "dev") == {"current": 10.0}  # type: ignore[union-attr]


def test_a_write_on_the_lan_that_returned_can_no_longer_arrive_late() -> None:
    charger = _charger()
    track = wrote(Track(), 16.0, 100.0, None, charger.latency_s)
    track = wrote(track, 6.0, 101.0, None, charger.latency_s)
    assert not count(charger, Observation(6.0), track, 102.0, V).online
    track = settled(settled(track, 16.0, 100.0), 6.0, 101.0)
    assert count(charger, Observation(6.0), track, 102.0, V).online


def test_energy_never_decreases_across_sessions() -> None:
    total = None
    for reading in (None, 2.0, 5.0, 0.5, 1.5, None):
        total = accumulate(total, reading)
    assert total == (1.5, 6.5)

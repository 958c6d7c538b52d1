"""Port settings: what the user set, as stored and as applied to a port."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import given, strategies as st

from custom_components.ev_power_share.core.model import Port, Vehicle
from custom_components.ev_power_share.core.settings import (
    MAX_ENERGY_KWH,
    PortSettings,
    with_settings,
)
from custom_components.ev_power_share.core.solar import ChargeMode

ANYTHING = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["solar", "off", "07:30", "25:00", "7:30:15+02:00"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = ["max_current_a", "enabled", "mode", "energy_kwh", "departure"]


@given(st.dictionaries(st.sampled_from(KEYS), ANYTHING))
def test_anything_stored_reads_as_usable_settings(data: dict[str, Any]) -> None:
    """A damaged or old store never stops the site: every value that cannot be
    read keeps its default, and what is read is usable."""
    settings = PortSettings.from_dict(data)
    cap = settings.max_current_a
    assert cap is None or (math.isfinite(cap) and cap > 0)
    assert isinstance(settings.enabled, bool)
    assert isinstance(settings.mode, ChargeMode)
    assert 0 <= settings.energy_kwh <= MAX_ENERGY_KWH
    assert settings.departure.tzinfo is None
    assert PortSettings.from_dict(settings.to_dict()) == settings


def test_settings_round_trip() -> None:
    settings = PortSettings(
        max_current_a=10.0,
        enabled=False,
        mode=ChargeMode.SCHEDULED,
        energy_kwh=35.0,
        departure=dt.time(6, 15),
    )
    assert PortSettings.from_dict(settings.to_dict()) == settings
    assert PortSettings.from_dict({}) == PortSettings()


def test_settings_cap_a_port_and_switch_its_vehicle_off() -> None:
    port = Port("p", "site", max_a=32.0, ev=Vehicle(max_a=16.0))
    assert with_settings(port, None) is port
    assert with_settings(port, PortSettings()) is port
    capped = with_settings(port, PortSettings(max_current_a=10.0))
    assert (capped.max_a, capped.ev and capped.ev.max_a) == (10.0, 10.0)
    assert with_settings(port, PortSettings(enabled=False)).ev is None
    off = with_settings(port, PortSettings(mode=ChargeMode.OFF, max_current_a=8.0))
    assert (off.max_a, off.ev) == (8.0, None)

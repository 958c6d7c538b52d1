"""Fixtures for tests that drive the integration through Home Assistant."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import (
    CONF_CONTINUOUS_FACTOR,
    CONF_MAIN_BREAKER_A,
    CONF_SUPPLY,
    DOMAIN,
)
from simulator.chargepoint import SimulatedChargePoint


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load custom integrations in every test."""


@pytest.fixture(autouse=True)
def ocpp_on_loopback(socket_enabled: None) -> Generator[None]:
    """The embedded central system listens on 127.0.0.1, on a free port."""
    with (
        patch("custom_components.ev_power_share.OCPP_HOST", "127.0.0.1"),
        patch("custom_components.ev_power_share.DEFAULT_OCPP_PORT", 0),
    ):
        yield


@pytest.fixture(autouse=True)
def config_dir_in_tmp_path(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """What a test writes to Home Assistant's configuration folder (a site's
    session ledger) goes to its own temporary folder."""
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.config_dir = str(tmp_path / "config")


SITE_DATA = {
    CONF_NAME: "Maple Court",
    CONF_SUPPLY: "three_phase_400",
    CONF_MAIN_BREAKER_A: 100.0,
    CONF_CONTINUOUS_FACTOR: 0.8,
}


@pytest.fixture
def site_entry() -> MockConfigEntry:
    """A site entry as the config flow would create it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        version=1,
        minor_version=1,
    )


@pytest.fixture
def no_setup() -> Generator[None]:
    """Keep config-flow tests from setting the entry up."""
    with patch("custom_components.ev_power_share.async_setup_entry", return_value=True):
        yield


@pytest.fixture
async def sims() -> AsyncGenerator[list[SimulatedChargePoint]]:
    """Simulated charge points a test connects; closed after the test."""
    made: list[SimulatedChargePoint] = []
    yield made
    for sim in made:
        await sim.close()

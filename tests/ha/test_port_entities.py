"""The entities of the other kinds of port (here a smart outlet): the same
connector entities as an OCPP charger's, read through their source's status and
the cycle, and the user's settings steer them as they steer any port."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .test_outlets import _add_outlet, _on, _outlet, _relays, _site, _tick


def _entity(hass: HomeAssistant, subentry_id: str, domain: str, key: str) -> str:
    registry = er.async_get(hass)
    for entity in registry.entities.values():
        if (
            entity.config_subentry_id == subentry_id
            and entity.domain == domain
            and entity.unique_id.endswith(f"_{key}")
        ):
            return entity.entity_id
    raise AssertionError(f"no {domain} {key} of {subentry_id}")


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def test_an_outlet_has_the_connector_entities_and_its_settings_steer_it(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _relays(hass)
    circuit = await _site(hass, site_entry)
    port = await _add_outlet(
        hass,
        site_entry,
        _outlet("a", circuit, power_sensor="sensor.outlet_a_power", min_off_min=0),
    )
    subentry_id = port.split(":")[0]
    for _ in range(3):
        await _tick(hass, freezer)
    assert _on(hass, "a")
    allocated = _entity(hass, subentry_id, "sensor", "allocated_current")
    status = _entity(hass, subentry_id, "sensor", "status")
    energy = _entity(hass, subentry_id, "sensor", "energy")
    online = _entity(hass, subentry_id, "binary_sensor", "online")
    charging = _entity(hass, subentry_id, "switch", "charging")
    _entity(hass, subentry_id, "select", "mode")
    # 2645 W at 230 V is 11.5 A: counted at it, above its nominal 10 A.
    assert float(_state(hass, allocated)) == 11.5
    assert _state(hass, status) == "Charging"
    assert _state(hass, online) == "on"
    for _ in range(12):  # a minute at 2.645 kW
        await _tick(hass, freezer)
    assert float(_state(hass, energy)) > 0.03
    # The user pauses it: switched off (as any port held at 0 A).
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": charging}, blocking=True
    )
    await _tick(hass, freezer)
    await _tick(hass, freezer)
    assert not _on(hass, "a")
    assert float(_state(hass, allocated)) == 0.0
    assert _state(hass, status) == "Off"

"""Stand-ins for chargers already in Home Assistant, made of real helpers: a
``template`` number (its current limit) that shows what the charger applies
(an ``input_number``) and stores what it is set to in another; a ``template``
switch that pauses it; sensors of what it draws; and a device in the registry
with a config entry of the maker's integration's domain (so the flow finds its
profile).

A write reaches the charger when the test says (:meth:`StandIn.follow`: the
limit it was set to is applied): until then it lags; if never, it ignores it.
:meth:`StandIn.go_unavailable` makes its entities unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

AMPS = {"unit_of_measurement": "A", "device_class": "current"}


@dataclass
class StandIn:
    """One charger's stand-in entities (see the module)."""

    hass: HomeAssistant
    key: str
    device_id: str
    limit: str
    pause: str | None

    @property
    def applied(self) -> float:
        """The limit the charger applies (A)."""
        return float(self.hass.states.get(f"input_number.{self.key}_applied").state)  # type: ignore[union-attr]

    @property
    def requested(self) -> float:
        """The limit it was last set to (A)."""
        return float(self.hass.states.get(f"input_number.{self.key}_requested").state)  # type: ignore[union-attr]

    @property
    def switched_on(self) -> bool:
        """Whether its pause switch is on (it may charge)."""
        return self.hass.states.get(f"input_boolean.{self.key}_switch").state == "on"  # type: ignore[union-attr]

    async def follow(self) -> None:
        """The charger applies the limit it was set to (its entity shows it)."""
        await self._set_applied(self.requested)

    async def _set_applied(self, amps: float) -> None:
        await self.hass.services.async_call(
            "input_number",
            "set_value",
            {"entity_id": f"input_number.{self.key}_applied", "value": amps},
            blocking=True,
        )
        await self.hass.async_block_till_done()

    async def draw(self, amps: float) -> None:
        """What it measures on each phase."""
        for phase in (1, 2, 3):
            self.hass.states.async_set(
                f"sensor.{self.key}_current_l{phase}", str(amps), AMPS
            )
        await self.hass.async_block_till_done()

    async def go_unavailable(self, unavailable: bool = True) -> None:
        """Its integration loses (or finds again) the charger."""
        service = "turn_off" if unavailable else "turn_on"
        await self.hass.services.async_call(
            "input_boolean",
            service,
            {"entity_id": f"input_boolean.{self.key}_online"},
            blocking=True,
        )
        await self.hass.async_block_till_done()


def _helpers(key: str, start_a: float) -> tuple[dict[str, object], dict[str, object]]:
    numbers = {
        f"{key}_applied": {"min": 0, "max": 100000, "step": 0.1, "initial": start_a},
        f"{key}_requested": {"min": 0, "max": 100000, "step": 0.1, "initial": start_a},
    }
    booleans = {
        f"{key}_online": {"initial": True},
        f"{key}_switch": {"initial": True},
    }
    return numbers, booleans


def _template(
    key: str, limit_key: str, pause_key: str, min_a: float, unit: str
) -> dict[str, object]:
    online = f"{{{{ is_state('input_boolean.{key}_online', 'on') }}}}"
    return {
        "number": [
            {
                "name": f"{key} {limit_key}",
                "unique_id": f"{key}_{limit_key}",
                "state": f"{{{{ states('input_number.{key}_applied') | float }}}}",
                "availability": online,
                "unit_of_measurement": unit,
                "min": min_a,
                "max": 32 if unit == "A" else 22000,
                "step": 1,
                "set_value": {
                    "action": "input_number.set_value",
                    "target": {"entity_id": f"input_number.{key}_requested"},
                    "data": {"value": "{{ value }}"},
                },
            }
        ],
        "switch": [
            {
                "name": f"{key} {pause_key}",
                "unique_id": f"{key}_{pause_key}",
                "state": f"{{{{ is_state('input_boolean.{key}_switch', 'on') }}}}",
                "availability": online,
                "turn_on": {
                    "action": "input_boolean.turn_on",
                    "target": {"entity_id": f"input_boolean.{key}_switch"},
                },
                "turn_off": {
                    "action": "input_boolean.turn_off",
                    "target": {"entity_id": f"input_boolean.{key}_switch"},
                },
            }
        ],
    }


async def async_install(
    hass: HomeAssistant,
    chargers: dict[str, str],
    *,
    limit_key: str = "maximum_charging_current",
    pause_key: str = "pause_resume",
    min_a: float = 6.0,
    start_a: float = 0.0,
    unit: str = "A",
) -> dict[str, StandIn]:
    """Stand-ins for ``chargers`` (key → the domain of its maker's
    integration), each on a device of a config entry of that domain, its
    entities keyed as that integration keys them (``limit_key``, ``pause_key``);
    the limit in ``unit`` (A, or W)."""
    numbers: dict[str, object] = {}
    booleans: dict[str, object] = {}
    templates: list[dict[str, object]] = []
    for key in chargers:
        n, b = _helpers(key, start_a)
        numbers |= n
        booleans |= b
        templates.append(_template(key, limit_key, pause_key, min_a, unit))
    assert await async_setup_component(hass, "input_number", {"input_number": numbers})
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": booleans}
    )
    assert await async_setup_component(hass, "template", {"template": templates})
    await hass.async_block_till_done()
    made: dict[str, StandIn] = {}
    for key, domain in chargers.items():
        made[key] = async_device_for(hass, key, domain, limit_key, pause_key)
        await made[key].draw(0.0)
    return made


def async_device_for(
    hass: HomeAssistant, key: str, domain: str, limit_key: str, pause_key: str
) -> StandIn:
    """A device of a config entry of ``domain`` holding the stand-in's entities."""
    maker = MockConfigEntry(domain=domain, title=f"{domain} account")
    maker.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=maker.entry_id,
        identifiers={(domain, key)},
        name=f"Charger {key}",
    )
    registry = er.async_get(hass)
    limit = registry.async_get_entity_id("number", "template", f"{key}_{limit_key}")
    pause = registry.async_get_entity_id("switch", "template", f"{key}_{pause_key}")
    assert limit is not None
    for entity_id in (limit, pause):
        if entity_id is not None:
            registry.async_update_entity(entity_id, device_id=device.id)
    return StandIn(hass, key, device.id, limit, pause)

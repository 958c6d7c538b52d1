"""Chargers already in Home Assistant, through real Home Assistant: the flow
finds a device's profile and entities; a site balances such chargers (no OCPP
charger at all) with stand-ins that follow writes late, ignore them and go
unavailable; one that does not follow its limit gets a repair issue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import (
    CONF_CHARGER_PROFILE,
    CONF_CONNECTION,
    CONF_DEVICE_ID,
    CONF_GROUP,
    CONF_LINK,
    CONF_MAX_CURRENT_A,
    DOMAIN,
    SUBENTRY_HA_CHARGER,
)
from custom_components.ev_power_share.core.ports import PortId
from custom_components.ev_power_share.core.settings import LimitOverride

from .ha_charger_standins import StandIn, async_install
from .test_groups import _add, _device
from .test_site_control import _setup

FORM = {CONF_GROUP: "site", CONF_CONNECTION: "L1-L2-L3", CONF_MAX_CURRENT_A: 32}
CURRENTS = {f"current_l{n}": f"sensor.{{key}}_current_l{n}" for n in (1, 2, 3)}


async def _start(
    hass: HomeAssistant, entry: MockConfigEntry, device_id: str | None
) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_HA_CHARGER), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    data = {} if device_id is None else {CONF_DEVICE_ID: device_id}
    return dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], data)
    )


def _suggested(result: dict[str, Any]) -> dict[str, Any]:
    return {
        str(key): key.description.get("suggested_value")
        for key in result["data_schema"].schema
        if key.description
    }


async def _submit(
    hass: HomeAssistant, result: dict[str, Any], user_input: dict[str, Any]
) -> dict[str, Any]:
    done = await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )
    await hass.async_block_till_done()
    return dict(done)


async def _add_charger(
    hass: HomeAssistant, entry: MockConfigEntry, stand_in: StandIn, **extra: Any
) -> str:
    """Add a stand-in through the flow (its found entities, its currents);
    its port id."""
    result = await _start(hass, entry, stand_in.device_id)
    assert result["step_id"] == "entities"
    found = {k: v for k, v in _suggested(result).items() if v is not None}
    currents = {k: v.format(key=stand_in.key) for k, v in CURRENTS.items()}
    before = set(entry.subentries)
    done = await _submit(hass, result, {**found, **FORM, **currents, **extra})
    assert done["type"] is FlowResultType.CREATE_ENTRY, done.get("errors")
    (added,) = set(entry.subentries) - before
    return str(PortId(added, 1))


async def _cycle(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    controller = entry.runtime_data.controller
    await controller.async_refresh()
    await hass.async_block_till_done()
    return dict(controller.data.allocation.ports)


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, s: float) -> None:
    freezer.tick(timedelta(seconds=s))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_flow_finds_the_profile_and_entities_and_says_what_is_wrong(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    stand_ins = await async_install(hass, {"wb": "wallbox", "other": "acme"})
    wallbox = stand_ins["wb"]
    result = await _start(hass, site_entry, wallbox.device_id)
    assert result["step_id"] == "entities"
    assert result["description_placeholders"]["profile"] == "Wallbox"
    suggested = _suggested(result)
    assert suggested[CONF_NAME] == "Charger wb"
    assert suggested[CONF_CHARGER_PROFILE] == "wallbox"
    assert suggested[CONF_LINK] == "cloud"
    assert suggested["limit"] == wallbox.limit
    assert suggested["pause"] == wallbox.pause
    base = {CONF_NAME: "Garage", CONF_CHARGER_PROFILE: "wallbox", **FORM}
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({}, {"limit": "limit_required"}),
        ({"limit": wallbox.limit}, {"pause": "pause_required"}),
        (
            {"limit": "number.nowhere", "pause": wallbox.pause},
            {"limit": "entity_missing"},
        ),
        (
            {"limit": "sensor.wb_current_l1", CONF_CHARGER_PROFILE: "generic"},
            {"limit": "limit_not_settable"},
        ),
        (
            {"limit": wallbox.limit, "pause": wallbox.pause, CONF_MAX_CURRENT_A: 90},
            {CONF_MAX_CURRENT_A: "max_current_out_of_range"},
        ),
        (
            {"limit": wallbox.limit, "pause": wallbox.pause, CONF_NAME: " "},
            {CONF_NAME: "name_required"},
        ),
    ]
    for extra, errors in cases:
        result = await _submit(hass, result, {**base, **extra})
        assert result["type"] is FlowResultType.FORM, extra
        assert result["errors"] == errors, extra
    # The user may override what was found: here, the currents it measures.
    done = await _submit(
        hass,
        result,
        {
            **base,
            "limit": wallbox.limit,
            "pause": wallbox.pause,
            "current_l1": "sensor.wb_current_l1",
        },
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = [
        s
        for s in site_entry.subentries.values()
        if s.subentry_type == SUBENTRY_HA_CHARGER
    ]
    assert subentry.data[CONF_DEVICE_ID] == wallbox.device_id
    assert subentry.data["current_l1"] == "sensor.wb_current_l1"
    # Its device hangs under the site's.
    registry = dr.async_get(hass)
    device = _device(registry, f"{site_entry.entry_id}_{subentry.subentry_id}")
    assert device is not None
    assert device.manufacturer == "Wallbox"
    assert device.via_device_id == _device(registry, site_entry.entry_id).id  # type: ignore[union-attr]
    # One subentry per device.
    again = await _start(hass, site_entry, wallbox.device_id)
    done = await _submit(
        hass, again, {**base, "limit": wallbox.limit, "pause": wallbox.pause}
    )
    assert done["type"] is FlowResultType.ABORT
    assert done["reason"] == "already_configured"
    # An unknown maker's device: the generic profile, with its number.
    other = await _start(hass, site_entry, stand_ins["other"].device_id)
    assert _suggested(other)[CONF_CHARGER_PROFILE] == "generic"
    assert _suggested(other)["limit"] == stand_ins["other"].limit
    # Not a charger: a device of this integration.
    ours = _device(registry, site_entry.entry_id)
    refused = await _start(hass, site_entry, ours.id)  # type: ignore[union-attr]
    assert refused["errors"] == {CONF_DEVICE_ID: "device_is_ours"}


async def test_a_tesla_wall_connector_is_only_counted(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    (tesla,) = (await async_install(hass, {"twc": "tesla_wall_connector"})).values()
    result = await _start(hass, site_entry, tesla.device_id)
    assert result["step_id"] == "read_only"
    assert _suggested(result)[CONF_CHARGER_PROFILE] == "tesla_wall_connector"
    done = await _submit(
        hass,
        result,
        {
            CONF_NAME: "Tesla",
            CONF_CHARGER_PROFILE: "tesla_wall_connector",
            **FORM,
            CONF_MAX_CURRENT_A: 24,
        },
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    (sid,) = site_entry.subentries
    pid = str(PortId(sid, 1))
    ports = await _cycle(hass, site_entry)
    assert ports[pid].reason == "offline"
    site = site_entry.runtime_data.controller.data.site
    (port,) = [p for p in site.ports if p.id == pid]
    assert (port.online, port.failsafe_a) == (False, 24.0)
    assert tesla.requested == 0.0  # never written


async def test_site_balances_chargers_that_follow_late_ignore_and_go_away(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """No OCPP charger: two chargers in Home Assistant on a 40 A circuit (32 A
    continuous), each rated 32 A."""
    await _setup(hass, site_entry)
    circuit = await _add(
        hass, site_entry, **{CONF_NAME: "Carport", "kind": "circuit", "rating_a": 40}
    )
    stand_ins = await async_install(
        hass, {"a": "lektrico", "b": "lektrico"}, limit_key="dynamic_limit", min_a=0
    )
    a, b = stand_ins["a"], stand_ins["b"]
    pa = await _add_charger(hass, site_entry, a, **{CONF_GROUP: circuit})
    assert a.requested == 32.0  # alone on the circuit
    await a.follow()
    pb = await _add_charger(hass, site_entry, b, **{CONF_GROUP: circuit})
    source = site_entry.runtime_data.ha_chargers
    assert source is not None
    assert source.port_name(pa) == "Charger a"

    # With B there, A is lowered to its share, and counted at 32 A until it
    # shows that: B is raised only then.
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    assert ports[pa].reason == "offline"
    assert a.requested == 16.0
    assert b.requested == 0.0
    await a.follow()
    for _ in range(2):
        await _tick(hass, freezer, 10)
        await _cycle(hass, site_entry)
    assert b.requested == 16.0
    await b.follow()
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    assert {ports[pa].current_a, ports[pb].current_a} == {16.0}
    assert (a.applied, b.applied) == (16.0, 16.0)
    assert source.port_state(pa) == "connected"

    # B goes unavailable: it is counted at its rating (32 A), A gets nothing
    # more (it is lowered to 0, and counted at 16 A until it shows that).
    await b.go_unavailable()
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    assert ports[pb].reason == "offline"
    assert source.port_state(pb) == "unavailable"
    assert a.requested == 0.0
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    assert ports[pa].reason == "offline"  # lowered, not shown yet: at 16 A
    site = site_entry.runtime_data.controller.data.site
    assert {p.id: p.failsafe_a for p in site.ports if not p.online} == {
        pa: 16.0,
        pb: 32.0,
    }
    await a.follow()
    await b.go_unavailable(False)
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    assert ports[pa].reason != "offline"
    assert ports[pa].current_a + ports[pb].current_a <= 32.0

    # B is lowered but ignores it: it stays counted at what it holds, A is
    # not raised into that, and a repair names B once it has ignored it long
    # enough; the limit is written again meanwhile.
    entry = site_entry
    entry.runtime_data.controller.set_override(circuit, LimitOverride(current_a=20.0))
    await _tick(hass, freezer, 1)
    await _cycle(hass, entry)
    await a.follow()  # A follows; B does not
    for _ in range(8):
        await _tick(hass, freezer, 10)
        ports = await _cycle(hass, entry)
        site = entry.runtime_data.controller.data.site
        counted = {p.id: p.failsafe_a for p in site.ports if not p.online}
        allocated = sum(
            a_.current_a for p, a_ in ports.items() if a_.reason != "offline"
        )
        assert allocated + sum(counted.values()) <= 20.0 + 1e-6 or not allocated
    issue_id = f"ha_charger_ignores_limits_{entry.entry_id}_{PortId.parse(pb).charger}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "charger": "Charger b",
        "site": "Maple Court",
    }
    assert source.disobeys(pb)
    # It follows after all: the issue goes.
    await b.follow()
    await _tick(hass, freezer, 10)
    await _cycle(hass, entry)
    await _tick(hass, freezer, 10)
    await _cycle(hass, entry)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert not source.disobeys(pb)


async def test_a_paused_charger_goes_through_its_switch_and_draws_are_checked(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A Wallbox takes no 0 A: it is paused with its switch. One that draws
    more than its limit is flagged and counted at its rating."""
    await _setup(hass, site_entry)
    (wb,) = (await async_install(hass, {"wb": "wallbox"}, start_a=16)).values()
    await wb.follow()
    kwh = {"unit_of_measurement": "kWh", "device_class": "energy"}
    hass.states.async_set("sensor.wb_energy", "3.0", kwh)
    pid = await _add_charger(
        hass, site_entry, wb, **{CONF_LINK: "local", "energy": "sensor.wb_energy"}
    )
    source = site_entry.runtime_data.ha_chargers
    assert source is not None
    assert source.energy_kwh(pid) == 3.0
    hass.states.async_set("sensor.wb_energy", "1.0", kwh)  # a new session
    controller = site_entry.runtime_data.controller
    await wb.follow()
    number = wb.requested
    controller.set_override("site", LimitOverride(current_a=4.0))  # under 6 A
    await _tick(hass, freezer, 1)
    await _cycle(hass, site_entry)
    assert not wb.switched_on
    assert wb.requested == number  # the number was left alone
    assert source.energy_kwh(pid) == 4.0
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    assert ports[pid].current_a == 0.0
    assert source.port_state(pid) == "off"
    controller.set_override("site", None)
    await _tick(hass, freezer, 10)
    await _cycle(hass, site_entry)
    assert wb.switched_on
    # Held at 16 A, it draws 30 A (something else drives it): after a minute
    # it is flagged, and counted at its rating.
    controller.set_override("site", LimitOverride(current_a=16.0))
    await _tick(hass, freezer, 10)
    await _cycle(hass, site_entry)
    await wb.follow()
    assert wb.applied == 16.0
    await wb.draw(30.0)
    for _ in range(8):
        await _tick(hass, freezer, 10)
        await _cycle(hass, site_entry)
    sid = PortId.parse(pid).charger
    assert issue_registry.async_get_issue(
        DOMAIN, f"ha_charger_ignores_limits_{site_entry.entry_id}_{sid}"
    )
    site = controller.data.site
    (port,) = [p for p in site.ports if p.id == pid]
    assert (port.online, port.failsafe_a) == (False, 32.0)
    # Reconfigured (its link): the flow keeps its device and shows its values.
    result = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, SUBENTRY_HA_CHARGER),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": sid},
    )
    assert result["step_id"] == "reconfigure"
    assert _suggested(dict(result))["limit"] == wb.limit


async def test_a_limit_in_watts_is_written_in_watts(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A generic charger whose number is in W: 16 A on three phases at 230 V
    is 11 040 W (whole watts, never above the number's maximum)."""
    await _setup(hass, site_entry)
    (box,) = (
        await async_install(
            hass, {"w": "acme"}, limit_key="power_limit", unit="W", min_a=0
        )
    ).values()
    pid = await _add_charger(hass, site_entry, box)
    assert box.requested == 22000.0  # 32 A would be 22 080 W: the number's most
    await box.follow()
    site_entry.runtime_data.controller.set_override(
        "site", LimitOverride(current_a=16.0)
    )
    await _tick(hass, freezer, 10)
    await _cycle(hass, site_entry)
    assert box.requested == 11040.0
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    # Not shown yet: counted at the 22 000 W it held, in A.
    assert ports[pid].reason == "offline"
    assert ports[pid].current_a == pytest.approx(22000.0 / 690.0)
    await box.follow()
    await _tick(hass, freezer, 10)
    ports = await _cycle(hass, site_entry)
    assert ports[pid].current_a == 16.0
    site = site_entry.runtime_data.controller.data.site
    (port,) = [p for p in site.ports if p.id == pid]
    assert port.online
    assert port.ev is not None
    assert port.ev.offered_a == 16.0

"""Per-user figures and the export_statements action, in Home Assistant: the
sensors follow sessions booked through the real recorder and ledger, turn
with the month and survive a reload; the export answers what core.statements
computes for the same sessions, writes its files under the configuration
folder and serves them through signed URLs only."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.http.auth import async_sign_path
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_power_share.const import (
    CONF_DEFAULT_TARIFF,
    CONF_USER_TARIFF,
    CONF_USER_TOKENS,
    DOMAIN,
    SUBENTRY_TARIFF,
    SUBENTRY_USER,
    signal_sessions_changed,
)
from custom_components.ev_power_share.core.session_costs import price_session
from custom_components.ev_power_share.core.statements import (
    Billing,
    Month,
    month_export,
)
from custom_components.ev_power_share.ledger import Ledger
from custom_components.ev_power_share.session_recorder import SessionRecorder
from custom_components.ev_power_share.tariff_flow import site_tariff_plans

PER_KWH = {
    "currency": "EUR",
    "vat_percent": "21",
    "monthly_fee": "5",
    "rule": "per_kwh",
    "price": "0.30",
}
PER_HOUR = {
    "currency": "EUR",
    "vat_percent": "21",
    "monthly_fee": "0",
    "rule": "per_hour",
    "price_per_hour": "2",
    "idle_fee_per_hour": "3",
    "grace_minutes": 30,
}
TOU = {
    "currency": "EUR",
    "vat_percent": "9",
    "monthly_fee": "2.50",
    "rule": "time_of_use",
    "default_price": "0.20",
    "windows": [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "07:00",
            "end": "23:00",
            "price": "0.35",
        }
    ],
}
SPOT = {
    "currency": "EUR",
    "vat_percent": "0",
    "monthly_fee": "0",
    "rule": "price_sensor",
    "entity_id": "sensor.spot_price",
    "margin": "0.05",
    "fallback_price": "1",
}


def _subentry(kind: str, title: str, data: dict[str, Any], sid: str) -> ConfigSubentry:
    return ConfigSubentry(
        data=MappingProxyType(data),
        subentry_type=kind,
        title=title,
        unique_id=None,
        subentry_id=sid,
    )


def _add_site(
    hass: HomeAssistant, entry: MockConfigEntry, default: str | None = None
) -> None:
    entry.add_to_hass(hass)
    for sub in (
        _subentry(SUBENTRY_TARIFF, "Residents", PER_KWH, "plan_kwh"),
        _subentry(SUBENTRY_TARIFF, "Visitors", PER_HOUR, "plan_hour"),
        _subentry(SUBENTRY_TARIFF, "Night owls", TOU, "plan_tou"),
        _subentry(SUBENTRY_TARIFF, "Spot", SPOT, "plan_spot"),
        _subentry(
            SUBENTRY_USER,
            "Flat 3B",
            {CONF_USER_TOKENS: ["AA01"], CONF_USER_TARIFF: "plan_kwh"},
            "alice",
        ),
        _subentry(
            SUBENTRY_USER,
            "Vera visitor",
            {CONF_USER_TOKENS: ["BB02"], CONF_USER_TARIFF: "plan_hour"},
            "vera",
        ),
        _subentry(
            SUBENTRY_USER,
            "Flat 1A",
            {CONF_USER_TOKENS: ["CC03"], CONF_USER_TARIFF: "plan_tou"},
            "carol",
        ),
        _subentry(
            SUBENTRY_USER,
            "Flat 2C",
            {CONF_USER_TOKENS: ["DD04"], CONF_USER_TARIFF: "plan_spot"},
            "dan",
        ),
    ):
        assert hass.config_entries.async_add_subentry(entry, sub)
    if default is not None:
        hass.config_entries.async_update_entry(
            entry, options={CONF_DEFAULT_TARIFF: default}
        )


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> Ledger:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    ledger = entry.runtime_data.ledger
    assert isinstance(ledger, Ledger)
    return ledger


def _state(hass: HomeAssistant, entry: MockConfigEntry, owner: str, key: str) -> Any:
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_{owner}_{key}"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


async def _booked(
    hass: HomeAssistant, entry: MockConfigEntry, session_id: str | None
) -> None:
    assert session_id is not None
    async_dispatcher_send(hass, signal_sessions_changed(entry.entry_id), session_id)
    await hass.async_block_till_done(wait_background_tasks=True)


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(
        year, month, day, hour, minute, tzinfo=dt_util.get_default_time_zone()
    ).timestamp()


async def test_a_users_sensors_follow_their_sessions_turn_with_the_month_and_survive_a_reload(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime.fromtimestamp(_at(2026, 5, 20, 12), dt_util.UTC))
    _add_site(hass, site_entry)
    ledger = await _set_up(hass, site_entry)
    assert float(_state(hass, site_entry, "alice", "month_energy").state) == 0
    cost = _state(hass, site_entry, "alice", "month_cost")
    assert cost.attributes["unit_of_measurement"] == "EUR"
    assert cost.attributes["device_class"] == "monetary"
    assert cost.attributes["state_class"] == "total"
    assert Decimal(cost.state) == Decimal("6.05")  # the fee, 5.00 + 21 % VAT
    energy = _state(hass, site_entry, "alice", "month_energy")
    assert (
        energy.attributes["state_class"],
        energy.attributes["unit_of_measurement"],
    ) == ("total_increasing", "kWh")

    recorder = SessionRecorder(ledger)
    t0 = _at(2026, 5, 20, 8)
    session = await recorder.started("cp-1:1", "cp-1", 1, t0, 1000.0, user_id="alice")
    await _booked(hass, site_entry, session.id)
    assert float(_state(hass, site_entry, "alice", "month_energy").state) == 0
    await _booked(
        hass, site_entry, await recorder.metered("cp-1:1", t0 + 1800, 6000.0, 10000)
    )
    assert float(_state(hass, site_entry, "alice", "month_energy").state) == 5.0
    assert Decimal(_state(hass, site_entry, "alice", "month_cost").state) == Decimal(
        "7.87"
    )  # 6.50 + 1.37
    assert _state(hass, site_entry, "alice", "last_session").state == "unknown"
    stopped = await recorder.stopped("cp-1:1", t0 + 3600, 11000.0)
    await _booked(hass, site_entry, stopped.id if stopped else None)
    assert float(_state(hass, site_entry, "alice", "month_energy").state) == 10.0
    assert Decimal(_state(hass, site_entry, "alice", "month_cost").state) == Decimal(
        "9.68"
    )  # 8.00 + 1.68
    last = _state(hass, site_entry, "alice", "last_session")
    assert dt_util.parse_datetime(last.state) == datetime.fromtimestamp(
        t0 + 3600, dt_util.UTC
    )
    assert (last.attributes["energy_kwh"], last.attributes["cost"]) == (10.0, "3.00")
    assert float(_state(hass, site_entry, "site", "month_energy").state) == 10.0

    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert float(_state(hass, site_entry, "alice", "month_energy").state) == 10.0
    assert Decimal(_state(hass, site_entry, "alice", "month_cost").state) == Decimal(
        "9.68"
    )

    freezer.move_to(datetime.fromtimestamp(_at(2026, 6, 1, 0, 0) + 1, dt_util.UTC))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert float(_state(hass, site_entry, "alice", "month_energy").state) == 0
    cost = _state(hass, site_entry, "alice", "month_cost")
    assert Decimal(cost.state) == Decimal("6.05")
    assert dt_util.parse_datetime(
        cost.attributes["last_reset"]
    ) == datetime.fromtimestamp(_at(2026, 6, 1, 0), dt_util.UTC)
    assert (
        dt_util.parse_datetime(_state(hass, site_entry, "alice", "last_session").state)
        is not None
    )


async def _book_april(hass: HomeAssistant, ledger: Ledger) -> None:
    """A month of sessions: per kWh, per hour (with idle time), time of use
    across 23:00, a price sensor's, and an unassigned one."""
    recorder = SessionRecorder(ledger)
    alice = _at(2026, 4, 3, 18)
    await recorder.started("cp-1:1", "cp-1", 1, alice, 0.0, user_id="alice")
    await recorder.metered("cp-1:1", alice + 3600, 7400.0, 7400)
    await recorder.stopped("cp-1:1", alice + 7200, 12345.0)
    vera = _at(2026, 4, 10, 9)
    await recorder.started("cp-1:2", "cp-1", 2, vera, 500.0, user_id="vera")
    await recorder.metered("cp-1:2", vera + 3600, 11500.0, 11000)
    await recorder.metered("cp-1:2", vera + 2 * 3600, 11500.0, 0)
    await recorder.stopped("cp-1:2", vera + 3 * 3600, 11500.0)
    carol = _at(2026, 4, 15, 22)
    await recorder.started("cp-2:1", "cp-2", 1, carol, 100.0, user_id="carol")
    await recorder.metered("cp-2:1", carol + 3600, 7100.0, 7000)
    await recorder.stopped("cp-2:1", carol + 2 * 3600, 14100.0)
    nobody = _at(2026, 4, 20, 12)
    await recorder.started("cp-2:2", "cp-2", 2, nobody, 0.0)
    await recorder.stopped("cp-2:2", nobody + 3600, 3000.0)
    march = _at(2026, 3, 31, 23)  # started in March: not April's
    await recorder.started("cp-1:1", "cp-1", 1, march, 20000.0, user_id="alice")
    await recorder.stopped("cp-1:1", _at(2026, 4, 1, 1), 24000.0)


async def _export(
    hass: HomeAssistant, entry: MockConfigEntry, **fields: Any
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "export_statements",
        {"config_entry_id": entry.entry_id, **fields},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


async def test_the_export_answers_core_statements_writes_the_files_and_reconciles(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime.fromtimestamp(_at(2026, 5, 2, 12), dt_util.UTC))
    _add_site(hass, site_entry)
    ledger = await _set_up(hass, site_entry)
    await _book_april(hass, ledger)

    answer = await _export(hass, site_entry)  # last month by default
    assert answer["month"] == "2026-04"
    by_name = {a["name"]: a for a in answer["accounts"]}
    # Hand-computed: 12.345 kWh × 0.30 = 3.70 (3.7035), + 5.00 fee = 8.70,
    # VAT 21 % = 1.83 (1.827), gross 10.53.
    assert {
        k: by_name["Flat 3B"][k]
        for k in ("energy_kwh", "energy_amount", "net", "vat", "gross")
    } == {
        "energy_kwh": 12.345,
        "energy_amount": "3.70",
        "net": "8.70",
        "vat": "1.83",
        "gross": "10.53",
    }
    # 3 h plugged in × 2.00 = 6.00; idle from 10:00 + 30 min grace to 12:00:
    # 1.5 h × 3.00 = 4.50; net 10.50, VAT 2.21 (2.205), gross 12.71.
    assert (by_name["Vera visitor"]["net"], by_name["Vera visitor"]["gross"]) == (
        "10.50",
        "12.71",
    )
    assert by_name["Unassigned"]["priced"] is False
    assert by_name["Unassigned"]["energy_kwh"] == 3.0
    assert "gross" not in by_name["Unassigned"]

    # The same figures as core.statements over the ledger's sessions and plans.
    tz = dt_util.get_default_time_zone()
    month = Month(2026, 4)
    start, end = month.bounds(tz)
    sessions = [s for s in await ledger.sessions(start, end) if s.started_at >= start]
    plans = site_tariff_plans(site_entry)
    users = {
        "alice": "plan_kwh",
        "vera": "plan_hour",
        "carol": "plan_tou",
        "dan": "plan_spot",
    }
    costs = [
        price_session(s, plans[users[s.user_id]], tz) for s in sessions if s.user_id
    ]
    names = {
        sid: s.title
        for sid, s in site_entry.subentries.items()
        if s.subentry_type == SUBENTRY_USER
    }
    board = month_export(month, costs, Billing(names, users, plans, "plan_kwh"), tz)
    for statement in board.statements:
        mine = by_name[statement.account.name]
        assert (mine["net"], mine["vat"], mine["gross"]) == (
            str(statement.net),
            str(statement.vat),
            str(statement.gross),
        )
    [total] = answer["totals"]
    [expected] = board.totals()
    assert (total["net"], total["vat"], total["gross"]) == (
        str(expected.net),
        str(expected.vat),
        str(expected.gross),
    )
    # Reconciled with the ledger: every session's energy, every cent.
    assert Decimal(str(answer["energy_kwh"])) * 1000 == sum(
        Decimal(str(s.energy_wh)) for s in sessions
    )
    assert Decimal(total["energy_amount"]) == sum((c.amount for c in costs), Decimal(0))
    assert Decimal(total["net"]) == Decimal(total["energy_amount"]) + Decimal(
        total["monthly_fees"]
    )

    folder = Path(
        hass.config.path(DOMAIN, "statements", site_entry.entry_id, "2026-04")
    )
    assert answer["folder"] == str(folder)
    names_on_disk = await hass.async_add_executor_job(
        lambda: sorted(p.name for p in folder.iterdir())
    )
    assert "board-2026-04.csv" in names_on_disk
    assert "statement-2026-04-flat-3b.html" in names_on_disk
    assert not [n for n in names_on_disk if n.endswith(".tmp")]
    board_csv = await hass.async_add_executor_job(
        (folder / "board-2026-04.csv").read_text
    )
    assert f"total,,,,,,,,,{total['energy_kwh']:.3f}," in board_csv


async def test_a_signed_url_opens_a_statement_and_nothing_else_is_served(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    freezer.move_to(datetime.fromtimestamp(_at(2026, 5, 2, 12), dt_util.UTC))
    assert await async_setup_component(hass, "http", {})
    _add_site(hass, site_entry)
    ledger = await _set_up(hass, site_entry)
    await _book_april(hass, ledger)
    answer = await _export(hass, site_entry, month="2026-04", users=["flat 3b"])
    [account] = answer["accounts"]
    assert account["name"] == "Flat 3B"
    html = next(f for f in account["files"] if f["name"].endswith(".html"))
    client = await hass_client_no_auth()

    opened = await client.get(html["url"])
    assert opened.status == 200
    assert opened.content_type == "text/html"
    assert "Charging statement 2026-04" in await opened.text()

    unsigned = html["url"].split("?")[0]
    assert (await client.get(unsigned)).status == 401
    forged = html["url"][:-3] + ("AAA" if not html["url"].endswith("AAA") else "BBB")
    assert (await client.get(forged)).status == 401
    base = f"/api/{DOMAIN}/statements/{site_entry.entry_id}"
    for path in (
        f"{base}/2026-04/..%2F..%2F..%2F{site_entry.entry_id}.sqlite",
        f"{base}/2026-04/statement-2026-04-nobody.html",
        f"/api/{DOMAIN}/statements/..%2F..%2F/2026-04/board-2026-04.csv",
    ):
        signed = async_sign_path(hass, path, timedelta(minutes=5))
        assert (await client.get(signed)).status == 404, path


MESSAGES = {
    "month_invalid": "is not a month",
    "user_not_found": "No user Nobody",
    "entry_not_found": "No EV Power Share site",
}


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"month": "2026-13"}, "month_invalid"),
        ({"month": "May"}, "month_invalid"),
        ({"month": "1999-12"}, "month_invalid"),
        ({"users": ["Nobody"]}, "user_not_found"),
        ({"config_entry_id": "nope"}, "entry_not_found"),
    ],
)
async def test_bad_input_is_refused_with_a_translated_error(
    hass: HomeAssistant, site_entry: MockConfigEntry, fields: dict[str, Any], key: str
) -> None:
    _add_site(hass, site_entry)
    await _set_up(hass, site_entry)
    with pytest.raises(ServiceValidationError) as err:
        await _export(hass, site_entry, **fields)
    assert err.value.translation_key == key
    assert MESSAGES[key] in str(err.value)  # the translated message


async def test_a_price_sensor_plan_bills_each_interval_at_the_price_shown_then(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    t0 = _at(2026, 5, 4, 10)
    freezer.move_to(datetime.fromtimestamp(t0 - 60, dt_util.UTC))
    hass.states.async_set("sensor.spot_price", "0.10")
    _add_site(hass, site_entry, default="plan_kwh")
    ledger = await _set_up(hass, site_entry)
    recorder = SessionRecorder(ledger)
    session = await recorder.started("cp-1:1", "cp-1", 1, t0, 0.0, user_id="dan")
    freezer.move_to(datetime.fromtimestamp(t0 + 3600, dt_util.UTC))
    hass.states.async_set("sensor.spot_price", "0.30")
    await hass.async_block_till_done(wait_background_tasks=True)
    await recorder.stopped("cp-1:1", t0 + 7200, 20000.0)
    await _booked(hass, site_entry, session.id)
    # 10 kWh at 0.10 + 0.05, then 10 kWh at 0.30 + 0.05: 1.50 + 3.50.
    assert Decimal(_state(hass, site_entry, "dan", "month_cost").state) == Decimal(
        "5.00"
    )
    nobody = await recorder.started("cp-2:1", "cp-2", 1, t0, 0.0)
    await recorder.stopped("cp-2:1", t0 + 3600, 1000.0)
    await _booked(hass, site_entry, nobody.id)
    # The unassigned session is priced by the default plan (0.30 per kWh, 21 %).
    answer = await _export(hass, site_entry, month="2026-05")
    unassigned = next(a for a in answer["accounts"] if a["kind"] == "unassigned")
    assert (
        unassigned["tariff_plan"],
        unassigned["energy_amount"],
        unassigned["gross"],
    ) == ("plan_kwh", "0.30", "0.36")


async def test_a_cost_is_in_the_currency_of_the_plans_as_they_are_now(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """Plans are added while the site runs (as the demo does): the site's cost
    this month follows their currency, not the one it was created with."""
    site_entry.add_to_hass(hass)
    await _set_up(hass, site_entry)
    assert hass.config.currency == "EUR"
    assert (
        _state(hass, site_entry, "site", "month_cost").attributes["unit_of_measurement"]
        == "EUR"
    )
    plan = _subentry(SUBENTRY_TARIFF, "Residents", {**PER_KWH, "currency": "CHF"}, "p")
    assert hass.config_entries.async_add_subentry(site_entry, plan)
    await hass.async_block_till_done(wait_background_tasks=True)
    hass.config_entries.async_update_entry(
        site_entry, options={**site_entry.options, CONF_DEFAULT_TARIFF: "p"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    cost = _state(hass, site_entry, "site", "month_cost")
    assert cost.attributes["unit_of_measurement"] == "CHF"

"""The scenario file: the default condo, its electrical design, and refused files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from custom_components.ev_power_share.core.model import CONNECTIONS
from simulator.site_config import (
    SITE,
    ConfigError,
    format_time,
    load_config,
    parse_config,
    parse_time,
)
from simulator.site_model import SiteModel

CONDO = Path(__file__).parents[2] / "simulator" / "scenarios" / "condo.yaml"


def condo_data() -> dict[str, Any]:
    return yaml.safe_load(CONDO.read_text(encoding="utf-8"))


def test_condo_scenario() -> None:
    config = load_config(CONDO)
    assert config.site.supply == "three_phase_400"
    assert config.site.main_breaker_a == 125
    assert config.site.legs == 3
    assert [(g.id, g.kind, g.parent) for g in config.groups] == [
        ("garage", "panel", SITE),
        ("circuit-a", "circuit", "garage"),
        ("circuit-b", "circuit", "garage"),
        ("visitor", "panel", SITE),
        ("visitor-sockets", "circuit", "visitor"),
    ]
    ocpp = [c for c in config.chargers if c.kind == "ocpp"]
    assert len(ocpp) == 7
    assert len(config.ports()) == 13
    assert sorted(c.connectors for c in ocpp) == [1, 1, 1, 1, 1, 2, 2]
    assert {c.ocpp for c in ocpp} == {"1.6", "2.0.1"}
    assert {c.phases for c in ocpp} == {1, 3}
    assert {c.group for c in ocpp} == {"circuit-a", "circuit-b", "visitor"}
    assert len({c.connection for c in ocpp}) >= 4  # phase rotations
    others = sorted((c.kind, c.group) for c in config.chargers if c.kind != "ocpp")
    assert others == [
        ("ha", "visitor"),
        ("modbus", "visitor"),
        ("outlet", "visitor-sockets"),
        ("outlet", "visitor-sockets"),
    ]
    assert config.charger("visitor-2").map == "heidelberg_ec"
    assert config.meter is not None
    assert (config.meter.profile, config.meter.port, config.meter.group) == (
        "sdm630",
        5020,
        SITE,
    )
    assert config.solar.kwp == 6
    assert config.base_load.households > 0
    ports = {f"{c.id}/{n}" for c, n in config.ports()}
    assert {v.port for v in config.vehicles} == ports  # every port gets visitors
    assert {v.spec.phases for v in config.vehicles} == {1, 3}
    # Who may charge: every OCPP car presents a card of one of the users; the
    # ports without a card reader are the visitor's.
    cards = {c: u.name for u in config.users for c in u.cards}
    ocpp_ids = {c.id for c in ocpp}
    tags = [v.spec.id_tag for v in config.vehicles if v.charger in ocpp_ids]
    assert len(tags) == 12
    assert all(tag in cards for tag in tags)
    assert {t.name: t.fields["rule"] for t in config.tariffs} == {
        "Residents": "time_of_use",
        "Visitors": "per_hour",
    }
    visitor = next(u for u in config.users if u.name == "Visitor")
    assert set(visitor.ports) == ports - {
        f"{c.id}/{n}" for c, n in config.ports() if c.kind == "ocpp"
    }
    assert (config.access, config.default_tariff) == ("authorised", "Visitors")
    id3 = next(v.spec for v in config.vehicles if v.spec.name == "ID.3")
    assert id3.soc_pct == pytest.approx(80 - 25 / 58 * 100)  # from energy_kwh


def test_condo_as_json(tmp_path: Path) -> None:
    path = tmp_path / "condo.json"
    path.write_text(json.dumps(condo_data()), encoding="utf-8")
    assert load_config(path) == load_config(CONDO)


def test_times() -> None:
    assert parse_time("07:30", "x") == 27000
    assert parse_time("18:05:30", "x") == 65130
    assert parse_time("24:00", "x") == 86400
    assert format_time(86400 + 27000 + 59) == "07:30"
    with pytest.raises(ConfigError, match="quoted"):
        parse_time(450, "x")  # what YAML makes of an unquoted 07:30
    with pytest.raises(ConfigError, match="HH:MM"):
        parse_time("7h30", "x")


def test_defaults_of_a_minimal_site() -> None:
    config = parse_config({"site": {"main_breaker_a": 25}})
    assert config.chargers == ()
    assert config.meter is None
    assert config.speedup == 1.0
    model = SiteModel(config)
    assert model.legs_now.net_a == [0.0, 0.0, 0.0]


def _broken(path: str, value: object) -> dict[str, Any]:
    data = copy.deepcopy(condo_data())
    *parents, last = path.split(".")
    at: Any = data
    for key in parents:
        at = at[int(key)] if key.isdigit() else at[key]
    if value is None:
        del at[int(last) if last.isdigit() else last]
    elif last.isdigit():
        at[int(last)] = value
    else:
        at[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("site.main_breaker_a", None, r"site\.main_breaker_a: required"),
        ("site.supply", "three_phase_500", "site.supply: one of"),
        ("groups.1.parent", "nowhere", "unknown 'nowhere'"),
        ("groups.0.parent", "circuit-a", "loop"),
        ("groups.1.phases", ["L4"], "L1, L2, L3"),
        ("chargers.0.group", "attic", "unknown group 'attic'"),
        ("chargers.0.connection", "L1-L4", "connection: one of"),
        ("chargers.0.ocpp", "1.5", "ocpp: .1.6. or .2.0.1."),
        ("chargers.0.id", "cp 1", "no spaces"),
        ("chargers.1.id", "cp-01", "appears twice"),
        ("chargers.0.max_current_a", 100, r"not in \[6"),
        ("meter.profile", "acme", "meter.profile"),
        ("vehicles.0.port", "cp-01/2", "no connector 2"),
        ("vehicles.0.port", "cp-99/1", "charger id/connector"),
        ("vehicles.0.arrival", 450, "quoted"),
        ("vehicles.1.arrival", "07:00", "overlap on cp-01/1"),
        ("vehicles.0.energy_kwh", 10, "not both"),
        ("vehicles.0.phases", 4, r"not in \[1"),
        ("vehicles.0.colour", "red", "unknown key"),
        ("speedup", 0, r"speedup: 0 is not in"),
        ("solar.connection", "L1-L2", "solar.connection"),
        ("users.0.tariff", "Gold", "no tariff 'Gold'"),
        ("users.1.cards", ["04A21F9C"], "cards: '04A21F9C' appears twice"),
        ("users.6.ports", ["nowhere/1"], "charger id/connector"),
        ("tariffs.0.rule", "flat", "per_kwh, per_hour"),
        ("default_tariff", "Gold", "no tariff 'Gold'"),
        ("access", "anyone", "open, authorised or auto"),
    ],
)
def test_refused(path: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_broken(path, value))


def test_connection_must_be_in_the_group() -> None:
    data = condo_data()
    data["groups"][1]["phases"] = ["L1"]
    data["chargers"] = [c for c in data["chargers"] if c["group"] != "circuit-a"]
    data["chargers"].append({"id": "cp-x", "group": "circuit-a", "connection": "L2"})
    data["vehicles"] = []
    with pytest.raises(ConfigError, match="L2 not all in circuit-a"):
        parse_config(data)
    data["chargers"][-1]["connection"] = "L1"
    assert CONNECTIONS[parse_config(data).charger("cp-x").connection].legs == (0,)

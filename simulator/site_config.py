"""The site simulator's scenario file: the electrical design, chargers, meter, sun,
base load and vehicles of a site (YAML or JSON). Pure: parsing and checks only.

The electrical design (``site``, ``groups``, ``chargers``, ``meter``) uses the keys
and values Home Assistant's config entries store (``supply: three_phase_400``,
``rating_a``, ``phases: [L1, L2, L3]``, ``connection: L2-L3-L1`` …), so the demo
can set Home Assistant up from the same file. See ``scenarios/condo.yaml``.

Times of day are quoted strings (``"07:30"``, ``"18:05:30"``): unquoted, YAML 1.1
reads ``07:30`` as the number 450.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import itertools
import json
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the dev venvs

from custom_components.ev_power_share.const import SUPPLIES
from custom_components.ev_power_share.core.model import CONNECTIONS, LEG_NAMES
from custom_components.ev_power_share.modbus import PROFILES
from custom_components.ev_power_share.modbus.charger_maps import CHARGER_MAPS

from .vehicles import DAY_S, VehicleSpec

SITE = "site"
"""The group id of the site itself (its main breaker)."""
OCPP_VERSIONS = ("1.6", "2.0.1")
KINDS = ("ocpp", "modbus", "outlet", "ha")
"""How a charger is reached: OCPP (its own websocket), a Modbus TCP charger (a
simulated one on loopback), a smart outlet (a switch the simulator holds, over
HTTP) or a charger already in Home Assistant (a limit over HTTP it applies late)."""
_MISSING: Any = object()


class ConfigError(ValueError):
    """A scenario that cannot be simulated; the message names the culprit."""


@dataclass(frozen=True, slots=True)
class SiteDesign:
    """The site entry: its supply and main breaker."""

    name: str
    supply: str
    main_breaker_a: float
    continuous_factor: float

    @property
    def legs(self) -> int:
        """Number of supply legs (phases)."""
        return SUPPLIES[self.supply].legs

    @property
    def voltage_v(self) -> float:
        """Line-to-neutral voltage."""
        return SUPPLIES[self.supply].voltage_ln_v


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A panel or circuit (a power-group subentry)."""

    id: str
    name: str
    kind: str
    parent: str
    rating_a: float
    phases: tuple[str, ...]
    continuous_factor: float = 0.8
    max_power_kw: float | None = None
    fixed_load_a: float = 0.0


@dataclass(frozen=True, slots=True)
class ChargerSpec:
    """A charger (a charger subentry) and how the simulator runs it."""

    id: str
    name: str
    ocpp: str
    group: str
    connectors: int
    connection: str
    max_current_a: float
    failsafe_a: float | None = None
    password: str | None = None
    vendor: str = "EV Power Share"
    model: str = "Simulator"
    kind: str = "ocpp"
    """One of :data:`KINDS`; all but ``ocpp`` have one connector."""
    map: str | None = None
    """A Modbus charger's register map (``charger_maps``: ``heidelberg_ec`` …)."""
    apply_delay_s: float = 4.0
    """A charger already in Home Assistant: real seconds until a written limit
    applies (and shows)."""

    @property
    def legs(self) -> tuple[int, ...]:
        """Supply legs (0 = L1) its phases land on, in order."""
        return CONNECTIONS[self.connection].legs

    @property
    def line_to_line(self) -> bool:
        """True for a one-phase charger between two legs (208/240 V)."""
        return CONNECTIONS[self.connection].line_to_line

    @property
    def phases(self) -> int:
        """Phases it supplies to a vehicle (1 for a line-to-line charger)."""
        return 1 if self.line_to_line else len(self.legs)


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """The site's Modbus TCP meter (a meter subentry)."""

    profile: str = "sdm630"
    host: str = "127.0.0.1"
    port: int = 5020
    unit: int = 1
    group: str = SITE
    import_kwh: float = 0.0
    export_kwh: float = 0.0


@dataclass(frozen=True, slots=True)
class SolarSpec:
    """Rooftop PV behind the site's meter (the model of :mod:`.solar_day`)."""

    kwp: float = 0.0
    inverter_kw: float | None = None
    connection: str = "L1-L2-L3"
    """Legs the inverter feeds, its power split evenly between them."""
    sunrise_h: float = 5.5
    sunset_h: float = 21.0
    cloud_rate_per_h: float = 4.0


@dataclass(frozen=True, slots=True)
class BaseLoadSpec:
    """What the building draws besides the chargers."""

    households: int = 0
    """Each a seeded household of :mod:`.solar_day` on one leg, L1, L2, L3 in turn."""
    common_w: float = 0.0
    """Lifts, lighting, ventilation: constant, balanced on every leg."""


@dataclass(frozen=True, slots=True)
class PlacedVehicle:
    """A vehicle and the charging port it uses on each visit."""

    charger: str
    connector: int
    spec: VehicleSpec

    @property
    def port(self) -> str:
        """``charger/connector``."""
        return f"{self.charger}/{self.connector}"


@dataclass(frozen=True, slots=True)
class TariffSpec:
    """A tariff plan (a tariff subentry): its name and the fields of the tariff
    form and of its rule's form, as the form takes them (``rule``: per_kwh,
    per_hour, time_of_use, price_sensor)."""

    name: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class UserSpec:
    """Someone who may charge (a user subentry): their cards and plan."""

    name: str
    cards: tuple[str, ...] = ()
    tariff: str | None = None
    """The name of a plan in ``tariffs``."""
    ports: tuple[str, ...] = ()
    """Ports without a card reader (``charger id/connector``) whose charging user
    the demo sets to this user."""


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """A whole scenario."""

    name: str
    site: SiteDesign
    groups: tuple[GroupSpec, ...] = ()
    chargers: tuple[ChargerSpec, ...] = ()
    meter: MeterSpec | None = None
    solar: SolarSpec = SolarSpec()
    base_load: BaseLoadSpec = BaseLoadSpec()
    vehicles: tuple[PlacedVehicle, ...] = ()
    tariffs: tuple[TariffSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    access: str | None = None
    """The site's access option (open, authorised, auto); None: its default."""
    default_tariff: str | None = None
    """The plan (by name) of sessions booked to no user."""
    seed: int = 1
    start_s: float = 0.0
    """Time of day the simulation starts at."""
    speedup: float = 1.0
    """Scenario seconds per real second (60: a minute per second)."""
    tick_s: float = 0.5
    """Real seconds between two steps of the physics (and meter updates)."""
    meter_interval_s: float | None = None
    """Real seconds between MeterValues; None: what the central system configures
    (``MeterValueSampleInterval`` / ``TxUpdatedInterval``), else 10 s."""

    def charger(self, charger_id: str) -> ChargerSpec:
        """A charger by id."""
        for charger in self.chargers:
            if charger.id == charger_id:
                return charger
        raise KeyError(charger_id)

    def ports(self) -> list[tuple[ChargerSpec, int]]:
        """Every (charger, connector)."""
        return [(c, n) for c in self.chargers for n in range(1, c.connectors + 1)]


# --- reading ------------------------------------------------------------------------


def load_config(path: str | Path) -> SiteConfig:
    """Read a scenario file (``.json``: JSON, otherwise YAML)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: {err}") from err
    return parse_config(data)


def parse_time(value: object, where: str) -> float:
    """``"HH:MM"`` or ``"HH:MM:SS"`` → seconds after midnight (``"24:00"`` allowed)."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: a time of day as a quoted string, like '07:30'")
    parts = value.strip().split(":")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3) or not all(0 <= n < 60 for n in numbers[1:]):
        raise ConfigError(f"{where}: {value!r} is not HH:MM or HH:MM:SS")
    seconds = numbers[0] * 3600 + numbers[1] * 60 + (numbers[2:] or [0])[0]
    if not 0 <= seconds <= DAY_S:
        raise ConfigError(f"{where}: {value!r} is not a time of day")
    return float(seconds)


def format_time(seconds: float) -> str:
    """Seconds (from any midnight) → ``HH:MM`` of its day."""
    minutes = int(seconds // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class _Fields:
    """Typed access to one mapping of the file, with errors that say where."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def raw(self, key: str, default: Any) -> Any:
        self.used.add(key)
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is _MISSING:
            raise ConfigError(f"{self.where}.{key}: required")
        return default

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{self.where}.{key}: expected text")
        return str(value)

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
    ) -> Any:
        value = self.raw(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.where}.{key}: expected a number")
        if integer and value != int(value):
            raise ConfigError(f"{self.where}.{key}: expected a whole number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(f"{self.where}.{key}: {value} is not in [{low}, {high}]")
        return int(value) if integer else float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where}.{key}: expected true or false")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.raw(key, [])
        if not isinstance(value, list):
            raise ConfigError(f"{self.where}.{key}: expected a list")
        return value

    def done(self) -> None:
        unknown = sorted(str(k) for k in self.data if k not in self.used)
        if unknown:
            raise ConfigError(f"{self.where}: unknown key(s) {', '.join(unknown)}")


def parse_config(data: object) -> SiteConfig:
    """A scenario from its parsed YAML/JSON; :class:`ConfigError` if it is wrong."""
    top = _Fields(data, "config")
    name = top.text("name", "Simulated site")
    site = _site(_Fields(top.raw("site", _MISSING), "site"), name)
    groups = tuple(
        _group(_Fields(g, f"groups[{i}]"), site)
        for i, g in enumerate(top.items("groups"))
    )
    _check_groups(site, groups)
    phases_of = {SITE: LEG_NAMES[: site.legs], **{g.id: g.phases for g in groups}}
    chargers = tuple(
        _charger(_Fields(c, f"chargers[{i}]"), phases_of)
        for i, c in enumerate(top.items("chargers"))
    )
    _unique([c.id for c in chargers], "chargers")
    meter_data = top.raw("meter", None)
    meter = None if meter_data is None else _meter(_Fields(meter_data, "meter"))
    if meter is not None and meter.group not in phases_of:
        raise ConfigError(f"meter.group: unknown group {meter.group!r}")
    solar = _solar(_Fields(top.raw("solar", {}), "solar"), site)
    base = _base_load(_Fields(top.raw("base_load", {}), "base_load"))
    by_id = {c.id: c for c in chargers}
    vehicles = tuple(
        _vehicle(_Fields(v, f"vehicles[{i}]"), by_id)
        for i, v in enumerate(top.items("vehicles"))
    )
    _unique([v.spec.name for v in vehicles], "vehicles")
    _check_visits(vehicles)
    tariffs = tuple(
        _tariff(_Fields(t, f"tariffs[{i}]")) for i, t in enumerate(top.items("tariffs"))
    )
    _unique([t.name for t in tariffs], "tariffs")
    users = tuple(
        _user(_Fields(u, f"users[{i}]"), {t.name for t in tariffs}, by_id)
        for i, u in enumerate(top.items("users"))
    )
    _unique([u.name for u in users], "users")
    _unique([c for u in users for c in u.cards], "users' cards")
    default_tariff = top.text("default_tariff", None)
    if default_tariff is not None and default_tariff not in {t.name for t in tariffs}:
        raise ConfigError(f"config.default_tariff: no tariff {default_tariff!r}")
    access = top.text("access", None)
    if access not in (None, "open", "authorised", "auto"):
        raise ConfigError("config.access: open, authorised or auto")
    config = SiteConfig(
        name=name,
        site=site,
        groups=groups,
        chargers=chargers,
        meter=meter,
        solar=solar,
        base_load=base,
        vehicles=vehicles,
        tariffs=tariffs,
        users=users,
        access=access,
        default_tariff=default_tariff,
        seed=top.number("seed", 1, integer=True),
        start_s=parse_time(top.raw("start", "00:00"), "config.start"),
        speedup=top.number("speedup", 1.0, low=0.01, high=100000),
        tick_s=top.number("tick_s", 0.5, low=0.05, high=10),
        meter_interval_s=top.number("meter_interval_s", None, low=0.2, high=900),
    )
    top.done()
    return config


def _tariff(f: _Fields) -> TariffSpec:
    name = f.text("name")
    rule = f.text("rule")
    if rule not in ("per_kwh", "per_hour", "time_of_use", "price_sensor"):
        raise ConfigError(
            f"{f.where}.rule: per_kwh, per_hour, time_of_use or price_sensor"
        )
    f.used.update(f.data)  # the rest goes to the forms, which check it
    return TariffSpec(name, {str(k): v for k, v in f.data.items() if k != "name"})


def _user(
    f: _Fields, tariffs: set[str], chargers: Mapping[str, ChargerSpec]
) -> UserSpec:
    name = f.text("name")
    cards = tuple(str(c) for c in f.items("cards"))
    tariff = f.text("tariff", None)
    if tariff is not None and tariff not in tariffs:
        raise ConfigError(f"{f.where}.tariff: no tariff {tariff!r}")
    ports = tuple(str(p) for p in f.items("ports"))
    for port in ports:
        charger_id, _, connector = port.rpartition("/")
        if charger_id not in chargers or not connector.isdigit():
            raise ConfigError(f"{f.where}.ports: 'charger id/connector', not {port!r}")
    f.done()
    return UserSpec(name, cards, tariff, ports)


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ConfigError(f"{where}: {item!r} appears twice")
        seen.add(item)


def _site(f: _Fields, name: str) -> SiteDesign:
    supply = f.text("supply", "three_phase_400")
    if supply not in SUPPLIES:
        raise ConfigError(f"site.supply: one of {', '.join(SUPPLIES)}")
    site = SiteDesign(
        name=f.text("name", name),
        supply=supply,
        main_breaker_a=f.number("main_breaker_a", low=1, high=2000),
        continuous_factor=f.number("continuous_factor", 0.8, low=0.5, high=1.0),
    )
    f.done()
    return site


def _phases(f: _Fields, default: tuple[str, ...]) -> tuple[str, ...]:
    value = f.raw("phases", list(default))
    if not isinstance(value, list) or not value or not set(value) <= set(LEG_NAMES):
        raise ConfigError(f"{f.where}.phases: a list of L1, L2, L3")
    return tuple(leg for leg in LEG_NAMES if leg in value)


def _group(f: _Fields, site: SiteDesign) -> GroupSpec:
    group_id = f.text("id")
    kind = f.text("kind", "circuit")
    if kind not in ("panel", "circuit"):
        raise ConfigError(f"{f.where}.kind: panel or circuit")
    power = f.number("max_power_kw", None, low=0.1)
    group = GroupSpec(
        id=group_id,
        name=f.text("name", group_id),
        kind=kind,
        parent=f.text("parent", SITE),
        rating_a=f.number("rating_a", low=1, high=2000),
        phases=_phases(f, LEG_NAMES[: site.legs]),
        continuous_factor=f.number("continuous_factor", 0.8, low=0.5, high=1.0),
        max_power_kw=power,
        fixed_load_a=f.number("fixed_load_a", 0.0, low=0),
    )
    f.done()
    return group


def _check_groups(site: SiteDesign, groups: tuple[GroupSpec, ...]) -> None:
    _unique([SITE, *(g.id for g in groups)], "groups")
    by_id = {g.id: g for g in groups}
    legs = set(LEG_NAMES[: site.legs])
    for group in groups:
        if group.parent != SITE and group.parent not in by_id:
            raise ConfigError(f"groups.{group.id}.parent: unknown {group.parent!r}")
        parent_legs = legs if group.parent == SITE else set(by_id[group.parent].phases)
        if not set(group.phases) <= parent_legs:
            raise ConfigError(f"groups.{group.id}.phases: not all in its parent's")
        seen, at = {group.id}, group.parent
        while at != SITE:
            if at in seen:
                raise ConfigError(f"groups.{group.id}: the parents form a loop")
            seen.add(at)
            at = by_id[at].parent


def _charger(f: _Fields, phases_of: Mapping[str, tuple[str, ...]]) -> ChargerSpec:
    charger_id = f.text("id")
    if not 1 <= len(charger_id) <= 48 or any(c in charger_id for c in " /?#%"):
        raise ConfigError(f"{f.where}.id: 1–48 characters, no spaces or / ? # %")
    ocpp = f.text("ocpp", "1.6")
    if ocpp not in OCPP_VERSIONS:
        raise ConfigError(f"{f.where}.ocpp: '1.6' or '2.0.1'")
    group = f.text("group", SITE)
    if group not in phases_of:
        raise ConfigError(f"{f.where}.group: unknown group {group!r}")
    connection = f.text("connection", "L1-L2-L3")
    if connection not in CONNECTIONS:
        raise ConfigError(f"{f.where}.connection: one of {', '.join(CONNECTIONS)}")
    legs = {LEG_NAMES[leg] for leg in CONNECTIONS[connection].legs}
    if not legs <= set(phases_of[group]):
        raise ConfigError(f"{f.where}.connection: {connection} not all in {group}")
    failsafe = f.number("failsafe_a", None, low=0, high=32)
    password = f.text("password", None)
    kind, cmap = _kind(f)
    charger = ChargerSpec(
        id=charger_id,
        name=f.text("name", charger_id),
        ocpp=ocpp,
        group=group,
        connectors=f.number("connectors", 1, low=1, high=4, integer=True),
        connection=connection,
        max_current_a=f.number("max_current_a", 32.0, low=6, high=80),
        failsafe_a=failsafe,
        password=password,
        vendor=f.text("vendor", "EV Power Share"),
        model=f.text("model", "Simulator"),
        kind=kind,
        map=cmap,
        apply_delay_s=f.number("apply_delay_s", 4.0, low=0, high=120),
    )
    if kind != "ocpp" and charger.connectors != 1:
        raise ConfigError(f"{f.where}.connectors: a {kind} charger has one")
    f.done()
    return charger


def _kind(f: _Fields) -> tuple[str, str | None]:
    """The charger's kind and, for a Modbus charger, its register map."""
    kind = f.text("kind", "ocpp")
    if kind not in KINDS:
        raise ConfigError(f"{f.where}.kind: one of {', '.join(KINDS)}")
    cmap = f.text("map", None)
    if kind == "modbus" and cmap not in CHARGER_MAPS:
        raise ConfigError(f"{f.where}.map: one of {', '.join(CHARGER_MAPS)}")
    if kind != "modbus" and cmap is not None:
        raise ConfigError(f"{f.where}.map: only for a modbus charger")
    return kind, cmap


def _meter(f: _Fields) -> MeterSpec:
    profile = f.text("profile", "sdm630")
    if profile not in PROFILES:
        raise ConfigError(f"meter.profile: one of {', '.join(PROFILES)}")
    meter = MeterSpec(
        profile=profile,
        host=f.text("host", "127.0.0.1"),
        port=f.number("port", 5020, low=0, high=65535, integer=True),
        unit=f.number("unit", 1, low=1, high=247, integer=True),
        group=f.text("group", SITE),
        import_kwh=f.number("import_kwh", 0.0, low=0),
        export_kwh=f.number("export_kwh", 0.0, low=0),
    )
    f.done()
    return meter


def _solar(f: _Fields, site: SiteDesign) -> SolarSpec:
    connection = f.text("connection", "L1-L2-L3" if site.legs == 3 else "L1")
    if connection not in CONNECTIONS or CONNECTIONS[connection].line_to_line:
        raise ConfigError("solar.connection: L1, L2, L3 or a three-phase rotation")
    if max(CONNECTIONS[connection].legs) >= site.legs:
        raise ConfigError(f"solar.connection: {connection} not in the site's supply")
    solar = SolarSpec(
        kwp=f.number("kwp", 0.0, low=0, high=1000),
        inverter_kw=f.number("inverter_kw", None, low=0.1, high=1000),
        connection=connection,
        sunrise_h=f.number("sunrise_h", 5.5, low=0, high=12),
        sunset_h=f.number("sunset_h", 21.0, low=12, high=24),
        cloud_rate_per_h=f.number("cloud_rate_per_h", 4.0, low=0, high=60),
    )
    f.done()
    return solar


def _base_load(f: _Fields) -> BaseLoadSpec:
    base = BaseLoadSpec(
        households=f.number("households", 0, low=0, high=500, integer=True),
        common_w=f.number("common_w", 0.0, low=0),
    )
    f.done()
    return base


def _vehicle(f: _Fields, chargers: Mapping[str, ChargerSpec]) -> PlacedVehicle:
    name = f.text("name")
    port = f.text("port")
    charger_id, _, connector_text = port.rpartition("/")
    if charger_id not in chargers or not connector_text.isdigit():
        raise ConfigError(f"{f.where}.port: 'charger id/connector', not {port!r}")
    connector = int(connector_text)
    if not 1 <= connector <= chargers[charger_id].connectors:
        raise ConfigError(f"{f.where}.port: {charger_id} has no connector {connector}")
    capacity = f.number("capacity_kwh", 60.0, low=1, high=300)
    target = f.number("target_soc", 100.0, low=1, high=100)
    soc = f.number("soc", None, low=0, high=100)
    energy = f.number("energy_kwh", None, low=0)
    if soc is not None and energy is not None:
        raise ConfigError(f"{f.where}: soc or energy_kwh, not both")
    if energy is not None:
        soc = target - energy / capacity * 100.0
        if soc < 0:
            raise ConfigError(f"{f.where}.energy_kwh: more than the battery takes")
    arrival = parse_time(f.raw("arrival", "00:00"), f"{f.where}.arrival")
    departure = parse_time(f.raw("departure", "24:00"), f"{f.where}.departure")
    try:
        spec = VehicleSpec(
            name=name,
            capacity_kwh=capacity,
            max_a=f.number("max_a", 16.0, low=1, high=80),
            phases=f.number("phases", 3, low=1, high=3, integer=True),
            soc_pct=30.0 if soc is None else soc,
            target_soc_pct=target,
            arrival_s=arrival % DAY_S,
            departure_s=departure,
            id_tag=f.text("id_tag", ""),
            reports_soc=f.flag("reports_soc", False),
            taper_soc_pct=f.number("taper_soc", 80.0, low=1, high=100),
            follow_s=f.number("follow_s", 3.0, low=0, high=5),
            ramp_a_per_s=f.number("ramp_a_per_s", 4.0, low=0.1),
            efficiency=f.number("efficiency", 0.9, low=0.1, high=1),
            jitter_a=f.number("jitter_a", 0.3, low=0, high=5),
        )
    except ValueError as err:
        raise ConfigError(f"{f.where}: {err}") from err
    f.done()
    return PlacedVehicle(charger_id, connector, spec)


def _check_visits(vehicles: tuple[PlacedVehicle, ...]) -> None:
    """Two vehicles of one port must not be there at the same time."""
    by_port: dict[str, list[PlacedVehicle]] = {}
    for vehicle in vehicles:
        by_port.setdefault(vehicle.port, []).append(vehicle)
    for port, placed in by_port.items():
        visits = sorted(
            (arrive, leave, v.spec.name)
            for v in placed
            for arrive, leave in v.spec.visits(DAY_S, 3 * DAY_S)
        )
        for (_, leave, first), (arrive, _, second) in itertools.pairwise(visits):
            if arrive < leave:
                raise ConfigError(f"vehicles: {first} and {second} overlap on {port}")

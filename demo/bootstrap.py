"""Set a running Home Assistant up for a simulated site, through Home Assistant's
own HTTP and websocket APIs — what the browser does when a person clicks through:

1. **Onboarding**: the owner account (``POST /api/onboarding/users``), then the
   analytics and integration steps; country and currency via ``config/core/update``.
   (The core-config step is marked done in ``.storage/onboarding`` before the first
   start, see :func:`seed_onboarding`: through the API it would also set up the
   weather, radio and text-to-speech integrations of a new installation, which
   fetch packages and reach out to the internet.)
2. **EV Power Share**, through its real config flows: the site
   (``config_entries/flow``), its options (``config_entries/options/flow``: the OCPP
   port), then every power group, charger and the meter as subentries
   (``config_entries/subentries/flow``), each form answered from the scenario — so
   every value is validated exactly as in the UI (the Modbus meter is even read once
   before it is saved). The scenario's other kinds of port go through their own
   subentry flows: Modbus TCP chargers (read once before saving, too), smart
   outlets (``outlet``: the REST switch and power sensor :mod:`demo.run` gives
   each) and chargers already in Home Assistant (``ha_charger``, generic profile:
   the template number and REST sensors it gives each).

Everything is idempotent: a second run logs in with the saved password and adds
only what is missing (by type and name), so state is never re-created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
from pathlib import Path
import re
import time
from typing import Any

import aiohttp

from simulator.site_config import SITE, ChargerSpec, SiteConfig

DOMAIN = "ev_power_share"
METER_NAME = "Site meter"
OUTLET_MIN_ON_OFF_MIN = 1.0
"""The demo's outlets: a minute on and off at least (the default is 5), so
they take turns within a few minutes."""
ENTITY_WAIT_S = 60.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=60)

Say = Callable[[str], None]


class DemoError(RuntimeError):
    """Home Assistant did not answer as expected; the message says where."""


@dataclass(frozen=True, slots=True)
class Login:
    """The demo's local account."""

    username: str
    password: str


def seed_onboarding(config_dir: Path) -> bool:
    """Before the very first start: mark onboarding's core-config step done (the
    other steps go through the API). Does nothing to an existing installation.
    The store format (version 4, ``{"done": [...]}``) is the same in Home Assistant
    2025.4 and 2026.10."""
    storage = config_dir / ".storage"
    if (storage / "onboarding").exists() or (storage / "auth").exists():
        return False
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "onboarding").write_text(
        json.dumps(
            {
                "version": 4,
                "minor_version": 1,
                "key": "onboarding",
                "data": {"done": ["core_config"]},
            },
            indent=2,
        )
    )
    return True


class Websocket:
    """A websocket API connection (authenticated)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._id = 0

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, url: str, token: str
    ) -> Websocket:
        ws = await session.ws_connect(f"{url}/api/websocket", heartbeat=30)
        hello = await ws.receive_json(timeout=30)
        if hello.get("type") != "auth_required":
            raise DemoError(f"websocket: unexpected greeting {hello}")
        await ws.send_json({"type": "auth", "access_token": token})
        answer = await ws.receive_json(timeout=30)
        if answer.get("type") != "auth_ok":
            raise DemoError(f"websocket: authentication failed: {answer}")
        return cls(ws)

    async def call(self, command: str, **fields: Any) -> Any:
        """One command; its result (or DemoError)."""
        self._id += 1
        await self._ws.send_json({"id": self._id, "type": command, **fields})
        while True:
            msg = await self._ws.receive_json(timeout=60)
            if msg.get("id") == self._id and msg.get("type") == "result":
                if not msg.get("success"):
                    raise DemoError(f"{command}: {msg.get('error')}")
                return msg.get("result")

    async def close(self) -> None:
        await self._ws.close()


class HomeAssistantApi:
    """The HTTP API of one Home Assistant (``url`` like http://127.0.0.1:8123)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.token: str | None = None

    # --- plumbing ---------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        auth: bool = True,
        ok: tuple[int, ...] = (200,),
    ) -> Any:
        headers = {}
        if auth:
            if self.token is None:
                raise DemoError("not logged in")
            headers["Authorization"] = f"Bearer {self.token}"
        async with self.session.request(
            method,
            f"{self.url}{path}",
            json=json_body,
            data=form,
            headers=headers,
            timeout=HTTP_TIMEOUT,
        ) as resp:
            text = await resp.text()
            if resp.status not in ok:
                raise DemoError(f"{method} {path}: HTTP {resp.status}: {text[:500]}")
            return json.loads(text) if resp.status == 200 and text else None

    async def wait_until_up(self, timeout_s: float) -> float:
        """Wait until the frontend is loaded (its /manifest.json answers: so is
        onboarding, which it depends on); seconds waited."""
        start = time.monotonic()
        deadline = start + timeout_s
        last: object = None
        while time.monotonic() < deadline:
            try:
                async with self.session.get(
                    f"{self.url}/manifest.json",
                    timeout=aiohttp.ClientTimeout(total=5),
                ) as resp:
                    if resp.status == 200:
                        return time.monotonic() - start
                    last = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as err:
                last = err
            await asyncio.sleep(1.0)
        raise DemoError(
            f"Home Assistant did not answer on {self.url} within {timeout_s:.0f} s "
            f"(last: {last}); see its log"
        )

    async def _token_from_code(self, code: str) -> None:
        tokens = await self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
            auth=False,
        )
        self.token = tokens["access_token"]

    async def login(self, login: Login) -> None:
        """Log in like the login page does (login flow, then a token)."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json_body={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
            auth=False,
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json_body={
                "username": login.username,
                "password": login.password,
                "client_id": self.client_id,
            },
            auth=False,
        )
        if result.get("type") != "create_entry":
            raise DemoError(
                f"cannot log in as {login.username!r}: {result.get('errors')}"
            )
        await self._token_from_code(result["result"])

    # --- onboarding ---------------------------------------------------------------------

    async def onboard(self, login: Login, say: Say) -> bool:
        """Finish onboarding with ``login`` as the owner (or log in if it is done);
        True if the owner was created now."""
        # The onboarding views exist only until onboarding is done.
        listed = await self.request("GET", "/api/onboarding", auth=False, ok=(200, 404))
        steps = {s["step"]: s["done"] for s in listed or []}
        created = False
        if not steps.get("user", True):
            answer = await self.request(
                "POST",
                "/api/onboarding/users",
                json_body={
                    "client_id": self.client_id,
                    "name": "Demo",
                    "username": login.username,
                    "password": login.password,
                    "language": "en",
                },
                auth=False,
            )
            await self._token_from_code(answer["auth_code"])
            created = True
            say(f"onboarding: owner {login.username!r} created")
        else:
            await self.login(login)
        if not steps.get("core_config", True):
            await self.request("POST", "/api/onboarding/core_config", json_body={})
        if not steps.get("analytics", True):
            await self.request("POST", "/api/onboarding/analytics", json_body={})
        if not steps.get("integration", True):
            await self.request(
                "POST",
                "/api/onboarding/integration",
                json_body={"client_id": self.client_id, "redirect_uri": self.client_id},
            )
        if created:
            ws = await self.websocket()
            try:
                config = await ws.call("get_config")
                if not config.get("country"):
                    await ws.call(
                        "config/core/update",
                        country="NL",
                        currency="EUR",
                        unit_system="metric",
                    )
            finally:
                await ws.close()
        return created

    async def websocket(self) -> Websocket:
        if self.token is None:
            raise DemoError("not logged in")
        return await Websocket.connect(self.session, self.url, self.token)

    # --- flows --------------------------------------------------------------------------

    async def run_flow(
        self, path: str, start: Mapping[str, Any], answers: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Drive a data entry flow at ``path`` to its end: forms are answered from
        ``answers`` (other fields keep their default), menus by ``next_step_id``."""
        result = await self.request("POST", path, json_body=dict(start))
        for _ in range(8):
            kind = result.get("type")
            flow_id = result.get("flow_id")
            if kind == "form":
                if result.get("errors"):
                    raise DemoError(
                        f"{path} step {result.get('step_id')}: refused: "
                        f"{result['errors']}"
                    )
                data = fill_form(result, answers)
                result = await self.request("POST", f"{path}/{flow_id}", json_body=data)
            elif kind == "menu":
                result = await self.request(
                    "POST",
                    f"{path}/{flow_id}",
                    json_body={"next_step_id": answers["next_step_id"]},
                )
            elif kind == "create_entry":
                return dict(result)
            else:
                raise DemoError(f"{path}: flow ended with {kind}: {result}")
        raise DemoError(f"{path}: the flow did not end")

    async def subentry_types(self, entry_id: str) -> set[str]:
        """The subentry types the integration's entry supports."""
        entries = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        for entry in entries:
            if entry.get("entry_id") == entry_id:
                return set(entry.get("supported_subentry_types") or {})
        return set()

    async def site_entry(self, name: str) -> dict[str, Any] | None:
        entries = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        for entry in entries:
            if entry.get("domain") == DOMAIN and entry.get("title") == name:
                return dict(entry)
        return None


def fill_form(form: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The values to submit for a form: ours where given (None: leave empty),
    else what the form suggests or defaults to."""
    data: dict[str, Any] = {}
    for field in form.get("data_schema") or []:
        name = field["name"]
        if name in answers:
            if answers[name] is not None:
                data[name] = answers[name]
            continue
        suggested = (field.get("description") or {}).get("suggested_value")
        if suggested is not None:
            data[name] = suggested
        elif "default" in field:
            data[name] = field["default"]
        elif field.get("required"):
            raise DemoError(
                f"form {form.get('step_id')}: no value for the required {name!r}"
            )
    return data


@dataclass(slots=True)
class Outcome:
    """What :func:`configure_site` found and did."""

    entry_id: str
    created: list[str]
    subentries: dict[str, str]
    """Subentry id by scenario id (groups and chargers) or METER_NAME."""


def _pct(fraction: float) -> float:
    return round(fraction * 100.0, 1)


async def configure_site(
    api: HomeAssistantApi,
    site: SiteConfig,
    *,
    ocpp_port: int,
    meter_port: int,
    charge_modes: Mapping[str, str],
    say: Say,
    charger_port: int = 5021,
) -> Outcome:
    """Add whatever of the scenario's site, groups, chargers and meter is missing."""
    created: list[str] = []
    design = site.site
    entry = await api.site_entry(design.name)
    if entry is None:
        result = await api.run_flow(
            "/api/config/config_entries/flow",
            {"handler": DOMAIN, "show_advanced_options": False},
            {
                "name": design.name,
                "supply": design.supply,
                "main_breaker_a": design.main_breaker_a,
                "continuous_factor": _pct(design.continuous_factor),
            },
        )
        entry_id = result["result"]["entry_id"]
        created.append(f"site {design.name}")
    else:
        entry_id = entry["entry_id"]

    # Options: only the OCPP port differs from the defaults (the access option
    # once the users are there, below).
    created += await _set_options(api, entry_id, {"ocpp_port": ocpp_port})

    ws = await api.websocket()
    try:
        subentries = await _subentries(ws, entry_id)
        ids = {SITE: SITE}
        flow = "/api/config/config_entries/subentries/flow"
        for group in _parents_first(site):
            key = ("group", group.name)
            if key not in subentries:
                await api.run_flow(
                    flow,
                    {"handler": [entry_id, "group"]},
                    {
                        "name": group.name,
                        "kind": group.kind,
                        "parent": ids[group.parent],
                        "rating_a": group.rating_a,
                        "phases": list(group.phases),
                        "continuous_factor": _pct(group.continuous_factor),
                        "max_power_kw": group.max_power_kw,
                        "fixed_load_a": group.fixed_load_a,
                    },
                )
                created.append(f"group {group.name}")
                subentries = await _subentries(ws, entry_id)
            ids[group.id] = subentries[key]
        new_chargers: list[str] = []
        others = [c for c in site.chargers if c.kind != "ocpp"]
        created += await _add_other_ports(
            api, ws, entry_id, others, ids, subentries, charger_port, say
        )
        for charger in site.chargers:
            if charger.kind != "ocpp" or ("charger", charger.name) in subentries:
                continue
            await api.run_flow(
                flow,
                {"handler": [entry_id, "charger"]},
                {
                    "name": charger.name,
                    "charge_point_id": charger.id,
                    "group": ids[charger.group],
                    "connectors": charger.connectors,
                    "connection": charger.connection,
                    "max_current_a": charger.max_current_a,
                    "failsafe_a": charger.failsafe_a,
                    "password": charger.password,
                },
            )
            created.append(f"charger {charger.name} ({charger.id})")
            new_chargers.append(charger.id)
        created += await _add_tariffs_and_users(api, ws, entry_id, site, say)
        options: dict[str, Any] = {}
        if site.access is not None:
            options["access_mode"] = site.access
        if site.default_tariff is not None:
            plans = await _subentries(ws, entry_id)
            options["default_tariff_plan"] = plans.get(("tariff", site.default_tariff))
        created += await _set_options(api, entry_id, options)
        meter = site.meter
        if meter is not None and ("meter", METER_NAME) in subentries:
            # Already there: follow the simulator's port if it changed (its
            # reconfigure flow reads the meter once more before saving).
            form = await api.request(
                "POST",
                flow,
                json_body={
                    "handler": [entry_id, "meter"],
                    "subentry_id": subentries["meter", METER_NAME],
                },
            )
            stored = {
                f["name"]: (f.get("description") or {}).get("suggested_value")
                for f in form.get("data_schema") or []
            }
            if form.get("type") == "form" and stored.get("port") != meter_port:
                result = await api.request(
                    "POST",
                    f"{flow}/{form['flow_id']}",
                    json_body=fill_form(form, {"port": meter_port}),
                )
                if result.get("type") != "abort":  # reconfigure ends in an abort
                    raise DemoError(f"meter port refused: {result.get('errors')}")
                created.append(f"meter port {meter_port}")
            elif form.get("type") == "form":
                await api.request("DELETE", f"{flow}/{form['flow_id']}")
        elif meter is not None:
            await api.run_flow(
                flow,
                {"handler": [entry_id, "meter"]},
                {
                    "next_step_id": "modbus",  # the menu: sensors or Modbus TCP
                    "name": METER_NAME,
                    "group": ids[meter.group],
                    "profile": meter.profile,
                    "host": meter.host,
                    "port": meter_port,
                    "unit": meter.unit,
                },
            )
            created.append(f"meter {METER_NAME} ({meter.profile} on port {meter_port})")
        subentries = await _subentries(ws, entry_id)
        by_name = {c.name: c.id for c in site.chargers}
        port_kinds = {"charger", *SUBENTRY_OF_KIND.values()}
        found = {
            by_name.get(title, title) if kind in port_kinds else title: sid
            for (kind, title), sid in subentries.items()
        }
        found.update({g.id: ids[g.id] for g in site.groups})
        modes = {cp: mode for cp, mode in charge_modes.items() if cp in new_chargers}
        if modes:
            await _set_charge_modes(ws, entry_id, modes, found, say)
        users = {
            port.rpartition("/")[0]: user.name
            for user in site.users
            for port in user.ports
        }
        if users:
            await _set_charging_users(ws, entry_id, users, found, say)
    finally:
        await ws.close()
    return Outcome(entry_id, created, found)


SUBENTRY_OF_KIND = {"modbus": "modbus_charger", "outlet": "outlet", "ha": "ha_charger"}


async def _set_options(
    api: HomeAssistantApi, entry_id: str, wanted: Mapping[str, Any]
) -> list[str]:
    """Set the site's options in ``wanted`` that differ (those its options form
    has), keeping the others."""
    path = "/api/config/config_entries/options/flow"
    form = await api.request("POST", path, json_body={"handler": entry_id})
    current = {
        f["name"]: (f.get("description") or {}).get("suggested_value")
        for f in form.get("data_schema") or []
    }
    changes = {k: v for k, v in wanted.items() if k in current and current[k] != v}
    if not changes:
        await api.request("DELETE", f"{path}/{form['flow_id']}")
        return []
    result = await api.request(
        "POST", f"{path}/{form['flow_id']}", json_body=fill_form(form, changes)
    )
    if result.get("type") != "create_entry":
        raise DemoError(f"options refused: {result.get('errors')}")
    if "ocpp_port" in changes:
        # A new port restarts the site (a reload it schedules). Subentries added
        # while that reload runs get entities before their devices (ids like
        # sensor.none_load_l1), so reload here too: this waits for the pending
        # one and returns once the site is up again. Other options apply to the
        # running site.
        await api.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")
    return [f"option {key} {value}" for key, value in changes.items()]


def entity_key(name: str) -> str:
    """An entity id's object id as Home Assistant makes it from a name."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


async def _add_other_ports(
    api: HomeAssistantApi,
    ws: Websocket,
    entry_id: str,
    chargers: list[ChargerSpec],
    groups: Mapping[str, str],
    subentries: Mapping[tuple[str, str], str],
    charger_port: int,
    say: Say,
) -> list[str]:
    """Add the scenario's Modbus chargers, outlets and chargers already in Home
    Assistant that are missing, each through its subentry flow."""
    created: list[str] = []
    modbus = [c.id for c in chargers if c.kind == "modbus"]
    missing = [
        c for c in chargers if (SUBENTRY_OF_KIND[c.kind], c.name) not in subentries
    ]
    supported = await api.subentry_types(entry_id)
    for charger in [c for c in missing if SUBENTRY_OF_KIND[c.kind] not in supported]:
        say(f"warning: this EV Power Share has no {charger.kind} ports: {charger.name}")
        missing.remove(charger)
    await _wait_for_entities(ws, [e for c in missing for e in _stand_ins(c)])
    flow = "/api/config/config_entries/subentries/flow"
    for charger in missing:
        kind = SUBENTRY_OF_KIND[charger.kind]
        common = {
            "name": charger.name,
            "group": groups[charger.group],
            "connection": charger.connection,
        }
        if charger.kind == "modbus":
            port = charger_port + modbus.index(charger.id)
            answers = {
                **common,
                "model": charger.map,
                "host": "127.0.0.1",
                "port": port,
                "unit": None,
                "sockets": 1,
                "max_current_a": charger.max_current_a,
                "failsafe_a": charger.failsafe_a or 6,
                "test_connection": True,
            }
            what = f"Modbus charger {charger.name} ({charger.map} on port {port})"
        elif charger.kind == "outlet":
            key = entity_key(f"Simulator {charger.name}")
            answers = {
                **common,
                "switch": f"switch.{key}",
                "power_sensor": f"sensor.{key}_power",
                "energy_sensor": None,
                "nominal_current_a": charger.max_current_a,
                "min_on_min": OUTLET_MIN_ON_OFF_MIN,
                "min_off_min": OUTLET_MIN_ON_OFF_MIN,
            }
            what = f"outlet {charger.name} ({charger.max_current_a:g} A)"
        else:
            answers = {**common, **_ha_charger_answers(charger)}
            what = f"charger already in Home Assistant {charger.name} (generic)"
        await api.run_flow(flow, {"handler": [entry_id, kind]}, answers)
        created.append(what)
    return created


async def _add_tariffs_and_users(
    api: HomeAssistantApi, ws: Websocket, entry_id: str, site: SiteConfig, say: Say
) -> list[str]:
    """Add the scenario's tariff plans, then its users (with their cards and
    plan), that are missing, each through its subentry flow."""
    supported = await api.subentry_types(entry_id)
    if not {"tariff", "user"} <= supported:
        if site.tariffs or site.users:
            say("warning: this EV Power Share has no users or tariff plans")
        return []
    created: list[str] = []
    flow = "/api/config/config_entries/subentries/flow"
    subentries = await _subentries(ws, entry_id)
    for tariff in site.tariffs:
        if ("tariff", tariff.name) not in subentries:
            answers = {"name": tariff.name, **tariff.fields}
            await api.run_flow(flow, {"handler": [entry_id, "tariff"]}, answers)
            created.append(f"tariff plan {tariff.name} ({tariff.fields['rule']})")
    subentries = await _subentries(ws, entry_id)
    for user in site.users:
        if ("user", user.name) in subentries:
            continue
        answers: dict[str, Any] = {"name": user.name, "tokens": list(user.cards)}
        if user.tariff is not None:
            answers["tariff_plan"] = subentries["tariff", user.tariff]
        await api.run_flow(flow, {"handler": [entry_id, "user"]}, answers)
        created.append(f"user {user.name} ({len(user.cards)} cards)")
    return created


def _ha_charger_answers(charger: ChargerSpec) -> dict[str, Any]:
    """The ha_charger flow: no device (the demo's stand-ins are YAML entities,
    which have none), the generic profile, the entities the demo gives it."""
    key = entity_key(f"Simulator {charger.name}")
    return {
        "device_id": None,
        "max_current_a": charger.max_current_a,
        "charger_profile": "generic",
        "link": "local",
        "limit": f"number.{key}_current_limit",
        "current_l1": f"sensor.{key}_current",
        "power": f"sensor.{key}_power",
    }


def _stand_ins(charger: ChargerSpec) -> list[str]:
    """The Home Assistant entities a port's flow is given (they must exist)."""
    key = entity_key(f"Simulator {charger.name}")
    if charger.kind == "outlet":
        return [f"switch.{key}", f"sensor.{key}_power"]
    if charger.kind == "ha":
        return [f"number.{key}_current_limit", f"sensor.{key}_current"]
    return []


async def _wait_for_entities(ws: Websocket, entity_ids: list[str]) -> None:
    """Until every one has a state (YAML platforms may still be setting up)."""
    deadline = time.monotonic() + ENTITY_WAIT_S
    while entity_ids:
        states = {s["entity_id"] for s in await ws.call("get_states")}
        missing = [e for e in entity_ids if e not in states]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"no such entities in Home Assistant: {missing}")
        await asyncio.sleep(1.0)


def _parents_first(site: SiteConfig) -> list[Any]:
    done = {SITE}
    ordered: list[Any] = []
    pending = list(site.groups)
    while pending:
        ready = [g for g in pending if g.parent in done]
        if not ready:
            raise DemoError("the scenario's groups form a loop")
        for group in ready:
            ordered.append(group)
            done.add(group.id)
            pending.remove(group)
    return ordered


async def _subentries(ws: Websocket, entry_id: str) -> dict[tuple[str, str], str]:
    listed = await ws.call("config_entries/subentries/list", entry_id=entry_id)
    return {(s["subentry_type"], s["title"]): s["subentry_id"] for s in listed}


async def _set_charge_modes(
    ws: Websocket,
    entry_id: str,
    modes: Mapping[str, str],
    subentry_of: Mapping[str, str],
    say: Say,
) -> None:
    """Give some new chargers a charge mode other than fast (first connector)."""
    wanted = {subentry_of[cp]: mode for cp, mode in modes.items() if cp in subentry_of}
    await _choose_options(ws, entry_id, "charge_mode", wanted, say, connector=1)


async def _set_charging_users(
    ws: Websocket,
    entry_id: str,
    users: Mapping[str, str],
    subentry_of: Mapping[str, str],
    say: Say,
) -> None:
    """Book the sessions of ports without a card reader to a user: their
    "Charging user" select (by scenario charger id: the user's name)."""
    wanted = {subentry_of[cp]: name for cp, name in users.items() if cp in subentry_of}
    await _choose_options(ws, entry_id, "charging_user", wanted, say)


async def _choose_options(
    ws: Websocket,
    entry_id: str,
    key: str,
    wanted: dict[str, str],
    say: Say,
    connector: int | None = None,
) -> None:
    """Choose an option on a select of each subentry in ``wanted`` (its
    translation key ``key``; of one connector, if given), once it is there."""
    what = key.replace("_", " ")
    deadline = time.monotonic() + 30
    while wanted and time.monotonic() < deadline:
        for item in await ws.call("config/entity_registry/list"):
            sid = item.get("config_subentry_id")
            unique_id = str(item.get("unique_id", ""))
            if (
                item.get("config_entry_id") == entry_id
                and sid in wanted
                and item.get("translation_key") == key
                and (
                    connector is None
                    or unique_id.startswith(f"{entry_id}_{sid}_{connector}_")
                )
            ):
                await ws.call(
                    "call_service",
                    domain="select",
                    service="select_option",
                    service_data={"option": wanted[sid]},
                    target={"entity_id": item["entity_id"]},
                )
                say(f"{what} of {item['entity_id']}: {wanted.pop(sid)}")
        if wanted:
            await asyncio.sleep(1.0)
    if wanted:
        say(f"warning: no {what} select found for {sorted(wanted)}")


async def chargers_online(api: HomeAssistantApi, entry_id: str) -> tuple[int, int]:
    """How many of the site's chargers are online (under control: their failsafe
    accepted), and how many there are, as Home Assistant's Online sensors say."""
    ws = await api.websocket()
    try:
        registry = await ws.call("config/entity_registry/list")
        sensors = {
            item["entity_id"]
            for item in registry
            if item.get("config_entry_id") == entry_id
            and item.get("translation_key") == "charger_online"
        }
        states = await ws.call("get_states")
    finally:
        await ws.close()
    online = sum(1 for s in states if s["entity_id"] in sensors and s["state"] == "on")
    return online, len(sensors)


async def confirm_http_config(api: HomeAssistantApi) -> bool | None:
    """Home Assistant 2026.10 moves the http: settings of configuration.yaml into
    its storage at the first start, as a trial that reverts (and restarts) after
    five minutes unless confirmed: confirm it, as the dialog in the UI does. True
    if confirmed now, False if nothing was pending, None before 2026.10 (no such
    command: configuration.yaml stays the source)."""
    ws = await api.websocket()
    try:
        try:
            http = await ws.call("http/config")
        except DemoError as err:
            if "unknown_command" in str(err):
                return None
            raise
        if http.get("pending") is None:
            return False
        await ws.call("http/config/promote")
        return True
    finally:
        await ws.close()

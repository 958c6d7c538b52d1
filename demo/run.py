"""Run the demo: the simulated condo and a real Home Assistant, already set up.

    python -m demo.run [--config-dir config] [--speedup 60] [--extra-charger]

(``scripts/develop`` runs this.) It prepares the configuration directory (the
integration and the dashboard as symlinks into this working tree, a
``configuration.yaml`` kept between runs and ``packages/ev_power_share_demo.yaml``
rewritten on each run), starts the site simulator (``python -m simulator.site``:
OCPP charge points, a Modbus TCP meter, a Modbus TCP charger and a JSON status
endpoint that also serves the smart outlets and the charger already in Home
Assistant, all on 127.0.0.1) and ``hass``, then sets Home Assistant up through its APIs
(:mod:`demo.bootstrap`), prints the login and runs until Ctrl-C (or SIGTERM),
which stops both. A second run reuses the state: same login, nothing re-created.

``--extra-charger`` also simulates a charger that is *not* configured (``cp-07``,
"Space 9", with a car plugged in): Home Assistant holds it as pending until it is
added (``scripts/e2e`` adds it through the UI).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import json
import os
from pathlib import Path
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import yaml  # type: ignore[import-untyped]

from simulator.site_config import SiteConfig, load_config

from .bootstrap import (
    DemoError,
    HomeAssistantApi,
    Login,
    chargers_online,
    configure_site,
    confirm_http_config,
    entity_key,
    seed_onboarding,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = REPO / "simulator" / "scenarios" / "condo.yaml"
DASHBOARD = REPO / "demo" / "dashboard.yaml"
DASHBOARD_URL = "ev-power-share"
LOGIN_FILE = ".ev_power_share_demo.json"
PACKAGE_FILE = "ev_power_share_demo.yaml"
PORTS_PACKAGE_FILE = "ev_power_share_demo_ports.yaml"
DEFAULT_PORTS = {
    "ha": 8123,
    "ocpp": 9000,
    "meter": 5020,
    "status": 8124,
    "charger": 5021,
}
"""``charger``: the first simulated Modbus TCP charger's port (the next: +1)."""
CHARGE_MODES = {"cp-05": "solar", "cp-06": "min_solar"}
"""Charge modes other than fast, set when these chargers are first added: two
daytime cars that show the solar modes."""
EXTRA_CHARGER = {
    "id": "cp-07",
    "name": "Space 9",
    "ocpp": "1.6",
    "group": "garage",
    "connectors": 1,
    "connection": "L1-L2-L3",
    "max_current_a": 16,
    "failsafe_a": 6,
    "password": "maple-court-cp-07",
}
EXTRA_VEHICLE = {
    "name": "Guest EV",
    "id_tag": "04715171",  # the visitors' second card (the scenario's users)
    "port": "cp-07/1",
    "capacity_kwh": 64,
    "max_a": 16,
    "phases": 3,
    "arrival": "00:00",
    "departure": "00:00",
    "soc": 20,
}
STOP_TIMEOUT_S = 30.0
INTERRUPT_GRACE_S = 15.0
BALANCE_SETTLE_S = 12.0
"""After every charger is online: two control cycles (5 s), for the shares."""

CONFIGURATION = """\
# Development configuration written by scripts/develop (edit freely; kept between runs).
# The demo's sensors (the simulator's solar and household power) and its dashboard
# are in packages/ev_power_share_demo.yaml, rewritten on each run.
homeassistant:
  name: EV Power Share (development)
  packages: !include_dir_named packages
http:
  server_host: 127.0.0.1
  server_port: {ha_port}
frontend:
config:
history:
logbook:
energy:
logger:
  default: warning
  logs:
    custom_components.ev_power_share: info
"""

PACKAGE = """\
# Written by scripts/develop on each run (changes here are lost): the site
# simulator's figures as sensors, and the demo's dashboard (demo/dashboard.yaml).
rest:
  - resource: http://127.0.0.1:{status_port}/status
    scan_interval: 5
    timeout: 5
    sensor:
      - name: Simulator solar power
        unique_id: ev_power_share_demo_solar_power
        value_template: "{{{{ value_json.pv_w }}}}"
        device_class: power
        unit_of_measurement: W
        state_class: measurement
      - name: Simulator household power
        unique_id: ev_power_share_demo_household_power
        value_template: "{{{{ value_json.household_w }}}}"
        device_class: power
        unit_of_measurement: W
        state_class: measurement
      - name: Simulator EV power
        unique_id: ev_power_share_demo_ev_power
        value_template: "{{{{ value_json.ev_w }}}}"
        device_class: power
        unit_of_measurement: W
        state_class: measurement
      - name: Simulator grid power
        unique_id: ev_power_share_demo_grid_power
        value_template: "{{{{ value_json.grid_w }}}}"
        device_class: power
        unit_of_measurement: W
        state_class: measurement
      - name: Simulator clock
        unique_id: ev_power_share_demo_clock
        icon: mdi:clock-fast
        value_template: "{{{{ value_json.time }}}} (x{{{{ value_json.speedup }}}})"
lovelace:
  dashboards:
    {dashboard_url}:
      mode: yaml
      title: EV Power Share
      icon: mdi:ev-station
      show_in_sidebar: true
      require_admin: false
      filename: ev_power_share_dashboard.yaml
"""


def say(message: str) -> None:
    """One line on the console (the demo's own, among Home Assistant's)."""
    sys.stdout.write(f"[demo] {message}\n")
    sys.stdout.flush()


# --- the configuration directory ----------------------------------------------------


def _link(link: Path, target: Path) -> None:
    """A symlink, relative when both are in this working tree."""
    try:
        rel = os.path.relpath(target, link.parent)
        use = rel if link.resolve().is_relative_to(REPO) else str(target)
    except ValueError:
        use = str(target)
    if link.is_symlink() or link.exists():
        if link.is_symlink() and os.readlink(link) == use:
            return
        link.unlink()
    link.symlink_to(use)


def port_entities(site: SiteConfig, status_port: int) -> dict[str, Any]:
    """What stands in Home Assistant for the scenario's smart outlets and chargers
    already in Home Assistant (as their makers' integrations would give them): a
    REST switch per outlet and a sensor of its power; for a charger, a template
    number that writes its limit (a REST command) and shows the limit the charger
    applies (a REST sensor: seconds late), and sensors of its current and power."""
    base = f"http://127.0.0.1:{status_port}"
    switches: list[dict[str, Any]] = []
    sensors: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    commands: dict[str, Any] = {}
    for charger in site.chargers:
        port = f"value_json.ports['{charger.id}/1']"
        name = f"Simulator {charger.name}"
        key = entity_key(charger.name)
        if charger.kind == "outlet":
            switches.append(
                {
                    "platform": "rest",
                    "name": name,
                    "unique_id": f"ev_power_share_demo_{key}",
                    "resource": f"{base}/outlets/{charger.id}",
                    "body_on": '{"on": true}',
                    "body_off": '{"on": false}',
                    "is_on_template": "{{ value_json.on }}",
                    "headers": {"Content-Type": "application/json"},
                    "scan_interval": 5,
                }
            )
            sensors.append(_power_sensor(name, key, port))
        elif charger.kind == "modbus":  # what it draws (shown on the dashboard)
            sensors.append(_current_sensor(name, key, port))
        elif charger.kind == "ha":
            command = f"ev_power_share_demo_{key}_limit"
            commands[command] = {
                "url": f"{base}/ha_chargers/{charger.id}",
                "method": "post",
                "content_type": "application/json",
                "payload": '{"limit_a": {{ amps }}}',
            }
            applied = f"sensor.simulator_{key}_applied_limit"
            numbers.append(
                {
                    "name": f"{name} current limit",
                    "unique_id": f"ev_power_share_demo_{key}_limit",
                    "unit_of_measurement": "A",
                    "min": 0,
                    "max": charger.max_current_a,
                    "step": 1,
                    "state": f"{{{{ states('{applied}') | float(0) }}}}",
                    "availability": f"{{{{ has_value('{applied}') }}}}",
                    "set_value": [
                        {
                            "action": f"rest_command.{command}",
                            "data": {"amps": "{{ value | int }}"},
                        }
                    ],
                }
            )
            sensors += [
                {
                    "name": f"{name} applied limit",
                    "unique_id": f"ev_power_share_demo_{key}_applied_limit",
                    "value_template": f"{{{{ {port}.limit_a }}}}",
                    "device_class": "current",
                    "unit_of_measurement": "A",
                    "state_class": "measurement",
                },
                _current_sensor(name, key, port),
                _power_sensor(name, key, port),
            ]
    if not (switches or sensors):
        return {}
    package: dict[str, Any] = {
        "rest": [
            {
                "resource": f"{base}/status",
                "scan_interval": 2,
                "timeout": 5,
                "sensor": sensors,
            }
        ]
    }
    if switches:
        package["switch"] = switches
    if numbers:
        package["template"] = [{"number": numbers}]
        package["rest_command"] = commands
    return package


def _current_sensor(name: str, key: str, port: str) -> dict[str, Any]:
    return {
        "name": f"{name} current",
        "unique_id": f"ev_power_share_demo_{key}_current",
        "value_template": f"{{{{ {port}.currents_a | max }}}}",
        "device_class": "current",
        "unit_of_measurement": "A",
        "state_class": "measurement",
    }


def _power_sensor(name: str, key: str, port: str) -> dict[str, Any]:
    return {
        "name": f"{name} power",
        "unique_id": f"ev_power_share_demo_{key}_power",
        "value_template": f"{{{{ {port}.power_w }}}}",
        "device_class": "power",
        "unit_of_measurement": "W",
        "state_class": "measurement",
    }


def prepare_config(
    config_dir: Path, ports: dict[str, int], site: SiteConfig | None = None
) -> None:
    """The integration and dashboard (symlinks), configuration.yaml (once, or the
    package include added to an older one), the demo's package (each run) and, for
    a brand-new directory, the onboarding store (see :func:`seed_onboarding`)."""
    (config_dir / "custom_components").mkdir(parents=True, exist_ok=True)
    (config_dir / "packages").mkdir(exist_ok=True)
    _link(
        config_dir / "custom_components" / "ev_power_share",
        REPO / "custom_components" / "ev_power_share",
    )
    _link(config_dir / "ev_power_share_dashboard.yaml", DASHBOARD)
    configuration = config_dir / "configuration.yaml"
    if not configuration.exists():
        configuration.write_text(CONFIGURATION.format(ha_port=ports["ha"]))
    else:
        text = configuration.read_text()
        port = re.sub(
            r"(?m)^(\s+server_port:\s*)\d+", rf"\g<1>{ports['ha']}", text, count=1
        )
        if port != text:
            text = port
            configuration.write_text(text)
        if "packages:" not in text:
            # Written by an older scripts/develop: add the include under its
            # homeassistant: key.
            lines = text.splitlines()
            if "homeassistant:" in lines:
                at = lines.index("homeassistant:") + 1
                lines.insert(at, "  packages: !include_dir_named packages")
            else:
                lines[:0] = [
                    "homeassistant:",
                    "  packages: !include_dir_named packages",
                ]
            configuration.write_text("\n".join(lines) + "\n")
            say(f"added the packages include to {configuration}")
    (config_dir / "packages" / PACKAGE_FILE).write_text(
        PACKAGE.format(status_port=ports["status"], dashboard_url=DASHBOARD_URL)
    )
    extra = {} if site is None else port_entities(site, ports["status"])
    ports_file = config_dir / "packages" / PORTS_PACKAGE_FILE
    if extra:
        ports_file.write_text(
            "# Written by scripts/develop on each run (changes here are lost): the\n"
            "# simulated smart outlets and chargers already in Home Assistant, as\n"
            "# their makers' integrations would show them.\n"
            + yaml.safe_dump(extra, sort_keys=False, width=100)
        )
    elif ports_file.exists():
        ports_file.unlink()
    if seed_onboarding(config_dir):
        say(f"new configuration in {config_dir}")


def drop_http_yaml(config_dir: str) -> None:
    """Once Home Assistant keeps the HTTP settings in its storage (2026.10), the
    http: block of configuration.yaml is ignored and only raises a repair issue:
    comment it out."""
    path = Path(config_dir).resolve() / "configuration.yaml"
    lines = path.read_text().splitlines()
    if "http:" not in lines:
        return
    at = lines.index("http:")
    end = at + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    lines[at:end] = [
        "# http: Home Assistant keeps these in its storage now (Settings > System >",
        "# Network); they were:",
        *(f"#   {line.strip()}" for line in lines[at + 1 : end]),
    ]
    path.write_text("\n".join(lines) + "\n")


def extra_scenario(scenario: Path, out: Path) -> Path:
    """The scenario plus one charger (and a car plugged into it) that Home
    Assistant is not told about."""
    data = yaml.safe_load(scenario.read_text())
    data["chargers"] = [*data.get("chargers", []), EXTRA_CHARGER]
    data["vehicles"] = [*data.get("vehicles", []), EXTRA_VEHICLE]
    out.write_text(
        "# Written by demo/run.py --extra-charger: "
        f"{scenario.name} plus {EXTRA_CHARGER['id']}.\n"
        + yaml.safe_dump(data, sort_keys=False)
    )
    load_config(out)  # refuse it now rather than in the simulator
    return out


def login_of(config_dir: Path, username: str) -> tuple[Login, bool]:
    """The saved demo login, or a new one (saved, readable by the owner only);
    True if new."""
    path = config_dir / LOGIN_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        return Login(saved["username"], saved["password"]), False
    login = Login(username, secrets.token_urlsafe(9))
    path.write_text(
        json.dumps({"username": login.username, "password": login.password})
    )
    path.chmod(0o600)
    return login, True


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open while picking)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(
                socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            )
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


# --- the processes ------------------------------------------------------------------


class Children:
    """The simulator and Home Assistant, stopped together."""

    def __init__(self, log_dir: Path | None) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.interrupted = False
        """Ctrl-C in the terminal: the children got the SIGINT too."""

    def start(self, name: str, argv: list[str]) -> None:
        out: Any = None
        if self.log_dir is not None:
            out = (self.log_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(  # noqa: S603 - our own commands
            argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT if out else None
        )

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.procs.items():
            if (code := proc.poll()) is not None:
                return name, code
        return None

    def stop(self) -> None:
        """SIGTERM (both shut down cleanly: chargers drop to their failsafe), then
        SIGKILL for whatever is still there after STOP_TIMEOUT_S. After a Ctrl-C
        they are stopping already: give them a moment before the SIGTERM."""
        if self.interrupted:
            deadline = time.monotonic() + INTERRUPT_GRACE_S
            for proc in self.procs.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time: killed")
                proc.kill()
                proc.wait()


async def _status(session: aiohttp.ClientSession, url: str) -> dict[str, Any] | None:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            return dict(await resp.json()) if resp.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def wait_balanced(
    api: HomeAssistantApi, entry_id: str, status_url: str, timeout_s: float
) -> dict[str, Any] | None:
    """Wait until every charger is online in Home Assistant (under its control),
    then two control cycles more; the simulator's status then, or None on
    time-out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        online, count = await chargers_online(api, entry_id)
        if count and online == count:
            await asyncio.sleep(BALANCE_SETTLE_S)
            return await _status(api.session, status_url)
        await asyncio.sleep(1.0)
    return None


def describe(status: dict[str, Any]) -> list[str]:
    """What each port holds and draws, as the simulator sees it."""
    lines = [
        (
            f"simulated time {status['time']}: PV {status['pv_w'] / 1000:.1f} kW, "
            f"household {status['household_w'] / 1000:.1f} kW, "
            f"grid {status['grid_w'] / 1000:.1f} kW"
        )
    ]
    for port_id, port in status["ports"].items():
        if not port["online"]:
            lines.append(f"  {port_id}: not accepted by Home Assistant (pending)")
        elif port["vehicle"] is None:
            lines.append(f"  {port_id}: no car, limit {port['limit_a']:.0f} A")
        else:
            draw = max(port["currents_a"], default=0.0)
            lines.append(
                f"  {port_id}: {port['vehicle']}, limit {port['limit_a']:.0f} A, "
                f"draws {draw:.1f} A"
            )
    return lines


async def setup(
    args: argparse.Namespace,
    site: SiteConfig,
    login: Login,
    ports: dict[str, int],
    started: float,
) -> dict[str, Any]:
    """Onboarding and the integration, then wait for the chargers to be balanced."""
    url = f"http://127.0.0.1:{ports['ha']}"
    status_url = f"http://127.0.0.1:{ports['status']}/status"
    timings: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        api = HomeAssistantApi(session, url)
        await api.wait_until_up(args.timeout)
        timings["home_assistant_up_s"] = time.monotonic() - started
        say(f"Home Assistant answers after {timings['home_assistant_up_s']:.0f} s")
        await api.onboard(login, say)
        outcome = await configure_site(
            api,
            site,
            ocpp_port=ports["ocpp"],
            meter_port=ports["meter"],
            charger_port=ports["charger"],
            charge_modes=CHARGE_MODES,
            say=say,
        )
        timings["configured_s"] = time.monotonic() - started
        http = await confirm_http_config(api)
        if http is not None:
            drop_http_yaml(args.config_dir)
        if http:
            say(
                "confirmed the HTTP settings Home Assistant took from configuration.yaml"
            )
        if outcome.created:
            say("created: " + "; ".join(outcome.created))
        else:
            say("EV Power Share was already set up: nothing to add")
        status = await wait_balanced(api, outcome.entry_id, status_url, args.timeout)
        if status is None:
            say(f"warning: the chargers were not all balanced within {args.timeout} s")
        else:
            timings["balanced_s"] = time.monotonic() - started
            for line in describe(status):
                say(line)
        return {
            "url": url,
            "site_name": site.site.name,
            "dashboard": f"{url}/{DASHBOARD_URL}/condo",
            "username": login.username,
            "password": login.password,
            "token": api.token,
            "entry_id": outcome.entry_id,
            "users": [u.name for u in site.users],
            "subentries": outcome.subentries,
            "status_url": status_url,
            "ports": ports,
            "extra_charger": EXTRA_CHARGER if args.extra_charger else None,
            "groups": [
                {
                    "id": g.id,
                    "name": g.name,
                    "parent": g.parent,
                    "phases": list(g.phases),
                }
                for g in site.groups
            ],
            "other_ports": [
                {
                    "id": f"{c.id}/1",
                    "name": c.name,
                    "kind": c.kind,
                    "group": c.group,
                    "max_current_a": c.max_current_a,
                }
                for c in site.chargers
                if c.kind != "ocpp" and c.id in outcome.subentries
            ],
            "timings": timings,
            "balanced": status is not None,
        }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo.run",
        description="Home Assistant with EV Power Share set up for a simulated condo.",
    )
    parser.add_argument(
        "--config-dir", default="config", help="Home Assistant's configuration"
    )
    parser.add_argument("--scenario", default=str(DEFAULT_SCENARIO))
    parser.add_argument("--speedup", type=float, help="scenario seconds per second")
    parser.add_argument("--start", help="scenario time of day to start at (HH:MM)")
    parser.add_argument(
        "--extra-charger",
        action="store_true",
        help="also simulate a charger that is not configured (cp-07)",
    )
    parser.add_argument("--username", default="demo")
    for name, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{name}-port", type=int, default=port)
    parser.add_argument(
        "--free-ports", action="store_true", help="pick free loopback ports"
    )
    parser.add_argument("--log-dir", help="write the processes' output here")
    parser.add_argument("--ready-file", help="write the login and URLs here (JSON)")
    parser.add_argument(
        "--strict", action="store_true", help="exit if the set-up fails (tests)"
    )
    parser.add_argument("--timeout", type=float, default=240.0, help="each wait, s")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; unknown arguments go to hass."""
    started = time.monotonic()
    args, hass_args = _parser().parse_known_args(argv)
    ports = {name: getattr(args, f"{name}_port") for name in DEFAULT_PORTS}
    if args.free_ports:
        ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS)), strict=True))
    config_dir = Path(args.config_dir).resolve()
    site = load_config(args.scenario)
    prepare_config(config_dir, ports, site)
    scenario = Path(args.scenario)
    if args.extra_charger:
        scenario = extra_scenario(
            scenario, config_dir / "ev_power_share_demo_scenario.yaml"
        )
    login, new_login = login_of(config_dir, args.username)
    if new_login and (config_dir / ".storage" / "auth").exists():
        say(
            f"{config_dir} was set up by hand (no demo login saved): the demo cannot "
            "log in to set it up; use a new --config-dir or remove it"
        )
        (config_dir / LOGIN_FILE).unlink()
        return 1

    log_dir = Path(args.log_dir).resolve() if args.log_dir else None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    children = Children(log_dir)
    bin_dir = Path(sys.executable).parent

    def on_term(_signum: int, _frame: object) -> None:
        # As Ctrl-C: asyncio.run() then cancels the set-up cleanly.
        terminated.append(True)
        os.kill(os.getpid(), signal.SIGINT)

    terminated: list[bool] = []

    # Ctrl-C and SIGTERM stop the demo, even when started in the background (where
    # SIGINT comes in ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    simulator = [
        sys.executable,
        "-m",
        "simulator.site",
        "--config",
        str(scenario),
        "--ocpp",
        f"ws://127.0.0.1:{ports['ocpp']}",
        "--meter-port",
        str(ports["meter"]),
        "--status-port",
        str(ports["status"]),
        "--charger-port",
        str(ports["charger"]),
    ]
    if args.speedup is not None:
        simulator += ["--speedup", str(args.speedup)]
    if args.start is not None:
        simulator += ["--start", args.start]
    try:
        children.start("simulator", simulator)
        children.start(
            "homeassistant",
            [str(bin_dir / "hass"), "--config", str(config_dir), *hass_args],
        )
        say(
            f"site simulator and Home Assistant starting (config {config_dir}); "
            "the first start takes a minute"
        )
        try:
            ready = asyncio.run(setup(args, site, login, ports, started))
        except (DemoError, aiohttp.ClientError, TimeoutError) as err:
            say(f"set-up failed: {err}")
            if args.strict or children.exited():
                return 1
            say("Home Assistant keeps running: look at its log; Ctrl-C stops it")
            ready = None
        if ready is not None:
            banner(ready, config_dir, args, time.monotonic() - started)
            if args.ready_file:
                path = Path(args.ready_file)
                path.write_text(json.dumps(ready, indent=2))
                path.chmod(0o600)
        while (gone := children.exited()) is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping the simulator and Home Assistant")
        children.interrupted = not terminated
        return 0
    else:
        say(f"{gone[0]} stopped (exit code {gone[1]}): stopping the demo")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        children.stop()


def banner(
    ready: dict[str, Any], config_dir: Path, args: argparse.Namespace, took: float
) -> None:
    ports = ready["ports"]
    lines = [
        "",
        "=" * 78,
        f"EV Power Share demo ready in {took:.0f} s",
        f"  Home Assistant  {ready['url']}",
        f"  log in as       {ready['username']} / {ready['password']}",
        f"  dashboard       {ready['dashboard']}",
        (
            f"  simulator       {ready['status_url']} (OCPP ws://127.0.0.1:"
            f"{ports['ocpp']}, Modbus meter 127.0.0.1:{ports['meter']}, "
            f"chargers from :{ports['charger']})"
        ),
    ]
    if args.extra_charger:
        lines.append(
            f"  not configured  {EXTRA_CHARGER['id']} ({EXTRA_CHARGER['name']}): "
            "see Settings > Repairs, or Add charger on the integration"
        )
    lines += [
        f"  state           {config_dir} (kept: the next run reuses it)",
        "  Ctrl-C stops everything",
        "=" * 78,
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())

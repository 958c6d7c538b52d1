"""manifest.json, hacs.json, translations and brand follow HA's and HACS's rules."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import struct
from typing import Any

from awesomeversion import AwesomeVersion
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components/ev_power_share"
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text())
HACS = json.loads((ROOT / "hacs.json").read_text())
TRANSLATIONS = json.loads((INTEGRATION / "translations/en.json").read_text())

REQUIRED_KEYS = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
}
# What each supported Home Assistant pins for everyone (see requirements/).
PYMODBUS_PINNED_BY_HA = ("3.8.3", "3.13.1")


def test_manifest_has_every_required_key() -> None:
    assert MANIFEST.keys() >= REQUIRED_KEYS
    assert MANIFEST["domain"] == INTEGRATION.name
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["integration_type"] == "hub"
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert MANIFEST["codeowners"]
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    assert MANIFEST["documentation"].startswith("https://")
    assert MANIFEST["issue_tracker"].startswith("https://")


def test_manifest_keys_sorted_after_domain_and_name() -> None:
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_version_is_valid() -> None:
    version = AwesomeVersion(MANIFEST["version"])
    assert version.valid
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])


def test_requirements_install_beside_every_supported_home_assistant() -> None:
    requirements = {
        Requirement(r).name: Requirement(r) for r in MANIFEST["requirements"]
    }
    pymodbus = requirements["pymodbus"]
    for pinned in PYMODBUS_PINNED_BY_HA:
        assert pymodbus.specifier.contains(Version(pinned)), pinned
    ocpp = requirements["ocpp"]
    # A range, so it installs beside other integrations that pin ocpp (lbbrhzn/ocpp
    # needs ocpp>=2.1.0), that admits the ocpp the tests run with.
    assert ocpp.specifier.contains(Version("2.1.0"))
    assert not ocpp.specifier.contains(Version("3.0.0"))
    common = (ROOT / "requirements/common.txt").read_text().splitlines()
    tested = [Requirement(r) for r in common if r.startswith("ocpp==")]
    assert len(tested) == 1
    assert ocpp.specifier.contains(Version(next(iter(tested[0].specifier)).version))
    for pinned, file in zip(
        PYMODBUS_PINNED_BY_HA, ("ha-2025.4.txt", "ha-2026.10.txt"), strict=True
    ):
        assert f"pymodbus=={pinned}" in (ROOT / "requirements" / file).read_text()


def test_hacs_json_uses_only_known_keys() -> None:
    assert set(HACS) <= HACS_KEYS
    assert HACS["name"] == MANIFEST["name"]
    assert AwesomeVersion(HACS["homeassistant"]) <= AwesomeVersion("2025.4.4")


SUBENTRY = "config_subentries.group"
CHARGER = "config_subentries.charger"
METER = "config_subentries.meter"
SCHEDULE = "config_subentries.schedule_limit"
OUTLET = "config_subentries.outlet"
HA_CHARGER = "config_subentries.ha_charger"
# Where each form-validating function's error keys must be translated.
ERROR_SECTIONS = {
    "_validate": "config",
    "_validate_options": "options",
    "_validate_group": SUBENTRY,
    "_group_place_errors": SUBENTRY,
    "_group_limit_errors": SUBENTRY,
    "_group_phase_errors": SUBENTRY,
    "validate_charger": CHARGER,
    "_common_errors": METER,
    "validate_sensors": METER,
    "_current_errors": METER,
    "async_validate_modbus": METER,
    "validate_schedule": SCHEDULE,
    "validate_outlet": OUTLET,
    "_entity_errors": OUTLET,
    "_sensor_errors": OUTLET,
    "validate_ha_charger": HA_CHARGER,
    "_ha_entity_errors": HA_CHARGER,
    "_ha_limit_errors": HA_CHARGER,
    "device_errors": HA_CHARGER,
}
# Checks more than one flow makes, and where their error keys must be translated.
SHARED_ERROR_SECTIONS = {
    "async_port_errors": ("config", "options"),
    "name_and_group_errors": (CHARGER, METER, SCHEDULE, OUTLET, HA_CHARGER),
}
FLOW_MODULES = (
    "config_flow.py",
    "options_flow.py",
    "group_flow.py",
    "charger_flow.py",
    "meter_flow.py",
    "schedule_flow.py",
    "outlet_flow.py",
    "ha_charger_flow.py",
    "form_checks.py",
)
# The subentry flows' base class (its steps are every subentry flow's).
SUBENTRY_BASE = ("form_parts.py", "SiteSubentryFlow")
# Error keys made at run time, from a reason: every reason must be translated.
COMPUTED_ERRORS = {
    "config": {"tls_missing", "tls_invalid"},
    METER: {
        f"meter_{r}"
        for r in ("cannot_connect", "no_response", "device_error", "implausible")
    },
}


def _section(name: str) -> dict[str, Any]:
    node: dict[str, Any] = TRANSLATIONS
    for part in name.split("."):
        node = node[part]
    return node


def _error_keys(node: ast.AST) -> set[str]:
    """``errors[...] = "key"`` and ``errors.setdefault(..., "key")``."""
    assigned = {
        n.value.value
        for n in ast.walk(node)
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
        for target in n.targets
        if isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id == "errors"
    }
    defaulted = {
        n.args[1].value
        for n in ast.walk(node)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "setdefault"
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "errors"
        and len(n.args) == 2
        and isinstance(n.args[1], ast.Constant)
    }
    return assigned | defaulted


def _class_section(node: ast.ClassDef) -> str:
    bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
    if "OptionsFlow" in bases:
        return "options"
    if bases & {"ConfigSubentryFlow", SUBENTRY_BASE[1]}:
        if "HaCharger" in node.name:
            return HA_CHARGER
        if "Charger" in node.name:
            return CHARGER
        if "Schedule" in node.name:
            return SCHEDULE
        if "Outlet" in node.name:
            return OUTLET
        return METER if "Meter" in node.name else SUBENTRY
    return "config"


def _aborts(node: ast.AST) -> set[str]:
    """The abort reasons of the flow calls in ``node``."""
    found: set[str] = set()
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        if isinstance(call.func, ast.Attribute):
            name = call.func.attr
        elif isinstance(call.func, ast.Name):
            name = call.func.id  # compat.async_update_and_abort(flow, ...)
        else:
            continue
        if name == "_abort_if_unique_id_configured":
            found.add("already_configured")
        elif name in {"async_update_reload_and_abort", "async_update_and_abort"}:
            found.add("reconfigure_successful")
        elif name == "async_abort":
            found.update(
                kw.value.value
                for kw in call.keywords
                if kw.arg == "reason" and isinstance(kw.value, ast.Constant)
            )
    return found


def _flow_strings() -> tuple[
    dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]
]:
    """Step ids, error keys and abort reasons per translation section."""
    steps: dict[str, set[str]] = {}
    errors: dict[str, set[str]] = {}
    aborts: dict[str, set[str]] = {}
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    (base,) = (
        node
        for node in ast.parse((INTEGRATION / SUBENTRY_BASE[0]).read_text()).body
        if isinstance(node, ast.ClassDef) and node.name == SUBENTRY_BASE[1]
    )
    base_steps = {
        item.name.removeprefix("async_step_")
        for item in base.body
        if isinstance(item, ast.AsyncFunctionDef)
        and item.name.startswith("async_step_")
    }
    base_aborts = _aborts(base)
    assert base_steps
    assert base_aborts
    for module in FLOW_MODULES:
        tree = ast.parse((INTEGRATION / module).read_text())
        for node in tree.body:
            if isinstance(node, functions) and node.name in ERROR_SECTIONS:
                errors.setdefault(ERROR_SECTIONS[node.name], set()).update(
                    _error_keys(node)
                )
            if isinstance(node, functions) and node.name in SHARED_ERROR_SECTIONS:
                for shared in SHARED_ERROR_SECTIONS[node.name]:
                    errors.setdefault(shared, set()).update(_error_keys(node))
            if not isinstance(node, ast.ClassDef):
                continue
            section = _class_section(node)
            based_on_base = any(
                isinstance(b, ast.Name) and b.id == SUBENTRY_BASE[1] for b in node.bases
            )
            if based_on_base:
                steps.setdefault(section, set()).update(base_steps)
            for item in node.body:
                if isinstance(item, ast.AsyncFunctionDef) and item.name.startswith(
                    "async_step_"
                ):
                    steps.setdefault(section, set()).add(
                        item.name.removeprefix("async_step_")
                    )
            errors.setdefault(section, set()).update(_error_keys(node))
            aborts.setdefault(section, set()).update(_aborts(node))
            if based_on_base:
                # The base's aborts; "already_configured" where a subentry has
                # a unique id.
                unique = any(
                    isinstance(item, functions) and item.name == "form_unique_id"
                    for item in node.body
                )
                aborts[section].update(
                    r for r in base_aborts if unique or r != "already_configured"
                )
    for section, keys in COMPUTED_ERRORS.items():
        errors.setdefault(section, set()).update(keys)
    return steps, errors, aborts


def test_translations_cover_every_step_error_and_abort() -> None:
    steps, errors, aborts = _flow_strings()
    assert steps == {
        "config": {"user", "reconfigure"},
        "options": {"init"},
        SUBENTRY: {"user", "reconfigure"},
        CHARGER: {"user", "reconfigure"},
        SCHEDULE: {"user", "reconfigure"},
        OUTLET: {"user", "reconfigure"},
        HA_CHARGER: {"user", "entities", "read_only", "reconfigure"},
        METER: {
            "user",
            "sensors",
            "modbus",
            "reconfigure",
            "reconfigure_sensors",
            "reconfigure_modbus",
        },
    }
    # The parser found them.
    assert errors[SUBENTRY]
    assert "charge_point_id_taken" in errors[CHARGER]
    assert {"current_required", "group_has_meter", "poll_out_of_range"} <= errors[METER]
    for section, ids in steps.items():
        for step in ids:
            if section == METER and step == "reconfigure":
                continue  # it only picks the form of the meter's source
            strings = _section(section)["step"][step]
            if "menu_options" in strings:
                assert strings["menu_options"], step
                continue
            # Every field of a step has a label and a description.
            assert strings["data"], step
            assert strings["data"].keys() == strings["data_description"].keys(), step
    for section, keys in errors.items():
        known = _section(section).get("error", {}).keys()
        assert keys <= known, (section, keys - known)
    for section, reasons in aborts.items():
        known = _section(section).get("abort", {}).keys()
        assert reasons <= known, (section, reasons - known)
    for kind in (SUBENTRY, CHARGER, METER, SCHEDULE, HA_CHARGER):
        assert _section(kind)["initiate_flow"].keys() == {"user", "reconfigure"}
        assert _section(kind)["entry_type"]


def test_repair_issues_are_translated() -> None:
    """Every issue the integration raises has a title and text (or a fix flow)."""
    source = "\n".join(
        p.read_text() for p in INTEGRATION.glob("*.py") if p.name != "__init__.py"
    )
    raised = set(re.findall(r'^ISSUE_\w+ = "(\w+)"', source, re.MULTILINE))
    assert raised == {
        "charger_ignores_limits",
        "charger_without_password",
        "ha_charger_ignores_limits",
        "ledger_unavailable",
        "meter_unavailable",
        "modbus_failsafe_too_soon",
        "group_removal_refused",
        "guarantee_below_minimum",
        "port_input_invalid",
        "site_input_failed",
        "unknown_card",
        "unknown_charger",
    }
    for key in raised:
        issue = TRANSLATIONS["issues"][key]
        assert issue["title"]
        if "fix_flow" in issue:  # every step of the fix flow says what it does
            steps = issue["fix_flow"]["step"]
            assert steps
            assert all(step["title"] and step["description"] for step in steps.values())
        else:
            assert issue["description"]


def test_entity_names_and_icons_are_translated() -> None:
    icons = json.loads((INTEGRATION / "icons.json").read_text())
    for platform, keys in TRANSLATIONS["entity"].items():
        assert keys.keys() == icons["entity"][platform].keys(), platform


def test_supply_selector_options_are_translated() -> None:
    from custom_components.ev_power_share.const import SUPPLIES  # noqa: PLC0415

    options = TRANSLATIONS["selector"]["supply"]["options"]
    assert options.keys() == SUPPLIES.keys()


def test_brand_icon_is_a_256_px_png() -> None:
    data = (INTEGRATION / "brand/icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (256, 256)
    data2x = (INTEGRATION / "brand/icon@2x.png").read_bytes()
    assert struct.unpack(">II", data2x[16:24]) == (512, 512)


def test_translation_strings_have_no_tags() -> None:
    """Home Assistant renders strings as ICU messages: "<...>" is a tag and shows
    as "Translation error: INVALID_TAG" in the UI."""

    def strings(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        return [node] if isinstance(node, str) else []

    assert [s for s in strings(TRANSLATIONS) if "<" in s] == []

"""The repository as hassfest and HACS check it: manifest.json, translations,
services.yaml, hacs.json and the repository's layout.

Each rule is written here in our own words, with the place where it is published,
so that CI fails on what hassfest's and HACS's GitHub actions would reject (and on a
few things they only warn about). The rules are functions that return what is
wrong; the second half of this file feeds them broken copies of our files to show
that each one can fail.

Where a rule comes from:

- HASSFEST_MANIFEST: home-assistant/core script/hassfest/manifest.py
  https://github.com/home-assistant/core/blob/dev/script/hassfest/manifest.py and
  https://developers.home-assistant.io/docs/creating_integration_manifest
- HASSFEST_DEPENDENCIES: script/hassfest/dependencies.py
  https://github.com/home-assistant/core/blob/dev/script/hassfest/dependencies.py
- HASSFEST_TRANSLATIONS: script/hassfest/translations.py
  https://github.com/home-assistant/core/blob/dev/script/hassfest/translations.py and
  https://developers.home-assistant.io/docs/internationalization/core
- HASSFEST_SERVICES: script/hassfest/services.py
  https://github.com/home-assistant/core/blob/dev/script/hassfest/services.py and
  https://developers.home-assistant.io/docs/dev_101_services
- HASSFEST_ICONS: script/hassfest/icons.py
  https://github.com/home-assistant/core/blob/dev/script/hassfest/icons.py and
  https://developers.home-assistant.io/docs/core/entity#icon-translations
- HACS_JSON: https://hacs.xyz/docs/publish/start#hacsjson and
  https://github.com/hacs/integration/blob/main/custom_components/hacs/utils/validate.py
- HACS_INTEGRATION: https://hacs.xyz/docs/publish/integration (one integration under
  custom_components/, manifest keys) and https://hacs.xyz/docs/publish/include
  (check brands, check license)
- HA_BRANDS: https://developers.home-assistant.io/docs/core/integration/brand_images
  and https://github.com/home-assistant/brands#image-specification
"""

from __future__ import annotations

import ast
from collections.abc import Callable
import copy
import json
from pathlib import Path
import re
import string
import struct
from typing import Any
from urllib.parse import urlparse

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import Platform
from homeassistant.helpers import selector
from homeassistant.util.yaml import load_yaml_dict
from packaging.requirements import InvalidRequirement, Requirement
import pytest
import voluptuous as vol

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components/ev_power_share"

HASSFEST_MANIFEST = (
    "https://github.com/home-assistant/core/blob/dev/script/hassfest/manifest.py"
)
HASSFEST_TRANSLATIONS = (
    "https://github.com/home-assistant/core/blob/dev/script/hassfest/translations.py"
)
HASSFEST_SERVICES = (
    "https://github.com/home-assistant/core/blob/dev/script/hassfest/services.py"
)
HASSFEST_ICONS = (
    "https://github.com/home-assistant/core/blob/dev/script/hassfest/icons.py"
)
HACS_JSON = "https://hacs.xyz/docs/publish/start#hacsjson"
HACS_INTEGRATION = "https://hacs.xyz/docs/publish/integration"
HACS_CHECKS = "https://hacs.xyz/docs/publish/include"
HA_BRANDS = "https://developers.home-assistant.io/docs/core/integration/brand_images"

Problems = list[str]


def _load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _invalid(schema: Callable[[Any], Any], value: Any, what: str) -> Problems:
    """What a voluptuous schema has against ``value``, one line per error."""
    try:
        schema(value)
    except vol.MultipleInvalid as err:
        return [f"{what}: {e}" for e in err.errors]
    except vol.Invalid as err:
        return [f"{what}: {err}"]
    return []


# --- manifest.json --------------------------------------------------------------

# hassfest's manifest schema: these iot classes and integration types ("virtual"
# is for core brand stubs only).
IOT_CLASSES = (
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
)
INTEGRATION_TYPES = (
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
)
QUALITY_SCALES = (
    "bronze",
    "silver",
    "gold",
    "platinum",
    "custom",
    "internal",
    "legacy",
    "no_score",
)
# Home Assistant's loader (and hassfest) accept a custom integration's version in any
# of these schemes; we also insist on plain SemVer (our release tags are X.Y.Z).
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")


def _https_url(value: Any) -> str:
    parsed = urlparse(str(value))
    if parsed.scheme != "https" or not parsed.netloc:
        raise vol.Invalid(f"{value!r} is not an https:// address")
    return str(value)


def _custom_documentation(value: str) -> str:
    # hassfest: a custom integration's documentation must not point at the core docs.
    if value.startswith("https://www.home-assistant.io/integrations"):
        raise vol.Invalid("documentation must point at this integration's own docs")
    return value


def _version(value: Any) -> str:
    if not isinstance(value, str):
        raise vol.Invalid("version must be a string")
    try:
        AwesomeVersion(value, ensure_strategy=VERSION_STRATEGIES)
    except Exception as err:
        raise vol.Invalid(f"{value!r} is not a version Home Assistant accepts") from err
    if not SEMVER.fullmatch(value):
        raise vol.Invalid(f"{value!r} is not MAJOR.MINOR.PATCH")
    return value


def _requirement(value: Any) -> str:
    try:
        Requirement(value)
    except (InvalidRequirement, TypeError) as err:
        raise vol.Invalid(f"{value!r} is not a pip requirement") from err
    return str(value)


def _codeowner(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"@[\w.-]+(/[\w.-]+)?", value):
        raise vol.Invalid(f"code owner {value!r} is not a GitHub @user or @org/team")
    return value


# A custom integration's manifest: hassfest's CUSTOM_INTEGRATION_MANIFEST_SCHEMA (no
# other keys allowed), with what HACS requires (issue_tracker) and what we insist on
# (integration_type, iot_class and requirements written out) made required.
MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("domain"): vol.Match(r"^[a-z0-9_]+$"),
        vol.Required("name"): vol.All(str, vol.Length(min=1)),
        vol.Required("codeowners"): vol.All([_codeowner], vol.Length(min=1)),
        vol.Required("documentation"): vol.All(_https_url, _custom_documentation),
        vol.Required("integration_type"): vol.In(INTEGRATION_TYPES),
        vol.Required("iot_class"): vol.In(IOT_CLASSES),
        vol.Required("issue_tracker"): _https_url,
        vol.Required("requirements"): [_requirement],
        vol.Required("version"): _version,
        vol.Optional("after_dependencies"): [str],
        vol.Optional("config_flow"): bool,
        vol.Optional("dependencies"): [str],
        vol.Optional("disabled"): str,
        vol.Optional("import_executor"): bool,
        vol.Optional("loggers"): [str],
        vol.Optional("quality_scale"): vol.In(QUALITY_SCALES),
        vol.Optional("single_config_entry"): bool,
        # Discovery matchers: we use none; allowed by hassfest, shapes not checked here.
        **{
            vol.Optional(key): object
            for key in (
                "bluetooth",
                "dhcp",
                "homekit",
                "mqtt",
                "ssdp",
                "usb",
                "zeroconf",
            )
        },
    },
    extra=vol.PREVENT_EXTRA,
)


def manifest_problems(manifest: dict[str, Any], directory: str) -> Problems:
    """What hassfest (HASSFEST_MANIFEST) and HACS (HACS_INTEGRATION) reject."""
    problems = _invalid(MANIFEST_SCHEMA, manifest, "manifest")
    if manifest.get("domain") != directory:
        problems.append(
            f"manifest: domain {manifest.get('domain')!r} is not {directory!r}"
        )
    keys = list(manifest)
    if keys[:2] != ["domain", "name"] or keys[2:] != sorted(keys[2:]):
        problems.append(
            "manifest: keys are not sorted: domain, name, then alphabetical order"
        )
    if len(set(keys)) != len(keys):
        problems.append("manifest: a key appears twice")
    return problems


def dependency_problems(integration: Path, manifest: dict[str, Any]) -> Problems:
    """hassfest's dependencies check (HASSFEST_DEPENDENCIES): another integration
    imported from ``homeassistant.components`` is an entity platform, is listed in
    ``dependencies`` or ``after_dependencies``, or is a platform this integration
    implements (``diagnostics.py``, ``repairs.py``...). Stricter than hassfest, which
    also lets a few always-loaded integrations through."""
    allowed = {p.value for p in Platform} | set(manifest.get("dependencies", []))
    allowed |= set(manifest.get("after_dependencies", []))
    problems: Problems = []
    for path in sorted(integration.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                parts = name.split(".")
                if parts[:2] != ["homeassistant", "components"] or len(parts) < 3:
                    continue
                other = parts[2]
                if other in allowed or (integration / f"{other}.py").is_file():
                    continue
                problems.append(
                    f"{path.relative_to(integration)}: uses {other} but it is not in "
                    "dependencies or after_dependencies"
                )
    return problems


# --- translations/en.json -------------------------------------------------------

# hassfest: a translation key is lowercase letters, digits, "-" and "_", does not start
# or end with "-" or "_", and has no "__" or "--".
TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
URL_IN_TEXT = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5)://|www\.)"
    r"[a-z0-9]+([\-.][a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(/.*)?)",
    re.IGNORECASE,
)


def _key(value: Any) -> str:
    if not isinstance(value, str) or not TRANSLATION_KEY.match(value):
        raise vol.Invalid(f"key {value!r} is not lowercase snake_case ([a-z0-9-_])")
    return value


def _text(*, placeholders: bool = True) -> Callable[[Any], str]:
    """A translated string as hassfest's validate_translation_value wants it."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise vol.Invalid("a translation must be a string")
        if re.search(r"<[a-z].*?>", value, re.IGNORECASE):
            raise vol.Invalid(f"HTML in {value!r}")
        if value != value.strip():
            raise vol.Invalid(f"leading or trailing whitespace in {value!r}")
        if re.search(r"'\{\w+\}'", value):
            raise vol.Invalid(f"placeholder in single quotes in {value!r}")
        if re.search(r"(.+\[%)|(%\].+)", value):
            raise vol.Invalid(f"reference combined with text in {value!r}")
        if URL_IN_TEXT.search(value):
            raise vol.Invalid(f"an address in {value!r}: use a placeholder")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f]
        except ValueError as err:
            raise vol.Invalid(f"unbalanced braces in {value!r}") from err
        for field in fields:
            if not placeholders:
                raise vol.Invalid(f"no placeholders allowed here: {value!r}")
            if not field.isidentifier():
                raise vol.Invalid(f"placeholder {{{field}}} is not an identifier")
        return value

    return check


TEXT = _text()
PLAIN_TEXT = _text(placeholders=False)


def _keyed(value_schema: Any, key: Callable[[Any], Any] = _key) -> vol.Schema:
    return vol.Schema({key: value_schema})


def _data_description_in_data(flow: dict[str, Any]) -> dict[str, Any]:
    for step_id, step in flow.get("step", {}).items():
        extra = set(step.get("data_description", {})) - set(step.get("data", {}))
        if extra:
            raise vol.Invalid(
                f"step {step_id}: data_description without data: {sorted(extra)}"
            )
    return flow


def _flow(*, subentry: bool = False) -> vol.All:
    """A config, options, subentry or repair flow's strings."""
    step = {
        vol.Optional("title"): TEXT,
        vol.Optional("description"): TEXT,
        vol.Optional("data"): _keyed(TEXT, str),
        vol.Optional("data_description"): _keyed(TEXT, str),
        vol.Optional("menu_options"): _keyed(TEXT, str),
        vol.Optional("menu_option_descriptions"): _keyed(TEXT, str),
        vol.Optional("submit"): TEXT,
        vol.Optional("sections"): _keyed(
            {
                vol.Optional("name"): TEXT,
                vol.Optional("description"): TEXT,
                vol.Optional("data"): _keyed(TEXT, str),
                vol.Optional("data_description"): _keyed(TEXT, str),
            },
            str,
        ),
    }
    flow: dict[Any, Any] = {
        vol.Required("step"): _keyed(step, str),
        vol.Optional("flow_title"): TEXT,
        vol.Optional("error"): _keyed(TEXT, str),
        vol.Optional("abort"): _keyed(TEXT, str),
        vol.Optional("progress"): _keyed(TEXT, str),
        vol.Optional("create_entry"): _keyed(TEXT, str),
    }
    if subentry:
        flow[vol.Required("entry_type")] = TEXT
        flow[vol.Required("initiate_flow")] = {vol.Required("user"): TEXT, str: TEXT}
    else:
        flow[vol.Optional("initiate_flow")] = {vol.Required("user"): TEXT}
    return vol.All(vol.Schema(flow), _data_description_in_data)


def _issue(issue: dict[str, Any]) -> dict[str, Any]:
    if ("description" in issue) == ("fix_flow" in issue):
        raise vol.Invalid("an issue has a description or a fix_flow, not both/neither")
    return issue


FIELD_STRINGS = {
    vol.Required("name"): TEXT,
    vol.Required("description"): TEXT,
    vol.Optional("example"): TEXT,
}
ENTITY_STRINGS = {
    vol.Optional("name"): TEXT,
    vol.Optional("state"): _keyed(PLAIN_TEXT),
    vol.Optional("state_attributes"): _keyed(
        {vol.Optional("name"): PLAIN_TEXT, vol.Optional("state"): _keyed(PLAIN_TEXT)}
    ),
    vol.Optional("unit_of_measurement"): PLAIN_TEXT,
}
# The sections of a custom integration's translations/en.json that we use, as
# hassfest's gen_strings_schema describes them (no other top-level keys).
TRANSLATIONS_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): TEXT,
        vol.Optional("config"): _flow(),
        vol.Optional("options"): _flow(),
        vol.Optional("config_subentries"): _keyed(_flow(subentry=True)),
        vol.Optional("selector"): _keyed(
            {
                vol.Optional("options"): _keyed(TEXT),
                vol.Optional("choices"): _keyed(TEXT),
                vol.Optional("unit_of_measurement"): _keyed(TEXT),
                vol.Optional("fields"): _keyed(FIELD_STRINGS),
            }
        ),
        vol.Optional("entity"): _keyed(_keyed(ENTITY_STRINGS)),
        vol.Optional("device"): _keyed({vol.Optional("name"): TEXT}),
        vol.Optional("exceptions"): _keyed({vol.Optional("message"): TEXT}),
        vol.Optional("issues"): _keyed(
            vol.All(
                {
                    vol.Required("title"): TEXT,
                    vol.Optional("description"): TEXT,
                    vol.Optional("fix_flow"): _flow(),
                },
                _issue,
            )
        ),
        vol.Optional("services"): _keyed(
            {
                vol.Required("name"): TEXT,
                vol.Required("description"): TEXT,
                vol.Optional("fields"): _keyed(FIELD_STRINGS),
                vol.Optional("sections"): _keyed(
                    {vol.Required("name"): TEXT, vol.Optional("description"): TEXT}
                ),
            }
        ),
        vol.Optional("system_health"): {vol.Optional("info"): _keyed(TEXT)},
        vol.Optional("device_automation"): {str: _keyed(TEXT, str)},
    },
    extra=vol.PREVENT_EXTRA,
)


def translations_problems(strings: dict[str, Any]) -> Problems:
    """What hassfest's translations check (HASSFEST_TRANSLATIONS) rejects."""
    return _invalid(TRANSLATIONS_SCHEMA, strings, "translations/en.json")


# --- icons.json -----------------------------------------------------------------


def _mdi(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(
        r"mdi:[a-z0-9]+(-[a-z0-9]+)*", value
    ):
        raise vol.Invalid(f"icon {value!r} is not an mdi:name")
    return value


ICON_STATES = _keyed(_mdi)
ICONS_SCHEMA = vol.Schema(
    {
        vol.Required("entity"): _keyed(
            _keyed(
                {
                    vol.Optional("default"): _mdi,
                    vol.Optional("state"): ICON_STATES,
                    vol.Optional("range"): {str: _mdi},
                    vol.Optional("state_attributes"): _keyed(
                        {
                            vol.Optional("default"): _mdi,
                            vol.Optional("state"): ICON_STATES,
                        }
                    ),
                }
            )
        ),
        vol.Optional("services"): _keyed(
            vol.Any(
                _mdi,
                {vol.Required("service"): _mdi, vol.Optional("sections"): ICON_STATES},
            )
        ),
    },
    extra=vol.PREVENT_EXTRA,
)


def icons_problems(icons: dict[str, Any]) -> Problems:
    """What hassfest's icons check (HASSFEST_ICONS) rejects."""
    return _invalid(ICONS_SCHEMA, icons, "icons.json")


# --- services.yaml --------------------------------------------------------------


def _selector(value: Any) -> Any:
    # Home Assistant's own check of a selector: what the action form is built from.
    return selector.validate_selector(value)


SERVICE_FIELD = vol.Schema(
    {
        vol.Optional("example"): object,
        vol.Optional("default"): object,
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("selector"): _selector,
        vol.Optional("filter"): dict,
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
)
SERVICE_SECTION = vol.Schema(
    {
        vol.Required("fields"): {str: SERVICE_FIELD},
        vol.Optional("collapsed"): bool,
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
)


def _fields_of(service: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A service's fields, those inside sections included."""
    fields: dict[str, dict[str, Any]] = {}
    for name, field in ((service or {}).get("fields") or {}).items():
        if field and "fields" in field:
            fields.update(field["fields"])
        else:
            fields[name] = field or {}
    return fields


def _unique_fields(fields: dict[str, Any]) -> dict[str, Any]:
    seen: list[str] = []
    for name, field in fields.items():
        seen.extend(field["fields"] if field and "fields" in field else [name])
    if len(seen) != len(set(seen)):
        raise vol.Invalid("a field is used twice in one service")
    return fields


SERVICES_SCHEMA = vol.Schema(
    {
        _key: vol.Any(
            None,
            vol.Schema(
                {
                    vol.Optional("target"): vol.Any(None, dict),
                    vol.Optional("fields"): vol.All(
                        {str: vol.Any(SERVICE_FIELD, SERVICE_SECTION)}, _unique_fields
                    ),
                    vol.Optional("name"): str,
                    vol.Optional("description"): str,
                }
            ),
        )
    }
)


def services_problems(services: dict[str, Any], strings: dict[str, Any]) -> Problems:
    """What hassfest's services check (HASSFEST_SERVICES) rejects, and our stricter
    rule: every action and every field has its name and description in
    translations/en.json (hassfest requires this of core integrations; the action
    editor shows the raw key otherwise), and nothing is translated that is not there.
    """
    problems = _invalid(SERVICES_SCHEMA, services, "services.yaml")
    if problems:
        return problems
    translated = strings.get("services", {})
    for name, service in services.items():
        text = translated.get(name, {})
        for key in ("name", "description"):
            if key not in text and key not in (service or {}):
                problems.append(f"services.yaml: {name} has no {key} in translations")
        fields = _fields_of(service)
        for field_name, field in fields.items():
            field_text = text.get("fields", {}).get(field_name, {})
            for key in ("name", "description"):
                if key not in field_text and key not in field:
                    problems.append(
                        f"services.yaml: {name}.{field_name} has no {key} in translations"
                    )
            select = (field.get("selector") or {}).get("select") or {}
            wanted = select.get("translation_key")
            if wanted is not None and wanted not in strings.get("selector", {}):
                problems.append(
                    f"services.yaml: {name}.{field_name}: selector translation_key "
                    f"{wanted!r} is not in translations"
                )
        stale = set(text.get("fields", {})) - set(fields)
        if stale:
            problems.append(
                f"translations: {name} has fields it lacks: {sorted(stale)}"
            )
    stale_services = set(translated) - set(services)
    if stale_services:
        problems.append(
            f"translations: actions not in services.yaml: {sorted(stale_services)}"
        )
    return problems


# --- hacs.json ------------------------------------------------------------------


def _country(value: Any) -> list[str]:
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list) or not all(
        isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in codes
    ):
        raise vol.Invalid("country is an ISO 3166-1 alpha-2 code or a list of them")
    return codes


def _ha_version(value: Any) -> str:
    if not isinstance(value, str) or not AwesomeVersion(value).valid:
        raise vol.Invalid(f"{value!r} is not a version")
    return value


def _relative_path(value: Any) -> str:
    if not isinstance(value, str) or value.startswith("/") or ".." in Path(value).parts:
        raise vol.Invalid("persistent_directory is a path inside the integration")
    return value


# hacs.json as HACS reads it (HACS_MANIFEST_JSON_SCHEMA): only these keys.
HACS_SCHEMA = vol.Schema(
    {
        vol.Required("name"): vol.All(str, vol.Length(min=1)),
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): _country,
        vol.Optional("filename"): str,
        vol.Optional("hacs"): _ha_version,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): _ha_version,
        vol.Optional("persistent_directory"): _relative_path,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
    },
    extra=vol.PREVENT_EXTRA,
)


def hacs_problems(hacs: dict[str, Any]) -> Problems:
    """What HACS's hacs.json check (HACS_JSON) rejects."""
    problems = _invalid(HACS_SCHEMA, hacs, "hacs.json")
    if hacs.get("zip_release") and not hacs.get("filename"):
        problems.append("hacs.json: zip_release is set, but filename is not")
    return problems


# --- the repository -------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int] | None:
    data = path.read_bytes()[:24]
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def repository_problems(root: Path) -> Problems:
    """HACS's repository rules (HACS_INTEGRATION, HACS_CHECKS) and the brand image
    sizes (HA_BRANDS)."""
    problems: Problems = []
    if not (root / "hacs.json").is_file():
        problems.append("no hacs.json at the repository's root")
    if not any((root / n).is_file() for n in ("README.md", "README", "readme.md")):
        problems.append("no README at the repository's root")
    licence = root / "LICENSE"
    if not licence.is_file() or not licence.read_text(encoding="utf-8").strip():
        problems.append("no LICENSE at the repository's root (HACS: check license)")
    components = root / "custom_components"
    integrations = (
        sorted(p for p in components.iterdir() if p.is_dir())
        if components.is_dir()
        else []
    )
    integrations = [p for p in integrations if p.name != "__pycache__"]
    if len(integrations) != 1:
        problems.append(
            f"custom_components/ must hold exactly one integration, not {len(integrations)}"
        )
    for integration in integrations:
        if not (integration / "manifest.json").is_file():
            problems.append(f"{integration.name}: no manifest.json")
        brand = integration / "brand"
        if not (brand / "icon.png").is_file():
            problems.append(
                f"{integration.name}: no brand/icon.png (HACS: check brands)"
            )
        sizes = {
            "icon.png": lambda w, h: w == h == 256,
            "dark_icon.png": lambda w, h: w == h == 256,
            "icon@2x.png": lambda w, h: w == h == 512,
            "dark_icon@2x.png": lambda w, h: w == h == 512,
            "logo.png": lambda w, h: 128 <= min(w, h) <= 256,
            "dark_logo.png": lambda w, h: 128 <= min(w, h) <= 256,
            "logo@2x.png": lambda w, h: 256 <= min(w, h) <= 512,
            "dark_logo@2x.png": lambda w, h: 256 <= min(w, h) <= 512,
        }
        for image in sorted(brand.glob("*")) if brand.is_dir() else []:
            if image.name not in sizes:
                problems.append(f"brand/{image.name}: not a brand image name")
                continue
            size = _png_size(image)
            if size is None or not sizes[image.name](*size):
                problems.append(
                    f"brand/{image.name}: not a PNG of the right size ({size})"
                )
        uses_services = any(
            re.search(
                r"services\.(async_)?register|async_register_entity_service",
                p.read_text(),
            )
            for p in integration.rglob("*.py")
        )
        if uses_services and not (integration / "services.yaml").is_file():
            problems.append(
                f"{integration.name}: registers actions but has no services.yaml"
            )
    return problems


# --- our files ------------------------------------------------------------------

MANIFEST = _load_json(INTEGRATION / "manifest.json")
STRINGS = _load_json(INTEGRATION / "translations/en.json")
SERVICES = load_yaml_dict(str(INTEGRATION / "services.yaml"))
HACS = _load_json(ROOT / "hacs.json")
ICONS = _load_json(INTEGRATION / "icons.json")


def test_manifest_follows_hassfest_and_hacs() -> None:
    assert manifest_problems(MANIFEST, INTEGRATION.name) == []


def test_imported_integrations_are_dependencies() -> None:
    assert dependency_problems(INTEGRATION, MANIFEST) == []


def test_translations_follow_hassfest() -> None:
    assert translations_problems(STRINGS) == []


def test_every_translation_file_follows_hassfest() -> None:
    """Any other language must pass the same rules as en.json."""
    for path in sorted((INTEGRATION / "translations").glob("*.json")):
        problems = _invalid(TRANSLATIONS_SCHEMA, _load_json(path), path.name)
        assert problems == [], path.name


def test_icons_follow_hassfest() -> None:
    assert icons_problems(ICONS) == []


def test_services_follow_hassfest_and_are_translated() -> None:
    assert services_problems(SERVICES, STRINGS) == []


def test_hacs_json_follows_hacs() -> None:
    assert hacs_problems(HACS) == []


def test_repository_follows_hacs() -> None:
    assert repository_problems(ROOT) == []


def test_licence_is_the_one_pyproject_declares() -> None:
    """HACS's licence check wants a LICENSE GitHub recognises (an SPDX text)."""
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in licence
    assert re.search(r'^license = "MIT"$', (ROOT / "pyproject.toml").read_text(), re.M)


# --- each rule can fail ---------------------------------------------------------


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def _set(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**data, key: value}


MANIFEST_BREAKS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "no version": (lambda m: _without(m, "version"), "version"),
    "version not semver": (lambda m: _set(m, "version", "1.0"), "MAJOR.MINOR.PATCH"),
    "version not a version": (lambda m: _set(m, "version", "latest"), "version"),
    "no codeowners": (lambda m: _without(m, "codeowners"), "codeowners"),
    "codeowner without @": (lambda m: _set(m, "codeowners", ["someone"]), "GitHub"),
    "no documentation": (lambda m: _without(m, "documentation"), "documentation"),
    "documentation http": (
        lambda m: _set(m, "documentation", "http://example.org"),
        "https",
    ),
    "documentation at core docs": (
        lambda m: _set(
            m, "documentation", "https://www.home-assistant.io/integrations/ocpp"
        ),
        "own docs",
    ),
    "no issue tracker": (lambda m: _without(m, "issue_tracker"), "issue_tracker"),
    "no integration_type": (
        lambda m: _without(m, "integration_type"),
        "integration_type",
    ),
    "virtual integration_type": (
        lambda m: _set(m, "integration_type", "virtual"),
        "integration_type",
    ),
    "no iot_class": (lambda m: _without(m, "iot_class"), "iot_class"),
    "unknown iot_class": (lambda m: _set(m, "iot_class", "local_pull"), "iot_class"),
    "no requirements": (lambda m: _without(m, "requirements"), "requirements"),
    "broken requirement": (lambda m: _set(m, "requirements", ["ocpp>=>2"]), "pip"),
    "unknown key": (lambda m: _set(m, "icon", "mdi:ev-station"), "icon"),
    "keys out of order": (
        lambda m: {"name": m["name"], **_without(m, "name")},
        "sorted",
    ),
    "version before codeowners": (
        lambda m: {
            "domain": m["domain"],
            "name": m["name"],
            "version": m["version"],
            **{k: v for k, v in m.items() if k not in {"domain", "name", "version"}},
        },
        "sorted",
    ),
    "domain not the folder": (lambda m: _set(m, "domain", "ev_share"), "is not"),
}


@pytest.mark.parametrize("case", sorted(MANIFEST_BREAKS))
def test_a_broken_manifest_is_reported(case: str) -> None:
    breaker, expected = MANIFEST_BREAKS[case]
    problems = manifest_problems(breaker(copy.deepcopy(MANIFEST)), INTEGRATION.name)
    assert any(expected in p for p in problems), problems


def test_an_undeclared_dependency_is_reported(tmp_path: Path) -> None:
    (tmp_path / "history.py").write_text(
        "from homeassistant.components.recorder import get_instance\n"
        "import homeassistant.components.sensor\n"
    )
    (tmp_path / "diagnostics.py").write_text(
        "from homeassistant.components.diagnostics import async_redact_data\n"
    )
    problems = dependency_problems(tmp_path, {"dependencies": []})
    assert problems == [
        "history.py: uses recorder but it is not in dependencies or after_dependencies"
    ]
    assert dependency_problems(tmp_path, {"after_dependencies": ["recorder"]}) == []


def _strings_with(path: str, value: Any) -> dict[str, Any]:
    """A copy of en.json with ``value`` at ``path`` (dotted)."""
    strings = copy.deepcopy(STRINGS)
    *parents, last = path.split(".")
    node = strings
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return strings


TRANSLATION_BREAKS: dict[str, tuple[dict[str, Any], str]] = {
    "trailing whitespace": (
        _strings_with("config.step.user.title", "Your site "),
        "whitespace",
    ),
    "html": (_strings_with("config.step.user.title", "Your <b>site</b>"), "HTML"),
    "address in text": (
        _strings_with("config.abort.x", "See https://example.org/help"),
        "address",
    ),
    "quoted placeholder": (
        _strings_with(
            "exceptions.charger_offline.message", "Charger '{charger}' is off"
        ),
        "single quotes",
    ),
    "placeholder not an identifier": (
        _strings_with("exceptions.charger_offline.message", "Charger {charge-point}"),
        "identifier",
    ),
    "unbalanced brace": (
        _strings_with("exceptions.charger_offline.message", "Charger {charger"),
        "braces",
    ),
    "placeholder in a state": (
        _strings_with("entity.sensor.status.state.ok", "OK at {site}"),
        "placeholders",
    ),
    "uppercase entity key": (
        _strings_with("entity.sensor.Load_L1", {"name": "Load L1"}),
        "snake_case",
    ),
    "double underscore key": (
        _strings_with("entity.sensor.load__l1", {"name": "Load L1"}),
        "snake_case",
    ),
    "data_description without data": (
        _strings_with("config.step.user.data_description.nope", "Nothing."),
        "data_description",
    ),
    "issue with description and fix flow": (
        _strings_with(
            "issues.unknown_charger.description", "Both a description and a fix flow."
        ),
        "not both",
    ),
    "subentry without entry_type": (
        {
            **STRINGS,
            "config_subentries": {
                **STRINGS["config_subentries"],
                "charger": _without(
                    STRINGS["config_subentries"]["charger"], "entry_type"
                ),
            },
        },
        "entry_type",
    ),
    "service without description": (
        _strings_with("services.set_limit", {"name": "Set limit"}),
        "description",
    ),
    "unknown section": (_strings_with("entities", {}), "entities"),
}


@pytest.mark.parametrize("case", sorted(TRANSLATION_BREAKS))
def test_broken_translations_are_reported(case: str) -> None:
    strings, expected = TRANSLATION_BREAKS[case]
    problems = translations_problems(strings)
    assert any(expected in p for p in problems), problems


def _services_with(service: str, fields: dict[str, Any]) -> dict[str, Any]:
    services = copy.deepcopy(SERVICES)
    services[service] = {"fields": fields}
    return services


SERVICE_BREAKS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "field not translated": (
        _services_with(
            "clear_limit",
            {
                **SERVICES["clear_limit"]["fields"],
                "extra": {"selector": {"text": None}},
            },
        ),
        STRINGS,
        "clear_limit.extra has no name",
    ),
    "action not translated": (
        {**SERVICES, "new_action": None},
        STRINGS,
        "new_action has no name",
    ),
    "translated field the action lacks": (
        _services_with(
            "clear_limit",
            {"config_entry_id": SERVICES["clear_limit"]["fields"]["config_entry_id"]},
        ),
        STRINGS,
        "fields it lacks",
    ),
    "translated action not in services.yaml": (
        _without(SERVICES, "restart_charger"),
        STRINGS,
        "not in services.yaml",
    ),
    "unknown selector": (
        _services_with("clear_limit", {"group": {"selector": {"textbox": None}}}),
        STRINGS,
        "services.yaml",
    ),
    "field twice across sections": (
        _services_with(
            "clear_limit",
            {
                "group": {"selector": {"text": None}},
                "more": {"fields": {"group": {"selector": {"text": None}}}},
            },
        ),
        STRINGS,
        "twice",
    ),
    "select translation_key missing": (
        _services_with(
            "set_policy",
            {
                **SERVICES["set_policy"]["fields"],
                "policy": {
                    "selector": {
                        "select": {"translation_key": "policies", "options": ["a"]}
                    }
                },
            },
        ),
        STRINGS,
        "translation_key",
    ),
    "action name not a slug": (
        {**SERVICES, "Set-Limit": None},
        STRINGS,
        "snake_case",
    ),
}


@pytest.mark.parametrize("case", sorted(SERVICE_BREAKS))
def test_broken_services_are_reported(case: str) -> None:
    services, strings, expected = SERVICE_BREAKS[case]
    problems = services_problems(services, strings)
    assert any(expected in p for p in problems), problems


ICON_BREAKS: dict[str, tuple[dict[str, Any], str]] = {
    "not an mdi icon": (
        {"entity": {"sensor": {"power": {"default": "flash"}}}},
        "mdi:",
    ),
    "uppercase state key": (
        {
            "entity": {
                "switch": {"x": {"default": "mdi:flash", "state": {"Off": "mdi:flash"}}}
            }
        },
        "snake_case",
    ),
    "unknown section": ({**ICONS, "entities": {}}, "entities"),
}


@pytest.mark.parametrize("case", sorted(ICON_BREAKS))
def test_broken_icons_are_reported(case: str) -> None:
    icons, expected = ICON_BREAKS[case]
    problems = icons_problems(icons)
    assert any(expected in p for p in problems), problems


HACS_BREAKS: dict[str, tuple[dict[str, Any], str]] = {
    "unknown key": (_set(HACS, "domains", ["sensor"]), "domains"),
    "no name": (_without(HACS, "name"), "name"),
    "zip_release without filename": (_set(HACS, "zip_release", True), "filename"),
    "lowercase country": (_set(HACS, "country", "no"), "country"),
    "bad minimum version": (_set(HACS, "homeassistant", True), "version"),
    "persistent_directory outside": (
        _set(HACS, "persistent_directory", "../config"),
        "persistent_directory",
    ),
}


@pytest.mark.parametrize("case", sorted(HACS_BREAKS))
def test_a_broken_hacs_json_is_reported(case: str) -> None:
    hacs, expected = HACS_BREAKS[case]
    problems = hacs_problems(hacs)
    assert any(expected in p for p in problems), problems


def _fake_repository(root: Path, *, domains: tuple[str, ...], icon: int | None) -> None:
    root.mkdir()
    (root / "hacs.json").write_text('{"name": "x"}')
    (root / "README.md").write_text("# x\n")
    (root / "LICENSE").write_text("MIT License\n")
    for domain in domains:
        folder = root / "custom_components" / domain
        (folder / "brand").mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
        (folder / "__init__.py").write_text("hass.services.async_register(1, 2, 3)\n")
        if icon is not None:
            header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR"
            (folder / "brand/icon.png").write_bytes(
                header + struct.pack(">II", icon, icon)
            )


def test_a_broken_repository_is_reported(tmp_path: Path) -> None:
    two = tmp_path / "two"
    _fake_repository(two, domains=("a", "b"), icon=256)
    problems = repository_problems(two)
    assert any("exactly one integration, not 2" in p for p in problems), problems

    small = tmp_path / "small"
    _fake_repository(small, domains=("a",), icon=128)
    (small / "LICENSE").unlink()
    problems = repository_problems(small)
    assert any("brand/icon.png: not a PNG of the right size" in p for p in problems)
    assert any("LICENSE" in p for p in problems)
    assert any("no services.yaml" in p for p in problems)

    bare = tmp_path / "bare"
    _fake_repository(bare, domains=("a",), icon=None)
    (bare / "custom_components/a/manifest.json").unlink()
    (bare / "hacs.json").unlink()
    problems = repository_problems(bare)
    for expected in ("no manifest.json", "no brand/icon.png", "no hacs.json"):
        assert any(expected in p for p in problems), (expected, problems)

"""The layers ARCHITECTURE.md names as free of Home Assistant stay so: the core,
the OCPP central system, the Modbus client, the OCPP port source, the session
ledger and its recorder, and the profiles and logic of chargers already in Home
Assistant import nothing of Home Assistant (directly)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "custom_components/ev_power_share"
FREE = sorted(
    [
        *PACKAGE.glob("core/*.py"),
        *PACKAGE.glob("csms/*.py"),
        *PACKAGE.glob("modbus/*.py"),
        *PACKAGE.glob("ocpp_*.py"),
        PACKAGE / "port_links.py",
        PACKAGE / "modbus_chargers.py",
        PACKAGE / "modbus_charger_ports.py",
        PACKAGE / "ha_profiles.py",
        PACKAGE / "ha_charger_logic.py",
        PACKAGE / "ledger.py",
        PACKAGE / "session_recorder.py",
        PACKAGE / "statement_store.py",
        PACKAGE / "session_bookings.py",
    ]
)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def test_there_are_layers_to_check() -> None:
    assert len(FREE) > 30
    assert {p.name for p in FREE} >= {
        "ocpp_source.py",
        "allocator.py",
        "client.py",
        "modbus_chargers.py",
        "modbus_charger_ports.py",
    }


@pytest.mark.parametrize("path", FREE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_home_assistant_import(path: Path) -> None:
    assert not [n for n in _imports(path) if n.split(".")[0] == "homeassistant"]

"""The packages the demo needs that this environment lacks.

    python -m demo.requirements             # print them, one a line
    python -m demo.requirements --install   # install them with pip

The web UI needs the ``home-assistant-frontend`` package that the installed Home
Assistant pins (the test stack does not include it); the demo's ``rest`` sensors
need the ``rest`` integration's packages (Home Assistant would install those itself
at start-up, more slowly); and Home Assistant 2026.10's service descriptions, which
the frontend loads first, import the voice pipeline (``assist_pipeline``), whose
packages 2025.4 still installed with Home Assistant itself.
"""

from __future__ import annotations

from importlib import metadata
import json
import os
from pathlib import Path
import re
import subprocess
import sys
import sysconfig

import homeassistant

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$")
_FROM_MANIFESTS = ("rest", "assist_pipeline")


def needed() -> list[str]:
    """``name==version`` for each wanted package not installed at that version."""
    root = Path(homeassistant.__file__).parent
    wanted = [
        line.strip()
        for line in (root / "package_constraints.txt").read_text().splitlines()
        if line.startswith("home-assistant-frontend==")
    ][:1]
    for domain in _FROM_MANIFESTS:
        manifest = root / "components" / domain / "manifest.json"
        if manifest.exists():
            wanted += json.loads(manifest.read_text()).get("requirements", [])
    missing = []
    for requirement in wanted:
        match = _PIN.match(requirement)
        if match is None:
            missing.append(requirement)
            continue
        try:
            if metadata.version(match[1]) == match[2]:
                continue
        except metadata.PackageNotFoundError:
            pass
        missing.append(requirement)
    return missing


def install(requirements: list[str]) -> int:
    """pip install them. Some build from source: the compiler also gets the
    directory above Python's headers, which a Debian-style Python needs for its
    ``<x86_64-linux-gnu/python3.x/pyconfig.h>`` include."""
    env = dict(os.environ)
    include = os.path.dirname(sysconfig.get_paths()["include"])
    env["CPATH"] = os.pathsep.join(p for p in (include, env.get("CPATH")) if p)
    sys.stdout.write(f"installing {' '.join(requirements)}\n")
    sys.stdout.flush()
    command = [sys.executable, "-m", "pip", "install", "--quiet", *requirements]
    return subprocess.call(command, env=env)  # noqa: S603 - pip with our list


if __name__ == "__main__":
    missing = needed()
    if "--install" in sys.argv[1:]:
        raise SystemExit(install(missing) if missing else 0)
    sys.stdout.write("".join(f"{r}\n" for r in missing))

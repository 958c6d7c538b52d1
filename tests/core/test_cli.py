"""scripts/allocate: JSON in, JSON out; one line naming the field on bad input."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts/allocate"
GOOD = {
    "groups": [{"id": "c", "rating_a": 20}],
    "ports": [{"id": "a", "group": "c", "max_a": 32, "ev": {}}],
}


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(json.dumps(GOOD))
    from_file = run(str(path))
    from_stdin = run("-", stdin=json.dumps(GOOD))
    assert from_file.returncode == from_stdin.returncode == 0
    assert from_file.stderr == ""
    assert json.loads(from_file.stdout) == json.loads(from_stdin.stdout)
    assert json.loads(from_file.stdout)["ports"]["a"]["current_a"] == 16.0


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ("{not json", "scenario"),
        ({"ports": []}, "groups"),
        ({"groups": [{"id": "c", "parent": "nope"}]}, "groups[0].parent"),
        ({"groups": [{"id": "c"}], "policy": "loudest"}, "policy"),
        ({"groups": [{"id": "c", "rating_a": -5}]}, "groups[0].rating_a"),
        ({"groups": [{"id": "c", "rating_a": "lots"}]}, "groups[0].rating_a"),
        (
            {
                "groups": [{"id": "c"}],
                "ports": [{"id": "a", "group": "c", "max_a": 16, "connection": "L4"}],
            },
            "ports[0].connection",
        ),
        (
            {
                "groups": [{"id": "c"}],
                "ports": [
                    {"id": "a", "group": "c", "max_a": 16},
                    {"id": "a", "group": "c", "max_a": 16},
                ],
            },
            "ports[1].id",
        ),
        (
            {"groups": [{"id": "a", "parent": "b"}, {"id": "b", "parent": "a"}]},
            "groups[0].parent",
        ),
        ({"version": 2, "groups": [{"id": "c"}]}, "version"),
        (
            {"groups": [{"id": "c"}], "ports": [{"id": "a", "group": "c"}]},
            "ports[0].max_a",
        ),
        (
            {
                "groups": [{"id": "c"}],
                "ports": [{"id": "a", "group": "c", "max_a": 16, "ev": {"phases": 4}}],
            },
            "ports[0].ev.phases",
        ),
    ],
)
def test_invalid_input_exits_2_naming_the_field(doc: object, field: str) -> None:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    result = run("-", stdin=text)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{field}:"), lines[0]


def test_missing_file_and_usage(tmp_path: Path) -> None:
    missing = run(str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert len(missing.stderr.splitlines()) == 1
    usage = run()
    assert usage.returncode == 2
    assert "usage" in usage.stderr


def test_main_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same entry point, called directly (so coverage sees it)."""
    from custom_components.ev_power_share.core.cli import main  # noqa: PLC0415

    path = tmp_path / "site.json"
    path.write_text(json.dumps(GOOD))
    assert main([str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["ports"]["a"]["current_a"] == 16.0
    path.write_text("{oops")
    assert main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("scenario: not valid JSON")
    path.write_text(json.dumps({"groups": []}))
    assert main([str(path)]) == 2
    assert capsys.readouterr().err.startswith("groups:")
    assert main([str(tmp_path / "missing.json")]) == 2
    assert main([]) == 2

"""``scripts/allocate FILE|-``: print the allocation of a scenario document.

Exit 0 with the output JSON on stdout; exit 2 with one line naming the field on
stderr (and nothing on stdout) when the scenario is invalid.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
from pathlib import Path
import sys

from .scenario import ScenarioError, allocate_scenario

USAGE = "usage: allocate FILE|-   (a scenario document, see shared/contracts)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in {"-h", "--help"}:
        print(USAGE, file=sys.stderr)
        return 2
    source = args[0]
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    except OSError as err:
        print(f"{source}: cannot read: {err.strerror}", file=sys.stderr)
        return 2
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        print(f"scenario: not valid JSON: {err}", file=sys.stderr)
        return 2
    try:
        out = allocate_scenario(doc)
    except ScenarioError as err:
        print(str(err).replace("\n", " "), file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

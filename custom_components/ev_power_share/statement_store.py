"""Statement files on disk: a month's export in its own folder, written
atomically, and read back for the browser by name only. No Home Assistant
imports; every function does blocking I/O (run it in the executor).

The layout: ``<base>/<entry id>/<YYYY-MM>/<name>``, where ``base`` is
``<config>/ev_power_share/statements``. A file is written beside its place
under a temporary name and renamed over it, so a reader sees the old file or
the new one, never half of one.
"""

from __future__ import annotations

from collections.abc import Mapping
import os
from pathlib import Path
import re
import tempfile

ENTRY_ID = re.compile(r"[0-9A-Za-z]{1,64}")
MONTH = re.compile(r"\d{4}-\d{2}")
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,120}\.(csv|html)")
"""What the export names its files (``core.statement_files``)."""


def month_folder(base: Path, entry_id: str, month: str) -> Path:
    """Where a site's month is exported."""
    return base / entry_id / month


def _write(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_month(folder: Path, files: Mapping[str, str], *, whole: bool) -> None:
    """Write a month's files; ``whole``: they are the whole export, and the
    earlier export's other files (a user since removed or renamed) go."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        _write(folder / name, text)
    if whole:
        for old in folder.iterdir():
            if old.is_file() and old.name not in files:
                old.unlink()


def statement_path(base: Path, entry_id: str, month: str, name: str) -> Path | None:
    """The file a browser asks for, if the names are an export's and it
    exists under ``base`` (nothing else is ever served)."""
    if not (
        ENTRY_ID.fullmatch(entry_id) and MONTH.fullmatch(month) and NAME.fullmatch(name)
    ):
        return None
    root = base.resolve()
    path = (root / entry_id / month / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path

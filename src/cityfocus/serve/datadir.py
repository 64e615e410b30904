"""The data folder of the embedded store: a managed state folder.

``cityfocus serve`` creates it when missing and marks it with ``.cityfocus-serve``; an
existing folder is used only when it is empty or holds nothing but what the service creates
there (the marker, the SQLite database and its ``-wal``/``-shm``/``-journal`` files, and
``admin-token``). Anything else refuses with one line: a data folder is never a folder of the
user's files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cityfocus.errors import CityfocusError
from cityfocus.outputs import check_location

MARKER = ".cityfocus-serve"
DATABASE = "cityfocus.db"
ADMIN_TOKEN = "admin-token"
OWNED = frozenset({MARKER, DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm",
                   f"{DATABASE}-journal", ADMIN_TOKEN})


def prepare_data_dir(path: str | Path, option: str = "--data-dir") -> Path:
    """The absolute data folder, created (with its marker) when missing or empty.

    Raises:
        CityfocusError: the path is a file, lies under a file or is the working directory (or
            above it), cannot be created, or holds a file the service did not create.
    """
    folder = check_location(path, option=option, folder=True)
    if folder.exists() and not folder.is_dir():
        raise CityfocusError(f"{option} {path}: is a file; give a folder for the service's data")
    try:
        if folder.is_dir():
            entries = sorted(os.listdir(folder))
            if entries and MARKER not in entries:
                raise CityfocusError(
                    f"{option} {path}: holds files cityfocus serve did not create "
                    f"(e.g. {entries[0]}); give a new or empty folder")
            foreign = [name for name in entries if name not in OWNED]
            if foreign:
                raise CityfocusError(
                    f"{option} {path}: holds {foreign[0]}, which cityfocus serve did not "
                    "create; move it away or give another folder")
            if not entries:
                _mark(folder)
        else:
            folder.mkdir(parents=True)
            _mark(folder)
    except OSError as err:
        raise CityfocusError(f"{option} {path}: cannot use it: {err.strerror or err}") from None
    return folder


def _mark(folder: Path) -> None:
    text = json.dumps({"written_by": "cityfocus serve",
                       "holds": sorted(OWNED - {MARKER})}) + "\n"
    (folder / MARKER).write_text(text, encoding="utf-8")


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by its owner only (mode 0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)

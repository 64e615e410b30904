"""Which files cityfocus wrote: each folder it writes in keeps ``.cityfocus-manifest.json``,
the SHA-256 of every file it wrote there, marked ``"written_by": "cityfocus"``.

The output contract (``cityfocus.outputs``) replaces or removes only what a manifest vouches
for, unchanged since it was written; anything else is the user's.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

MANIFEST = ".cityfocus-manifest.json"
TEMP_PREFIX = ".cityfocus-tmp-"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, str]:
    """``{relative file name: sha256}`` of what cityfocus wrote in ``folder`` (empty if none,
    unreadable or not cityfocus's: such a manifest proves nothing, so nothing counts as
    written)."""
    return manifest_files(folder) or {}


def manifest_files(folder: Path) -> dict[str, str] | None:
    """The files ``folder``'s manifest lists; None when it has none, or the entry of that
    name is not a manifest cityfocus wrote (then it is the user's, never to be replaced)."""
    path = folder / MANIFEST
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or data.get("written_by") != "cityfocus":
        return None
    return {str(k): str(v) for k, v in files.items()}


def foreign_manifest(folder: Path) -> bool:
    """True when ``folder`` holds something named like the manifest that cityfocus did not
    write."""
    entry = folder / MANIFEST
    return (entry.is_symlink() or entry.exists()) and manifest_files(folder) is None


def written_by_cityfocus(path: Path) -> bool:
    """True when ``path`` is a file its folder's manifest lists with its current content."""
    recorded = read_manifest(path.parent).get(path.name)
    return recorded is not None and path.is_file() and sha256(path) == recorded


def write_manifest(folder: Path, files: dict[str, str]) -> None:
    text = json.dumps({"written_by": "cityfocus", "files": dict(sorted(files.items()))},
                      indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        usual_mode(Path(tmp), folder=False)
        os.replace(tmp, folder / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def usual_mode(path: Path, folder: bool) -> None:
    """Give a temporary file or folder the permissions a new one gets (mkstemp and mkdtemp
    make them private)."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod((0o777 if folder else 0o666) & ~mask)


def foreign_entry(folder: Path) -> Path | None:
    """The first thing in ``folder`` that its manifest does not vouch for (None: all ours).
    A folder inside is vouched for when it holds a listed file; anything else must be a
    listed regular file with its recorded content."""
    files = manifest_files(folder)
    if files is None:  # no manifest of ours: nothing here is ours
        return min(folder.iterdir(), default=None)
    for entry in sorted(folder.rglob("*")):
        relative = entry.relative_to(folder).as_posix()
        if relative == MANIFEST:
            continue
        if entry.is_dir() and not entry.is_symlink():
            if not any(name.startswith(relative + "/") for name in files):
                return entry
        elif (files.get(relative) is None or entry.is_symlink() or not entry.is_file()
              or sha256(entry) != files[relative]):
            return entry
    return None

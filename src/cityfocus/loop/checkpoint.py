"""Replay checkpoints: the state after each completed step, written all-or-nothing.

Each completed step k is a new directory ``step-00000k/`` (state JSON, store mask, policy
model) written beside its final name and renamed into place in one step; then the file
``LATEST`` is replaced (one rename) to name it, and older step directories are removed. A
crash at any point leaves ``LATEST`` naming the last complete step; half-written temporary
directories start with a dot and are never read.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cityfocus.errors import CityfocusError
from cityfocus.outputs import MANIFEST, atomic_file, check_location

LATEST = "LATEST"


def save_step(root: Path, step: int, state: dict[str, Any], store_mask: np.ndarray,
              save_policy: Callable[[Path], None],
              hook: Callable[[str], None] | None = None) -> None:
    """Write the state after ``step`` completed decisions into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=".step-", dir=root))
    try:
        (tmp / "state.json").write_text(json.dumps(state))
        np.save(tmp / "store_mask.npy", np.packbits(store_mask))
        if hook is not None:
            hook("saving")
        policy_dir = tmp / "policy"
        policy_dir.mkdir()
        save_policy(policy_dir)
        if (root / name).exists():  # a step written before a crash, never named in LATEST
            shutil.rmtree(root / name)
        os.rename(tmp, root / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    atomic_file(root / LATEST).write(name)
    for old in root.glob("step-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def check_state_dir(root: Path, option: str = "--state") -> None:
    """Refuse a state folder that holds anything a replay did not write there. It is created
    when missing; an existing one is resumed. It may hold one state per run in a subfolder
    (``cityfocus replay --state DIR`` keeps one per policy)."""
    check_location(root, option=option, folder=True)
    if root.exists() and not root.is_dir():
        raise CityfocusError(f"{option} {root}: is a file; give a folder for the replay state")
    if root.exists():
        _check_state_entries(root, option, root, depth=1)


def _check_state_entries(folder: Path, option: str, root: Path, depth: int) -> None:
    for entry in folder.iterdir():
        if entry.name in (LATEST, MANIFEST) or entry.name.startswith((".step-", "step-")):
            continue
        if depth > 0 and entry.is_dir() and not entry.is_symlink():
            _check_state_entries(entry, option, root, depth - 1)
            continue
        raise CityfocusError(f"{option} {root}: holds {entry.relative_to(root)}, which a "
                             "replay did not write; give a new or earlier replay state folder")


def load_latest(root: Path, shape: tuple[int, ...]
                ) -> tuple[dict[str, Any], np.ndarray, Path] | None:
    """The state, store mask ``shape`` and policy directory of the last complete step, or
    None when ``root`` holds no checkpoint."""
    pointer = root / LATEST
    if not pointer.is_file():
        return None
    directory = root / pointer.read_text().strip()
    try:
        state = json.loads((directory / "state.json").read_text())
        packed = np.load(directory / "store_mask.npy")
    except (OSError, ValueError) as err:
        raise CityfocusError(f"{directory}: unreadable replay checkpoint ({err}); delete the "
                             "state directory to start over") from None
    mask = np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).astype(bool)
    return state, mask, directory / "policy"

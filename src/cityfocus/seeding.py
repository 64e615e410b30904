"""One seed for every source of randomness a run uses."""

from __future__ import annotations

import random
import sys

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's global state and (when it is loaded) torch, without importing
    torch for runs that do not need it."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (models may draw from the legacy global state)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)

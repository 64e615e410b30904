"""Observation models: which of a step's true readings the policy gets to see.

- ``full``: every reading the data holds is revealed (the plain rolling evaluation);
- ``attention``: at every data step, zone i is observed with probability
  ``p_i = 1 - exp(-alpha w_i)`` (the coverage law: a zone with no attention is never seen),
  independently per step and zone; an observed zone reveals all its features at that step,
  an unobserved one enters the store as missing (mask False).
"""

from __future__ import annotations

import numpy as np

from cityfocus.errors import CityfocusError

OBSERVATIONS = ("full", "attention")


def observe_probability(kind: str, w: np.ndarray, alpha: float) -> np.ndarray:
    """``[N]`` probability that each zone's reading is observed under allocation ``w`` ``[N]``."""
    if kind == "full":
        return np.ones_like(np.asarray(w, dtype=np.float64))
    if kind == "attention":
        return 1.0 - np.exp(-alpha * np.clip(np.asarray(w, dtype=np.float64), 0.0, None))
    raise CityfocusError(f"unknown observation model {kind!r}; "
                         f"use one of {', '.join(OBSERVATIONS)}")


def reveal(kind: str, w: np.ndarray, alpha: float, truth_mask: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """The store's mask ``[H, N, F]`` for a block whose data mask is ``truth_mask``.

    One uniform draw per (step, zone) is taken under every model, so the random stream does
    not depend on the observation model.
    """
    steps, n_zones, _ = truth_mask.shape
    draws = rng.random((steps, n_zones))
    seen = draws < observe_probability(kind, w, alpha)[None, :]
    return truth_mask & seen[:, :, None]
